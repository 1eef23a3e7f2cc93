import { describe, expect, it } from "vitest";
import type { FlowRow, GeoPoint, SeriesPoint } from "../types";
import { countriesOf, names, places, privacy, totals } from "./aggregate";

const row = (uid: string, over: Partial<FlowRow> = {}): FlowRow => ({
  uid,
  ts_first: 100,
  ts_last: 110,
  src_ip: "10.0.0.2",
  dst_ip: "93.184.216.34",
  src_bytes: 100,
  dst_bytes: 900,
  ...over,
});

describe("aggregations", () => {
  it("server names from SNI, HTTP hosts and DNS names; DNS questions with answers", () => {
    const out = names([
      row("a", { tls_sni: "Example.com", app_proto: "tls", process: "curl", remote_ip: "93.184.216.34" }),
      row("b", { tls_sni: "example.com", app_proto: "quic", process: "firefox", ts_last: 200 }),
      row("c", { http_host: "plain.test", app_proto: "http" }),
      row("d", { app_proto: "dns", dst_ip: "10.0.0.1", dns_queries: ["ads.test.", "ads.test"], dns_qtypes: ["A", "AAAA"], dns_rcode: "NOERROR", dns_answers: [{ data: "192.0.2.1" }] }),
      row("e", { app_proto: "dns", dns_queries: ["nx.test"], dns_rcode: "NXDOMAIN" }),
    ]);
    const ex = out.servers.find((s) => s.name === "example.com")!;
    expect(ex.flows).toBe(2);
    expect(ex.bytes).toBe(2000);
    expect(ex.sources.sort()).toEqual(["quic", "sni"]);
    expect(ex.processes.sort()).toEqual(["curl", "firefox"]);
    expect(ex.lastSeen).toBe(200);
    expect(out.servers.find((s) => s.name === "plain.test")!.sources).toEqual(["http"]);
    const ads = out.questions.find((q) => q.name === "ads.test")!;
    expect(ads.count).toBe(2);
    expect(ads.types).toEqual(["A", "AAAA"]);
    expect(ads.answers).toEqual(["192.0.2.1"]);
    expect(out.questions.find((q) => q.name === "nx.test")!.rcodes).toEqual(["NXDOMAIN"]);
    expect(out.servers.some((s) => s.name === "ads.test")).toBe(false); // a DNS flow names no server
  });
  it("trackers, owners and the mean privacy score", () => {
    const out = privacy([
      row("a", { process: "app", tracker: "AdCo", tracker_category: "advertising", privacy_score: 60, tls_sni: "px.adco.test" }),
      row("b", { process: "app", privacy_score: 10 }),
      row("c", { process: "shell", privacy_score: 5 }),
    ]);
    expect(out.score).toBe(25);
    expect(out.flows).toBe(3);
    expect(out.trackers).toEqual([expect.objectContaining({ tracker: "AdCo", category: "advertising", flows: 1, bytes: 1000, names: ["px.adco.test"], processes: ["app"] })]);
    const app = out.owners.find((o) => o.owner === "app")!;
    expect(app).toEqual(expect.objectContaining({ flows: 2, trackerFlows: 1, trackers: ["AdCo"], mean: 35, max: 60 }));
    expect(privacy([]).score).toBe(0);
  });
  it("bandwidth totals per key", () => {
    const pts: SeriesPoint[] = [
      { ts: 0, key: "curl", bytes_in: 10, bytes_out: 1, packets: 2, flows: 1 },
      { ts: 60, key: "curl", bytes_in: 20, bytes_out: 2, packets: 3, flows: 2 },
      { ts: 60, key: "other", bytes_in: 5, bytes_out: 5, packets: 1, flows: 1 },
    ];
    expect(totals(pts).find((t) => t.key === "curl")).toEqual({ key: "curl", bytes_in: 30, bytes_out: 3, bytes: 33, flows: 3, packets: 5 });
  });
  it("places: stored cities plus live endpoints not stored yet, centroids for unknown cities", () => {
    const stored: GeoPoint[] = [
      { country: "DE", city: "Berlin", latitude: 52.5, longitude: 13.4, flows: 3, bytes: 3000, packets: 30 },
      { country: "FR", city: null, latitude: null, longitude: null, flows: 1, bytes: 100, packets: 2 },
    ];
    const live = [
      { country: "DE", city: "Berlin", lat: 52.5, lon: 13.4, bytes: 999, flows: 9, packets: 9, internal: false },
      { country: "JP", city: "Tokyo", lat: 35.7, lon: 139.7, bytes: 500, flows: 2, packets: 4, internal: false },
      { country: "JP", city: "Tokyo", lat: 35.7, lon: 139.7, bytes: 500, flows: 1, packets: 4, internal: false },
      { country: null, city: null, lat: null, lon: null, bytes: 1, flows: 1, packets: 1, internal: true },
    ];
    const out = places(stored, live, (c) => (c === "FR" ? [2, 46] : null));
    expect(out.length).toBe(3);
    expect(out.find((p) => p.city === "Berlin")!.bytes).toBe(3000); // stored wins, no double count
    expect(out.find((p) => p.city === "Tokyo")).toEqual(expect.objectContaining({ bytes: 1000, flows: 3 }));
    expect(out.find((p) => p.country === "FR")).toEqual(expect.objectContaining({ lat: 46, lon: 2 }));
    const countries = countriesOf(out);
    expect(countries.find((c) => c.country === "DE")).toEqual({ country: "DE", flows: 3, bytes: 3000, cities: 1 });
    expect(countries.find((c) => c.country === "FR")!.cities).toBe(0);
  });
});
