import { describe, expect, it } from "vitest";
import { RINGS, blip, blipAngle, blipSize, recency, toXY } from "./radar";
import { RISK_COLORS } from "./risk";

const site = { lat: 48.8566, lon: 2.3522 }; // Paris
const base = { ip: "203.0.113.9", internal: false, lastSeen: 1000, bytes: 0, risk: 0 };

describe("radar geometry", () => {
  it("recency runs from 0 (now) to 1 (window or older), monotonic", () => {
    expect(recency(1000, 1000, 600)).toBe(0);
    expect(recency(400, 1000, 600)).toBe(1);
    expect(recency(0, 1000, 600)).toBe(1);
    expect(recency(990, 1000, 600)).toBeLessThan(recency(900, 1000, 600));
    expect(recency(1005, 1000, 600)).toBe(0); // clock skew: never negative
  });
  it("internal endpoints inside the inner ring, external ones in the outer ring", () => {
    const now = 1000;
    for (const age of [0, 5, 60, 600, 10_000]) {
      const inner = blip({ ...base, internal: true, ip: "10.0.0.5", lastSeen: now - age }, site, now, 600);
      const outer = blip({ ...base, lastSeen: now - age }, site, now, 600);
      expect(inner.radius).toBeGreaterThanOrEqual(RINGS.internal[0]);
      expect(inner.radius).toBeLessThanOrEqual(RINGS.internal[1]);
      expect(outer.radius).toBeGreaterThanOrEqual(RINGS.external[0]);
      expect(outer.radius).toBeLessThanOrEqual(RINGS.external[1]);
      expect(inner.radius).toBeLessThan(RINGS.boundary);
      expect(outer.radius).toBeGreaterThan(RINGS.boundary);
    }
  });
  it("angle by bearing when both locations are known", () => {
    const ny = blipAngle({ ...base, lat: 40.7128, lon: -74.006 }, site);
    expect(ny.angleBy).toBe("bearing");
    expect(ny.angle).toBeGreaterThan(285);
    expect(ny.angle).toBeLessThan(300);
    const east = blipAngle({ ...base, lat: 48.8566, lon: 30 }, site);
    expect(east.angle).toBeGreaterThan(60);
    expect(east.angle).toBeLessThan(90);
  });
  it("angle by ASN hash without a site, or by address for internal endpoints", () => {
    const a = blipAngle({ ...base, lat: 40, lon: -74, asn: 15169 }, null);
    const b = blipAngle({ ...base, ip: "198.51.100.1", asn: 15169 }, null);
    expect(a.angleBy).toBe("asn");
    expect(a.angle).toBe(b.angle); // one network, one direction
    const c = blipAngle({ ...base, internal: true, ip: "10.0.0.7", asn: 15169, lat: 1, lon: 1 }, site);
    expect(c.angleBy).toBe("address");
  });
  it("size grows with bytes within bounds; colour follows risk", () => {
    expect(blipSize(0)).toBe(6);
    expect(blipSize(1_000_000)).toBeGreaterThan(blipSize(10_000));
    expect(blipSize(1e15)).toBe(30);
    expect(blip({ ...base, risk: 0 }, site, 1000, 600).color).toBe(RISK_COLORS.low);
    expect(blip({ ...base, risk: 60 }, site, 1000, 600).color).toBe(RISK_COLORS.high);
    expect(blip({ ...base, risk: 95 }, site, 1000, 600).color).toBe(RISK_COLORS.critical);
  });
  it("polar to cartesian: north is up, east is right", () => {
    const n = toXY(0, 1);
    const e = toXY(90, 1);
    expect(n.x).toBeCloseTo(0);
    expect(n.y).toBeCloseTo(1);
    expect(e.x).toBeCloseTo(1);
    expect(e.y).toBeCloseTo(0);
  });
});
