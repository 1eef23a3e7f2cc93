import { useState } from "preact/hooks";
import { navigate } from "../App";
import { rangeParams, update, useApi, useApp, useFeed } from "../app/store";
import { DataTable, type TableColumn } from "../components/DataTable";
import { Card, Drawer, ErrorNote, Facts, Meter, PageHead, Stat, Tag } from "../components/ui";
import * as fmt from "../lib/format";
import type { Aggregate, HostRow } from "../types";

const ONLINE_S = 60;

function hostCols(now: number, liveSeen: Map<string, number>): TableColumn<HostRow>[] {
  const seen = (h: HostRow) => Math.max(h.last_seen, liveSeen.get(h.name) ?? 0);
  return [
    { key: "name", label: "Host", width: 1.4 },
    { key: "status", label: "Status", px: 96, value: (h) => (now - seen(h) < ONLINE_S ? "online" : "offline"), render: (h) => <Tag tone={now - seen(h) < ONLINE_S ? "low" : "high"}>{now - seen(h) < ONLINE_S ? "online" : "offline"}</Tag> },
    { key: "agent_id", label: "Reports through", width: 1, text: (h) => (h.agent_id ? `agent token ${h.agent_id}` : "this server") },
    { key: "last_seen", label: "Last seen", numeric: true, px: 110, value: seen, text: (h) => fmt.ago(seen(h), now), noSearch: true },
    { key: "first_seen", label: "First seen", numeric: true, px: 130, text: (h) => fmt.time(h.first_seen), noSearch: true },
    { key: "cpu", label: "CPU", numeric: true, px: 120, value: (h) => h.metrics?.cpu_percent ?? null, render: (h) => (h.metrics ? <span class="meter-cell"><Meter value={h.metrics.cpu_percent ?? 0} /><span>{fmt.percent(h.metrics.cpu_percent ?? 0, true)}</span></span> : "—") },
    { key: "mem", label: "Memory", numeric: true, px: 120, value: (h) => h.metrics?.mem_percent ?? null, render: (h) => (h.metrics ? <span class="meter-cell"><Meter value={h.metrics.mem_percent ?? 0} /><span>{fmt.percent(h.metrics.mem_percent ?? 0, true)}</span></span> : "—") },
  ];
}

function HostDetail({ host, onClose }: { host: HostRow; onClose: () => void }) {
  const feed = useFeed(2000);
  const talkers = useApi<Aggregate[]>("/top-talkers", () => ({ ...rangeParams(), host: host.name, n: 10 }), [host.name]);
  const procs = useApi<Aggregate[]>("/processes", () => ({ ...rangeParams(), host: host.name, n: 10 }), [host.name]);
  const m = host.metrics;
  const rates = feed.rates.get(host.name) ?? [];
  const last = rates[rates.length - 1];
  const alerts = [...feed.alerts.values()].filter((a) => a.host === host.name && a.status === "open").length;
  const show = (key: string) => {
    update({ host: host.name });
    navigate(key);
  };
  return (
    <Drawer testid="host-drawer" title={host.name} subtitle={`last seen ${fmt.ago(Math.max(host.last_seen, feed.hosts.get(host.name) ?? 0))}`} onClose={onClose}>
      <div class="button-row">
        <button class="btn btn-small btn-primary" onClick={() => show("radar")}>Radar of this host</button>
        <button class="btn btn-small" onClick={() => show("connections")}>Connections</button>
        <button class="btn btn-small" onClick={() => show("system")}>System</button>
        <button class="btn btn-small" onClick={() => show("alerts")}>Alerts ({alerts})</button>
      </div>
      <Facts
        items={[
          ["Reports through", host.agent_id ? `agent (token ${host.agent_id})` : "this server (single-host mode)"],
          ["First seen", fmt.time(host.first_seen)],
          ["Live rates", last ? [last.rx != null ? `↓ ${fmt.bitrate(last.rx)} · ↑ ${fmt.bitrate(last.tx)}` : null, `${last.flowsPerS.toFixed(1)} flows/s`].filter(Boolean).join(" · ") : "no live rate"],
          ["CPU", m ? `${fmt.percent(m.cpu_percent ?? 0, true)} of ${m.cpu_count ?? "?"} cores, load ${m.load1?.toFixed(2)}` : null],
          ["Memory", m ? `${fmt.bytes(m.mem_used_bytes)} of ${fmt.bytes(m.mem_total_bytes)}` : null],
          ["Interfaces", m?.interfaces?.filter((i) => i.up && i.name !== "lo").map((i) => <Tag>{i.name}</Tag>)],
          ["Up for", m ? fmt.duration(m.uptime_s) : null],
        ]}
      />
      <h4 class="section-title">Top remote endpoints</h4>
      <DataTable name={`Top talkers of ${host.name}`} columns={[{ key: "key", label: "Address", width: 1.2 }, { key: "label", label: "Name", width: 1.6 }, { key: "bytes", label: "Bytes", numeric: true, px: 90, text: (a) => fmt.bytes(a.bytes) }]} rows={talkers.data ?? []} rowKey={(a) => a.key} sort={{ key: "bytes", dir: "desc" }} height={220} noSearch loading={talkers.loading} emptyTitle="No traffic in this range" />
      <h4 class="section-title">Top processes</h4>
      <DataTable name={`Processes of ${host.name}`} columns={[{ key: "key", label: "Process", width: 1.6 }, { key: "flows", label: "Flows", numeric: true, px: 80 }, { key: "bytes", label: "Bytes", numeric: true, px: 90, text: (a) => fmt.bytes(a.bytes) }]} rows={procs.data ?? []} rowKey={(a) => a.key} sort={{ key: "bytes", dir: "desc" }} height={220} noSearch loading={procs.loading} emptyTitle="No process attributed" />
    </Drawer>
  );
}

export function Hosts() {
  useApp();
  const feed = useFeed(2000);
  const hosts = useApi<HostRow[]>("/hosts", () => ({}), [], 10_000);
  const [selected, setSelected] = useState<string | null>(null);
  const now = Date.now() / 1000;
  const rows = hosts.data ?? [];
  const online = rows.filter((h) => now - Math.max(h.last_seen, feed.hosts.get(h.name) ?? 0) < ONLINE_S).length;
  const current = rows.find((h) => h.name === selected);
  return (
    <div class="view">
      <PageHead title="Hosts" subtitle="The fleet: every host that reports here (agents, and this server in single-host mode)." />
      {hosts.error && <ErrorNote error={hosts.error} onRetry={hosts.reload} />}
      <div class="stat-row">
        <Stat label="Hosts" value={fmt.count(rows.length)} testid="stat-hosts" />
        <Stat label="Online" value={fmt.count(online)} hint={`reported in the last ${ONLINE_S} s`} tone={online < rows.length ? "medium" : undefined} />
        <Stat label="Offline" value={fmt.count(rows.length - online)} />
        <Stat label="Open alerts" value={fmt.count([...feed.alerts.values()].filter((a) => a.status === "open").length)} />
      </div>
      <Card pad={false} class="fill">
        <DataTable name="Hosts" testid="hosts-table" columns={hostCols(now, feed.hosts)} rows={rows} rowKey={(h) => h.name} sort={{ key: "name", dir: "asc" }} loading={hosts.loading} onRowClick={(h) => setSelected(h.name)} selected={selected} emptyTitle="No host has reported" emptyText="Start an agent with an ingest token: flowradar token create --kind ingest --host NAME" />
      </Card>
      {current && <HostDetail host={current} onClose={() => setSelected(null)} />}
    </div>
  );
}
