import { describe, expect, it } from "vitest";
import * as fmt from "./format";

describe("format", () => {
  it("bytes in powers of 1024", () => {
    expect(fmt.bytes(0)).toBe("0 B");
    expect(fmt.bytes(1023)).toBe("1023 B");
    expect(fmt.bytes(1536)).toBe("1.50 KB");
    expect(fmt.bytes(10 * 1024 * 1024)).toBe("10.0 MB");
    expect(fmt.bytes(512 * 1024 ** 3)).toBe("512 GB");
    expect(fmt.bytes(null)).toBe("—");
    expect(fmt.bytes(Number.NaN)).toBe("—");
  });
  it("bit rates in powers of 1000", () => {
    expect(fmt.bitrate(125_000)).toBe("1.00 Mb/s");
    expect(fmt.bitrate(10)).toBe("80 b/s");
    expect(fmt.bitrate(-5)).toBe("0 b/s");
    expect(fmt.byteRate(2048)).toBe("2.00 KB/s");
  });
  it("counts, compact counts and percentages", () => {
    expect(fmt.count(1234567)).toBe("1,234,567");
    expect(fmt.count(1234567, true)).toBe("1.2M");
    expect(fmt.count(999, true)).toBe("999");
    expect(fmt.percent(0.1234)).toBe("12%");
    expect(fmt.percent(0.0512)).toBe("5.1%");
    expect(fmt.percent(42.4, true)).toBe("42%");
  });
  it("durations and ages", () => {
    expect(fmt.duration(0.42)).toBe("420 ms");
    expect(fmt.duration(5.25)).toBe("5.3 s");
    expect(fmt.duration(75)).toBe("1m 15s");
    expect(fmt.duration(3 * 3600 + 60)).toBe("3h 1m");
    expect(fmt.duration(90000)).toBe("1d 1h");
    expect(fmt.ago(1000, 1001)).toBe("just now");
    expect(fmt.ago(1000, 1030)).toBe("30 s ago");
    expect(fmt.ago(1000, 1000 + 7200)).toBe("2 h ago");
    expect(fmt.ago(null)).toBe("never");
  });
  it("endpoints, ASNs, countries and flags", () => {
    expect(fmt.endpoint("10.0.0.1", 443)).toBe("10.0.0.1:443");
    expect(fmt.endpoint("2001:db8::1", 53)).toBe("[2001:db8::1]:53");
    expect(fmt.asn(15169, "Google LLC")).toBe("AS15169 Google LLC");
    expect(fmt.asn(null, null)).toBe("—");
    expect(fmt.countryName("DE")).toBe("Germany");
    expect(fmt.flag("de")).toBe("🇩🇪");
    expect(fmt.flag("xyz")).toBe("");
    expect(fmt.iso(0)).toBe("");
    expect(fmt.iso(1_700_000_000)).toBe("2023-11-14T22:13:20.000Z");
  });
  it("middle ellipsis keeps both ends", () => {
    const s = fmt.middle("averyveryverylongsubdomain.example.com", 20);
    expect(s.length).toBe(20);
    expect(s.startsWith("averyvery")).toBe(true);
    expect(s.endsWith("ample.com")).toBe(true);
  });
});
