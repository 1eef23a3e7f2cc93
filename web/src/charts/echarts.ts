// ECharts, tree-shaken to what the dashboard draws, and the colours of the current theme.

import * as echarts from "echarts/core";
import { BarChart, EffectScatterChart, GaugeChart, LineChart, LinesChart, MapChart, PieChart, ScatterChart } from "echarts/charts";
import {
  DataZoomComponent,
  GeoComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  PolarComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  BarChart,
  EffectScatterChart,
  GaugeChart,
  LineChart,
  LinesChart,
  MapChart,
  PieChart,
  ScatterChart,
  DataZoomComponent,
  GeoComponent,
  GridComponent,
  LegendComponent,
  MarkLineComponent,
  PolarComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

export { echarts };

export interface Palette {
  text: string;
  muted: string;
  faint: string;
  border: string;
  grid: string;
  surface: string;
  accent: string;
  series: string[];
  up: string;
  down: string;
}

/** Colours from the CSS variables of the current theme. */
export function palette(): Palette {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, d: string) => css.getPropertyValue(name).trim() || d;
  return {
    text: v("--text", "#e2e8f0"),
    muted: v("--muted", "#94a3b8"),
    faint: v("--faint", "#64748b"),
    border: v("--border", "#1e293b"),
    grid: v("--grid", "#1e293b"),
    surface: v("--surface", "#0f172a"),
    accent: v("--accent", "#38bdf8"),
    up: v("--up", "#a78bfa"),
    down: v("--down", "#38bdf8"),
    series: ["#38bdf8", "#a78bfa", "#34d399", "#fbbf24", "#f472b6", "#fb923c", "#60a5fa", "#4ade80", "#e879f9", "#94a3b8", "#2dd4bf", "#a3e635"],
  };
}

function keyIndex(key: string, n: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % n;
}

/** A stable colour for a key (an application, a process), the same in every chart. */
export function keyColor(key: string, p: Palette): string {
  if (key === "other" || key === "unknown") return p.faint;
  return p.series[keyIndex(key, p.series.length)];
}

/** Colours for the keys of one chart: each key's stable colour, unless a key listed before it took
 *  that colour, then the next free one (so two keys of a chart never share a colour while the
 *  palette lasts). */
export function keyColors(keys: readonly string[], p: Palette): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<number>();
  for (const key of keys) {
    if (out.has(key)) continue;
    if (key === "other" || key === "unknown") {
      out.set(key, p.faint);
      continue;
    }
    const n = p.series.length;
    const first = keyIndex(key, n);
    let i = first;
    for (let step = 0; step < n && used.has(i); step++) i = (first + step + 1) % n;
    used.add(i);
    out.set(key, p.series[i]);
  }
  return out;
}

/** Each item of one chart with its colour (see :func:`keyColors`), in the items' order. */
export function withColors<T extends { key: string }>(items: readonly T[], p: Palette): [T, string][] {
  const colors = keyColors(items.map((it) => it.key), p);
  return items.map((it) => [it, colors.get(it.key) ?? p.faint]);
}

/** Axis, tooltip and text settings shared by every cartesian chart. */
export function baseOption(p: Palette) {
  return {
    backgroundColor: "transparent",
    textStyle: { color: p.muted, fontFamily: "Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif", fontSize: 11 },
    color: p.series,
    animationDuration: 300,
    animationDurationUpdate: 300,
    tooltip: {
      backgroundColor: p.surface,
      borderColor: p.border,
      textStyle: { color: p.text, fontSize: 12 },
      confine: true,
    },
    legend: { textStyle: { color: p.muted }, icon: "roundRect", itemWidth: 10, itemHeight: 10, top: 0, type: "scroll" as const, pageTextStyle: { color: p.muted } },
  };
}

export function axisStyle(p: Palette) {
  return {
    axisLine: { lineStyle: { color: p.border } },
    axisTick: { show: false },
    axisLabel: { color: p.faint, fontSize: 11 },
    splitLine: { lineStyle: { color: p.grid, type: "dashed" as const } },
  };
}
