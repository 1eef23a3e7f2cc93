// Aggregations behind the table views (pure: unit-tested): server names and DNS questions, trackers
// and privacy per owner, bandwidth totals per key, located places.

import type { FlowRow, GeoPoint, SeriesPoint } from "../types";

export interface Question {
  name: string;
  types: string[];
  count: number;
  rcodes: string[];
  answers: string[];
  clients: string[];
  lastSeen: number;
}

export interface ServerName {
  name: string;
  sources: string[];
  flows: number;
  bytes: number;
  processes: string[];
  addresses: string[];
  apps: string[];
  lastSeen: number;
}

const add = (list: string[], v: string | null | undefined, max = 8) => {
  if (v && !list.includes(v) && list.length < max) list.push(v);
};

/** DNS questions and server names seen in flow rows. */
export function names(rows: FlowRow[]): { questions: Question[]; servers: ServerName[] } {
  const q = new Map<string, Question>();
  const s = new Map<string, ServerName>();
  for (const r of rows) {
    for (const [i, name] of (r.dns_queries ?? []).entries()) {
      const key = name.toLowerCase().replace(/\.$/, "");
      const e = q.get(key) ?? { name: key, types: [], count: 0, rcodes: [], answers: [], clients: [], lastSeen: 0 };
      e.count++;
      add(e.types, r.dns_qtypes?.[i]);
      add(e.rcodes, r.dns_rcode ?? undefined);
      for (const a of r.dns_answers ?? []) add(e.answers, a.data);
      add(e.clients, r.src_ip);
      e.lastSeen = Math.max(e.lastSeen, r.ts_last);
      q.set(key, e);
    }
    const server = r.tls_sni ?? r.http_host ?? (r.app_proto !== "dns" ? r.name : null);
    if (server) {
      const key = server.toLowerCase();
      const e = s.get(key) ?? { name: key, sources: [], flows: 0, bytes: 0, processes: [], addresses: [], apps: [], lastSeen: 0 };
      e.flows++;
      e.bytes += (r.src_bytes ?? 0) + (r.dst_bytes ?? 0);
      add(e.sources, r.tls_sni ? (r.app_proto === "quic" ? "quic" : "sni") : r.http_host ? "http" : r.name_source ?? "dns");
      add(e.processes, r.process);
      add(e.addresses, r.remote_ip ?? r.dst_ip);
      add(e.apps, r.app_proto);
      e.lastSeen = Math.max(e.lastSeen, r.ts_last);
      s.set(key, e);
    }
  }
  return { questions: [...q.values()], servers: [...s.values()] };
}

export interface TrackerRow {
  tracker: string;
  category: string | null;
  flows: number;
  bytes: number;
  names: string[];
  processes: string[];
  lastSeen: number;
}

export interface OwnerRow {
  owner: string;
  flows: number;
  trackerFlows: number;
  trackers: string[];
  mean: number;
  max: number;
}

export function privacy(rows: FlowRow[]) {
  const trackers = new Map<string, TrackerRow>();
  const owners = new Map<string, OwnerRow & { sum: number }>();
  let sum = 0;
  let n = 0;
  for (const r of rows) {
    const score = r.privacy_score ?? 0;
    sum += score;
    n++;
    const who = r.process ?? r.host ?? r.src_ip;
    const o = owners.get(who) ?? { owner: who, flows: 0, trackerFlows: 0, trackers: [], mean: 0, max: 0, sum: 0 };
    o.flows++;
    o.sum += score;
    o.max = Math.max(o.max, score);
    if (r.tracker) {
      o.trackerFlows++;
      if (!o.trackers.includes(r.tracker) && o.trackers.length < 10) o.trackers.push(r.tracker);
      const t = trackers.get(r.tracker) ?? { tracker: r.tracker, category: r.tracker_category ?? null, flows: 0, bytes: 0, names: [], processes: [], lastSeen: 0 };
      t.flows++;
      t.bytes += (r.src_bytes ?? 0) + (r.dst_bytes ?? 0);
      const name = r.name ?? r.tls_sni ?? r.http_host;
      if (name && !t.names.includes(name) && t.names.length < 8) t.names.push(name);
      if (r.process && !t.processes.includes(r.process)) t.processes.push(r.process);
      t.lastSeen = Math.max(t.lastSeen, r.ts_last);
      trackers.set(r.tracker, t);
    }
    owners.set(who, o);
  }
  const ownerRows: OwnerRow[] = [...owners.values()].map(({ sum: s, ...o }) => ({ ...o, mean: Math.round(s / Math.max(1, o.flows)) }));
  return { trackers: [...trackers.values()], owners: ownerRows, score: n ? Math.round(sum / n) : 0, flows: n };
}

export interface KeyTotal {
  key: string;
  bytes_in: number;
  bytes_out: number;
  bytes: number;
  flows: number;
  packets: number;
}

export function totals(points: SeriesPoint[]): KeyTotal[] {
  const m = new Map<string, KeyTotal>();
  for (const p of points) {
    const t = m.get(p.key) ?? { key: p.key, bytes_in: 0, bytes_out: 0, bytes: 0, flows: 0, packets: 0 };
    t.bytes_in += p.bytes_in;
    t.bytes_out += p.bytes_out;
    t.bytes += p.bytes_in + p.bytes_out;
    t.flows += p.flows;
    t.packets += p.packets;
    m.set(p.key, t);
  }
  return [...m.values()];
}

export interface Place {
  key: string;
  country: string;
  city: string | null;
  lat: number | null;
  lon: number | null;
  flows: number;
  bytes: number;
  packets: number;
}

export interface CountryRow {
  country: string;
  flows: number;
  bytes: number;
  cities: number;
}

/** Stored geo points (range) merged with the live endpoints not yet in them. */
export function places(
  stored: GeoPoint[],
  live: { country: string | null; city: string | null; lat: number | null; lon: number | null; bytes: number; flows: number; packets: number; internal: boolean }[],
  centroid: (country: string) => [number, number] | null,
): Place[] {
  const map = new Map<string, Place>();
  for (const g of stored) {
    const key = `${g.country}|${g.city ?? ""}`;
    map.set(key, { key, country: g.country, city: g.city ?? null, lat: g.latitude ?? null, lon: g.longitude ?? null, flows: g.flows, bytes: g.bytes, packets: g.packets });
  }
  const liveOnly = new Map<string, Place>();
  for (const e of live) {
    if (e.internal || !e.country) continue;
    const key = `${e.country}|${e.city ?? ""}`;
    if (map.has(key)) continue;
    const p = liveOnly.get(key) ?? { key, country: e.country, city: e.city, lat: e.lat, lon: e.lon, flows: 0, bytes: 0, packets: 0 };
    p.flows += e.flows;
    p.bytes += e.bytes;
    p.packets += e.packets;
    p.lat ??= e.lat;
    p.lon ??= e.lon;
    liveOnly.set(key, p);
  }
  for (const [k, p] of liveOnly) map.set(k, p);
  for (const p of map.values()) {
    if (p.lat == null || p.lon == null) {
      const c = centroid(p.country);
      if (c) [p.lon, p.lat] = c;
    }
  }
  return [...map.values()];
}


/** Countries of places, with their traffic and number of cities. */
export function countriesOf(places: Place[]): CountryRow[] {
  const m = new Map<string, CountryRow>();
  for (const p of places) {
    const c = m.get(p.country) ?? { country: p.country, flows: 0, bytes: 0, cities: 0 };
    c.flows += p.flows;
    c.bytes += p.bytes;
    if (p.city) c.cities++;
    m.set(p.country, c);
  }
  return [...m.values()];
}
