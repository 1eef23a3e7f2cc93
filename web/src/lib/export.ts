// CSV and JSON exports of a table, as the user sees it (filtered and sorted).

import { type Column, textOf, valueOf } from "./table";

/** One CSV field (RFC 4180): quoted when needed; formula-looking text is prefixed with ' (CSV injection). */
export function csvField(value: unknown): string {
  if (value == null) return "";
  let s = Array.isArray(value) ? value.join(" ") : typeof value === "object" ? JSON.stringify(value) : String(value);
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** CSV text with a header row; raw values (not the display text) so numbers stay numbers. */
export function toCsv<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const head = columns.map((c) => csvField(c.label)).join(",");
  const body = rows.map((r) =>
    columns
      .map((c) => {
        const v = valueOf(c, r);
        return csvField(typeof v === "object" && v !== null && !Array.isArray(v) ? textOf(c, r) : v);
      })
      .join(","),
  );
  return [head, ...body].join("\r\n") + "\r\n";
}

/** JSON text: one object per row, keyed by column key, raw values. */
export function toJson<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  return JSON.stringify(
    rows.map((r) => Object.fromEntries(columns.map((c) => [c.key, valueOf(c, r) ?? null]))),
    null,
    2,
  );
}

/** A file name like "flowradar-connections-20261122-0130.csv". */
export function exportName(table: string, ext: "csv" | "json", at: Date = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = `${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}-${p(at.getHours())}${p(at.getMinutes())}`;
  const safe = table.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return `flowradar-${safe || "table"}-${stamp}.${ext}`;
}

/** Save text as a file (browser only). */
export function download(name: string, text: string, mime: string): void {
  const blob = new Blob([text], { type: `${mime};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
