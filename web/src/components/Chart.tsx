// An ECharts instance in a div: created on mount, updated when its option changes, resized with its
// box, re-created when the theme changes, disposed on unmount.

import { useEffect, useRef } from "preact/hooks";
import { useApp } from "../app/store";
import { echarts, palette, type Palette } from "../charts/echarts";

type EChartsType = ReturnType<typeof echarts.init>;

export interface ChartProps {
  /** Builds the option from the theme's palette. */
  option: (p: Palette) => Record<string, unknown>;
  /** Any value whose change should redraw (data version). */
  deps: unknown[];
  height?: number | string;
  onClick?: (params: { data?: unknown; name?: string; seriesName?: string; dataIndex?: number; value?: unknown }) => void;
  /** Replace the whole option on update (default: merge). */
  replace?: boolean;
  testid?: string;
  onReady?: (chart: EChartsType) => void;
  class?: string;
}

export function Chart(props: ChartProps) {
  const el = useRef<HTMLDivElement>(null);
  const chart = useRef<EChartsType | null>(null);
  const { theme } = useApp();
  const clickRef = useRef(props.onClick);
  clickRef.current = props.onClick;

  useEffect(() => {
    if (!el.current) return;
    const c = echarts.init(el.current, undefined, { renderer: "canvas" });
    chart.current = c;
    c.on("click", (params) => clickRef.current?.(params as never));
    c.setOption(props.option(palette()), true);
    props.onReady?.(c);
    const ro = new ResizeObserver(() => c.resize());
    ro.observe(el.current);
    return () => {
      ro.disconnect();
      c.dispose();
      chart.current = null;
    };
  }, [theme]);

  useEffect(() => {
    chart.current?.setOption(props.option(palette()), { notMerge: !!props.replace, lazyUpdate: true });
  }, props.deps);

  return <div ref={el} class={`chart ${props.class ?? ""}`} data-testid={props.testid} style={{ height: typeof props.height === "number" ? `${props.height}px` : props.height ?? "260px" }} />;
}
