// Flows of the live state: a live summary (feed event) or a stored row (REST) normalised into a
// LiveFlow, and merged by uid into the state's flow map (snapshots of open flows, final records,
// later records of long flows). Pure logic, no DOM.

import type { FlowRow, FlowSummary } from "../types";
import { touchEndpoint } from "./endpoints";
import type { FeedState } from "./feed";
import { isInternal, remoteOf } from "./geo";
import { flowRisk } from "./risk";
import { num, numOrNull, str } from "./values";

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

const INTERNAL_CLASSES = new Set(["private", "loopback", "link-local", "ula", "multicast", "broadcast", "cgnat", "own", "reserved"]);

/** Normalise a live summary or a stored row into a LiveFlow (no merging). */
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
