import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError } from "../app/api";
import { feed as feedState, rangeParams, useApi, useApp, useFeed } from "../app/store";
import { DataTable, type TableColumn } from "../components/DataTable";
import { FlowDrawer, rowToLive } from "../components/Details";
import { Drawer, ErrorNote, Facts, Icon, LevelBadge, PageHead, Segmented, Stat, StatusBadge } from "../components/ui";
import { mergeAlert, type LiveFlow } from "../lib/feed";
import * as fmt from "../lib/format";
import { severityScore } from "../lib/risk";
import type { AlertPage, AlertRow, FlowPage, FlowRow } from "../types";

const cols: TableColumn<AlertRow>[] = [
  { key: "severity", label: "Severity", px: 96, value: (a) => severityScore(a.severity), text: (a) => a.severity, render: (a) => <LevelBadge level={a.severity} /> },
  { key: "kind", label: "Kind", px: 130, text: (a) => `${a.kind}${a.type && a.type !== a.kind ? ` · ${a.type}` : ""}` },
  { key: "message", label: "What", width: 3 },
  { key: "subject", label: "Subject", width: 1.2, value: (a) => a.subject_host ?? a.subject_ip ?? a.subject_process ?? "" },
  { key: "host", label: "Host", px: 90 },
  { key: "count", label: "Count", numeric: true, px: 64 },
  { key: "score", label: "Score", numeric: true, px: 64 },
  { key: "last_seen", label: "Last seen", numeric: true, px: 96, text: (a) => fmt.time(a.last_seen), noSearch: true },
  { key: "status", label: "Status", px: 116, render: (a) => <StatusBadge status={a.status} /> },
];

function uidFromHash(): string | null {
  const m = /[?&]uid=([^&]+)/.exec(window.location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

function Evidence({ uids, onFlow }: { uids: string[]; onFlow: (f: LiveFlow) => void }) {
  const [rows, setRows] = useState<FlowRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setRows(null);
    Promise.all(uids.slice(0, 20).map((u) => api<FlowPage>("/flows", { params: { text: u, limit: 5 } }).then((p) => p.items.filter((r) => r.uid === u))))
      .then((lists) => live && setRows(lists.flat()))
      .catch((e: unknown) => live && setError(e instanceof ApiError ? e.message : String(e)));
    return () => {
      live = false;
    };
  }, [uids.join(",")]);
  if (error) return <ErrorNote error={error} />;
  const flows = (rows ?? []).map(rowToLive);
  return (
    <DataTable
      name="Evidence flows"
      testid="evidence-table"
      columns={[
        { key: "ts_first", label: "Start", numeric: true, px: 80, text: (f) => fmt.time(f.ts_first) },
        { key: "flow", label: "Flow", width: 4, value: (f) => `${fmt.endpoint(f.src_ip, f.src_port)} → ${fmt.endpoint(f.dst_ip, f.dst_port)}` },
        { key: "app", label: "App", px: 60 },
        { key: "history", label: "History", px: 80, value: (f) => f.row?.history ?? "" },
        { key: "bytes", label: "Bytes", numeric: true, px: 80, text: (f) => fmt.bytes(f.bytes) },
      ]}
      rows={flows}
      rowKey={(f) => f.uid}
      loading={rows === null}
      height={260}
      noSearch
      onRowClick={onFlow}
      emptyTitle={uids.length ? "Evidence flows are not stored (any more)" : "No evidence flow"}
    />
  );
}

function AlertDetail({ alert, onClose, onChanged }: { alert: AlertRow; onClose: () => void; onChanged: (a: AlertRow) => void }) {
  const app = useApp();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [flow, setFlow] = useState<LiveFlow | null>(null);
  const admin = app.me?.role === "admin";
  const act = async (verb: "acknowledge" | "resolve") => {
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ status: string }>(`/alerts/${encodeURIComponent(alert.uid)}/${verb}`, { method: "POST" });
      onChanged({ ...alert, status: res.status });
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  if (flow) return <FlowDrawer flow={flow} onClose={() => setFlow(null)} />;
  return (
    <Drawer testid="alert-drawer" title={`${alert.kind}${alert.type && alert.type !== alert.kind ? ` · ${alert.type}` : ""}`} subtitle={<><LevelBadge level={alert.severity} /> <StatusBadge status={alert.status} /> <span class="muted">score {alert.score ?? "?"}</span></>} onClose={onClose}>
      <p class="alert-message">{alert.message}</p>
      <div class="button-row">
        <button class="btn btn-small" disabled={!admin || busy || alert.status !== "open"} onClick={() => act("acknowledge")} title={admin ? "Mark as seen" : "Admins only"} data-testid="ack">
          <Icon name="check" size={14} /> Acknowledge
        </button>
        <button class="btn btn-small btn-primary" disabled={!admin || busy || alert.status === "resolved"} onClick={() => act("resolve")} title={admin ? "Close the alert" : "Admins only"} data-testid="resolve">
          Resolve
        </button>
        {!admin && <span class="muted small">Viewers see alerts; admins acknowledge and resolve them.</span>}
      </div>
      {error && <ErrorNote error={error} />}
      <Facts
        items={[
          ["Host", alert.host],
          ["Subject", [alert.subject_host, alert.subject_ip, alert.subject_process].filter(Boolean).join(" · ")],
          ["Peer", alert.peer_ip],
          ["First seen", fmt.time(alert.first_seen)],
          ["Last seen", `${fmt.time(alert.last_seen)} (${fmt.ago(alert.last_seen)})`],
          ["Repeats", alert.count != null ? fmt.count(alert.count) : null],
          ["Identifier", alert.identifier ? <span class="mono">{alert.identifier}</span> : null],
          ["Uid", <span class="mono">{alert.uid}</span>],
        ]}
      />
      {alert.details && Object.keys(alert.details).length > 0 && (
        <>
          <h4 class="section-title">Measurements</h4>
          <Facts items={Object.entries(alert.details).slice(0, 30).map(([k, v]) => [k, typeof v === "object" ? <span class="mono small">{JSON.stringify(v).slice(0, 300)}</span> : String(v)])} />
        </>
      )}
      <h4 class="section-title">Evidence flows ({alert.evidence?.length ?? 0})</h4>
      <Evidence uids={alert.evidence ?? []} onFlow={setFlow} />
    </Drawer>
  );
}

export function Alerts() {
  const app = useApp();
  const feed = useFeed(1000);
  const [status, setStatus] = useState<"all" | "open" | "acknowledged" | "resolved">("all");
  const [minSev, setMinSev] = useState("");
  const [selected, setSelected] = useState<string | null>(uidFromHash());
  const page = useApi<AlertPage>("/alerts", () => ({ ...rangeParams(), status: status === "all" ? undefined : status, min_severity: minSev || undefined, limit: 1000 }), [status, minSev, app.range.key, app.host], 10_000);
  const rows = useMemo(() => {
    const m = new Map<string, AlertRow>();
    for (const a of page.data?.items ?? []) m.set(a.uid, a);
    const min = minSev ? severityScore(minSev) : 0;
    for (const a of feed.alerts.values()) {
      if ((status === "all" || a.status === status) && severityScore(a.severity) >= min && (!app.host || a.host === app.host)) m.set(a.uid, { ...m.get(a.uid), ...a });
    }
    return [...m.values()];
  }, [page.data, feed.version, status, minSev, app.host]);
  const current = selected ? rows.find((a) => a.uid === selected) ?? feed.alerts.get(selected) : undefined;
  const open = rows.filter((a) => a.status === "open");
  return (
    <div class="view">
      <PageHead title="Alerts" subtitle="What the detectors found: scans, floods, brute force, beaconing, tunnels, bad destinations and trackers.">
        <Segmented
          label="Status"
          value={status}
          options={[
            { value: "all", label: "All" },
            { value: "open", label: "Open" },
            { value: "acknowledged", label: "Acknowledged" },
            { value: "resolved", label: "Resolved" },
          ]}
          onChange={setStatus}
        />
        <select class="select-plain" value={minSev} onChange={(e) => setMinSev((e.target as HTMLSelectElement).value)} aria-label="Minimum severity">
          <option value="">Any severity</option>
          <option value="low">Low and up</option>
          <option value="medium">Medium and up</option>
          <option value="high">High and up</option>
          <option value="critical">Critical</option>
        </select>
      </PageHead>
      {page.error && <ErrorNote error={page.error} onRetry={page.reload} />}
      <div class="stat-row">
        <Stat label="Open" value={fmt.count(open.length)} tone={open.length ? "high" : undefined} testid="stat-open-alerts" />
        <Stat label="Critical or high" value={fmt.count(open.filter((a) => severityScore(a.severity) >= 80).length)} tone={open.some((a) => a.severity === "critical") ? "critical" : undefined} />
        <Stat label="Acknowledged" value={fmt.count(rows.filter((a) => a.status === "acknowledged").length)} />
        <Stat label="Kinds" value={fmt.count(new Set(rows.map((a) => a.kind)).size)} />
      </div>
      <div class="fill-card card">
        <DataTable name="Alerts" testid="alerts-table" columns={cols} rows={rows} rowKey={(a) => a.uid} sort={{ key: "last_seen", dir: "desc" }} loading={page.loading} onRowClick={(a) => setSelected(a.uid)} selected={selected} emptyTitle="No alert" emptyText="Nothing suspicious was found in this range. Detectors run on every host's flows." />
      </div>
      {current && (
        <AlertDetail
          alert={current}
          onClose={() => setSelected(null)}
          onChanged={(a) => {
            mergeAlert(feedState, a);
            feedState.version++;
            page.reload();
          }}
        />
      )}
    </div>
  );
}
