import { describe, expect, it } from "vitest";
import { type Column, compareValues, nextSort, parseSearch, search, sortRows, view, windowOf } from "./table";
import { csvField, exportName, toCsv, toJson } from "./export";

interface Row {
  name: string | null;
  bytes: number | null;
  country: string;
  tags?: string[];
}
const rows: Row[] = [
  { name: "api.example.com", bytes: 500, country: "DE", tags: ["tls"] },
  { name: "cdn.example.net", bytes: 12000, country: "US" },
  { name: null, bytes: 40, country: "FR" },
  { name: "item10.test", bytes: null, country: "US" },
  { name: "item9.test", bytes: 40, country: "DE" },
];
const cols: Column<Row>[] = [
  { key: "name", label: "Name" },
  { key: "bytes", label: "Bytes", align: "right", text: (r) => `${r.bytes ?? "—"} B` },
  { key: "country", label: "Country" },
  { key: "tags", label: "Tags" },
];

describe("table logic", () => {
  it("compares numbers, text (natural order) and puts missing values last", () => {
    expect(compareValues(2, 10)).toBeLessThan(0);
    expect(compareValues("item9", "item10")).toBeLessThan(0);
    expect(compareValues("B", "a")).toBeGreaterThan(0);
    expect(compareValues(null, 1)).toBeGreaterThan(0);
    expect(compareValues(1, undefined)).toBeLessThan(0);
  });
  it("parses search terms, column terms and negations", () => {
    expect(parseSearch('Foo country:de -"bad thing"')).toEqual([
      { negate: false, key: undefined, text: "foo" },
      { negate: false, key: "country", text: "de" },
      { negate: true, key: undefined, text: "bad thing" },
    ]);
    expect(parseSearch("   ")).toEqual([]);
  });
  it("searches every column or one, case-insensitively", () => {
    expect(search(rows, cols, "EXAMPLE").map((r) => r.name)).toEqual(["api.example.com", "cdn.example.net"]);
    expect(search(rows, cols, "country:us").length).toBe(2);
    expect(search(rows, cols, "example -country:us").map((r) => r.name)).toEqual(["api.example.com"]);
    expect(search(rows, cols, "tls").length).toBe(1);
    expect(search(rows, cols, "").length).toBe(rows.length);
  });
  it("sorts stably in both directions with missing values last", () => {
    const asc = sortRows(rows, cols, { key: "bytes", dir: "asc" }).map((r) => r.bytes);
    expect(asc).toEqual([40, 40, 500, 12000, null]);
    const desc = sortRows(rows, cols, { key: "bytes", dir: "desc" }).map((r) => r.bytes);
    expect(desc).toEqual([12000, 500, 40, 40, null]);
    // stable: the two 40s keep their input order in both directions
    expect(sortRows(rows, cols, { key: "bytes", dir: "desc" })[2].name).toBe(null);
    const names = sortRows(rows, cols, { key: "name", dir: "asc" }).map((r) => r.name);
    expect(names).toEqual(["api.example.com", "cdn.example.net", "item9.test", "item10.test", null]);
    expect(sortRows(rows, cols, { key: "nope", dir: "asc" })).toEqual(rows);
  });
  it("header clicks: numbers start descending, then toggle", () => {
    expect(nextSort(null, "bytes", true)).toEqual({ key: "bytes", dir: "desc" });
    expect(nextSort({ key: "bytes", dir: "desc" }, "bytes", true)).toEqual({ key: "bytes", dir: "asc" });
    expect(nextSort({ key: "bytes", dir: "desc" }, "name", false)).toEqual({ key: "name", dir: "asc" });
  });
  it("view = search + filter + sort", () => {
    const v = view(rows, cols, "test", { key: "name", dir: "desc" }, (r) => r.country === "DE");
    expect(v.map((r) => r.name)).toEqual(["item9.test"]);
  });
  it("virtual window with overscan, clamped", () => {
    expect(windowOf(5000, 30, 0, 600, 8)).toEqual({ first: 0, last: 28, offset: 0, total: 150000 });
    const mid = windowOf(5000, 30, 30000, 600, 8);
    expect(mid.first).toBe(992);
    expect(mid.last).toBe(1028);
    expect(mid.offset).toBe(992 * 30);
    expect(windowOf(10, 30, 1000, 600).last).toBe(10);
  });
  it("sorts and searches 5,000 rows fast", () => {
    const big = Array.from({ length: 5000 }, (_, i) => ({ name: `host${i}.example`, bytes: (i * 7919) % 10007, country: i % 2 ? "US" : "DE" }));
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) view(big, cols, "example country:us", { key: "bytes", dir: "desc" });
    expect((performance.now() - t0) / 10).toBeLessThan(50);
  });
});

describe("exports", () => {
  it("CSV fields are quoted, escaped and safe from formulas", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField('say "hi", ok')).toBe('"say ""hi"", ok"');
    expect(csvField("line\nbreak")).toBe('"line\nbreak"');
    expect(csvField("=HYPERLINK(1)")).toBe("'=HYPERLINK(1)");
    expect(csvField("-12.5")).toBe("-12.5");
    expect(csvField(null)).toBe("");
    expect(csvField(["a", "b"])).toBe("a b");
    expect(csvField(42)).toBe("42");
  });
  it("CSV has a header and raw values", () => {
    const csv = toCsv(rows.slice(0, 2), cols);
    expect(csv).toBe("Name,Bytes,Country,Tags\r\napi.example.com,500,DE,tls\r\ncdn.example.net,12000,US,\r\n");
  });
  it("JSON has one object per row keyed by column", () => {
    const parsed = JSON.parse(toJson(rows.slice(2, 3), cols));
    expect(parsed).toEqual([{ name: null, bytes: 40, country: "FR", tags: null }]);
  });
  it("file names carry the table and a time stamp", () => {
    expect(exportName("Top talkers!", "csv", new Date(2026, 10, 22, 1, 5))).toBe("flowradar-top-talkers-20261122-0105.csv");
  });
});
