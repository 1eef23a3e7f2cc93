import { useMemo, useState } from "preact/hooks";
import { rangeParams, useApi, useApp, useFeed } from "../app/store";
import type { Palette } from "../charts/echarts";
import { countryCentroid, ensureWorld } from "../charts/world";
import { Chart } from "../components/Chart";
import { DataTable, type TableColumn } from "../components/DataTable";
import { EndpointDrawer } from "../components/Details";
import { Card, Empty, ErrorNote, PageHead, Stat } from "../components/ui";
import * as fmt from "../lib/format";
import { countriesOf, places, type CountryRow, type Place } from "../lib/aggregate";
import type { GeoPoint } from "../types";

const cityCols: TableColumn<Place>[] = [
  { key: "city", label: "City", width: 1.4, text: (p) => p.city ?? "(country only)" },
  { key: "country", label: "Country", width: 1.2, text: (p) => fmt.countryName(p.country) },
  { key: "flows", label: "Flows", numeric: true, px: 70, text: (p) => fmt.count(p.flows, true) },
  { key: "bytes", label: "Bytes", numeric: true, px: 86, text: (p) => fmt.bytes(p.bytes) },
];
const countryCols: TableColumn<CountryRow>[] = [
  { key: "country", label: "Country", width: 2, text: (c) => `${fmt.countryName(c.country)} (${c.country})` },
  { key: "cities", label: "Cities", numeric: true, px: 60 },
  { key: "flows", label: "Flows", numeric: true, px: 70, text: (c) => fmt.count(c.flows, true) },
  { key: "bytes", label: "Bytes", numeric: true, px: 86, text: (c) => fmt.bytes(c.bytes) },
];

export function WorldMap() {
  const app = useApp();
  const feed = useFeed(2000);
  const geo = useApi<GeoPoint[]>("/geo", () => rangeParams(), [app.range.key, app.host], 10_000);
  const [selected, setSelected] = useState<string | null>(null);
  ensureWorld();

  const all = useMemo(
    () =>
      places(
        geo.data ?? [],
        [...feed.endpoints.values()].filter((e) => !app.host || e.hosts.includes(app.host)),
        countryCentroid,
      ),
    [geo.data, feed.version, app.host],
  );
  const countries = useMemo(() => countriesOf(all), [all]);
  const total = all.reduce((s, p) => s + p.bytes, 0);
  const top = [...all].filter((p) => p.lat != null && p.lon != null).sort((a, b) => b.bytes - a.bytes).slice(0, 250);
  const maxBytes = Math.max(1, ...top.map((p) => p.bytes));
  const maxCountry = Math.max(1, ...countries.map((c) => c.bytes));
  const site = app.site;

  const option = (p: Palette) => ({
    backgroundColor: "transparent",
    tooltip: {
      trigger: "item",
      backgroundColor: p.surface,
      borderColor: p.border,
      textStyle: { color: p.text, fontSize: 12 },
      formatter: (it: { seriesType?: string; name?: string; data?: { place?: Place; value?: number } }) => {
        const pl = it.data?.place;
        if (pl) return `<b>${pl.city ?? fmt.countryName(pl.country)}</b> ${pl.city ? fmt.countryName(pl.country) : ""}<br/>${fmt.bytes(pl.bytes)} · ${fmt.count(pl.flows)} flows`;
        if (it.seriesType === "map" && it.name) {
          const c = countries.find((x) => x.country === it.name);
          return `<b>${fmt.countryName(it.name)}</b><br/>${c ? `${fmt.bytes(c.bytes)} · ${fmt.count(c.flows)} flows` : "no traffic"}`;
        }
        return "";
      },
    },
    visualMap: {
      show: false,
      min: 3,
      max: Math.max(3.1, Math.log10(maxCountry + 1)),
      seriesIndex: 0,
      inRange: { color: [p.faint, p.accent] },
    },
    geo: {
      map: "world",
      roam: true,
      zoom: 1.22,
      aspectScale: 0.9,
      center: [14, 16],
      scaleLimit: { min: 1, max: 12 },
      silent: false,
      itemStyle: { areaColor: p.grid, borderColor: p.border, borderWidth: 0.6 },
      emphasis: { itemStyle: { areaColor: p.faint }, label: { show: false } },
      select: { disabled: true },
      label: { show: false },
    },
    series: [
      {
        type: "map",
        geoIndex: 0,
        data: countries.map((c) => ({ name: c.country, value: Math.log10(c.bytes + 1) })),
      },
      {
        type: "lines",
        coordinateSystem: "geo",
        zlevel: 1,
        silent: true,
        effect: { show: true, period: 5, trailLength: 0.25, symbol: "circle", symbolSize: 3, color: p.accent },
        lineStyle: { color: p.accent, width: 1, opacity: 0.35, curveness: 0.25 },
        data: site
          ? top.slice(0, 120).map((pl) => ({
              coords: [
                [site.lon, site.lat],
                [pl.lon, pl.lat],
              ],
              lineStyle: { width: 0.6 + 2.4 * (Math.log10(pl.bytes + 1) / Math.log10(maxBytes + 1)) },
            }))
          : [],
      },
      {
        type: "effectScatter",
        coordinateSystem: "geo",
        zlevel: 2,
        rippleEffect: { scale: 2.5, brushType: "stroke" },
        showEffectOn: "render",
        data: top.slice(0, 20).map((pl) => ({ name: pl.city ?? pl.country, value: [pl.lon, pl.lat, pl.bytes], place: pl, symbolSize: 5 + 14 * Math.sqrt(pl.bytes / maxBytes) })),
        itemStyle: { color: p.up },
      },
      {
        type: "scatter",
        coordinateSystem: "geo",
        zlevel: 2,
        data: top.slice(20).map((pl) => ({ name: pl.city ?? pl.country, value: [pl.lon, pl.lat, pl.bytes], place: pl, symbolSize: 4 + 10 * Math.sqrt(pl.bytes / maxBytes) })),
        itemStyle: { color: p.up, opacity: 0.8 },
      },
      ...(site
        ? [
            {
              type: "effectScatter",
              coordinateSystem: "geo",
              zlevel: 3,
              data: [{ name: "this site", value: [site.lon, site.lat] }],
              symbolSize: 9,
              itemStyle: { color: "#22c55e" },
              label: { show: true, formatter: "this site", position: "right", color: p.text, fontSize: 11 },
              rippleEffect: { scale: 4 },
            },
          ]
        : []),
    ],
  });

  const pickEndpoint = (country: string, city: string | null) => {
    const ep = [...feed.endpoints.values()].filter((e) => e.country === country && (!city || e.city === city)).sort((a, b) => b.bytes - a.bytes)[0];
    if (ep) setSelected(ep.ip);
  };

  return (
    <div class="view view-map">
      <PageHead title="World map" subtitle={`Traffic from ${site ? "this site" : "this host"} to the places of its remote endpoints (${app.range.label.toLowerCase()}, plus live).`} />
      {geo.error && <ErrorNote error={geo.error} onRetry={geo.reload} />}
      <div class="map-layout">
        <div class="map-main">
          <Card class="map-card" pad={false} testid="world-map">
            {all.length === 0 && !geo.loading ? (
              <Empty icon="globe" title="No located traffic yet">
                Flows to public addresses are placed on the map by the offline DB-IP Lite database. Internal traffic stays on the radar.
              </Empty>
            ) : (
              <Chart option={option} deps={[all, countries, site, app.theme]} height="100%" replace testid="map-chart" onClick={(e) => {
                const pl = (e.data as { place?: Place } | undefined)?.place;
                if (pl) pickEndpoint(pl.country, pl.city);
              }} />
            )}
            <div class="map-foot muted small">IP geolocation by DB-IP (db-ip.com), CC BY 4.0 · map: Natural Earth</div>
          </Card>
          <Card title="Cities" pad={false} class="map-cities">
            <DataTable name="Cities" columns={cityCols} rows={all} rowKey={(p) => p.key} sort={{ key: "bytes", dir: "desc" }} loading={geo.loading} onRowClick={(p) => pickEndpoint(p.country, p.city)} emptyTitle="No city yet" />
          </Card>
        </div>
        <div class="map-side">
          <div class="stat-grid">
            <Stat label="Countries" value={fmt.count(countries.length)} testid="stat-countries" />
            <Stat label="Cities" value={fmt.count(all.filter((p) => p.city).length)} />
            <Stat label="Located traffic" value={fmt.bytes(total)} />
          </div>
          <Card title="Countries" pad={false} class="fill">
            <DataTable name="Countries" columns={countryCols} rows={countries} rowKey={(c) => c.country} sort={{ key: "bytes", dir: "desc" }} loading={geo.loading} onRowClick={(c) => pickEndpoint(c.country, null)} emptyTitle="No country yet" />
          </Card>
        </div>
      </div>
      {selected && <EndpointDrawer ip={selected} onClose={() => setSelected(null)} />}
    </div>
  );
}
