import { useMemo } from "preact/hooks";
import { rangeParams, useApi, useApp, useFeed } from "../app/store";
import { axisStyle, baseOption } from "../charts/echarts";
import { Chart } from "../components/Chart";
import { DataTable, type TableColumn } from "../components/DataTable";
import { Card, Empty, ErrorNote, Meter, PageHead, Stat } from "../components/ui";
import * as fmt from "../lib/format";
import type { DiskUsage, HostMetrics, HostRow, ProcessMetrics } from "../types";

/** The host to show without a host filter: the most recent one that sends metrics. */
export function metricsHost(hosts: HostRow[] | undefined): string | null {
  const withMetrics = (hosts ?? []).filter((h) => h.metrics).sort((a, b) => b.last_seen - a.last_seen);
  return withMetrics[0]?.name ?? hosts?.[0]?.name ?? null;
}

const procCols: TableColumn<ProcessMetrics>[] = [
  { key: "name", label: "Process", width: 1.4 },
  { key: "pid", label: "PID", numeric: true, px: 70 },
  { key: "user", label: "User", px: 90 },
  { key: "cpu_percent", label: "CPU", numeric: true, px: 76, text: (p) => fmt.percent(p.cpu_percent ?? 0, true) },
  { key: "rss_bytes", label: "Memory", numeric: true, px: 90, text: (p) => fmt.bytes(p.rss_bytes ?? 0) },
  { key: "threads", label: "Threads", numeric: true, px: 76 },
  { key: "net_rx_bytes", label: "TCP in", numeric: true, px: 86, text: (p) => (p.net_rx_bytes != null ? fmt.bytes(p.net_rx_bytes) : "—") },
  { key: "net_tx_bytes", label: "TCP out", numeric: true, px: 86, text: (p) => (p.net_tx_bytes != null ? fmt.bytes(p.net_tx_bytes) : "—") },
];
const diskCols: TableColumn<DiskUsage>[] = [
  { key: "mount", label: "Mount", width: 1.2 },
  { key: "device", label: "Device", width: 1 },
  { key: "fstype", label: "Type", px: 70 },
  { key: "percent", label: "Use", px: 150, numeric: true, render: (d) => (
    <span class="meter-cell">
      <Meter value={d.percent ?? 0} />
      <span>{fmt.percent(d.percent ?? 0, true)}</span>
    </span>
  ) },
  { key: "used_bytes", label: "Used", numeric: true, px: 86, text: (d) => fmt.bytes(d.used_bytes ?? 0) },
  { key: "total_bytes", label: "Size", numeric: true, px: 86, text: (d) => fmt.bytes(d.total_bytes ?? 0) },
];

export function System() {
  const app = useApp();
  const feed = useFeed(2000);
  const hosts = useApi<HostRow[]>("/hosts", () => ({}), [], 10_000);
  const name = app.host ?? metricsHost(hosts.data);
  const metrics = useApi<HostMetrics[]>(name ? `/hosts/${encodeURIComponent(name)}/metrics` : null, () => ({ ...rangeParams(), host: undefined, limit: 2000 }), [name, app.range.key], 10_000);
  const samples = metrics.data ?? [];
  const latest = samples[samples.length - 1] ?? hosts.data?.find((h) => h.name === name)?.metrics ?? null;
  const live = name ? feed.rates.get(name) ?? [] : [];
  const cpuSeries = useMemo(() => samples.map((s) => [s.ts * 1000, s.cpu_percent ?? 0]), [samples]);
  const memSeries = useMemo(() => samples.map((s) => [s.ts * 1000, s.mem_percent ?? 0]), [samples]);
  const loadSeries = useMemo(() => samples.map((s) => [s.ts * 1000, s.load1 ?? 0]), [samples]);
  const liveCpu = live[live.length - 1]?.cpu ?? latest?.cpu_percent;
  const liveMem = live[live.length - 1]?.mem ?? latest?.mem_percent;
  return (
    <div class="view">
      <PageHead title="System" subtitle={`CPU, memory, disks and the busiest processes of ${name ?? "this host"}.`} />
      {(hosts.error || metrics.error) && <ErrorNote error={(hosts.error ?? metrics.error)!} onRetry={() => (hosts.reload(), metrics.reload())} />}
      {!latest && !metrics.loading && !hosts.loading ? (
        <Card>
          <Empty icon="cpu" title="No host metrics yet">
            Each host samples its CPU, memory and disks every 10 seconds.
          </Empty>
        </Card>
      ) : (
        <>
          <div class="stat-row">
            <Stat label="CPU" value={fmt.percent(liveCpu ?? null, true)} hint={latest ? `${latest.cpu_count ?? "?"} cores · load ${latest.load1?.toFixed(2) ?? "?"}` : undefined} testid="stat-cpu" tone={(liveCpu ?? 0) > 85 ? "high" : undefined} />
            <Stat label="Memory" value={fmt.percent(liveMem ?? null, true)} hint={latest ? `${fmt.bytes(latest.mem_used_bytes)} of ${fmt.bytes(latest.mem_total_bytes)}` : undefined} testid="stat-mem" />
            <Stat label="Swap" value={latest?.swap_total_bytes ? fmt.percent((latest.swap_used_bytes ?? 0) / latest.swap_total_bytes) : "none"} hint={latest?.swap_total_bytes ? fmt.bytes(latest.swap_total_bytes) : undefined} />
            <Stat label="Up for" value={fmt.duration(latest?.uptime_s)} hint={latest ? `sample ${fmt.ago(latest.ts)}` : undefined} />
          </div>
          <div class="grid-2">
            <Card title="CPU and memory" actions={<span class="muted small">{app.range.label.toLowerCase()}</span>} testid="system-cpu">
              {samples.length < 2 ? (
                <Empty icon="chart" title={metrics.loading ? "Loading" : "Not enough samples yet"} />
              ) : (
                <Chart
                  height={220}
                  deps={[samples]}
                  option={(p) => ({
                    ...baseOption(p),
                    grid: { left: 44, right: 44, top: 32, bottom: 24 },
                    tooltip: { ...baseOption(p).tooltip, trigger: "axis" },
                    xAxis: { type: "time", ...axisStyle(p), axisLabel: { color: p.faint, fontSize: 11, hideOverlap: true }, splitLine: { show: false } },
                    yAxis: [
                      { type: "value", min: 0, max: 100, ...axisStyle(p), axisLabel: { color: p.faint, formatter: "{value}%" } },
                      { type: "value", min: 0, ...axisStyle(p), splitLine: { show: false }, axisLabel: { color: p.faint } },
                    ],
                    series: [
                      { name: "CPU %", type: "line", showSymbol: false, data: cpuSeries, areaStyle: { opacity: 0.1 } },
                      { name: "Memory %", type: "line", showSymbol: false, data: memSeries },
                      { name: "Load (1 min)", type: "line", showSymbol: false, yAxisIndex: 1, data: loadSeries, lineStyle: { type: "dashed", width: 1 } },
                    ],
                  })}
                />
              )}
            </Card>
            <Card title="Disks" pad={false}>
              <DataTable name="Disks" columns={diskCols} rows={latest?.disks ?? []} rowKey={(d) => d.mount} sort={{ key: "percent", dir: "desc" }} height={260} noSearch emptyTitle="No disk reported" />
            </Card>
          </div>
          <Card title="Busiest processes" actions={<span class="muted small">latest sample</span>} pad={false} class="grow">
            <DataTable name="Processes" testid="processes-table" columns={procCols} rows={latest?.processes ?? []} rowKey={(p) => String(p.pid)} sort={{ key: "cpu_percent", dir: "desc" }} height={320} emptyTitle="No process sample" />
          </Card>
        </>
      )}
    </div>
  );
}
