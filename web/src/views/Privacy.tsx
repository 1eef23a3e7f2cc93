import { useMemo } from "preact/hooks";
import { rangeParams, useApi, useApp, useFeed } from "../app/store";
import { baseOption } from "../charts/echarts";
import { Chart } from "../components/Chart";
import { DataTable, type TableColumn } from "../components/DataTable";
import { Card, ErrorNote, PageHead, RiskBadge, Stat, Tag } from "../components/ui";
import * as fmt from "../lib/format";
import { RISK_COLORS, riskLevel } from "../lib/risk";
import { privacy, type OwnerRow, type TrackerRow } from "../lib/aggregate";
import type { FlowPage, FlowRow } from "../types";

const tCols: TableColumn<TrackerRow>[] = [
  { key: "tracker", label: "Tracker", width: 1.4 },
  { key: "category", label: "Category", px: 120, render: (t) => (t.category ? <Tag tone="medium">{t.category}</Tag> : null) },
  { key: "names", label: "Names", width: 2 },
  { key: "processes", label: "Processes", width: 1 },
  { key: "flows", label: "Flows", numeric: true, px: 70 },
  { key: "bytes", label: "Bytes", numeric: true, px: 86, text: (t) => fmt.bytes(t.bytes) },
  { key: "lastSeen", label: "Last", numeric: true, px: 86, text: (t) => fmt.time(t.lastSeen), noSearch: true },
];
const oCols: TableColumn<OwnerRow>[] = [
  { key: "owner", label: "Owner", width: 1.4 },
  { key: "flows", label: "Flows", numeric: true, px: 70 },
  { key: "trackerFlows", label: "To trackers", numeric: true, px: 96 },
  { key: "trackers", label: "Trackers", width: 2 },
  { key: "mean", label: "Mean score", numeric: true, px: 120, render: (o) => <RiskBadge score={o.mean} /> },
  { key: "max", label: "Worst", numeric: true, px: 120, render: (o) => <RiskBadge score={o.max} /> },
];

export function Privacy() {
  const app = useApp();
  const feed = useFeed(2000);
  const page = useApi<FlowPage>("/flows", () => ({ ...rangeParams(), limit: 1000, sort: "-ts_last" }), [app.range.key, app.host], 15_000);
  const data = useMemo(() => {
    const byUid = new Map<string, FlowRow>();
    for (const r of page.data?.items ?? []) byUid.set(r.uid, r);
    for (const f of feed.flows.values()) if (f.row && (!app.host || f.host === app.host)) byUid.set(f.uid, f.row);
    return privacy([...byUid.values()]);
  }, [page.data, feed.version, app.host]);
  const level = riskLevel(data.score);
  return (
    <div class="view">
      <PageHead title="Trackers and privacy" subtitle="Which programs phone home to advertising, analytics and social trackers, and how exposed this traffic is (0 best, 100 worst)." />
      {page.error && <ErrorNote error={page.error} onRetry={page.reload} />}
      <div class="privacy-top">
        <Card title="Privacy score" actions={<span class="muted small">mean of {fmt.count(data.flows)} flows</span>} testid="privacy-score">
          <Chart
            height={170}
            deps={[data.score]}
            option={(p) => ({
              ...baseOption(p),
              series: [
                {
                  type: "gauge",
                  min: 0,
                  max: 100,
                  startAngle: 210,
                  endAngle: -30,
                  radius: "95%",
                  center: ["50%", "60%"],
                  progress: { show: true, width: 14, itemStyle: { color: RISK_COLORS[level] } },
                  axisLine: { lineStyle: { width: 14, color: [[1, p.grid]] } },
                  axisTick: { show: false },
                  splitLine: { show: false },
                  axisLabel: { show: false },
                  pointer: { show: false },
                  anchor: { show: false },
                  title: { offsetCenter: [0, "30%"], color: RISK_COLORS[level], fontSize: 13, fontWeight: 600 },
                  detail: { valueAnimation: true, offsetCenter: [0, "-4%"], fontSize: 34, fontWeight: 700, color: p.text, formatter: "{value}" },
                  data: [{ value: data.score, name: `${level} risk` }],
                },
              ],
            })}
          />
        </Card>
        <div class="stat-grid">
          <Stat label="Trackers contacted" value={fmt.count(data.trackers.length)} testid="stat-trackers" />
          <Stat label="Flows to trackers" value={fmt.count(data.trackers.reduce((s, t) => s + t.flows, 0))} />
          <Stat label="Programs with trackers" value={fmt.count(data.owners.filter((o) => o.trackerFlows > 0).length)} />
          <Stat label="Worst flow" value={fmt.count(Math.max(0, ...data.owners.map((o) => o.max)))} hint="privacy score" tone={riskLevel(Math.max(0, ...data.owners.map((o) => o.max)))} />
        </div>
      </div>
      <div class="grid-2 grow">
        <Card title="Trackers" pad={false}>
          <DataTable name="Trackers" columns={tCols} rows={data.trackers} rowKey={(t) => t.tracker} sort={{ key: "flows", dir: "desc" }} loading={page.loading} height={380} emptyTitle="No tracker contacted" emptyText="Nothing in this range went to a known advertising, analytics or social tracker." />
        </Card>
        <Card title="By process or host" pad={false}>
          <DataTable name="Privacy by owner" columns={oCols} rows={data.owners} rowKey={(o) => o.owner} sort={{ key: "mean", dir: "desc" }} loading={page.loading} height={380} emptyTitle="No flow in this range" />
        </Card>
      </div>
    </div>
  );
}
