// World geometry for the map: Natural Earth 1:110m countries (world-atlas, ISC; Natural Earth is
// public domain), converted from TopoJSON, keyed by ISO 3166-1 alpha-2, with a centroid per country.

import countries from "i18n-iso-countries";
import { feature } from "topojson-client";
import type { Feature, FeatureCollection, Geometry, MultiPolygon, Polygon, Position } from "geojson";
import type { GeometryCollection, Topology } from "topojson-specification";
import world from "world-atlas/countries-110m.json";
import { echarts } from "./echarts";

export interface CountryShape {
  code: string;
  name: string;
  centroid: [number, number];
}

let registered = false;
const centroids = new Map<string, [number, number]>();

function ringArea(ring: Position[]): number {
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
  return a / 2;
}

function ringCentroid(ring: Position[]): [number, number] {
  let x = 0;
  let y = 0;
  let a = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
    x += (ring[j][0] + ring[i][0]) * f;
    y += (ring[j][1] + ring[i][1]) * f;
    a += f;
  }
  if (Math.abs(a) < 1e-9) return [ring[0][0], ring[0][1]];
  return [x / (3 * a), y / (3 * a)];
}

/** Centroid of a country's largest polygon (the mainland), [lon, lat]. */
export function centroidOf(geom: Polygon | MultiPolygon): [number, number] {
  const polys = geom.type === "Polygon" ? [geom.coordinates] : geom.coordinates;
  let best = polys[0][0];
  let bestArea = 0;
  for (const p of polys) {
    const a = Math.abs(ringArea(p[0]));
    if (a > bestArea) {
      bestArea = a;
      best = p[0];
    }
  }
  return ringCentroid(best);
}

/**
 * Rings that cross the antimeridian (Russia's far east, Fiji) jump from +180 to -180 and would be
 * drawn as stripes across a flat map: continue them past 180 instead.
 */
function unwrap(geom: Geometry | null): void {
  if (!geom || (geom.type !== "Polygon" && geom.type !== "MultiPolygon")) return;
  const polys = geom.type === "Polygon" ? [geom.coordinates] : geom.coordinates;
  for (const poly of polys) {
    for (const ring of poly) {
      let jumps = false;
      for (let i = 1; i < ring.length; i++) if (Math.abs(ring[i][0] - ring[i - 1][0]) > 180) jumps = true;
      if (!jumps) continue;
      for (const pt of ring) if (pt[0] < 0) pt[0] += 360;
    }
  }
}

/** Register the "world" map with ECharts once; features are named by ISO alpha-2 code. */
export function ensureWorld(): void {
  if (registered) return;
  const topo = world as unknown as Topology<{ countries: GeometryCollection<{ name: string }> }>;
  const fc = feature(topo, topo.objects.countries) as FeatureCollection<Geometry, { name: string }>;
  const features: Feature<Geometry, { name: string; label: string }>[] = [];
  for (const f of fc.features) {
    if (f.properties?.name === "Antarctica") continue; // no traffic goes there; it takes a fifth of the map
    unwrap(f.geometry);
    const numeric = String(f.id ?? "").padStart(3, "0");
    const code = countries.numericToAlpha2(numeric) ?? (f.properties?.name === "Kosovo" ? "XK" : f.properties?.name ?? numeric);
    const g = f.geometry;
    if (g && (g.type === "Polygon" || g.type === "MultiPolygon")) centroids.set(code, centroidOf(g));
    features.push({ ...f, properties: { name: code, label: f.properties?.name ?? code } });
  }
  echarts.registerMap("world", { type: "FeatureCollection", features } as never);
  registered = true;
}

/** [lon, lat] of a country's centroid (alpha-2), or null when the map does not have it. */
export function countryCentroid(code: string | null | undefined): [number, number] | null {
  if (!code) return null;
  ensureWorld();
  return centroids.get(code.toUpperCase()) ?? null;
}
