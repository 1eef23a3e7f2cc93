// The live state of the dashboard: a reducer over the WebSocket feed's events (and the flow rows the
// REST API returns), kept in bounded maps. Pure logic, no DOM: views read it, tests drive it.
// Its parts: flows merged by uid (flows.ts), remote endpoints and alerts (endpoints.ts), per-host
// rates (rates.ts) and per-interface rates (ifaces.ts); the WebSocket itself is app/live.ts.

import type { AlertRow, FlowRow, LiveEvent } from "../types";
import { mergeAlert, type Endpoint } from "./endpoints";
import { mergeFlow, type LiveFlow } from "./flows";
import { mergeInterfaces, type InterfaceSample } from "./ifaces";
import { addFlow, advance, bwInput, createLiveBandwidth, type LiveBandwidth } from "./livebw";
import { mergeRates, type RateSample } from "./rates";
import { num } from "./values";

export { alertsOf, flowsOf, mergeAlert, type Endpoint } from "./endpoints";
export { mergeFlow, toLiveFlow, type LiveFlow } from "./flows";
export { mergeRates, type RateSample } from "./rates";

export interface FeedState {
  flows: Map<string, LiveFlow>;
  endpoints: Map<string, Endpoint>;
  rates: Map<string, RateSample[]>;
  /** Host -> per-interface rates, oldest first (interfaces events). */
  ifaces: Map<string, InterfaceSample[]>;
  alerts: Map<string, AlertRow>;
  /** Live bytes per second by process, remote host, application and host (flows' growth). */
  bandwidth: LiveBandwidth;
  /** Host -> time of its latest event (epoch seconds). */
  hosts: Map<string, number>;
  /** Addresses known to be local (the other side of stored rows' remote_ip), to place live flows. */
  locals: Set<string>;
  limits: { flows: number; endpoints: number; rates: number; alerts: number };
  events: number;
  flowsSeen: number;
  dropped: number;
  /** Latest server-publish-to-browser delay, seconds. */
  latency: number | null;
  lastEventAt: number;
  /** Bumped on every change: cheap change detection for views. */
  version: number;
}

export function createFeed(limits: Partial<FeedState["limits"]> = {}): FeedState {
  return {
    flows: new Map(),
    endpoints: new Map(),
    rates: new Map(),
    ifaces: new Map(),
    alerts: new Map(),
    bandwidth: createLiveBandwidth(),
    hosts: new Map(),
    locals: new Set(),
    limits: { flows: 20_000, endpoints: 5_000, rates: 900, alerts: 2_000, ...limits },
    events: 0,
    flowsSeen: 0,
    dropped: 0,
    latency: null,
    lastEventAt: 0,
    version: 0,
  };
}

/** Drop the oldest flows, endpoints and alerts past the limits. */
export function prune(state: FeedState): void {
  const over = state.flows.size - state.limits.flows;
  if (over > 0) {
    let n = 0;
    for (const key of state.flows.keys()) {
      if (n++ >= over) break;
      state.flows.delete(key);
    }
  }
  if (state.endpoints.size > state.limits.endpoints) {
    const sorted = [...state.endpoints.values()].sort((a, b) => a.lastSeen - b.lastSeen);
    for (const ep of sorted.slice(0, state.endpoints.size - state.limits.endpoints)) state.endpoints.delete(ep.ip);
  }
  const aover = state.alerts.size - state.limits.alerts;
  if (aover > 0) {
    let n = 0;
    for (const key of state.alerts.keys()) {
      if (n++ >= aover) break;
      state.alerts.delete(key);
    }
  }
}

/** Apply one live-feed event; `receivedAt` is the browser's clock (ms). Unknown events are ignored. */
export function applyEvent(state: FeedState, ev: LiveEvent, receivedAt: number): void {
  state.events++;
  state.lastEventAt = receivedAt;
  switch (ev.type) {
    case "flows":
    case "flow_updates": {
      const active = ev.type === "flow_updates";
      for (const f of ev.flows ?? []) {
        if (f && typeof f.uid === "string" && typeof f.src_ip === "string" && typeof f.dst_ip === "string") {
          mergeFlow(state, f, ev.host, receivedAt, active);
          addFlow(state.bandwidth, bwInput(f, ev.host, active, state.locals), num(ev.ts));
        }
      }
      state.hosts.set(ev.host, ev.ts);
      break;
    }
    case "interfaces":
      mergeInterfaces(state, ev);
      advance(state.bandwidth, num(ev.ts));
      state.hosts.set(ev.host, Math.max(state.hosts.get(ev.host) ?? 0, num(ev.ts)));
      break;
    case "alerts":
      for (const a of ev.alerts ?? []) if (a && typeof a.uid === "string") mergeAlert(state, a, ev.host);
      state.hosts.set(ev.host, ev.ts);
      break;
    case "rates":
      mergeRates(state, ev);
      advance(state.bandwidth, num(ev.ts));
      state.hosts.set(ev.host, ev.ts);
      break;
    case "state":
      for (const [host, e] of Object.entries(ev.hosts ?? {})) {
        if (e && e.type === "rates") mergeRates(state, { ...e, host });
        state.hosts.set(host, num(e?.ts));
      }
      break;
    case "dropped":
      state.dropped += num(ev.count);
      break;
    default:
      return;
  }
  const ts = (ev as { ts?: number }).ts;
  if (typeof ts === "number" && ev.type !== "state") state.latency = Math.max(0, receivedAt / 1000 - ts);
  prune(state);
  state.version++;
}

/** Merge stored rows (REST) into the state. */
export function applyRows(state: FeedState, rows: FlowRow[], receivedAt: number): void {
  for (const r of rows) {
    if (r && typeof r.uid === "string") mergeFlow(state, r, r.host ?? "", receivedAt);
  }
  prune(state);
  state.version++;
}

/** Ended live flows that have no stored row merged yet (to fetch their enrichment). Open flows
 * (snapshots) are not stored yet: they are fetched once their final record arrives. */
export function undetailed(state: FeedState, max = 500): LiveFlow[] {
  const out: LiveFlow[] = [];
  for (const f of state.flows.values()) {
    if (!f.detailed && !f.active) out.push(f);
  }
  return out.slice(-max);
}
