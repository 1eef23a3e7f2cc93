// Per-interface rates from the live feed's "interfaces" events (every second in single-host mode):
// kept per host in a bounded list, and turned into chart series. Pure logic, no DOM.

import type { InterfacesEvent } from "../types";
import type { FeedState } from "./feed";

export interface InterfaceSample {
  ts: number;
  /** Interface name -> bytes per second down (rx) and up (tx). */
  rates: Record<string, { rx: number; tx: number; up: boolean }>;
}

const rate = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);

/** Add one interfaces event to its host's samples (out-of-order and replayed events are dropped). */
export function mergeInterfaces(state: FeedState, ev: InterfacesEvent): void {
  if (typeof ev.host !== "string" || typeof ev.ts !== "number" || !Array.isArray(ev.interfaces)) return;
  let list = state.ifaces.get(ev.host);
  if (!list) {
    list = [];
    state.ifaces.set(ev.host, list);
  }
  const last = list[list.length - 1];
  if (last && last.ts >= ev.ts) return;
  const rates: InterfaceSample["rates"] = {};
  for (const i of ev.interfaces) {
    if (i && typeof i.name === "string" && i.name !== "") {
      rates[i.name] = { rx: rate(i.rx_bytes_s), tx: rate(i.tx_bytes_s), up: i.up !== false };
    }
  }
  list.push({ ts: ev.ts, rates });
  if (list.length > state.limits.rates) list.splice(0, list.length - state.limits.rates);
}

export interface InterfaceSeries {
  /** "host/if" when several hosts are shown, else the interface name. */
  name: string;
  rx: [number, number][];
  tx: [number, number][];
  /** Latest rates. */
  lastRx: number;
  lastTx: number;
  total: number;
}

export interface InterfaceView {
  /** Sum over the interfaces, per second: [ms, down, up]. */
  totals: [number, number, number][];
  /** The busiest interfaces first (at most `top`). */
  interfaces: InterfaceSeries[];
}

/** Chart series of the hosts' interfaces since `since` (epoch seconds), samples bucketed by second. */
export function interfaceView(state: FeedState, hosts: string[], since: number, top = 4): InterfaceView {
  const byIf = new Map<string, InterfaceSeries>();
  const sums = new Map<number, [number, number]>();
  for (const host of hosts) {
    for (const s of state.ifaces.get(host) ?? []) {
      if (s.ts < since) continue;
      const t = Math.round(s.ts) * 1000;
      const sum = sums.get(t) ?? [0, 0];
      for (const [n, r] of Object.entries(s.rates)) {
        const key = hosts.length > 1 ? `${host}/${n}` : n;
        let e = byIf.get(key);
        if (!e) {
          e = { name: key, rx: [], tx: [], lastRx: 0, lastTx: 0, total: 0 };
          byIf.set(key, e);
        }
        e.rx.push([t, r.rx]);
        e.tx.push([t, r.tx]);
        e.lastRx = r.rx;
        e.lastTx = r.tx;
        e.total += r.rx + r.tx;
        sum[0] += r.rx;
        sum[1] += r.tx;
      }
      sums.set(t, sum);
    }
  }
  const totals = [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([t, [rx, tx]]): [number, number, number] => [t, rx, tx]);
  const interfaces = [...byIf.values()].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name)).slice(0, top);
  return { totals, interfaces };
}
