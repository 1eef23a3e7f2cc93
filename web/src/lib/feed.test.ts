import { describe, expect, it } from "vitest";
import type { FlowRow, FlowSummary, LiveEvent } from "../types";
import { alertsOf, applyEvent, applyRows, createFeed, flowsOf, undetailed } from "./feed";

const summary = (uid: string, over: Partial<FlowSummary> = {}): FlowSummary => ({
  uid,
  ts_first: 1000,
  ts_last: 1002,
  transport: "tcp",
  src_ip: "10.0.0.2",
  src_port: 50000,
  dst_ip: "93.184.216.34",
  dst_port: 443,
  app_proto: "tls",
  name: "example.com",
  process: "curl",
  country: "US",
  packets: 10,
  bytes: 4000,
  ...over,
});

const row = (uid: string, over: Partial<FlowRow> = {}): FlowRow => ({
  uid,
  host: "vm",
  community_id: "1:abc",
  ts_first: 1000,
  ts_last: 1002,
  transport: "tcp",
  src_ip: "10.0.0.2",
  src_port: 50000,
  dst_ip: "93.184.216.34",
  dst_port: 443,
  src_packets: 4,
  dst_packets: 6,
  src_bytes: 1000,
  dst_bytes: 3000,
  app_proto: "tls",
  tls_sni: "example.com",
  name: "example.com",
  domain: "example.com",
  remote_ip: "93.184.216.34",
  country: "US",
  city: "Norwell",
  latitude: 42.1,
  longitude: -70.8,
  asn: 15133,
  as_org: "Edgecast",
  privacy_score: 10,
  threat_level: 0,
  intel: [],
  ...over,
});

const flows = (host: string, list: FlowSummary[], ts = 1003): LiveEvent => ({ type: "flows", host, ts, count: list.length, flows: list });

describe("feed reducer", () => {
  it("folds live flows into flows and endpoints", () => {
    const s = createFeed();
    applyEvent(s, flows("vm", [summary("a"), summary("b", { bytes: 1000, packets: 2, process: "firefox" })]), 1003_500);
    expect(s.flows.size).toBe(2);
    expect(s.endpoints.size).toBe(1);
    const ep = s.endpoints.get("93.184.216.34")!;
    expect(ep.bytes).toBe(5000);
    expect(ep.flows).toBe(2);
    expect(ep.processes.sort()).toEqual(["curl", "firefox"]);
    expect(ep.name).toBe("example.com");
    expect(ep.internal).toBe(false);
    expect(s.latency).toBeCloseTo(0.5, 3);
    expect(s.hosts.get("vm")).toBe(1003);
    expect(s.version).toBe(1);
  });
  it("a stored row enriches the live flow without counting it twice", () => {
    const s = createFeed();
    applyEvent(s, flows("vm", [summary("a")]), 1003_000);
    expect(undetailed(s).map((f) => f.uid)).toEqual(["a"]);
    applyRows(s, [row("a")], 1004_000);
    const f = s.flows.get("a")!;
    expect(f.detailed).toBe(true);
    expect(f.asn).toBe(15133);
    expect(f.lat).toBeCloseTo(42.1);
    expect(f.bytesOut).toBe(1000);
    expect(f.bytesIn).toBe(3000);
    const ep = s.endpoints.get("93.184.216.34")!;
    expect(ep.bytes).toBe(4000);
    expect(ep.flows).toBe(1);
    expect(ep.org).toBe("Edgecast");
    expect(undetailed(s)).toEqual([]);
  });
  it("a later record of the same uid (active timeout) adds up", () => {
    const s = createFeed();
    applyEvent(s, flows("vm", [summary("a")]), 1003_000);
    applyEvent(s, flows("vm", [summary("a", { ts_first: 1800, ts_last: 1900, bytes: 6000, packets: 5 })]), 1901_000);
    const f = s.flows.get("a")!;
    expect(f.bytes).toBe(10000);
    expect(f.packets).toBe(15);
    expect(f.ts_last).toBe(1900);
    expect(s.endpoints.get("93.184.216.34")!.bytes).toBe(10000);
  });
  it("moves counts when the stored row names another remote side", () => {
    const s = createFeed();
    // both sides public: the first guess is the responder
    applyEvent(s, flows("vm", [summary("x", { src_ip: "198.51.100.7", dst_ip: "203.0.113.5" })]), 1003_000);
    expect(s.endpoints.has("203.0.113.5")).toBe(true);
    applyRows(s, [row("x", { src_ip: "198.51.100.7", dst_ip: "203.0.113.5", remote_ip: "198.51.100.7" })], 1004_000);
    expect(s.endpoints.has("203.0.113.5")).toBe(false);
    expect(s.endpoints.get("198.51.100.7")!.bytes).toBe(4000);
  });
  it("risk: intel, alerts and privacy raise the endpoint's risk", () => {
    const s = createFeed();
    applyRows(s, [row("a", { privacy_score: 35 })], 1);
    expect(s.endpoints.get("93.184.216.34")!.risk).toBe(35);
    applyEvent(s, { type: "alerts", host: "vm", ts: 1005, alerts: [{ uid: "al1", kind: "beacon", severity: "high", status: "open", subject_ip: "10.0.0.2", peer_ip: "93.184.216.34", last_seen: 1004 }] }, 1005_100);
    expect(s.endpoints.get("93.184.216.34")!.risk).toBe(80);
    expect(alertsOf(s, "93.184.216.34").map((a) => a.uid)).toEqual(["al1"]);
    expect(s.alerts.get("al1")!.host).toBe("vm");
    applyRows(s, [row("b", { remote_ip: "192.0.2.66", dst_ip: "192.0.2.66", intel: ["firehol:attacks"], threat_level: 40 })], 2);
    expect(s.endpoints.get("192.0.2.66")!.risk).toBe(90);
    // an endpoint first seen after its alert still gets it
    applyEvent(s, { type: "alerts", host: "vm", ts: 1006, alerts: [{ uid: "al2", kind: "scan", severity: "critical", status: "open", subject_ip: "198.51.100.99" }] }, 1006_000);
    applyRows(s, [row("c", { remote_ip: "198.51.100.99", dst_ip: "198.51.100.99" })], 3);
    expect(s.endpoints.get("198.51.100.99")!.risk).toBe(95);
  });
  it("alert updates replace the same uid", () => {
    const s = createFeed();
    const a = { uid: "al1", kind: "scan", severity: "medium", status: "open", count: 1 };
    applyEvent(s, { type: "alerts", host: "vm", ts: 1, alerts: [a] }, 1000);
    applyEvent(s, { type: "alerts", host: "vm", ts: 2, alerts: [{ ...a, count: 4, status: "acknowledged" }] }, 2000);
    expect(s.alerts.size).toBe(1);
    expect(s.alerts.get("al1")!.count).toBe(4);
    expect(s.alerts.get("al1")!.status).toBe("acknowledged");
  });
  it("rates: per host series, ordered, bounded; state replays the latest", () => {
    const s = createFeed({ rates: 3 });
    applyEvent(s, { type: "state", hosts: { vm: { type: "rates", host: "vm", ts: 10, rx_bytes_s: 1, tx_bytes_s: 2, flow_bytes_per_s: 3, flows_per_s: 1 } } }, 10_000);
    for (let t = 11; t <= 14; t++) applyEvent(s, { type: "rates", host: "vm", ts: t, rx_bytes_s: t, tx_bytes_s: 0, cpu_percent: 5 }, t * 1000);
    applyEvent(s, { type: "rates", host: "vm", ts: 12, rx_bytes_s: 99 }, 15_000); // out of order: ignored
    const list = s.rates.get("vm")!;
    expect(list.map((r) => r.ts)).toEqual([12, 13, 14]);
    expect(list[2].rx).toBe(14);
    expect(list[2].cpu).toBe(5);
  });
  it("bounded: oldest flows and endpoints go first", () => {
    const s = createFeed({ flows: 100, endpoints: 50 });
    const list: FlowSummary[] = [];
    for (let i = 0; i < 300; i++) list.push(summary(`u${i}`, { dst_ip: `198.51.100.${i % 200}`, ts_first: i, ts_last: i }));
    applyEvent(s, flows("vm", list), 1);
    expect(s.flows.size).toBe(100);
    expect(s.flows.has("u299")).toBe(true);
    expect(s.flows.has("u0")).toBe(false);
    expect(s.endpoints.size).toBe(50);
    expect(s.endpoints.has("198.51.100.99")).toBe(true); // seen at 299
  });
  it("ignores malformed flows and counts dropped events", () => {
    const s = createFeed();
    applyEvent(s, { type: "flows", host: "vm", ts: 1, flows: [{ uid: 5 } as unknown as FlowSummary, summary("ok")] }, 1);
    expect(s.flows.size).toBe(1);
    applyEvent(s, { type: "dropped", count: 7 }, 2);
    expect(s.dropped).toBe(7);
    applyEvent(s, { type: "nonsense" } as unknown as LiveEvent, 3);
    expect(s.events).toBe(3);
  });
  it("flowsOf lists one endpoint's flows, newest first; 5,000 flows fold fast", () => {
    const s = createFeed();
    const list: FlowSummary[] = [];
    for (let i = 0; i < 5000; i++) list.push(summary(`f${i}`, { dst_ip: `203.0.113.${i % 250}`, ts_first: i, ts_last: i + 1 }));
    const t0 = performance.now();
    applyEvent(s, flows("vm", list), 1);
    expect(performance.now() - t0).toBeLessThan(500);
    const mine = flowsOf(s, "203.0.113.7", 5);
    expect(mine.length).toBe(5);
    expect(mine[0].ts_last).toBeGreaterThan(mine[1].ts_last);
  });
});

describe("remote side", () => {
  it("learns this site's addresses from stored rows to place later live flows", () => {
    const s = createFeed();
    // the site has a public address; its resolver is private: the first guess would be wrong
    applyRows(s, [row("r1", { src_ip: "81.2.69.160", dst_ip: "10.255.255.53", remote_ip: "10.255.255.53", dst_class: "private", src_class: "public" })], 1);
    expect(s.locals.has("81.2.69.160")).toBe(true);
    applyEvent(s, flows("vm", [summary("l1", { src_ip: "81.2.69.160", dst_ip: "10.255.255.53" })]), 2);
    expect(s.flows.get("l1")!.remote).toBe("10.255.255.53");
    expect(s.flows.get("l1")!.internal).toBe(true);
  });
  it("uses the server's address classes for internal or external", () => {
    const s = createFeed();
    applyRows(s, [row("c1", { dst_ip: "192.0.2.9", remote_ip: "192.0.2.9", dst_class: "reserved" })], 1);
    expect(s.endpoints.get("192.0.2.9")!.internal).toBe(true);
    applyRows(s, [row("c2", { dst_ip: "100.64.1.1", remote_ip: "100.64.1.1", dst_class: "own" })], 1);
    expect(s.endpoints.get("100.64.1.1")!.internal).toBe(true);
  });
});
