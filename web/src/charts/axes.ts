// Axes shared by the bandwidth charts: time, and bit rates (bytes per second shown as bits).

import * as fmt from "../lib/format";
import { axisStyle, type Palette } from "./echarts";

export const timeAxis = (p: Palette) => ({ type: "time", ...axisStyle(p), axisLabel: { color: p.faint, fontSize: 11, hideOverlap: true }, splitLine: { show: false } });

export const rateAxis = (p: Palette) => ({ type: "value", ...axisStyle(p), axisLabel: { color: p.faint, fontSize: 11, formatter: (v: number) => fmt.bitrate(v) } });

/** A rate axis for down above zero and up below (negative values shown as their size). */
export const mirroredRateAxis = (p: Palette) => ({
  ...rateAxis(p),
  axisLabel: { color: p.faint, fontSize: 11, formatter: (v: number) => (v < 0 ? `↑ ${fmt.bitrate(-v)}` : v > 0 ? `↓ ${fmt.bitrate(v)}` : "0") },
});
