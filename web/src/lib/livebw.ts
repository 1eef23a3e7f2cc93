// Live bandwidth per key (process, remote host, application, host) at 1 s, from the live feed's flows:
// snapshots of open flows (flow_updates, counters so far) and final records (flows). Each uid's last
// counters are remembered; each record adds its growth since then to the 1-second bucket of its keys
// (a record first seen is spread over its life instead).
// Down is remote -> local, up is local -> remote (the same sides as LiveFlow and the /bandwidth history).
// Bounded: a window of buckets, a capped number of keys per bucket, a capped and expiring uid map.
// Pure logic, no DOM.

import type { FlowSummary } from "../types";
import { remoteOf } from "./geo";
import { num, str } from "./values";

export type BwDim = "process" | "remote" | "app" | "host";
export const BW_DIMS: readonly BwDim[] = ["process", "remote", "app", "host"];

/** One flow record, reduced to what the live bandwidth needs. */
export interface BwInput {
  uid: string;
  host: string;
  tsFirst: number;
  tsLast: number;
  /** Counters of the record so far (remote -> local, local -> remote). */
  down: number;
  up: number;
  /** A snapshot of an open flow; false for the final record. */
  active: boolean;
  keys: Record<BwDim, string>;
  /** The remote endpoint's name, when known. */
  remoteName: string | null;
}

interface UidEntry {
  tsFirst: number;
  down: number;
  up: number;
  lastSeen: number;
  ended: boolean;
}

/** Composite key (host, key) -> [down bytes, up bytes] in one second. */
type Cell = Map<string, [number, number]>;

export interface BwLimits {
  /** Complete seconds kept (and the current one). */
  seconds: number;
  /** Uids remembered at most (oldest forgotten first). */
  uids: number;
  /** Keys per bucket and dimension; more go to "other". */
  keysPerBucket: number;
  /** An open flow not updated for this long is forgotten (s). */
  idle: number;
  /** An ended flow is remembered this long, to ignore late snapshots (s). */
  ended: number;
  /** Remote names remembered at most. */
  names: number;
}

export interface LiveBandwidth {
  /** Second -> dimension -> cell. */
  buckets: Map<number, Record<BwDim, Cell>>;
  uids: Map<string, UidEntry>;
  names: Map<string, string>;
  /** Latest event time seen (epoch seconds); 0 before any. */
  now: number;
  limits: BwLimits;
}

const SEP = "\u0000";
const EPS = 1e-6;
export const OTHER = "other";

export function createLiveBandwidth(limits: Partial<BwLimits> = {}): LiveBandwidth {
  return {
    buckets: new Map(),
    uids: new Map(),
    names: new Map(),
    now: 0,
    limits: { seconds: 300, uids: 20_000, keysPerBucket: 96, idle: 900, ended: 120, names: 4096, ...limits },
  };
}

/** The bandwidth view of a feed flow of `host` (a snapshot when `active`); `locals` place the remote side. */
export function bwInput(f: FlowSummary, host: string, active: boolean, locals?: ReadonlySet<string>): BwInput {
  const remote = remoteOf(f, locals);
  const toDst = remote === f.dst_ip;
  const src = num(f.src_bytes);
  const dst = num(f.dst_bytes);
  const h = str(f.host) ?? host;
  return {
    uid: f.uid,
    host: h,
    tsFirst: num(f.ts_first),
    tsLast: Math.max(num(f.ts_first), num(f.ts_last, num(f.ts_first))),
    down: toDst ? dst : src,
    up: toDst ? src : dst,
    active,
    keys: {
      process: str(f.process) ?? "unknown",
      remote,
      app: str(f.app_proto) ?? str(f.transport) ?? "unknown",
      host: h,
    },
    remoteName: str(f.name) ?? str(f.tls_sni) ?? str(f.http_host),
  };
}

/** The oldest second kept: the window of complete seconds before the current one. */
const oldestSecond = (bw: LiveBandwidth): number => Math.floor(bw.now) - bw.limits.seconds;

/** Move the clock to `ts` (epoch seconds): drop buckets out of the window, expire uids. */
export function advance(bw: LiveBandwidth, ts: number): void {
  if (!Number.isFinite(ts) || ts <= bw.now) return;
  const before = Math.floor(bw.now);
  bw.now = ts;
  const second = Math.floor(ts);
  if (second === before) return;
  const oldest = oldestSecond(bw);
  for (const s of bw.buckets.keys()) if (s < oldest) bw.buckets.delete(s);
  if (Math.floor(second / 10) !== Math.floor(before / 10)) expireUids(bw);
}

function expireUids(bw: LiveBandwidth): void {
  for (const [uid, e] of bw.uids) {
    const ttl = e.ended ? bw.limits.ended : bw.limits.idle;
    if (e.lastSeen < bw.now - ttl) bw.uids.delete(uid);
  }
}

/**
 * The counters already counted for this record: null for a late snapshot (ignored), "new" for a
 * record not seen before (never, or a later record of a long flow whose counters restarted).
 */
function baseline(bw: LiveBandwidth, x: BwInput): UidEntry | "new" | null {
  const e = bw.uids.get(x.uid);
  if (!e) return "new";
  const sameRecord = x.tsFirst <= e.tsFirst + EPS;
  if (!sameRecord) return "new";
  return e.ended && x.active ? null : e;
}

function remember(bw: LiveBandwidth, x: BwInput, down: number, up: number): void {
  bw.uids.delete(x.uid); // re-inserted last: the map stays oldest-first
  bw.uids.set(x.uid, { tsFirst: x.tsFirst, down, up, lastSeen: bw.now, ended: !x.active });
  if (bw.uids.size > bw.limits.uids) {
    let over = bw.uids.size - bw.limits.uids;
    for (const uid of bw.uids.keys()) {
      if (over-- <= 0) break;
      bw.uids.delete(uid);
    }
  }
}

function rememberName(bw: LiveBandwidth, ip: string, name: string | null): void {
  if (!name || bw.names.get(ip) === name) return;
  bw.names.delete(ip);
  bw.names.set(ip, name);
  if (bw.names.size > bw.limits.names) bw.names.delete(bw.names.keys().next().value as string);
}

function bucket(bw: LiveBandwidth, second: number): Record<BwDim, Cell> {
  let b = bw.buckets.get(second);
  if (!b) {
    b = { process: new Map(), remote: new Map(), app: new Map(), host: new Map() };
    bw.buckets.set(second, b);
  }
  return b;
}

function addTo(cell: Cell, host: string, key: string, down: number, up: number, cap: number): void {
  let k = `${host}${SEP}${key}`;
  if (!cell.has(k) && cell.size >= cap) k = `${host}${SEP}${OTHER}`;
  const v = cell.get(k) ?? [0, 0];
  v[0] += down;
  v[1] += up;
  cell.set(k, v);
}

function addAt(bw: LiveBandwidth, x: BwInput, second: number, down: number, up: number): void {
  if (down + up <= 0 || second < oldestSecond(bw)) return;
  const b = bucket(bw, second);
  for (const d of BW_DIMS) addTo(b[d], x.host, x.keys[d], down, up, bw.limits.keysPerBucket);
}

/** A record not seen before: its bytes spread over its life (up to `ts`), as the history does. */
function spread(bw: LiveBandwidth, x: BwInput, ts: number): void {
  const end = Math.min(x.tsLast, ts);
  const life = end - x.tsFirst;
  if (life < 1) return addAt(bw, x, Math.floor(Math.min(ts, Math.max(end, x.tsFirst))), x.down, x.up);
  const from = Math.max(Math.floor(x.tsFirst), oldestSecond(bw));
  for (let s = from; s <= Math.floor(end); s++) {
    const w = (Math.min(s + 1, end) - Math.max(s, x.tsFirst)) / life;
    if (w > 0) addAt(bw, x, s, x.down * w, x.up * w);
  }
}

/**
 * Count one flow record seen at `ts` (the event's time, epoch seconds). A record seen before adds its
 * growth since then to that second (a counter that went backwards adds nothing); a new one is
 * spread over its life, so a long flow first seen now (or only at its end) makes no spike.
 */
export function addFlow(bw: LiveBandwidth, x: BwInput, ts: number): void {
  advance(bw, ts);
  const base = baseline(bw, x);
  if (!base) return;
  rememberName(bw, x.keys.remote, x.remoteName);
  if (base === "new") {
    remember(bw, x, x.down, x.up);
    return spread(bw, x, ts);
  }
  remember(bw, x, Math.max(base.down, x.down), Math.max(base.up, x.up));
  addAt(bw, x, Math.floor(ts), Math.max(0, x.down - base.down), Math.max(0, x.up - base.up));
}

export interface BwSeries {
  key: string;
  /** What to show: the remote's name and address, else the key. */
  label: string;
  /** Bytes per second, one per second of `times`. */
  down: number[];
  up: number[];
  total: number;
  /** Mean rates over the last `recent` seconds. */
  lastDown: number;
  lastUp: number;
}

export interface BwView {
  /** Seconds shown, as ms since the epoch (the last complete second last). */
  times: number[];
  /** The busiest keys first, then "other" (when anything else moved). */
  series: BwSeries[];
}

function label(bw: LiveBandwidth, dim: BwDim, key: string): string {
  const name = dim === "remote" ? bw.names.get(key) : undefined;
  return name && name !== key ? `${name} (${key})` : key;
}

/** Per key, [down, up] per second of the `first`..`end` window (rows may be short: zeros follow). */
function collect(bw: LiveBandwidth, dim: BwDim, host: string | null, first: number, end: number): Map<string, [number, number][]> {
  const rows = new Map<string, [number, number][]>();
  for (let s = first; s <= end; s++) {
    const cell = bw.buckets.get(s)?.[dim];
    if (!cell) continue;
    const i = s - first;
    for (const [ck, v] of cell) {
      const at = ck.indexOf(SEP);
      if (host !== null && ck.slice(0, at) !== host) continue;
      const key = ck.slice(at + 1);
      const row = rows.get(key) ?? [];
      while (row.length <= i) row.push([0, 0]);
      row[i][0] += v[0];
      row[i][1] += v[1];
      rows.set(key, row);
    }
  }
  return rows;
}

const rowTotal = (r: [number, number][]): number => r.reduce((a, v) => a + v[0] + v[1], 0);

/**
 * The last `seconds` complete seconds of `dim`, for one host (or all when null): the `top` busiest
 * keys over the window and "other"; zeros where nothing moved.
 */
export function bandwidthView(bw: LiveBandwidth, dim: BwDim, host: string | null, top = 8, seconds = bw.limits.seconds, recent = 5): BwView {
  if (bw.now === 0) return { times: [], series: [] };
  const end = Math.floor(bw.now) - 1;
  const first = end - Math.min(seconds, bw.limits.seconds) + 1;
  const times = Array.from({ length: end - first + 1 }, (_, i) => (first + i) * 1000);
  const rows = collect(bw, dim, host, first, end);
  const ranked = [...rows.entries()]
    .filter(([k]) => k !== OTHER)
    .map(([k, r]) => ({ k, r, total: rowTotal(r) }))
    .sort((a, b) => b.total - a.total || a.k.localeCompare(b.k));
  const rest = ranked.slice(top).map((e) => e.r);
  const overflow = rows.get(OTHER);
  if (overflow) rest.push(overflow);
  const out = ranked.slice(0, top).map((e) => toSeries(e.k, label(bw, dim, e.k), e.r, times.length, recent));
  const other = mergeRows(rest, times.length);
  if (rowTotal(other) > 0) out.push(toSeries(OTHER, OTHER, other, times.length, recent));
  return { times, series: out };
}

function mergeRows(rows: [number, number][][], n: number): [number, number][] {
  const out = Array.from({ length: n }, () => [0, 0] as [number, number]);
  for (const r of rows) {
    r.forEach((v, i) => {
      out[i][0] += v[0];
      out[i][1] += v[1];
    });
  }
  return out;
}

function toSeries(key: string, lbl: string, row: [number, number][], n: number, recent: number): BwSeries {
  while (row.length < n) row.push([0, 0]);
  const tail = row.slice(-recent);
  const mean = (i: 0 | 1) => (tail.length ? tail.reduce((a, v) => a + v[i], 0) / tail.length : 0);
  return {
    key,
    label: lbl,
    down: row.map((v) => v[0]),
    up: row.map((v) => v[1]),
    total: rowTotal(row),
    lastDown: mean(0),
    lastUp: mean(1),
  };
}
