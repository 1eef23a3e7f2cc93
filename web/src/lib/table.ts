// Table logic without the DOM: columns, free-text search, filters and sorting (stable).

export interface Column<T> {
  key: string;
  label: string;
  /** Value used for sorting, searching and export (defaults to row[key]). */
  value?: (row: T) => unknown;
  /** Text shown in the cell (defaults to String(value)). */
  text?: (row: T) => string;
  /** Relative width (flex grow); default 1. */
  width?: number;
  align?: "left" | "right" | "center";
  /** Exclude from search (e.g. numbers). */
  noSearch?: boolean;
}

export type SortDir = "asc" | "desc";

export interface SortState {
  key: string;
  dir: SortDir;
}

export function valueOf<T>(col: Column<T>, row: T): unknown {
  if (col.value) return col.value(row);
  return (row as Record<string, unknown>)[col.key];
}

export function textOf<T>(col: Column<T>, row: T): string {
  if (col.text) return col.text(row);
  const v = valueOf(col, row);
  if (v == null) return "";
  if (Array.isArray(v)) return v.join(", ");
  return String(v);
}

/** Order of two cell values: missing last, numbers numerically, text case-insensitively (natural). */
export function compareValues(a: unknown, b: unknown): number {
  const ma = a == null || a === "";
  const mb = b == null || b === "";
  if (ma || mb) return ma === mb ? 0 : ma ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return String(a).localeCompare(String(b), "en", { numeric: true, sensitivity: "base" });
}

/** Split a search into terms; "key:value" terms match that column only, "-term" excludes. */
export interface Term {
  key?: string;
  text: string;
  negate: boolean;
}

export function parseSearch(query: string): Term[] {
  const out: Term[] = [];
  const re = /(-?)(?:([A-Za-z_][\w]*):)?("([^"]*)"|(\S+))/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(query)) !== null) {
    const text = (m[4] ?? m[5] ?? "").toLowerCase();
    if (!text) continue;
    out.push({ negate: m[1] === "-", key: m[2]?.toLowerCase(), text });
  }
  return out;
}

/** Rows matching every term of the search (case-insensitive substring). */
export function search<T>(rows: readonly T[], columns: readonly Column<T>[], query: string): T[] {
  const terms = parseSearch(query);
  if (!terms.length) return rows.slice();
  const byKey = new Map(columns.map((c) => [c.key.toLowerCase(), c]));
  const searchable = columns.filter((c) => !c.noSearch);
  return rows.filter((row) =>
    terms.every((t) => {
      const cols = t.key && byKey.has(t.key) ? [byKey.get(t.key)!] : searchable;
      const hit = cols.some((c) => textOf(c, row).toLowerCase().includes(t.text));
      return t.negate ? !hit : hit;
    }),
  );
}

/** Rows sorted by one column (stable; missing values last in both directions). */
export function sortRows<T>(rows: readonly T[], columns: readonly Column<T>[], sort: SortState | null): T[] {
  if (!sort) return rows.slice();
  const col = columns.find((c) => c.key === sort.key);
  if (!col) return rows.slice();
  const sign = sort.dir === "asc" ? 1 : -1;
  const keyed = rows.map((row, i) => ({ row, i, v: valueOf(col, row) }));
  keyed.sort((x, y) => {
    const xm = x.v == null || x.v === "";
    const ym = y.v == null || y.v === "";
    if (xm || ym) return xm === ym ? x.i - y.i : xm ? 1 : -1;
    return sign * compareValues(x.v, y.v) || x.i - y.i;
  });
  return keyed.map((k) => k.row);
}

/** The next sort state when a header is clicked: new column descending for numbers, then toggle. */
export function nextSort(current: SortState | null, key: string, numeric: boolean): SortState {
  if (current && current.key === key) return { key, dir: current.dir === "asc" ? "desc" : "asc" };
  return { key, dir: numeric ? "desc" : "asc" };
}

/** Search, then filter, then sort. */
export function view<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  query: string,
  sort: SortState | null,
  filter?: (row: T) => boolean,
): T[] {
  const found = search(rows, columns, query);
  return sortRows(filter ? found.filter(filter) : found, columns, sort);
}

/** The slice of rows to render for a scroll position (virtual scrolling), with overscan. */
export function windowOf(total: number, rowHeight: number, scrollTop: number, height: number, overscan = 8) {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(total, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { first, last, offset: first * rowHeight, total: total * rowHeight };
}
