import { describe, expect, it } from "vitest";
import type { FlowSummary, LiveEvent } from "../types";
import { applyEvent, applyRows, createFeed, undetailed } from "./feed";
import { interfaceView } from "./ifaces";

const snap = (uid: string, over: Partial<FlowSummary> = {}): FlowSummary => ({
  uid,
  active: true,
  ts_first: 1000,
  ts_last: 1001,
  transport: "tcp",
  src_ip: "10.0.0.2",
  src_port: 50000,
  dst_ip: "93.184.216.34",
  dst_port: 443,
  remote_ip: "93.184.216.34",
  app_proto: "tls",
  name: "slow.example.com",
  domain: "example.com",
  process: "curl",
  country: "US",
  asn: 15133,
  as_org: "Edgecast",
  privacy_score: 10,
  src_bytes: 500,
  dst_bytes: 1500,
  src_packets: 3,
  dst_packets: 3,
  ...over,
});

const updates = (list: FlowSummary[], ts = 1001): LiveEvent => ({ type: "flow_updates", host: "vm", ts, count: list.length, flows: list });
const ended = (list: FlowSummary[], ts = 1010): LiveEvent => ({ type: "flows", host: "vm", ts, count: list.length, flows: list });

describe("live flow updates (snapshots of open flows)", () => {
  it("show an open flow at once, enriched, and grow it in place by uid", () => {
    const s = createFeed();
    applyEvent(s, updates([snap("a")]), 1001_100);
    const f = s.flows.get("a")!;
    expect(f.active).toBe(true);
    expect([f.name, f.country, f.asn, f.process, f.domain]).toEqual(["slow.example.com", "US", 15133, "curl", "example.com"]);
    expect(f.bytes).toBe(2000);
    applyEvent(s, updates([snap("a", { ts_last: 1003, dst_bytes: 9500, dst_packets: 9 })], 1003), 1003_100);
    expect(s.flows.size).toBe(1);
    expect(s.flows.get("a")!.bytes).toBe(10000);
    expect(s.flows.get("a")!.rate).toBeCloseTo(10000 / 3);
    const ep = s.endpoints.get("93.184.216.34")!;
    expect(ep.flows).toBe(1);
    expect(ep.bytes).toBe(10000);
  });
  it("the final record replaces the snapshot; later snapshots of it are ignored", () => {
    const s = createFeed();
    applyEvent(s, updates([snap("a")]), 1001_100);
    expect(undetailed(s)).toEqual([]); // open flows are not stored yet: nothing to fetch
    applyEvent(s, ended([snap("a", { active: false, ts_last: 1008, dst_bytes: 20000, end_reason: "fin" })]), 1010_000);
    const f = s.flows.get("a")!;
    expect(f.active).toBe(false);
    expect(f.bytes).toBe(20500);
    expect(undetailed(s).map((x) => x.uid)).toEqual(["a"]);
    applyEvent(s, updates([snap("a", { ts_last: 1005, dst_bytes: 7000 })], 1011), 1011_000);
    expect(s.flows.get("a")!.active).toBe(false);
    expect(s.flows.get("a")!.bytes).toBe(20500);
    expect(s.endpoints.get("93.184.216.34")!.bytes).toBe(20500);
    expect(s.endpoints.get("93.184.216.34")!.flows).toBe(1);
  });
  it("a stored row merged into an open flow does not make it ended", () => {
    const s = createFeed();
    const { active: _drop, ...stored } = snap("old");
    applyRows(s, [{ ...stored, community_id: "1:x" }], 1);
    expect(s.flows.get("old")!.active).toBe(false);
    applyEvent(s, updates([snap("b")]), 2);
    expect(s.flows.get("b")!.active).toBe(true);
  });
});

describe("interface rates", () => {
  const ev = (ts: number, rx: number, tx: number, host = "vm"): LiveEvent => ({
    type: "interfaces",
    host,
    ts,
    interfaces: [
      { name: "eth0", up: true, rx_bytes_s: rx, tx_bytes_s: tx },
      { name: "wlan0", up: false, rx_bytes_s: 1, tx_bytes_s: 0 },
    ],
  });
  it("keep per-host samples in order, bounded", () => {
    const s = createFeed({ rates: 3 });
    for (let t = 1; t <= 5; t++) applyEvent(s, ev(t, t * 100, t * 10), t * 1000);
    applyEvent(s, ev(2, 9999, 9999), 6000); // out of order: dropped
    const list = s.ifaces.get("vm")!;
    expect(list.map((x) => x.ts)).toEqual([3, 4, 5]);
    expect(list[2].rates.eth0).toEqual({ rx: 500, tx: 50, up: true });
    expect(s.hosts.get("vm")).toBe(5);
  });
  it("give per-interface series (busiest first) and per-second totals", () => {
    const s = createFeed();
    for (let t = 1; t <= 3; t++) applyEvent(s, ev(t, t * 100, t * 10), t * 1000);
    const v = interfaceView(s, ["vm"], 2);
    expect(v.interfaces.map((i) => i.name)).toEqual(["eth0", "wlan0"]);
    expect(v.interfaces[0].rx).toEqual([[2000, 200], [3000, 300]]);
    expect([v.interfaces[0].lastRx, v.interfaces[0].lastTx]).toEqual([300, 30]);
    expect(v.totals).toEqual([[2000, 201, 20], [3000, 301, 30]]);
    applyEvent(s, ev(3.2, 50, 5, "other"), 4000);
    expect(interfaceView(s, ["vm", "other"], 0, 1).interfaces.map((i) => i.name)).toEqual(["vm/eth0"]);
  });
  it("ignore malformed events", () => {
    const s = createFeed();
    applyEvent(s, { type: "interfaces", host: "vm", ts: 1, interfaces: "nope" } as unknown as LiveEvent, 1);
    expect(s.ifaces.size).toBe(0);
  });
});
