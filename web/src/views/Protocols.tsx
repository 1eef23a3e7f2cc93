import { useMemo } from "preact/hooks";
import { rangeParams, useApi, useApp, useFeed } from "../app/store";
import { Chart } from "../components/Chart";
import { DataTable } from "../components/DataTable";
import { Card, ErrorNote, PageHead, Stat, Tag } from "../components/ui";
import { axisStyle, baseOption, withColors } from "../charts/echarts";
import * as fmt from "../lib/format";
import type { Aggregate, SeriesPoint } from "../types";
import { aggregateColumns, Donut } from "./Aggregates";

const cols = aggregateColumns("Application", undefined, (a) => <Tag>{a.key}</Tag>).filter((c) => c.key !== "host" && c.key !== "label");

export function Protocols() {
  const app = useApp();
  const feed = useFeed(2000);
  const data = useApi<Aggregate[]>("/protocols", () => rangeParams(), [app.range.key, app.host], 15_000);
  const step = app.range.seconds ? app.range.step : 86400;
  const series = useApi<SeriesPoint[]>("/bandwidth", () => rangeParams({ by: "app", step, n: 8 }), [app.range.key, app.host], 15_000);
  const rows = data.data ?? [];
  const transports = useMemo(() => {
    const m = new Map<string, Aggregate>();
    for (const f of feed.flows.values()) {
      if (app.host && f.host !== app.host) continue;
      const k = f.transport || "other";
      const a = m.get(k) ?? { key: k, flows: 0, bytes: 0, packets: 0 };
      a.flows++;
      a.bytes += f.bytes;
      a.packets += f.packets;
      m.set(k, a);
    }
    return [...m.values()];
  }, [feed.version, app.host]);
  const lines = useMemo(() => {
    const m = new Map<string, [number, number][]>();
    for (const p of series.data ?? []) {
      const l = m.get(p.key) ?? [];
      l.push([p.ts * 1000, p.flows]);
      m.set(p.key, l);
    }
    for (const l of m.values()) l.sort((a, b) => a[0] - b[0]);
    return [...m.entries()];
  }, [series.data]);
  const totalBytes = rows.reduce((s, a) => s + a.bytes, 0);
  const totalFlows = rows.reduce((s, a) => s + a.flows, 0);
  const encrypted = rows.filter((a) => /tls|quic|https|ssh|wireguard|openvpn|ipsec/i.test(a.key)).reduce((s, a) => s + a.bytes, 0);
  return (
    <div class="view">
      <PageHead title="Protocols and applications" subtitle={`What the traffic is, from the dissectors and application identification (${app.range.label.toLowerCase()}).`} />
      {data.error && <ErrorNote error={data.error} onRetry={data.reload} />}
      <div class="stat-row">
        <Stat label="Applications" value={fmt.count(rows.length)} testid="stat-apps" />
        <Stat label="Flows" value={fmt.count(totalFlows)} />
        <Stat label="Bytes" value={fmt.bytes(totalBytes)} />
        <Stat label="Encrypted" value={totalBytes ? fmt.percent(encrypted / totalBytes) : "—"} hint="TLS, QUIC, SSH, VPN" />
      </div>
      <div class="grid-3">
        <Card title="Bytes by application" testid="protocols-bytes">
          <Donut rows={rows} label={(a) => a.key} />
        </Card>
        <Card title="Flows by application">
          <Donut rows={rows} label={(a) => a.key} value={(a) => a.flows} format={(n) => `${fmt.count(n)} flows`} />
        </Card>
        <Card title="Transports (live)">
          <Donut rows={transports} label={(a) => a.key} />
        </Card>
      </div>
      <div class="grid-2 grow">
        <Card title="Flows per step by application" actions={<span class="muted small">{fmt.duration(step)} steps</span>}>
          <Chart
            height={300}
            deps={[lines]}
            replace
            option={(p) => ({
              ...baseOption(p),
              grid: { left: 50, right: 16, top: 40, bottom: 24 },
              tooltip: { ...baseOption(p).tooltip, trigger: "axis" },
              xAxis: { type: "time", ...axisStyle(p), axisLabel: { color: p.faint, fontSize: 11, hideOverlap: true }, splitLine: { show: false } },
              yAxis: { type: "value", ...axisStyle(p) },
              series: withColors(lines.map(([key, data]) => ({ key, data })), p).map(([{ key, data }, color]) => ({ name: key, type: "line", showSymbol: data.length < 3, smooth: 0.2, data, itemStyle: { color }, lineStyle: { color }, areaStyle: { opacity: 0.06, color } })),
            })}
          />
        </Card>
        <Card title="Applications" pad={false}>
          <DataTable name="Protocols" columns={cols} rows={rows} rowKey={(a) => a.key} sort={{ key: "bytes", dir: "desc" }} loading={data.loading} height={340} emptyTitle="No flow in this range" />
        </Card>
      </div>
    </div>
  );
}
