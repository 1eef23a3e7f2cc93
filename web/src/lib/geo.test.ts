import { describe, expect, it } from "vitest";
import { bearing, distanceKm, hashAngle, isInternal, remoteOf, siteLocation } from "./geo";

const paris = { lat: 48.8566, lon: 2.3522 };
const newYork = { lat: 40.7128, lon: -74.006 };
const tokyo = { lat: 35.6762, lon: 139.6503 };

describe("geo", () => {
  it("bearings along the axes", () => {
    expect(bearing({ lat: 0, lon: 0 }, { lat: 10, lon: 0 })).toBeCloseTo(0, 6);
    expect(bearing({ lat: 0, lon: 0 }, { lat: 0, lon: 10 })).toBeCloseTo(90, 6);
    expect(bearing({ lat: 0, lon: 0 }, { lat: -10, lon: 0 })).toBeCloseTo(180, 6);
    expect(bearing({ lat: 0, lon: 0 }, { lat: 0, lon: -10 })).toBeCloseTo(270, 6);
    expect(bearing(paris, paris)).toBe(0);
  });
  it("great-circle bearings and distances between cities", () => {
    // Paris -> New York heads west-north-west (about 292 degrees), about 5,837 km
    expect(bearing(paris, newYork)).toBeGreaterThan(285);
    expect(bearing(paris, newYork)).toBeLessThan(300);
    expect(distanceKm(paris, newYork)).toBeGreaterThan(5800);
    expect(distanceKm(paris, newYork)).toBeLessThan(5870);
    // Paris -> Tokyo starts north-east over Siberia
    expect(bearing(paris, tokyo)).toBeGreaterThan(25);
    expect(bearing(paris, tokyo)).toBeLessThan(45);
  });
  it("stable hash angles", () => {
    expect(hashAngle("AS15169")).toBe(hashAngle("AS15169"));
    expect(hashAngle("AS15169")).not.toBe(hashAngle("AS13335"));
    for (const k of ["a", "b", "AS1", "10.0.0.1"]) {
      expect(hashAngle(k)).toBeGreaterThanOrEqual(0);
      expect(hashAngle(k)).toBeLessThan(360);
    }
  });
  it("internal addresses", () => {
    for (const ip of ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "127.0.0.1", "169.254.1.1", "100.64.0.1", "224.0.0.251", "255.255.255.255", "fd00::1", "fe80::1", "::1", "ff02::fb", "::ffff:10.0.0.1"]) {
      expect(isInternal(ip), ip).toBe(true);
    }
    for (const ip of ["8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:4860::8888", "1.1.1.1", "", "nonsense"]) {
      expect(isInternal(ip), ip).toBe(false);
    }
  });
  it("the remote side of a flow", () => {
    expect(remoteOf({ src_ip: "10.0.0.2", dst_ip: "8.8.8.8" })).toBe("8.8.8.8");
    expect(remoteOf({ src_ip: "8.8.8.8", dst_ip: "10.0.0.2" })).toBe("8.8.8.8");
    expect(remoteOf({ src_ip: "10.0.0.2", dst_ip: "10.0.0.3" })).toBe("10.0.0.3");
    expect(remoteOf({ remote_ip: "10.0.0.2", src_ip: "10.0.0.2", dst_ip: "8.8.8.8" })).toBe("10.0.0.2");
  });
  it("site location from settings or time zone", () => {
    expect(siteLocation("48.85, 2.35", "UTC")).toEqual({ lat: 48.85, lon: 2.35, source: "settings" });
    const tz = siteLocation(null, "Europe/Paris");
    expect(tz?.lat).toBeCloseTo(48.87, 1);
    expect(tz?.source).toContain("Europe/Paris");
    expect(siteLocation("100, 0", "UTC")).toBeNull();
    expect(siteLocation(null, undefined)).toBeNull();
  });
});
