import { describe, expect, it } from "vitest";
import type { FlowSummary } from "../types";
import { applyEvent, createFeed } from "./feed";
import { addFlow, advance, bandwidthView, bwInput, createLiveBandwidth, type LiveBandwidth } from "./livebw";

const T0 = 1_700_000_000;

/** A flow from 10.0.0.2 (local) to 93.184.216.34: src_bytes are up, dst_bytes down. */
const flow = (uid: string, up: number, down: number, over: Partial<FlowSummary> = {}): FlowSummary => ({
  uid,
  ts_first: T0,
  ts_last: T0 + 1,
  transport: "tcp",
  src_ip: "10.0.0.2",
  dst_ip: "93.184.216.34",
  app_proto: "tls",
  name: "example.com",
  process: "curl",
  src_bytes: up,
  dst_bytes: down,
  ...over,
});

/** Feed `f` at second `ts` (a snapshot unless `final`). */
function see(bw: LiveBandwidth, f: FlowSummary, ts: number, final = false): void {
  addFlow(bw, bwInput(f, "vm", !final), ts);
}

/** [down, up] of `key` at second `ts` in the view of `dim`. */
function at(bw: LiveBandwidth, key: string, ts: number, dim: "process" | "remote" | "app" | "host" = "process"): [number, number] {
  const v = bandwidthView(bw, dim, null);
  const i = v.times.indexOf(ts * 1000);
  const s = v.series.find((x) => x.key === key);
  return s && i >= 0 ? [s.down[i], s.up[i]] : [0, 0];
}

describe("live bandwidth by key", () => {
  it("adds each snapshot's growth to its second, down and up by the local side", () => {
    const bw = createLiveBandwidth();
    see(bw, flow("a", 100, 1000), T0 + 0.2);
    see(bw, flow("a", 150, 3000), T0 + 1.2);
    see(bw, flow("a", 150, 3500), T0 + 2.2);
    advance(bw, T0 + 3.1);
    expect(at(bw, "curl", T0)).toEqual([1000, 100]);
    expect(at(bw, "curl", T0 + 1)).toEqual([2000, 50]);
    expect(at(bw, "curl", T0 + 2)).toEqual([500, 0]);
    // the remote is the source: its bytes are down
    see(bw, flow("b", 700, 20, { src_ip: "93.184.216.34", dst_ip: "10.0.0.2", ts_first: T0 + 3.1, ts_last: T0 + 3.4 }), T0 + 3.5);
    advance(bw, T0 + 4.1);
    expect(at(bw, "curl", T0 + 3)).toEqual([700, 20]);
  });

  it("keys flows by process, remote host (named), application and host", () => {
    const bw = createLiveBandwidth();
    see(bw, flow("a", 10, 90, { process: null }), T0 + 0.5);
    see(bw, flow("b", 5, 5, { app_proto: null, transport: "udp", remote_ip: "8.8.8.8", dst_ip: "8.8.8.8", name: null }), T0 + 0.5);
    advance(bw, T0 + 1.5);
    expect(at(bw, "unknown", T0)).toEqual([90, 10]);
    expect(at(bw, "93.184.216.34", T0, "remote")).toEqual([90, 10]);
    expect(at(bw, "tls", T0, "app")).toEqual([90, 10]);
    expect(at(bw, "udp", T0, "app")).toEqual([5, 5]);
    expect(at(bw, "vm", T0, "host")).toEqual([95, 15]);
    const remote = bandwidthView(bw, "remote", null).series.map((s) => s.label);
    expect(remote).toEqual(["example.com (93.184.216.34)", "8.8.8.8"]);
  });

  it("counts the final record's growth after snapshots, then ignores late snapshots", () => {
    const bw = createLiveBandwidth();
    see(bw, flow("a", 100, 1000), T0 + 0.5);
    see(bw, flow("a", 120, 1500, { ts_last: T0 + 2 }), T0 + 1.5, true);
    see(bw, flow("a", 130, 1600), T0 + 2.5); // a snapshot after the final record
    see(bw, flow("a", 120, 1500, { ts_last: T0 + 2 }), T0 + 2.6, true); // the same final record again
    advance(bw, T0 + 3.5);
    expect(at(bw, "curl", T0 + 1)).toEqual([500, 20]);
    expect(at(bw, "curl", T0 + 2)).toEqual([0, 0]);
    // a later record of the long flow (after an active timeout): its counters start again
    see(bw, flow("a", 10, 40, { ts_first: T0 + 3, ts_last: T0 + 3.4 }), T0 + 3.6);
    advance(bw, T0 + 4.5);
    expect(at(bw, "curl", T0 + 3)).toEqual([40, 10]);
  });

  it("ignores a counter that goes backwards, and counts from the highest seen", () => {
    const bw = createLiveBandwidth();
    see(bw, flow("a", 100, 1000), T0 + 0.5);
    see(bw, flow("a", 90, 1200), T0 + 1.5); // up went backwards: only down grows
    see(bw, flow("a", 110, 1200), T0 + 2.5);
    advance(bw, T0 + 3.5);
    expect(at(bw, "curl", T0 + 1)).toEqual([200, 0]);
    expect(at(bw, "curl", T0 + 2)).toEqual([0, 10]);
  });

  it("spreads a record seen first over its life in the window (no spike for a long flow)", () => {
    const bw = createLiveBandwidth();
    advance(bw, T0 + 400);
    // 100 s old when first seen (a page opened late, or only the final record of a fleet flow)
    see(bw, flow("old", 1000, 100_000, { ts_first: T0 + 300, ts_last: T0 + 400 }), T0 + 400.5);
    // 400 s old: only its last 300 s are in the window
    see(bw, flow("older", 0, 40_000, { process: "wget", ts_first: T0, ts_last: T0 + 400 }), T0 + 400.5, true);
    advance(bw, T0 + 401.5);
    const v = bandwidthView(bw, "process", null);
    const curl = v.series.find((s) => s.key === "curl");
    expect(curl?.total).toBeCloseTo(101_000);
    expect(Math.max(...(curl?.down ?? []))).toBeCloseTo(1000);
    expect(at(bw, "curl", T0 + 350)).toEqual([1000, 10]);
    expect(v.series.find((s) => s.key === "wget")?.total).toBeCloseTo(40_000 * (299 / 400));
    // then its growth goes to the second it is seen in
    see(bw, flow("old", 1000, 102_000, { ts_first: T0 + 300, ts_last: T0 + 401 }), T0 + 401.5);
    advance(bw, T0 + 402.5);
    expect(at(bw, "curl", T0 + 401)).toEqual([2000, 0]);
  });

  it("keeps the top keys and sums the rest as other", () => {
    const bw = createLiveBandwidth();
    for (let i = 0; i < 12; i++) see(bw, flow(`u${i}`, 0, (i + 1) * 100, { process: `p${i}`, ts_first: T0 + 0.1 }), T0 + 0.5);
    advance(bw, T0 + 1.5);
    const v = bandwidthView(bw, "process", null, 8);
    expect(v.series.map((s) => s.key)).toEqual(["p11", "p10", "p9", "p8", "p7", "p6", "p5", "p4", "other"]);
    expect(v.series[8].total).toBe(100 + 200 + 300 + 400);
    expect(v.times.length).toBe(300);
    expect(v.times[v.times.length - 1]).toBe(T0 * 1000);
    expect(v.series[0].down.length).toBe(300);
  });

  it("splits by host when one is chosen", () => {
    const bw = createLiveBandwidth();
    addFlow(bw, bwInput(flow("a", 1, 10), "vm", true), T0 + 0.5);
    addFlow(bw, bwInput(flow("b", 2, 20, { process: "wget" }), "nas", true), T0 + 0.5);
    advance(bw, T0 + 1.5);
    expect(bandwidthView(bw, "process", "nas").series.map((s) => s.key)).toEqual(["wget"]);
    expect(bandwidthView(bw, "process", null).series.map((s) => s.key)).toEqual(["wget", "curl"]);
  });

  it("stays bounded: window, uids, keys per bucket; ended uids are forgotten", () => {
    const bw = createLiveBandwidth({ uids: 1000, keysPerBucket: 16 });
    for (let s = 0; s < 700; s++) {
      for (let i = 0; i < 10; i++) {
        const uid = `u${s}-${i}`;
        see(bw, flow(uid, 1, 1, { process: `p${i + s}`, ts_first: T0 + s, ts_last: T0 + s + 0.4 }), T0 + s + 0.5, i % 2 === 0);
      }
    }
    expect(bw.buckets.size).toBeLessThanOrEqual(301);
    expect(bw.uids.size).toBeLessThanOrEqual(1000);
    for (let i = 0; i < 40; i++) see(bw, flow(`many${i}`, 0, 5, { process: `q${i}`, ts_first: T0 + 699.6, ts_last: T0 + 699.6 }), T0 + 699.7);
    expect(bw.buckets.get(T0 + 699)?.process.size).toBeLessThanOrEqual(17);
    advance(bw, T0 + 700.5);
    const v = bandwidthView(bw, "process", null, 8);
    const second = v.times.indexOf((T0 + 699) * 1000);
    expect(v.series.reduce((a, s) => a + s.down[second], 0)).toBe(10 + 40 * 5); // nothing lost to the cap
    advance(bw, T0 + 2000);
    expect(bw.uids.size).toBe(0);
    expect(bw.buckets.size).toBe(0);
  });

  it("is fed by the live feed's flow events", () => {
    const state = createFeed();
    const at0 = T0 * 1000;
    applyEvent(state, { type: "flow_updates", host: "vm", ts: T0 + 0.5, flows: [flow("a", 100, 1000, { ts_first: T0 + 0.2 })] }, at0);
    applyEvent(state, { type: "flows", host: "vm", ts: T0 + 1.5, flows: [flow("a", 300, 1500, { ts_first: T0 + 0.2 })] }, at0);
    applyEvent(state, { type: "interfaces", host: "vm", ts: T0 + 2.5, interfaces: [] }, at0);
    const v = bandwidthView(state.bandwidth, "process", null);
    const s = v.series.find((x) => x.key === "curl");
    expect(s?.total).toBe(1800);
    expect(s?.down.slice(-2)).toEqual([1000, 500]);
  });
});
