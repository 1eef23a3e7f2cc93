import { useMemo, useState } from "preact/hooks";
import { rangeParams, useApi, useApp, useFeed } from "../app/store";
import { rateAxis, timeAxis } from "../charts/axes";
import { baseOption, withColors } from "../charts/echarts";
import { Chart } from "../components/Chart";
import { DataTable, type TableColumn } from "../components/DataTable";
import { Card, Empty, ErrorNote, PageHead, Segmented, Stat } from "../components/ui";
import * as fmt from "../lib/format";
import { totals, type KeyTotal } from "../lib/aggregate";
import { interfaceView } from "../lib/ifaces";
import type { BwDim } from "../lib/livebw";
import type { HostMetrics, HostRow, SeriesPoint } from "../types";
import { DIM_LABEL, LiveByKey } from "./LiveByKey";
import { metricsHost } from "./System";


const totalCols: TableColumn<KeyTotal>[] = [
  { key: "key", label: "Key", width: 2 },
  { key: "bytes_in", label: "Down", numeric: true, px: 96, text: (t) => fmt.bytes(t.bytes_in) },
  { key: "bytes_out", label: "Up", numeric: true, px: 96, text: (t) => fmt.bytes(t.bytes_out) },
  { key: "bytes", label: "Total", numeric: true, px: 96, text: (t) => fmt.bytes(t.bytes) },
  { key: "flows", label: "Flows", numeric: true, px: 80, text: (t) => fmt.count(t.flows) },
];

function LiveChart({ host }: { host: string | null }) {
  const feed = useFeed(1000);
  const view = useMemo(() => {
    const hosts = host ? [host] : [...new Set([...feed.rates.keys(), ...feed.ifaces.keys()])];
    const cutoff = Date.now() / 1000 - 300;
    const ifs = interfaceView(feed, hosts, cutoff, 4);
    // flow bytes (and, from hosts without live interface rates, their interface totals) per second
    const byTs = new Map<number, { rx: number; tx: number; flow: number }>();
    for (const h of hosts) {
      const live = (feed.ifaces.get(h)?.length ?? 0) > 0;
      for (const s of feed.rates.get(h) ?? []) {
        if (s.ts < cutoff) continue;
        const t = Math.round(s.ts) * 1000;
        const v = byTs.get(t) ?? { rx: 0, tx: 0, flow: 0 };
        if (!live) {
          v.rx += s.rx ?? 0;
          v.tx += s.tx ?? 0;
        }
        v.flow += s.flowBytes;
        byTs.set(t, v);
      }
    }
    const rates = [...byTs.entries()].sort((a, b) => a[0] - b[0]);
    const totals: [number, number, number][] = ifs.totals.length ? ifs.totals : rates.map(([t, v]) => [t, v.rx, v.tx]);
    return { ifs, rates, totals };
  }, [feed.version, host]);
  const last = view.totals[view.totals.length - 1];
  const lastFlow = view.rates[view.rates.length - 1]?.[1].flow;
  return (
    <Card title="Live, 1 s" actions={<span class="muted small">last 5 minutes · per interface and flows</span>} testid="bandwidth-live">
      <div class="stat-row compact">
        <Stat label="Down" value={fmt.bitrate(last?.[1])} tone="down" testid="live-down" />
        <Stat label="Up" value={fmt.bitrate(last?.[2])} tone="up" testid="live-up" />
        <Stat label="In ended flows" value={fmt.bitrate(lastFlow)} />
      </div>
      {view.ifs.interfaces.length > 0 && (
        <ul class="iface-list" data-testid="live-interfaces">
          {view.ifs.interfaces.map((i) => (
            <li key={i.name} data-name={i.name}>
              <span class="strong mono">{i.name}</span> <span class="tone-down">↓ {fmt.bitrate(i.lastRx)}</span> <span class="tone-up">↑ {fmt.bitrate(i.lastTx)}</span>
            </li>
          ))}
        </ul>
      )}
      {view.totals.length < 2 ? (
        <Empty icon="chart" title="Waiting for rates">
          Each host sends its interface rates every second.
        </Empty>
      ) : (
        <Chart
          height={200}
          deps={[view]}
          replace
          option={(p) => ({
            ...baseOption(p),
            animation: false,
            grid: { left: 70, right: 70, top: 28, bottom: 24 },
            tooltip: { ...baseOption(p).tooltip, trigger: "axis", valueFormatter: (v: number) => fmt.bitrate(v) },
            xAxis: timeAxis(p),
            yAxis: [rateAxis(p), { ...rateAxis(p), splitLine: { show: false } }],
            series: [
              ...(view.ifs.interfaces.length > 1
                ? view.ifs.interfaces.flatMap((i, n) => [
                    { name: `${i.name} down`, type: "line", showSymbol: false, data: i.rx, lineStyle: { width: 1.2, color: p.series[(2 * n) % p.series.length] }, itemStyle: { color: p.series[(2 * n) % p.series.length] } },
                    { name: `${i.name} up`, type: "line", showSymbol: false, data: i.tx, lineStyle: { width: 1.2, type: "dashed", color: p.series[(2 * n + 1) % p.series.length] }, itemStyle: { color: p.series[(2 * n + 1) % p.series.length] } },
                  ])
                : [
                    { name: "Down", type: "line", showSymbol: false, smooth: 0.3, data: view.totals.map(([t, rx]) => [t, rx]), lineStyle: { width: 1.6, color: p.down }, itemStyle: { color: p.down }, areaStyle: { opacity: 0.12, color: p.down } },
                    { name: "Up", type: "line", showSymbol: false, smooth: 0.3, data: view.totals.map(([t, , tx]) => [t, tx]), lineStyle: { width: 1.6, color: p.up }, itemStyle: { color: p.up }, areaStyle: { opacity: 0.12, color: p.up } },
                  ]),
              { name: "Flows", type: "line", yAxisIndex: 1, showSymbol: false, step: "end", data: view.rates.map(([t, v]) => [t, v.flow]), lineStyle: { width: 1, type: "dashed", color: p.faint }, itemStyle: { color: p.faint } },
            ],
          })}
        />
      )}
    </Card>
  );
}

function InterfaceHistory({ host }: { host: string | null }) {
  const app = useApp();
  const hosts = useApi<HostRow[]>("/hosts", () => ({}), [], 30_000);
  const name = host ?? metricsHost(hosts.data);
  const metrics = useApi<HostMetrics[]>(name ? `/hosts/${encodeURIComponent(name)}/metrics` : null, () => ({ ...rangeParams(), host: undefined, limit: 2000 }), [name, app.range.key], 15_000);
  const series = useMemo(() => {
    const m = new Map<string, { rx: [number, number][]; tx: [number, number][]; total: number }>();
    for (const s of metrics.data ?? []) {
      for (const i of s.interfaces ?? []) {
        if (i.name === "lo") continue;
        const e = m.get(i.name) ?? { rx: [], tx: [], total: 0 };
        e.rx.push([s.ts * 1000, i.rx_bytes_s ?? 0]);
        e.tx.push([s.ts * 1000, i.tx_bytes_s ?? 0]);
        e.total += (i.rx_bytes_s ?? 0) + (i.tx_bytes_s ?? 0);
        m.set(i.name, e);
      }
    }
    return [...m.entries()].filter(([, e]) => e.total > 0).sort((a, b) => b[1].total - a[1].total).slice(0, 6);
  }, [metrics.data]);
  return (
    <Card title="Per interface, history" actions={<span class="muted small">{name ?? "no host"} · {app.range.label.toLowerCase()}</span>} testid="bandwidth-interfaces">
      {metrics.error ? (
        <ErrorNote error={metrics.error} onRetry={metrics.reload} />
      ) : series.length === 0 ? (
        <Empty icon="chart" title={metrics.loading ? "Loading" : "No interface traffic in this range"}>
          Host metrics are sampled every 10 seconds.
        </Empty>
      ) : (
        <Chart
          height={220}
          deps={[series]}
          replace
          option={(p) => ({
            ...baseOption(p),
            grid: { left: 70, right: 16, top: 32, bottom: 24 },
            tooltip: { ...baseOption(p).tooltip, trigger: "axis", valueFormatter: (v: number) => fmt.bitrate(v) },
            xAxis: timeAxis(p),
            yAxis: rateAxis(p),
            series: series.flatMap(([n, e], i) => [
              { name: `${n} down`, type: "line", showSymbol: false, data: e.rx, lineStyle: { width: 1.5, color: p.series[(2 * i) % p.series.length] }, itemStyle: { color: p.series[(2 * i) % p.series.length] } },
              { name: `${n} up`, type: "line", showSymbol: false, data: e.tx, lineStyle: { width: 1.5, type: "dashed", color: p.series[(2 * i + 1) % p.series.length] }, itemStyle: { color: p.series[(2 * i + 1) % p.series.length] } },
            ]),
          })}
        />
      )}
    </Card>
  );
}

export function Bandwidth() {
  const app = useApp();
  const [by, setBy] = useState<BwDim>("process");
  const step = app.range.seconds ? app.range.step : 86400;
  const data = useApi<SeriesPoint[]>("/bandwidth", () => rangeParams({ by, step, n: 8 }), [by, app.range.key, app.host], 15_000);
  const keys = useMemo(() => totals(data.data ?? []).sort((a, b) => b.bytes - a.bytes), [data.data]);
  const stacked = useMemo(() => {
    const order = keys.map((k) => k.key);
    const byKey = new Map<string, [number, number][]>(order.map((k) => [k, []]));
    for (const p of data.data ?? []) byKey.get(p.key)?.push([p.ts * 1000, (p.bytes_in + p.bytes_out) / step]);
    for (const list of byKey.values()) list.sort((a, b) => a[0] - b[0]);
    return order.map((k) => ({ key: k, data: byKey.get(k) ?? [] }));
  }, [data.data, keys, step]);

  return (
    <div class="view view-bandwidth">
      <PageHead title="Bandwidth" subtitle="Up and down per interface, per process and per remote host: live every second, and as history.">
        <Segmented
          label="Split by"
          value={by}
          options={[
            { value: "process", label: "Process" },
            { value: "remote", label: "Remote host" },
            { value: "app", label: "Application" },
            { value: "host", label: "Host" },
          ]}
          onChange={setBy}
        />
      </PageHead>
      <div class="grid-2">
        <LiveChart host={app.host} />
        <InterfaceHistory host={app.host} />
      </div>
      {data.error && <ErrorNote error={data.error} onRetry={data.reload} />}
      <div class="grid-2">
        <LiveByKey by={by} host={app.host} />
        <Card title={`History by ${DIM_LABEL[by]}`} actions={<span class="muted small">{app.range.label.toLowerCase()} · {fmt.duration(step)} steps</span>} testid="bandwidth-history">
          {keys.length === 0 ? (
            <Empty icon="chart" title={data.loading ? "Loading" : "No flow in this range"}>
              Try a longer range.
            </Empty>
          ) : (
            <Chart
              height={280}
              deps={[stacked]}
              replace
              option={(p) => ({
                ...baseOption(p),
                grid: { left: 70, right: 16, top: 40, bottom: 24 },
                tooltip: { ...baseOption(p).tooltip, trigger: "axis", valueFormatter: (v: number) => fmt.bitrate(v) },
                xAxis: timeAxis(p),
                yAxis: rateAxis(p),
                series: withColors(stacked, p).map(([s, color]) => ({ name: s.key, type: "bar", stack: "all", data: s.data, barMaxWidth: 24, itemStyle: { color }, emphasis: { focus: "series" } })),
              })}
            />
          )}
        </Card>
      </div>
      <Card title={`Totals by ${DIM_LABEL[by]}`} actions={<span class="muted small">{app.range.label.toLowerCase()}</span>} pad={false}>
        <DataTable name={`Bandwidth by ${by}`} columns={totalCols} rows={keys} rowKey={(k) => k.key} sort={{ key: "bytes", dir: "desc" }} loading={data.loading} height={320} emptyTitle="No traffic in this range" />
      </Card>
    </div>
  );
}
