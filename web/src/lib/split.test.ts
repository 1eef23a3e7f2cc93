import { describe, expect, it } from "vitest";
import type { FlowSummary } from "../types";
import { alertsOf, flowsOf, mergeAlert, touchEndpoint } from "./endpoints";
import * as feed from "./feed";
import { createFeed } from "./feed";
import { mergeFlow, toLiveFlow } from "./flows";
import { mergeRates } from "./rates";
import { num, numOrNull, str } from "./values";

const summary = (uid: string, over: Partial<FlowSummary> = {}): FlowSummary => ({
  uid,
  ts_first: 1000,
  ts_last: 1004,
  transport: "tcp",
  src_ip: "10.0.0.2",
  src_port: 50000,
  dst_ip: "93.184.216.34",
  dst_port: 443,
  bytes: 4000,
  packets: 10,
  ...over,
});

describe("feed modules (split of feed.ts)", () => {
  it("feed.ts still exports everything the views import", () => {
    for (const name of ["applyEvent", "applyRows", "createFeed", "prune", "undetailed", "mergeFlow", "toLiveFlow", "mergeAlert", "mergeRates", "flowsOf", "alertsOf"]) {
      expect(typeof (feed as Record<string, unknown>)[name]).toBe("function");
    }
  });

  it("values: only finite numbers and non-empty strings pass", () => {
    expect([num(3), num(NaN), num("3"), num(undefined, 7)]).toEqual([3, 0, 0, 7]);
    expect([numOrNull(Infinity), numOrNull(0)]).toEqual([null, 0]);
    expect([str(""), str("a"), str(1)]).toEqual([null, "a", null]);
  });

  it("rates: a series per host, in order, bounded", () => {
    const s = createFeed({ rates: 3 });
    for (const ts of [1, 2, 2, 1, 3, 4, 5]) mergeRates(s, { type: "rates", host: "vm", ts, rx_bytes_s: ts * 10, flows_per_s: 1 });
    const list = s.rates.get("vm")!;
    expect(list.map((r) => r.ts)).toEqual([3, 4, 5]);
    expect(list[2]).toMatchObject({ rx: 50, tx: null, flowsPerS: 1, flowBytes: 0, cpu: null });
  });

  it("endpoints: flows count on their remote side; alerts mark it whichever comes first", () => {
    const s = createFeed();
    mergeAlert(s, { uid: "a1", kind: "beacon", severity: "high", status: "open", subject_ip: "93.184.216.34" }, "vm");
    mergeFlow(s, summary("f1"), "vm", 1);
    mergeFlow(s, summary("f2", { ts_last: 1008, bytes: 1000, packets: 2 }), "vm", 2);
    const ep = s.endpoints.get("93.184.216.34")!;
    expect([ep.flows, ep.bytes, ep.packets, ep.alerts]).toEqual([2, 5000, 12, 1]);
    expect(ep.risk).toBeGreaterThan(0);
    expect(flowsOf(s, ep.ip).map((f) => f.uid)).toEqual(["f2", "f1"]);
    expect(alertsOf(s, ep.ip).map((a) => a.uid)).toEqual(["a1"]);
    // touching directly adds only what grew
    touchEndpoint(s, s.flows.get("f1")!, 100, 1, false);
    expect([ep.flows, ep.bytes, ep.packets]).toEqual([2, 5100, 13]);
  });

  it("flows: a snapshot after the final record of its uid is ignored", () => {
    const s = createFeed();
    mergeFlow(s, summary("f1", { bytes: 500 }), "vm", 1, true);
    expect(s.flows.get("f1")!.active).toBe(true);
    mergeFlow(s, summary("f1", { bytes: 4000 }), "vm", 2);
    const late = mergeFlow(s, summary("f1", { bytes: 3000 }), "vm", 3, true);
    expect([late.active, late.bytes, s.endpoints.get("93.184.216.34")!.bytes]).toEqual([false, 4000, 4000]);
    expect(toLiveFlow(summary("x"), "vm", 0).remote).toBe("93.184.216.34");
  });
});
