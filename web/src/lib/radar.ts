// Radar geometry: where a remote endpoint's blip goes around this host, how big and what colour.
//
// Angle: geographic bearing from this site to the endpoint (north up, clockwise); without a site or
// an endpoint location, a stable hash of its ASN (endpoints of one network side by side), else of its
// address. Distance from the centre: recency (the most recent nearest), inside the inner ring for
// internal endpoints and the outer ring for external ones. Size: bytes (log scale). Colour: risk.

import { bearing, hashAngle, type LatLon } from "./geo";
import { riskColor } from "./risk";

/** The inner ring (internal endpoints) and the outer ring (external) as radius fractions. */
export const RINGS = {
  internal: [0.06, 0.3] as const,
  external: [0.38, 0.97] as const,
  boundary: 0.34,
};

export interface BlipSource {
  ip: string;
  internal: boolean;
  lat?: number | null;
  lon?: number | null;
  asn?: number | null;
  lastSeen: number;
  bytes: number;
  risk: number;
}

export interface Blip {
  /** Degrees clockwise from north, [0, 360). */
  angle: number;
  /** 0 (centre) to 1 (edge). */
  radius: number;
  /** Symbol diameter, pixels. */
  size: number;
  color: string;
  angleBy: "bearing" | "asn" | "address";
}

/** Recency as a fraction in [0, 1]: 0 seen now, 1 seen `windowS` ago or earlier (log scale). */
export function recency(lastSeen: number, now: number, windowS: number): number {
  const age = Math.max(0, now - lastSeen);
  if (windowS <= 0) return 1;
  return Math.min(1, Math.log1p(age) / Math.log1p(windowS));
}

/** Blip diameter for a byte count: 6 px for nothing, about 16 px for 1 MB, at most 30 px. */
export function blipSize(bytes: number): number {
  const v = 6 + 3.4 * Math.log10(1 + Math.max(0, bytes) / 1000);
  return Math.max(6, Math.min(30, Math.round(v * 10) / 10));
}

export function blipAngle(e: BlipSource, site: LatLon | null): Pick<Blip, "angle" | "angleBy"> {
  if (site && e.lat != null && e.lon != null && !e.internal) {
    return { angle: bearing(site, { lat: e.lat, lon: e.lon }), angleBy: "bearing" };
  }
  if (e.asn != null && !e.internal) return { angle: hashAngle(`AS${e.asn}`), angleBy: "asn" };
  return { angle: hashAngle(e.ip), angleBy: "address" };
}

export function blipRadius(e: BlipSource, now: number, windowS: number): number {
  const [lo, hi] = e.internal ? RINGS.internal : RINGS.external;
  return lo + (hi - lo) * recency(e.lastSeen, now, windowS);
}

export function blip(e: BlipSource, site: LatLon | null, now: number, windowS: number): Blip {
  return {
    ...blipAngle(e, site),
    radius: blipRadius(e, now, windowS),
    size: blipSize(e.bytes),
    color: riskColor(e.risk),
  };
}

/** Cartesian position (x right, y up) of a polar point, for tests and hit checks. */
export function toXY(angleDeg: number, radius: number): { x: number; y: number } {
  const a = (angleDeg * Math.PI) / 180;
  return { x: radius * Math.sin(a), y: radius * Math.cos(a) };
}
