// The live state of the dashboard: a reducer over the WebSocket feed's events (and the flow rows the
// REST API returns), kept in bounded maps. Pure logic, no DOM: views read it, tests drive it.

import type { AlertRow, FlowRow, FlowSummary, LiveEvent, RatesEvent } from "../types";
import { isInternal, remoteOf } from "./geo";
import { mergeInterfaces, type InterfaceSample } from "./ifaces";
import { flowRisk, severityScore } from "./risk";

export interface LiveFlow {
  uid: string;
  host: string;
  ts_first: number;
  ts_last: number;
  transport: string;
  src_ip: string;
  src_port: number;
  dst_ip: string;
  dst_port: number;
  remote: string;
  remotePort: number;
  local: string;
  internal: boolean;
  app: string | null;
  name: string | null;
  domain: string | null;
  process: string | null;
  pid: number | null;
  country: string | null;
  city: string | null;
  lat: number | null;
  lon: number | null;
  asn: number | null;
  org: string | null;
  service: string | null;
  direction: string | null;
  tracker: string | null;
  trackerCategory: string | null;
  intel: string[];
  privacy: number | null;
  threat: number;
  bytes: number;
  packets: number;
  /** Bytes from the local side to the remote endpoint (when the row says which is which). */
  bytesOut: number | null;
  bytesIn: number | null;
  /** Mean bytes per second over the flow's life. */
  rate: number;
  risk: number;
  /** A full stored row was merged (enrichment known). */
  detailed: boolean;
  /** Still open: known only from live snapshots (flow_updates); the final record clears it. */
  active: boolean;
  /** When the browser received it (ms since the epoch). */
  receivedAt: number;
  /** The complete stored row, once fetched. */
  row?: FlowRow;
}

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

export interface RateSample {
  ts: number;
  rx: number | null;
  tx: number | null;
  flowBytes: number;
  flowsPerS: number;
  cpu: number | null;
  mem: number | null;
}

export interface FeedState {
  flows: Map<string, LiveFlow>;
  endpoints: Map<string, Endpoint>;
  rates: Map<string, RateSample[]>;
  /** Host -> per-interface rates, oldest first (interfaces events). */
  ifaces: Map<string, InterfaceSample[]>;
  alerts: Map<string, AlertRow>;
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

const num = (v: unknown, d = 0): number => (typeof v === "number" && Number.isFinite(v) ? v : d);
const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
const numOrNull = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function addUnique<T>(list: T[], value: T | null | undefined, max = 12): void {
  if (value == null || value === "" || list.includes(value)) return;
  list.push(value);
  if (list.length > max) list.shift();
}

/** Normalise a live summary or a stored row into a LiveFlow (no merging). */
const INTERNAL_CLASSES = new Set(["private", "loopback", "link-local", "ula", "multicast", "broadcast", "cgnat", "own", "reserved"]);

export function toLiveFlow(f: FlowSummary | FlowRow, host: string, receivedAt: number, locals?: ReadonlySet<string>): LiveFlow {
  const remote = remoteOf(f, locals);
  const remoteIsDst = remote === f.dst_ip;
  const local = remoteIsDst ? f.src_ip : f.dst_ip;
  const srcBytes = numOrNull(f.src_bytes);
  const dstBytes = numOrNull(f.dst_bytes);
  const totalBytes =
    srcBytes != null || dstBytes != null ? num(srcBytes) + num(dstBytes) : num((f as FlowSummary).bytes);
  const totalPackets =
    f.src_packets != null || f.dst_packets != null
      ? num(f.src_packets) + num(f.dst_packets)
      : num((f as FlowSummary).packets);
  const life = Math.max(1, num(f.ts_last) - num(f.ts_first));
  const name = str(f.name) ?? str(f.tls_sni) ?? str(f.http_host) ?? null;
  const out: LiveFlow = {
    uid: f.uid,
    host: str(f.host) ?? host,
    ts_first: num(f.ts_first),
    ts_last: num(f.ts_last, num(f.ts_first)),
    transport: str(f.transport) ?? "",
    src_ip: f.src_ip,
    src_port: num(f.src_port),
    dst_ip: f.dst_ip,
    dst_port: num(f.dst_port),
    remote,
    remotePort: remoteIsDst ? num(f.dst_port) : num(f.src_port),
    local,
    internal: (() => {
      const cls = remote === f.dst_ip ? f.dst_class : remote === f.src_ip ? f.src_class : null;
      return cls ? INTERNAL_CLASSES.has(cls) : isInternal(remote);
    })(),
    app: str(f.app_proto),
    name,
    domain: str(f.domain),
    process: str(f.process),
    pid: numOrNull(f.pid),
    country: str(f.country),
    city: str(f.city),
    lat: numOrNull(f.latitude),
    lon: numOrNull(f.longitude),
    asn: numOrNull(f.asn),
    org: str(f.as_org),
    service: str(f.service),
    direction: str(f.direction),
    tracker: str(f.tracker),
    trackerCategory: str(f.tracker_category),
    intel: Array.isArray(f.intel) ? f.intel.slice() : [],
    privacy: numOrNull(f.privacy_score),
    threat: num(f.threat_level),
    bytes: totalBytes,
    packets: totalPackets,
    bytesOut: srcBytes != null ? (remoteIsDst ? srcBytes : num(dstBytes)) : null,
    bytesIn: dstBytes != null ? (remoteIsDst ? dstBytes : num(srcBytes)) : null,
    rate: totalBytes / life,
    risk: 0,
    detailed: "community_id" in f && f.community_id != null,
    active: false,
    receivedAt,
  };
  out.risk = flowRisk({ privacy_score: out.privacy, threat_level: out.threat, intel: out.intel, tracker: out.tracker });
  if (out.detailed) out.row = f as FlowRow;
  return out;
}

const FILL: (keyof LiveFlow)[] = [
  "app", "name", "domain", "process", "pid", "country", "city", "lat", "lon", "asn", "org",
  "service", "direction", "tracker", "trackerCategory", "privacy",
];

/**
 * Fold one flow (summary or row) into the state: the flow map and its remote endpoint.
 *
 * `active`: a snapshot of a flow still open (counters so far). Snapshots and the final record share
 * the uid: each snapshot grows the same row, the final record replaces it (and clears `active`); a
 * snapshot arriving after the final record is ignored.
 */
export function mergeFlow(state: FeedState, f: FlowSummary | FlowRow, host: string, receivedAt: number, active = false): LiveFlow {
  const prev = state.flows.get(f.uid);
  if (active && prev && !prev.active) return prev;
  const incoming = toLiveFlow(f, host, receivedAt, state.locals);
  incoming.active = active;
  if (incoming.detailed && state.locals.size < 4096) state.locals.add(incoming.local);
  let flow: LiveFlow;
  let addBytes = incoming.bytes;
  let addPackets = incoming.packets;
  let newFlow = false;
  const oldRemote = prev?.remote;
  const oldBytes = prev?.bytes ?? 0;
  const oldPackets = prev?.packets ?? 0;
  if (!prev) {
    flow = incoming;
    state.flows.set(flow.uid, flow);
    state.flowsSeen++;
    newFlow = true;
  } else {
    flow = prev;
    flow.active = active;
    const continuation = incoming.ts_first > prev.ts_last + 1e-6 && !incoming.detailed;
    if (continuation) {
      // a later record of a long flow (active timeout): its counters add up
      flow.bytes += incoming.bytes;
      flow.packets += incoming.packets;
      if (incoming.bytesOut != null) flow.bytesOut = (flow.bytesOut ?? 0) + incoming.bytesOut;
      if (incoming.bytesIn != null) flow.bytesIn = (flow.bytesIn ?? 0) + incoming.bytesIn;
    } else {
      // the same record again (a stored row after the live summary): counters are the larger
      addBytes = Math.max(0, incoming.bytes - flow.bytes);
      addPackets = Math.max(0, incoming.packets - flow.packets);
      flow.bytes = Math.max(flow.bytes, incoming.bytes);
      flow.packets = Math.max(flow.packets, incoming.packets);
      if (incoming.bytesOut != null) flow.bytesOut = incoming.bytesOut;
      if (incoming.bytesIn != null) flow.bytesIn = incoming.bytesIn;
    }
    flow.ts_first = Math.min(flow.ts_first, incoming.ts_first);
    flow.ts_last = Math.max(flow.ts_last, incoming.ts_last);
    for (const k of FILL) {
      const v = incoming[k];
      if (v != null) (flow as unknown as Record<string, unknown>)[k] = v;
    }
    if (incoming.detailed) {
      // the stored row knows which side is remote (enrich.remote_ip)
      flow.remote = incoming.remote;
      flow.remotePort = incoming.remotePort;
      flow.local = incoming.local;
      flow.internal = incoming.internal;
      flow.detailed = true;
      flow.row = incoming.row;
      flow.intel = incoming.intel;
      flow.threat = incoming.threat;
    }
    flow.rate = flow.bytes / Math.max(1, flow.ts_last - flow.ts_first);
    flow.risk = flowRisk({ privacy_score: flow.privacy, threat_level: flow.threat, intel: flow.intel, tracker: flow.tracker });
  }
  if (oldRemote !== undefined && oldRemote !== flow.remote) {
    // the first guess of the remote side was wrong: move the counts
    const old = state.endpoints.get(oldRemote);
    if (old) {
      old.bytes = Math.max(0, old.bytes - oldBytes);
      old.packets = Math.max(0, old.packets - oldPackets);
      old.flows = Math.max(0, old.flows - 1);
      if (old.flows === 0) state.endpoints.delete(old.ip);
    }
    newFlow = true;
    addBytes = flow.bytes;
    addPackets = flow.packets;
  }
  touchEndpoint(state, flow, addBytes, addPackets, newFlow);
  return flow;
}

function touchEndpoint(state: FeedState, flow: LiveFlow, addBytes: number, addPackets: number, newFlow: boolean): void {
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
    case "flow_updates":
      for (const f of ev.flows ?? []) {
        if (f && typeof f.uid === "string" && typeof f.src_ip === "string" && typeof f.dst_ip === "string") {
          mergeFlow(state, f, ev.host, receivedAt, ev.type === "flow_updates");
        }
      }
      state.hosts.set(ev.host, ev.ts);
      break;
    case "interfaces":
      mergeInterfaces(state, ev);
      state.hosts.set(ev.host, Math.max(state.hosts.get(ev.host) ?? 0, num(ev.ts)));
      break;
    case "alerts":
      for (const a of ev.alerts ?? []) if (a && typeof a.uid === "string") mergeAlert(state, a, ev.host);
      state.hosts.set(ev.host, ev.ts);
      break;
    case "rates":
      mergeRates(state, ev);
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

/** Ended live flows that have no stored row merged yet (to fetch their enrichment). Open flows
 * (snapshots) are not stored yet: they are fetched once their final record arrives. */
export function undetailed(state: FeedState, max = 500): LiveFlow[] {
  const out: LiveFlow[] = [];
  for (const f of state.flows.values()) {
    if (!f.detailed && !f.active) out.push(f);
  }
  return out.slice(-max);
}
