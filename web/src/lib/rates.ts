// Per-host rates of the live state (rates events: interface totals, flow bytes, CPU, memory), kept
// as a bounded time series per host. Pure logic, no DOM.

import type { RatesEvent } from "../types";
import type { FeedState } from "./feed";
import { num, numOrNull } from "./values";

export interface RateSample {
  ts: number;
  rx: number | null;
  tx: number | null;
  flowBytes: number;
  flowsPerS: number;
  cpu: number | null;
  mem: number | null;
}

/** Add one rates event to its host's series (replayed and out-of-order events are dropped). */
export function mergeRates(state: FeedState, e: RatesEvent): void {
  let list = state.rates.get(e.host);
  if (!list) {
    list = [];
    state.rates.set(e.host, list);
  }
  const last = list[list.length - 1];
  if (last && last.ts >= e.ts) return; // replayed state or out of order
  list.push({
    ts: e.ts,
    rx: numOrNull(e.rx_bytes_s),
    tx: numOrNull(e.tx_bytes_s),
    flowBytes: num(e.flow_bytes_per_s),
    flowsPerS: num(e.flows_per_s),
    cpu: numOrNull(e.cpu_percent),
    mem: numOrNull(e.mem_percent),
  });
  if (list.length > state.limits.rates) list.splice(0, list.length - state.limits.rates);
}
