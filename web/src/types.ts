// Shapes of the server's API and live feed (src/flowradar/server: schemas.py, routes_*.py, ingest.py,
// live.py). Only the fields the dashboard reads are typed; every one may be missing or null.

export type Role = "viewer" | "admin" | "ingest";

export interface Me {
  name: string;
  role: Role;
  via: string;
  csrf_token?: string | null;
}

/** One stored flow (flat columns of FlowRecord, plus host). */
export interface FlowRow {
  host?: string | null;
  uid: string;
  community_id?: string | null;
  ts_first: number;
  ts_last: number;
  transport?: string | null;
  ip_version?: number | null;
  src_ip: string;
  src_port?: number | null;
  dst_ip: string;
  dst_port?: number | null;
  src_packets?: number | null;
  dst_packets?: number | null;
  src_bytes?: number | null;
  dst_bytes?: number | null;
  tcp_flags?: string | null;
  history?: string | null;
  end_reason?: string | null;
  app_proto?: string | null;
  tls_sni?: string | null;
  tls_version?: string | null;
  tls_alpn?: string[] | null;
  tls_ja4?: string | null;
  quic_version?: string | null;
  dns_queries?: string[] | null;
  dns_qtypes?: string[] | null;
  dns_answers?: { name?: string; type?: string; data?: string; ttl?: number }[] | null;
  dns_rcode?: string | null;
  http_method?: string | null;
  http_host?: string | null;
  http_path?: string | null;
  http_user_agent?: string | null;
  http_status?: number | null;
  ssh_client?: string | null;
  ssh_server?: string | null;
  pid?: number | null;
  process?: string | null;
  exe?: string | null;
  country?: string | null;
  asn?: number | null;
  as_org?: string | null;
  domain?: string | null;
  remote_ip?: string | null;
  name?: string | null;
  name_source?: string | null;
  city?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  src_class?: string | null;
  dst_class?: string | null;
  direction?: string | null;
  service?: string | null;
  tracker?: string | null;
  tracker_category?: string | null;
  intel?: string[] | null;
  benign?: string[] | null;
  threat_level?: number | null;
  privacy_score?: number | null;
  privacy_level?: string | null;
}

/** A flow as the live feed sends it (server/ingest.py flow_summary); richer fields when present. */
export interface FlowSummary extends Partial<FlowRow> {
  uid: string;
  /** A snapshot of a flow still open (flow_updates event): counters so far, not stored yet. */
  active?: boolean;
  ts_first: number;
  ts_last: number;
  src_ip: string;
  dst_ip: string;
  packets?: number | null;
  bytes?: number | null;
}

export interface FlowPage {
  items: FlowRow[];
  next_cursor?: string | null;
}

export interface AlertRow {
  host?: string | null;
  uid: string;
  kind: string;
  type?: string | null;
  severity: string;
  score?: number | null;
  subject_ip?: string | null;
  subject_host?: string | null;
  subject_process?: string | null;
  peer_ip?: string | null;
  identifier?: string | null;
  message?: string | null;
  evidence?: string[] | null;
  first_seen?: number | null;
  last_seen?: number | null;
  raised_at?: number | null;
  count?: number | null;
  status: string;
  details?: Record<string, unknown> | null;
}

export interface AlertPage {
  items: AlertRow[];
  next_cursor?: string | null;
}

export interface Aggregate {
  key: string;
  flows: number;
  bytes: number;
  packets: number;
  bytes_in?: number;
  bytes_out?: number;
  label?: string | null;
  host?: string | null;
}

export interface GeoPoint {
  country: string;
  city?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  flows: number;
  bytes: number;
  packets: number;
}

export interface SeriesPoint {
  ts: number;
  key: string;
  bytes_in: number;
  bytes_out: number;
  packets: number;
  flows: number;
}

export interface InterfaceMetrics {
  name: string;
  up?: boolean;
  rx_bytes?: number;
  tx_bytes?: number;
  rx_bytes_s?: number;
  tx_bytes_s?: number;
  rx_packets_s?: number;
  tx_packets_s?: number;
  errors_s?: number;
  drops_s?: number;
}

export interface DiskUsage {
  mount: string;
  device?: string;
  fstype?: string;
  total_bytes?: number;
  used_bytes?: number;
  free_bytes?: number;
  percent?: number;
}

export interface DiskIO {
  device: string;
  read_bytes_s?: number;
  write_bytes_s?: number;
  busy_percent?: number;
}

export interface ProcessMetrics {
  pid: number;
  name: string;
  user?: string | null;
  state?: string;
  threads?: number;
  cpu_percent?: number;
  rss_bytes?: number;
  mem_percent?: number;
  net_rx_bytes?: number | null;
  net_tx_bytes?: number | null;
}

export interface HostMetrics {
  ts: number;
  hostname?: string;
  uptime_s?: number;
  cpu_count?: number;
  cpu_percent?: number;
  cpu_iowait_percent?: number;
  load1?: number;
  load5?: number;
  load15?: number;
  mem_total_bytes?: number;
  mem_used_bytes?: number;
  mem_available_bytes?: number;
  mem_percent?: number;
  swap_total_bytes?: number;
  swap_used_bytes?: number;
  interfaces?: InterfaceMetrics[];
  disks?: DiskUsage[];
  disk_io?: DiskIO[];
  processes?: ProcessMetrics[];
}

export interface HostRow {
  name: string;
  agent_id?: string | null;
  first_seen: number;
  last_seen: number;
  metrics?: HostMetrics | null;
}

export interface ConnectionRow {
  transport: string;
  local_ip: string;
  local_port: number;
  remote_ip: string;
  remote_port: number;
  state: string;
  user?: string | null;
  pid?: number | null;
  process?: string | null;
  exe?: string | null;
  container?: string | null;
  rx_bytes?: number | null;
  tx_bytes?: number | null;
  rtt_ms?: number | null;
  ts?: number;
}

export interface ListeningPort {
  transport: string;
  ip_version?: number;
  address: string;
  port: number;
  scope: string;
  service?: string | null;
  risk: string;
  risk_reason?: string;
  pid?: number | null;
  process?: string | null;
  exe?: string | null;
  user?: string | null;
  container?: string | null;
}

/** Live feed events (server/app.py _live, server/announce.py). */
export interface RatesEvent {
  type: "rates";
  host: string;
  ts: number;
  flows_per_s?: number;
  flow_bytes_per_s?: number;
  rx_bytes_s?: number;
  tx_bytes_s?: number;
  cpu_percent?: number;
  mem_percent?: number;
}

/** Rates of one interface (server/announce.py interface_rates). */
export interface InterfaceRate {
  name: string;
  up?: boolean;
  rx_bytes_s?: number;
  tx_bytes_s?: number;
}

/** Every interface of a host: each second in single-host mode, with each metrics sample of an agent. */
export interface InterfacesEvent {
  type: "interfaces";
  host: string;
  ts: number;
  interfaces: InterfaceRate[];
}

export type LiveEvent =
  | { type: "state"; hosts: Record<string, RatesEvent> }
  | { type: "flows"; host: string; ts: number; count?: number; flows: FlowSummary[] }
  | { type: "flow_updates"; host: string; ts: number; count?: number; flows: FlowSummary[] }
  | InterfacesEvent
  | { type: "alerts"; host: string; ts: number; alerts: AlertRow[] }
  | RatesEvent
  | { type: "dropped"; count: number };
