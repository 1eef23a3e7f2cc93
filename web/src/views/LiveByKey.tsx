// Bandwidth: the last 5 minutes, per second, by process / remote host / application / host, from the
// growth of the live feed's flows (lib/livebw.ts). Down is stacked above zero, up below.

import { useMemo } from "preact/hooks";
import { useFeed } from "../app/store";
import { mirroredRateAxis, timeAxis } from "../charts/axes";
import { baseOption, keyColors, palette, type Palette } from "../charts/echarts";
import { Chart } from "../components/Chart";
import { Card, Empty } from "../components/ui";
import * as fmt from "../lib/format";
import { bandwidthView, type BwDim, type BwView } from "../lib/livebw";

export const DIM_LABEL: Record<BwDim, string> = { process: "process", remote: "remote host", app: "application", host: "host" };

const TOP = 8;

function series(view: BwView, p: Palette) {
  const colors = keyColors(view.series.map((s) => s.key), p);
  return view.series.flatMap((s) => {
    const color = colors.get(s.key) ?? p.faint;
    const common = { name: s.label, type: "line", showSymbol: false, lineStyle: { width: 0 }, itemStyle: { color }, emphasis: { focus: "series" } }; // stacked: areas only (a line would trace the stack top)
    return [
      { ...common, stack: "down", areaStyle: { opacity: 0.6, color }, data: view.times.map((t, i) => [t, s.down[i]]) },
      { ...common, stack: "up", areaStyle: { opacity: 0.35, color }, data: view.times.map((t, i) => [t, -s.up[i]]) },
    ];
  });
}

function chartOption(view: BwView, p: Palette) {
  const base = baseOption(p);
  return {
    ...base,
    animation: false,
    legend: { ...base.legend, data: view.series.map((s) => s.label) },
    grid: { left: 84, right: 16, top: 36, bottom: 24 },
    tooltip: { ...base.tooltip, trigger: "axis", valueFormatter: (v: number) => (v < 0 ? `↑ ${fmt.bitrate(-v)}` : `↓ ${fmt.bitrate(v)}`) },
    xAxis: timeAxis(p),
    yAxis: mirroredRateAxis(p),
    series: series(view, p),
  };
}

function KeyList({ view }: { view: BwView }) {
  const p = palette();
  const colors = keyColors(view.series.map((s) => s.key), p);
  return (
    <ul class="iface-list" data-testid="live-keys">
      {view.series.map((s) => (
        <li key={s.key} data-key={s.key} title={`${fmt.bytes(s.total)} in the last 5 minutes`}>
          <span class="legend-dot" style={{ background: colors.get(s.key) ?? p.faint }} /> <span class="strong">{s.label}</span>{" "}
          <span class="tone-down">↓ {fmt.bitrate(s.lastDown)}</span> <span class="tone-up">↑ {fmt.bitrate(s.lastUp)}</span>
        </li>
      ))}
    </ul>
  );
}

/** The live 1-second chart of one split (the Bandwidth view's tab), for one host or all. */
export function LiveByKey({ by, host }: { by: BwDim; host: string | null }) {
  const feed = useFeed(1000);
  const view = useMemo(() => bandwidthView(feed.bandwidth, by, host, TOP), [feed.version, by, host]);
  return (
    <Card title={`Live by ${DIM_LABEL[by]}, 1 s`} actions={<span class="muted small">last 5 minutes · ↓ down above, ↑ up below</span>} testid="bandwidth-live-keys">
      {view.series.length === 0 ? (
        <Empty icon="chart" title="Waiting for traffic">
          Open flows report their bytes every second.
        </Empty>
      ) : (
        <>
          <KeyList view={view} />
          <Chart height={240} deps={[view]} replace option={(p) => chartOption(view, p)} testid="live-keys-chart" />
        </>
      )}
    </Card>
  );
}
