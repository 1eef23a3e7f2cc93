import { describe, expect, it } from "vitest";
import { keyColor, keyColors, type Palette, withColors } from "./echarts";

const P = {
  faint: "#faint",
  series: ["#0", "#1", "#2", "#3"],
} as unknown as Palette;

describe("chart colours", () => {
  it("gives a key its stable colour when no earlier key took it", () => {
    const colors = keyColors(["alpha"], P);
    expect(colors.get("alpha")).toBe(keyColor("alpha", P));
  });

  it("never gives two keys of one chart the same colour while the palette lasts", () => {
    const keys = ["curl", "dig", "chromium", "sshd"];
    const colors = keyColors(keys, P);
    expect(new Set(keys.map((k) => colors.get(k))).size).toBe(4);
    expect(colors.get("curl")).toBe(keyColor("curl", P)); // the first key keeps its own
  });

  it("greys other and unknown, and reuses colours past the palette", () => {
    const keys = ["a", "b", "c", "d", "e", "other", "unknown"];
    const colors = keyColors(keys, P);
    expect(colors.get("other")).toBe("#faint");
    expect(colors.get("unknown")).toBe("#faint");
    expect(P.series).toContain(colors.get("e"));
  });

  it("pairs items with their colour in order", () => {
    const items = [{ key: "x", v: 1 }, { key: "y", v: 2 }];
    const paired = withColors(items, P);
    expect(paired.map(([it]) => it.v)).toEqual([1, 2]);
    expect(paired[0][1]).not.toBe(paired[1][1]);
  });
});
