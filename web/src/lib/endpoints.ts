// Remote endpoints of the live state (one per remote address, counted from its flows and marked by
// the alerts that name it), and the alerts themselves. Pure logic, no DOM.

import type { AlertRow } from "../types";
import type { FeedState } from "./feed";
import type { LiveFlow } from "./flows";
import { severityScore } from "./risk";

export interface Endpoint {
  ip: string;
  internal: boolean;
  name: string | null;
  domain: string | null;
  country: string | null;
  city: string | null;
  lat: number | null;
  lon: number | null;
  asn: number | null;
  org: string | null;
  tracker: string | null;
  intel: string[];
  bytes: number;
  packets: number;
  flows: number;
  firstSeen: number;
  lastSeen: number;
  processes: string[];
  apps: string[];
  hosts: string[];
  ports: number[];
  risk: number;
  alertRisk: number;
  alerts: number;
}

function addUnique<T>(list: T[], value: T | null | undefined, max = 12): void {
  if (value == null || value === "" || list.includes(value)) return;
  list.push(value);
  if (list.length > max) list.shift();
}

/** Count a flow's growth on its remote endpoint (created on first sight, with the alerts naming it). */
export function touchEndpoint(state: FeedState, flow: LiveFlow, addBytes: number, addPackets: number, newFlow: boolean): void {
  let ep = state.endpoints.get(flow.remote);
  if (!ep) {
    ep = {
      ip: flow.remote,
      internal: flow.internal,
      name: null,
      domain: null,
      country: null,
      city: null,
      lat: null,
      lon: null,
      asn: null,
      org: null,
      tracker: null,
      intel: [],
      bytes: 0,
      packets: 0,
      flows: 0,
      firstSeen: flow.ts_first,
      lastSeen: flow.ts_last,
      processes: [],
      apps: [],
      hosts: [],
      ports: [],
      risk: 0,
      alertRisk: 0,
      alerts: 0,
    };
    state.endpoints.set(ep.ip, ep);
    for (const a of state.alerts.values()) {
      if (a.subject_ip === ep.ip || a.peer_ip === ep.ip) applyAlertToEndpoint(ep, a);
    }
  }
  ep.internal = flow.internal;
  ep.bytes += addBytes;
  ep.packets += addPackets;
  if (newFlow) ep.flows++;
  ep.firstSeen = Math.min(ep.firstSeen, flow.ts_first);
  ep.lastSeen = Math.max(ep.lastSeen, flow.ts_last);
  ep.name = flow.name ?? ep.name;
  ep.domain = flow.domain ?? ep.domain;
  ep.country = flow.country ?? ep.country;
  ep.city = flow.city ?? ep.city;
  ep.lat = flow.lat ?? ep.lat;
  ep.lon = flow.lon ?? ep.lon;
  ep.asn = flow.asn ?? ep.asn;
  ep.org = flow.org ?? ep.org;
  ep.tracker = flow.tracker ?? ep.tracker;
  for (const i of flow.intel) addUnique(ep.intel, i);
  addUnique(ep.processes, flow.process);
  addUnique(ep.apps, flow.app);
  addUnique(ep.hosts, flow.host);
  addUnique(ep.ports, flow.remotePort || null);
  ep.risk = Math.max(ep.risk, flow.risk, ep.alertRisk);
}

function applyAlertToEndpoint(ep: Endpoint, a: AlertRow): void {
  if (a.status === "resolved") return;
  ep.alerts++;
  ep.alertRisk = Math.max(ep.alertRisk, severityScore(a.severity));
  ep.risk = Math.max(ep.risk, ep.alertRisk);
}

export function mergeAlert(state: FeedState, a: AlertRow, host?: string): void {
  const prev = state.alerts.get(a.uid);
  const merged: AlertRow = { ...prev, ...a, host: a.host ?? host ?? prev?.host ?? null };
  state.alerts.delete(a.uid); // re-insert: newest last
  state.alerts.set(a.uid, merged);
  if (!prev) {
    for (const ip of [a.subject_ip, a.peer_ip]) {
      const ep = ip ? state.endpoints.get(ip) : undefined;
      if (ep) applyAlertToEndpoint(ep, merged);
    }
  }
}

/** Flows of one remote endpoint, newest first. */
export function flowsOf(state: FeedState, ip: string, limit = 200): LiveFlow[] {
  const out: LiveFlow[] = [];
  for (const f of state.flows.values()) if (f.remote === ip) out.push(f);
  out.sort((a, b) => b.ts_last - a.ts_last);
  return out.slice(0, limit);
}

/** Alerts that name an address (as subject or peer), newest first. */
export function alertsOf(state: FeedState, ip: string): AlertRow[] {
  return [...state.alerts.values()]
    .filter((a) => a.subject_ip === ip || a.peer_ip === ip)
    .sort((a, b) => (b.last_seen ?? 0) - (a.last_seen ?? 0));
}
