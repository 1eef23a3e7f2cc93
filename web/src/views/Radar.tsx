import { useEffect, useMemo, useState } from "preact/hooks";
import { setSite, useApp, useFeed } from "../app/store";
import { countryCentroid } from "../charts/world";
import { Chart } from "../components/Chart";
import { EndpointDrawer, FlowDrawer } from "../components/Details";
import { Card, Empty, Icon, PageHead, RiskBadge, Segmented, Stat } from "../components/ui";
import type { Endpoint, LiveFlow } from "../lib/feed";
import * as fmt from "../lib/format";
import { blip, RINGS, toXY } from "../lib/radar";
import { RISK_COLORS, RISK_LEVELS, riskLevel } from "../lib/risk";

const WINDOWS = [
  { value: "60", label: "1 min" },
  { value: "300", label: "5 min" },
  { value: "900", label: "15 min" },
  { value: "3600", label: "1 h" },
  { value: "86400", label: "24 h" },
];
const COMPASS: Record<number, string> = { 0: "N", 45: "NE", 90: "E", 135: "SE", 180: "S", 225: "SW", 270: "W", 315: "NW" };
const MAX_BLIPS = 1500;

interface Plotted {
  ep: Endpoint;
  angle: number;
  radius: number;
  size: number;
  color: string;
  angleBy: string;
}

/** Names shown next to blips: the biggest endpoints whose labels do not collide (at most 8). */
function pickLabels(plotted: Plotted[], selected: string | null): Set<string> {
  const taken: { x: number; y: number }[] = [];
  const out = new Set<string>();
  const order = [...plotted].sort((a, b) => (b.ep.ip === selected ? 1 : 0) - (a.ep.ip === selected ? 1 : 0) || b.ep.bytes - a.ep.bytes);
  for (const b of order) {
    if (out.size >= 8) break;
    const { x, y } = toXY(b.angle, b.radius);
    if (taken.some((t) => Math.abs(t.y - y) < 0.07 && Math.abs(t.x - x) < 0.5)) continue;
    taken.push({ x, y });
    out.add(b.ep.ip);
  }
  return out;
}

function circle(r: number): [number, number][] {
  const out: [number, number][] = [];
  for (let a = 0; a <= 360; a += 3) out.push([r, a]);
  return out;
}

export function Radar() {
  const app = useApp();
  const feed = useFeed(300);
  const [win, setWin] = useState("900");
  const [scope, setScope] = useState<"all" | "external" | "internal">("all");
  const [selected, setSelected] = useState<string | null>(null);
  const [flow, setFlow] = useState<LiveFlow | null>(null);
  const [editSite, setEditSite] = useState(false);
  const [, tick] = useState(0);
  useEffect(() => {
    const t = window.setInterval(() => tick((n) => n + 1), 1000);
    return () => window.clearInterval(t);
  }, []);
  const now = Date.now() / 1000;
  const windowS = Number(win);

  const plotted = useMemo(() => {
    const out: Plotted[] = [];
    const eps = [...feed.endpoints.values()]
      .filter((e) => (app.host ? e.hosts.includes(app.host) : true))
      .filter((e) => (scope === "all" ? true : scope === "internal" ? e.internal : !e.internal))
      .filter((e) => now - e.lastSeen <= Math.max(windowS * 4, 3600) || windowS >= 86400)
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, MAX_BLIPS);
    for (const ep of eps) {
      let lat = ep.lat;
      let lon = ep.lon;
      if ((lat == null || lon == null) && ep.country && !ep.internal) {
        const c = countryCentroid(ep.country);
        if (c) [lon, lat] = c;
      }
      const b = blip({ ip: ep.ip, internal: ep.internal, lat, lon, asn: ep.asn, lastSeen: ep.lastSeen, bytes: ep.bytes, risk: ep.risk }, app.site, now, windowS);
      out.push({ ep, ...b });
    }
    return out;
  }, [feed.version, app.site, win, scope, app.host, Math.floor(now)]);

  const external = plotted.filter((p) => !p.ep.internal).length;
  const countries = new Set(plotted.map((p) => p.ep.country).filter(Boolean)).size;
  const recent = plotted.slice(0, 14);
  const labelled = pickLabels(plotted, selected);
  const byRisk = RISK_LEVELS.map((l) => plotted.filter((p) => riskLevel(p.ep.risk) === l).length);

  const option = (p: ReturnType<typeof import("../charts/echarts").palette>) => ({
    backgroundColor: "transparent",
    animation: false,
    tooltip: {
      trigger: "item",
      backgroundColor: p.surface,
      borderColor: p.border,
      textStyle: { color: p.text, fontSize: 12 },
      formatter: (it: { data?: { ep?: Endpoint } }) => {
        const e = it.data?.ep;
        if (!e) return "";
        const place = e.internal ? "internal" : [e.city, e.country ? fmt.countryName(e.country) : null].filter(Boolean).join(", ");
        const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
        return `<b>${esc(e.name ?? e.ip)}</b><br/>${esc(e.ip)}${place ? ` · ${esc(place)}` : ""}<br/>${e.org ? `${esc(fmt.asn(e.asn, e.org))}<br/>` : ""}${fmt.bytes(e.bytes)} · ${e.flows} flows · ${fmt.ago(e.lastSeen)}${e.processes.length ? `<br/>${esc(e.processes.join(", "))}` : ""}`;
      },
    },
    polar: { center: ["50%", "50%"], radius: "88%" },
    angleAxis: {
      type: "value",
      min: 0,
      max: 360,
      interval: 45,
      startAngle: 90,
      clockwise: true,
      axisLine: { lineStyle: { color: p.border } },
      axisTick: { show: false },
      axisLabel: { color: p.faint, formatter: (v: number) => COMPASS[v] ?? "", fontSize: 11, fontWeight: 600 },
      splitLine: { lineStyle: { color: p.grid, type: "dashed", opacity: 0.7 } },
    },
    radiusAxis: {
      type: "value",
      min: 0,
      max: 1,
      interval: 1 / 6,
      axisLine: { show: false },
      axisTick: { show: false },
      axisLabel: { show: false },
      splitLine: { lineStyle: { color: p.grid, opacity: 0.9 } },
    },
    series: [
      {
        type: "line",
        coordinateSystem: "polar",
        data: circle(RINGS.boundary),
        symbol: "none",
        silent: true,
        lineStyle: { color: p.accent, width: 1.5, opacity: 0.55 },
        z: 1,
      },
      {
        type: "scatter",
        coordinateSystem: "polar",
        name: "endpoints",
        z: 3,
        data: plotted.map((b) => ({
          value: [b.radius, b.angle],
          name: b.ep.name ?? b.ep.ip,
          ep: b.ep,
          symbolSize: b.ep.ip === selected ? b.size + 6 : b.size,
          itemStyle: {
            color: b.color,
            opacity: 0.35 + 0.6 * (1 - Math.min(1, (now - b.ep.lastSeen) / Math.max(windowS, 1))),
            borderColor: b.ep.ip === selected ? p.text : b.color,
            borderWidth: b.ep.ip === selected ? 2 : 0,
            shadowBlur: b.ep.risk > 50 ? 12 : 6,
            shadowColor: b.color,
          },
          label: {
            show: labelled.has(b.ep.ip),
            formatter: fmt.middle(b.ep.name ?? b.ep.ip, 26),
            position: "right",
            color: p.muted,
            fontSize: 11,
          },
        })),
        emphasis: { scale: 1.4, label: { show: true } },
        labelLayout: { hideOverlap: true },
      },
    ],
  });

  return (
    <div class="view view-radar">
      <PageHead title="Radar" subtitle="Every remote endpoint around this host: angle by bearing, distance by recency, colour by risk, size by traffic.">
        <Segmented label="Window" value={win} options={WINDOWS} onChange={setWin} />
        <Segmented
          label="Scope"
          value={scope}
          options={[
            { value: "all", label: "All" },
            { value: "external", label: "External" },
            { value: "internal", label: "Internal" },
          ]}
          onChange={setScope}
        />
      </PageHead>
      <div class="radar-layout">
        <Card class="radar-card" pad={false} testid="radar">
          {plotted.length === 0 ? (
            <Empty icon="radar" title="No endpoint in this window">
              Remote endpoints appear here as soon as this host talks to them. Widen the window or wait for traffic.
            </Empty>
          ) : null}
          <div class="radar-box" hidden={plotted.length === 0}>
            <Chart option={option} deps={[plotted, selected, app.theme]} height="100%" replace onClick={(e) => (e.data as { ep?: Endpoint })?.ep && setSelected((e.data as { ep: Endpoint }).ep.ip)} testid="radar-chart" />
            <div class="sweep" aria-hidden="true" />
            <div class="radar-center" aria-hidden="true" />
          </div>
          <ul class="sr-only" data-testid="radar-blips" aria-label="Endpoints on the radar">
            {plotted.map((b) => (
              <li data-ip={b.ep.ip} data-angle={b.angle.toFixed(1)} data-angle-by={b.angleBy}>
                {b.ep.name ?? b.ep.ip}
              </li>
            ))}
          </ul>
          <div class="radar-legend">
            {RISK_LEVELS.map((l, i) => (
              <span class="legend-item">
                <span class="legend-dot" style={{ background: RISK_COLORS[l] }} />
                {l} <span class="muted">{byRisk[i]}</span>
              </span>
            ))}
            <span class="legend-item muted">inner ring: internal · outer: internet</span>
          </div>
        </Card>
        <div class="radar-side">
          <div class="stat-grid">
            <Stat label="Endpoints" value={fmt.count(plotted.length)} hint={`${external} on the internet`} testid="stat-endpoints" />
            <Stat label="Countries" value={fmt.count(countries)} hint={app.site ? "angle by bearing" : "angle by network"} />
          </div>
          <Card title="Most recent" pad={false}>
            {recent.length === 0 ? (
              <Empty icon="radar" title="Quiet">
                Nothing seen yet.
              </Empty>
            ) : (
              <ul class="contact-list" data-testid="recent-endpoints">
                {recent.map((b) => (
                  <li>
                    <button class={`contact ${selected === b.ep.ip ? "selected" : ""}`} onClick={() => setSelected(b.ep.ip)}>
                      <span class="legend-dot" style={{ background: b.color }} />
                      <span class="contact-main">
                        <span class="contact-name">{fmt.middle(b.ep.name ?? b.ep.ip, 34)}</span>
                        <span class="contact-sub">
                          {b.ep.country ? `${fmt.countryName(b.ep.country)} · ` : b.ep.internal ? "internal · " : ""}
                          {b.ep.processes[0] ?? b.ep.apps[0] ?? b.ep.ip}
                        </span>
                      </span>
                      <span class="contact-meta">
                        <span>{fmt.bytes(b.ep.bytes)}</span>
                        <span class="muted">{fmt.ago(b.ep.lastSeen, now)}</span>
                      </span>
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </Card>
          <Card title="Site location">
            {editSite ? (
              <form
                class="inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  const v = (e.currentTarget.elements.namedItem("site") as HTMLInputElement).value.trim();
                  setSite(v || null);
                  setEditSite(false);
                }}
              >
                <input name="site" placeholder="lat, lon (e.g. 48.85, 2.35)" value={app.site?.source === "settings" ? `${app.site.lat}, ${app.site.lon}` : ""} />
                <button class="btn btn-small btn-primary">Save</button>
              </form>
            ) : (
              <div class="site-line">
                <span>
                  {app.site ? `${app.site.lat.toFixed(2)}, ${app.site.lon.toFixed(2)}` : "unknown"}
                  <span class="muted small"> · {app.site ? app.site.source : "blips placed by network"}</span>
                </span>
                <button class="btn btn-ghost btn-small" onClick={() => setEditSite(true)}>
                  <Icon name="settings" size={14} /> Change
                </button>
              </div>
            )}
          </Card>
        </div>
      </div>
      {selected && !flow && <EndpointDrawer ip={selected} onClose={() => setSelected(null)} onFlow={setFlow} />}
      {flow && <FlowDrawer flow={flow} onClose={() => setFlow(null)} />}
      {selected && feed.endpoints.get(selected) && (
        <span class="sr-only" data-testid="selected-risk">
          <RiskBadge score={feed.endpoints.get(selected)!.risk} />
        </span>
      )}
    </div>
  );
}
