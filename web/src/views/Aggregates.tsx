// Shared pieces of the aggregate views (protocols, top talkers): a bar or donut chart and a table of
// Aggregate rows (key, label, flows, bytes, in/out).

import type { ComponentChildren } from "preact";
import { axisStyle, baseOption, type Palette, withColors } from "../charts/echarts";
import { Chart } from "../components/Chart";
import type { TableColumn } from "../components/DataTable";
import { Empty } from "../components/ui";
import * as fmt from "../lib/format";
import type { Aggregate } from "../types";

export function aggregateColumns(keyLabel: string, keyText?: (a: Aggregate) => string, render?: (a: Aggregate) => ComponentChildren): TableColumn<Aggregate>[] {
  return [
    { key: "key", label: keyLabel, width: 1.6, text: keyText, render },
    { key: "label", label: "Name", width: 1.8, text: (a) => a.label ?? "" },
    { key: "host", label: "Host", width: 0.8, text: (a) => a.host ?? "" },
    { key: "flows", label: "Flows", numeric: true, px: 80, text: (a) => fmt.count(a.flows) },
    { key: "bytes_in", label: "Down", numeric: true, px: 90, text: (a) => fmt.bytes(a.bytes_in ?? 0) },
    { key: "bytes_out", label: "Up", numeric: true, px: 90, text: (a) => fmt.bytes(a.bytes_out ?? 0) },
    { key: "bytes", label: "Bytes", numeric: true, px: 90, text: (a) => fmt.bytes(a.bytes) },
    { key: "packets", label: "Packets", numeric: true, px: 86, text: (a) => fmt.count(a.packets, true) },
  ];
}

export function BarChart({ rows, label, height = 300 }: { rows: Aggregate[]; label: (a: Aggregate) => string; height?: number }) {
  const top = [...rows].sort((a, b) => b.bytes - a.bytes).slice(0, 15).reverse();
  if (!top.length) return <Empty icon="chart" title="Nothing in this range" />;
  return (
    <Chart
      height={height}
      deps={[rows]}
      replace
      option={(p: Palette) => ({
        ...baseOption(p),
        grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
        legend: { ...baseOption(p).legend, data: ["Down", "Up"] },
        tooltip: { ...baseOption(p).tooltip, trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v: number) => fmt.bytes(v) },
        xAxis: { type: "value", ...axisStyle(p), axisLabel: { color: p.faint, formatter: (v: number) => fmt.bytes(v) } },
        yAxis: { type: "category", data: top.map((a) => fmt.middle(label(a), 32)), ...axisStyle(p), axisLabel: { color: p.muted, fontSize: 11 } },
        series: [
          { name: "Down", type: "bar", stack: "t", data: top.map((a) => a.bytes_in ?? 0), itemStyle: { color: p.down, borderRadius: 0 }, barMaxWidth: 16 },
          { name: "Up", type: "bar", stack: "t", data: top.map((a) => a.bytes_out ?? 0), itemStyle: { color: p.up, borderRadius: [0, 3, 3, 0] }, barMaxWidth: 16 },
        ],
      })}
    />
  );
}

export function Donut({ rows, label, height = 280, value = (a: Aggregate) => a.bytes, format = fmt.bytes }: { rows: Aggregate[]; label: (a: Aggregate) => string; height?: number; value?: (a: Aggregate) => number; format?: (n: number) => string }) {
  const sorted = [...rows].sort((a, b) => value(b) - value(a));
  const top = sorted.slice(0, 9);
  const rest = sorted.slice(9).reduce((s, a) => s + value(a), 0);
  const data: { name: string; value: number; key: string }[] = top.map((a) => ({ name: label(a), value: value(a), key: a.key }));
  if (rest > 0) data.push({ name: "other", value: rest, key: "other" });
  if (!data.length) return <Empty icon="layers" title="Nothing in this range" />;
  return (
    <Chart
      height={height}
      deps={[rows]}
      replace
      option={(p: Palette) => ({
        ...baseOption(p),
        tooltip: { ...baseOption(p).tooltip, trigger: "item", formatter: (it: { name: string; value: number; percent: number }) => `${it.name}: ${format(it.value)} (${it.percent}%)` },
        legend: { ...baseOption(p).legend, orient: "vertical", right: 0, top: "middle", type: "scroll" },
        series: [
          {
            type: "pie",
            radius: ["48%", "74%"],
            center: ["36%", "50%"],
            itemStyle: { borderColor: p.surface, borderWidth: 2, borderRadius: 4 },
            label: { show: false },
            data: withColors(data, p).map(([d, color]) => ({ name: d.name, value: d.value, itemStyle: { color } })),
          },
        ],
      })}
    />
  );
}
