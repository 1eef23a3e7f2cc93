// Geography: bearings and distances on the sphere, address classes, and where this site is.

import { TZ_COORDS } from "../data/tzcoords";

export interface LatLon {
  lat: number;
  lon: number;
}

const rad = (d: number): number => (d * Math.PI) / 180;
const deg = (r: number): number => (r * 180) / Math.PI;

/** Initial great-circle bearing from a to b, degrees clockwise from north in [0, 360). */
export function bearing(a: LatLon, b: LatLon): number {
  const phi1 = rad(a.lat);
  const phi2 = rad(b.lat);
  const dl = rad(b.lon - a.lon);
  const y = Math.sin(dl) * Math.cos(phi2);
  const x = Math.cos(phi1) * Math.sin(phi2) - Math.sin(phi1) * Math.cos(phi2) * Math.cos(dl);
  if (Math.abs(x) < 1e-12 && Math.abs(y) < 1e-12) return 0;
  return (deg(Math.atan2(y, x)) + 360) % 360;
}

/** Great-circle distance in kilometres (haversine, mean Earth radius). */
export function distanceKm(a: LatLon, b: LatLon): number {
  const dphi = rad(b.lat - a.lat);
  const dl = rad(b.lon - a.lon);
  const h = Math.sin(dphi / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dl / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** A stable 32-bit hash of a string (FNV-1a). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A stable angle in [0, 360) for a key (an ASN, an address) when there is no location. */
export function hashAngle(key: string): number {
  return (hash32(key) % 36000) / 100;
}

function v4(ip: string): number[] | null {
  const parts = ip.split(".");
  if (parts.length !== 4) return null;
  const out = parts.map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN));
  return out.every((n) => n >= 0 && n <= 255) ? out : null;
}

/**
 * True for addresses that are not on the internet: RFC 1918, CGNAT, loopback, link-local, multicast,
 * broadcast, "this network", documentation and benchmark ranges, IPv6 ULA/link-local/loopback/multicast.
 */
export function isInternal(ip: string | null | undefined): boolean {
  if (!ip) return false;
  const a = v4(ip);
  if (a) {
    const [x, y] = a;
    return (
      x === 10 ||
      x === 127 ||
      x === 0 ||
      (x === 172 && y >= 16 && y <= 31) ||
      (x === 192 && y === 168) ||
      (x === 169 && y === 254) ||
      (x === 100 && y >= 64 && y <= 127) ||
      (x === 192 && y === 0 && (a[2] === 0 || a[2] === 2)) ||
      (x === 198 && (y === 18 || y === 19)) ||
      (x === 198 && y === 51 && a[2] === 100) ||
      (x === 203 && y === 0 && a[2] === 113) ||
      x >= 224
    );
  }
  const s = ip.toLowerCase();
  if (!s.includes(":")) return false;
  if (s === "::1" || s === "::") return true;
  if (s.startsWith("::ffff:")) return isInternal(s.slice(7));
  return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(s);
}

/**
 * Which side of a flow is the remote endpoint: the server's remote_ip; else the side that is not one
 * of this site's known addresses; else the external side; else the responder.
 */
export function remoteOf(f: { remote_ip?: string | null; src_ip: string; dst_ip: string }, locals?: ReadonlySet<string>): string {
  if (f.remote_ip) return f.remote_ip;
  if (locals) {
    if (locals.has(f.src_ip) && !locals.has(f.dst_ip)) return f.dst_ip;
    if (locals.has(f.dst_ip) && !locals.has(f.src_ip)) return f.src_ip;
  }
  const srcIn = isInternal(f.src_ip);
  const dstIn = isInternal(f.dst_ip);
  if (srcIn && !dstIn) return f.dst_ip;
  if (dstIn && !srcIn) return f.src_ip;
  return f.dst_ip;
}

/** This site's location: a saved one, else the principal city of the browser's time zone, else null. */
export function siteLocation(saved: string | null, timeZone: string | undefined): (LatLon & { source: string }) | null {
  if (saved) {
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(saved);
    if (m) {
      const lat = Number(m[1]);
      const lon = Number(m[2]);
      if (Math.abs(lat) <= 90 && Math.abs(lon) <= 180) return { lat, lon, source: "settings" };
    }
  }
  const tz = timeZone ? TZ_COORDS[timeZone] : undefined;
  return tz ? { lat: tz[0], lon: tz[1], source: `time zone ${timeZone}` } : null;
}
