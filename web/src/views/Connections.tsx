import { useMemo, useRef, useState } from "preact/hooks";
import { useApi, useApp, useFeed } from "../app/store";
import { DataTable, type TableColumn } from "../components/DataTable";
import { FlowDrawer } from "../components/Details";
import { Icon, PageHead, RiskBadge, Segmented, Stat, Tag } from "../components/ui";
import type { LiveFlow } from "../lib/feed";
import * as fmt from "../lib/format";
import { riskLevel } from "../lib/risk";
import type { ConnectionRow } from "../types";

export const connectionColumns: TableColumn<LiveFlow>[] = [
  { key: "ts_last", label: "Seen", numeric: true, px: 90, text: (f) => fmt.time(f.ts_last), noSearch: true },
  { key: "process", label: "Process", width: 0.9, text: (f) => f.process ?? "" },
  {
    key: "name",
    label: "Remote host",
    width: 2.2,
    value: (f) => f.name ?? f.remote,
    text: (f) => `${f.name ?? ""} ${f.remote}`,
    render: (f) => (
      <span class="two-line">
        <span class="strong">
          {f.active && <span class="live-dot" title="open: live counters, final when it ends" data-testid="flow-open" />}
          {f.name ?? f.remote}
        </span>
        <span class="muted mono">{f.name ? fmt.endpoint(f.remote, f.remotePort) : `port ${f.remotePort}${f.service ? ` · ${f.service}` : ""}`}</span>
      </span>
    ),
  },
  { key: "domain", label: "Domain", width: 1.1 },
  {
    key: "country",
    label: "Country",
    px: 86,
    text: (f) => (f.internal ? "internal" : f.country ?? ""),
    render: (f) => (f.internal ? <span class="muted">internal</span> : f.country ? <span class="cc" title={fmt.countryName(f.country)}>{f.country}</span> : <span class="muted">—</span>),
  },
  { key: "org", label: "ASN", width: 1.2, value: (f) => f.org ?? (f.asn != null ? `AS${f.asn}` : null), text: (f) => (f.asn != null || f.org ? fmt.asn(f.asn, f.org) : "") },
  { key: "app", label: "App", px: 80, render: (f) => (f.app ? <Tag>{f.app}</Tag> : <span class="muted">{f.transport}</span>), text: (f) => f.app ?? f.transport },
  { key: "bytes", label: "Bytes", numeric: true, px: 84, text: (f) => fmt.bytes(f.bytes), noSearch: true },
  { key: "rate", label: "Rate", numeric: true, px: 90, text: (f) => fmt.bitrate(f.rate), noSearch: true },
  { key: "risk", label: "Risk", numeric: true, px: 104, text: (f) => `${riskLevel(f.risk)} ${f.risk}`, render: (f) => <RiskBadge score={f.risk} /> },
];

const socketColumns: TableColumn<ConnectionRow>[] = [
  { key: "process", label: "Process", width: 1, text: (c) => (c.process ? `${c.process}${c.pid ? ` (${c.pid})` : ""}` : "") },
  { key: "transport", label: "Proto", px: 64 },
  { key: "local", label: "Local", width: 1.3, value: (c) => fmt.endpoint(c.local_ip, c.local_port) },
  { key: "remote", label: "Remote", width: 1.3, value: (c) => (c.remote_port ? fmt.endpoint(c.remote_ip, c.remote_port) : "*") },
  { key: "state", label: "State", px: 110 },
  { key: "user", label: "User", px: 90 },
  { key: "rx_bytes", label: "Received", numeric: true, px: 90, text: (c) => (c.rx_bytes != null ? fmt.bytes(c.rx_bytes) : "—") },
  { key: "tx_bytes", label: "Sent", numeric: true, px: 90, text: (c) => (c.tx_bytes != null ? fmt.bytes(c.tx_bytes) : "—") },
  { key: "rtt_ms", label: "RTT", numeric: true, px: 84, text: (c) => (c.rtt_ms != null ? `${c.rtt_ms.toFixed(1)} ms` : "—") },
];

function Sockets() {
  const app = useApp();
  const data = useApi<ConnectionRow[]>("/connections", () => ({ host: app.host ?? undefined }), [app.host], 5000);
  return (
    <DataTable
      name="Sockets"
      columns={socketColumns}
      rows={data.data ?? []}
      rowKey={(c) => `${c.transport}|${c.local_ip}|${c.local_port}|${c.remote_ip}|${c.remote_port}|${c.pid}`}
      sort={{ key: "process", dir: "asc" }}
      loading={data.loading}
      error={data.error}
      emptyTitle="No socket sample yet"
      emptyText="Socket tables are polled every few seconds on each host."
    />
  );
}

export function Connections() {
  const app = useApp();
  const [paused, setPaused] = useState(false);
  const [tab, setTab] = useState<"flows" | "sockets">("flows");
  const [scope, setScope] = useState<"all" | "external" | "internal">("all");
  const [minRisk, setMinRisk] = useState("0");
  const [search, setSearch] = useState("");
  const [flow, setFlow] = useState<LiveFlow | null>(null);
  const feed = useFeed(250, paused);
  const frozen = useRef<LiveFlow[]>([]);

  const rows = useMemo(() => {
    if (paused) return frozen.current;
    const out: LiveFlow[] = [];
    for (const f of feed.flows.values()) if (!app.host || f.host === app.host) out.push(f);
    return out;
  }, [feed.version, paused, app.host]);
  const togglePause = () => {
    // a paused table shows copies: the live flows keep changing underneath
    if (!paused) frozen.current = rows.map((f) => ({ ...f }));
    setPaused(!paused);
  };

  const filter = useMemo(() => {
    const min = Number(minRisk);
    return (f: LiveFlow) => (scope === "all" || (scope === "internal") === f.internal) && f.risk >= min;
  }, [scope, minRisk]);

  const total = rows.reduce((s, f) => s + f.bytes, 0);
  const now = Date.now() / 1000;
  const lastMinute = rows.filter((f) => now - f.ts_last < 60).length;
  const open = rows.filter((f) => f.active).length;

  return (
    <div class="view view-connections">
      <PageHead title="Connections" subtitle="Every flow, live while it is open and final when it ends: who, to where, over what, how much and how risky.">
        <Segmented
          label="Source"
          value={tab}
          options={[
            { value: "flows", label: "Live flows" },
            { value: "sockets", label: "Open sockets" },
          ]}
          onChange={setTab}
        />
      </PageHead>
      {tab === "sockets" ? (
        <div class="fill-card card">
          <Sockets />
        </div>
      ) : (
        <>
          <div class="stat-row">
            <Stat label="Flows in memory" value={fmt.count(rows.length)} hint={`${fmt.count(feed.flowsSeen)} received`} testid="stat-flows" />
            <Stat label="Last minute" value={fmt.count(lastMinute)} hint={`flows seen · ${fmt.count(open)} open`} testid="stat-open" />
            <Stat label="Traffic" value={fmt.bytes(total)} />
            <Stat label="Risky" value={fmt.count(rows.filter((f) => f.risk > 50).length)} hint="high or critical" tone={rows.some((f) => f.risk > 80) ? "critical" : undefined} />
          </div>
          <div class="fill-card card">
            <DataTable
              name="Connections"
              testid="connections-table"
              columns={connectionColumns}
              rows={rows}
              rowKey={(f) => f.uid}
              sort={{ key: "ts_last", dir: "desc" }}
              filter={filter}
              search={search}
              onSearch={setSearch}
              onRowClick={setFlow}
              selected={flow?.uid}
              rowClass={(f) => (now - f.ts_last < 3 && f.receivedAt > Date.now() - 3000 ? "fresh" : "")}
              emptyTitle="No flow yet"
              emptyText="Flows appear here while they are open (this host) and as they end on the hosts reporting to this server."
              tools={
                <>
                  <select class="select-plain" value={scope} onChange={(e) => setScope((e.target as HTMLSelectElement).value as typeof scope)} aria-label="Scope">
                    <option value="all">All endpoints</option>
                    <option value="external">Internet only</option>
                    <option value="internal">Internal only</option>
                  </select>
                  <select class="select-plain" value={minRisk} onChange={(e) => setMinRisk((e.target as HTMLSelectElement).value)} aria-label="Minimum risk">
                    <option value="0">Any risk</option>
                    <option value="21">Medium and up</option>
                    <option value="51">High and up</option>
                    <option value="81">Critical</option>
                  </select>
                  <button class={`btn btn-small ${paused ? "btn-warn" : "btn-ghost"}`} onClick={togglePause} data-testid="pause" aria-pressed={paused}>
                    <Icon name={paused ? "play" : "pause"} size={14} /> {paused ? "Resume" : "Pause"}
                  </button>
                </>
              }
            />
          </div>
        </>
      )}
      {flow && <FlowDrawer flow={flow} onClose={() => setFlow(null)} />}
    </div>
  );
}
