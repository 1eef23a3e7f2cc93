// A table with search, sort, CSV/JSON export and virtual scrolling (only the visible rows are in the
// DOM, so 5,000 live rows stay smooth).

import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { download, exportName, toCsv, toJson } from "../lib/export";
import { type Column, nextSort, type SortState, textOf, view, windowOf } from "../lib/table";
import { Empty, Icon, Loading } from "./ui";

export interface TableColumn<T> extends Column<T> {
  render?: (row: T) => ComponentChildren;
  /** Numeric column: sorts descending first, right-aligned. */
  numeric?: boolean;
  /** Fixed width in px (else flex by `width`). */
  px?: number;
}

export interface DataTableProps<T> {
  name: string;
  columns: TableColumn<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  sort?: SortState | null;
  filter?: (row: T) => boolean;
  search?: string;
  onSearch?: (q: string) => void;
  onRowClick?: (row: T) => void;
  selected?: string | null;
  loading?: boolean;
  error?: string | null;
  emptyTitle?: string;
  emptyText?: ComponentChildren;
  /** Fixed height in px; default: fill the parent (flex). */
  height?: number;
  tools?: ComponentChildren;
  rowHeight?: number;
  testid?: string;
  /** Hide the built-in search box. */
  noSearch?: boolean;
  rowClass?: (row: T) => string;
}

export function DataTable<T>(p: DataTableProps<T>) {
  const [sort, setSort] = useState<SortState | null>(p.sort ?? null);
  const [localQuery, setLocalQuery] = useState("");
  const query = p.search ?? localQuery;
  const setQuery = p.onSearch ?? setLocalQuery;
  const rowHeight = p.rowHeight ?? 32;
  const body = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });

  const shown = useMemo(() => view(p.rows, p.columns, query, sort, p.filter), [p.rows, p.columns, query, sort, p.filter]);

  useEffect(() => {
    const el = body.current;
    if (!el) return;
    const measure = () => setScroll({ top: el.scrollTop, height: el.clientHeight || 600 });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const win = windowOf(shown.length, rowHeight, scroll.top, scroll.height);
  const visible = shown.slice(win.first, win.last);
  const template = p.columns.map((c) => (c.px ? `${c.px}px` : `minmax(60px, ${c.width ?? 1}fr)`)).join(" ");

  const exportAs = (ext: "csv" | "json") => {
    const text = ext === "csv" ? toCsv(shown, p.columns) : toJson(shown, p.columns);
    download(exportName(p.name, ext), text, ext === "csv" ? "text/csv" : "application/json");
  };

  return (
    <div class="table-wrap" data-testid={p.testid ?? `table-${p.name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`} style={p.height ? { height: `${p.height}px` } : undefined}>
      <div class="table-tools">
        {!p.noSearch && (
          <label class="search">
            <Icon name="search" size={14} />
            <input type="search" placeholder="Search (key:value, -exclude)" value={query} onInput={(e) => setQuery((e.target as HTMLInputElement).value)} aria-label={`Search ${p.name}`} />
          </label>
        )}
        {p.tools}
        <span class="table-count" data-testid="row-count">
          {shown.length === p.rows.length ? `${shown.length.toLocaleString("en-US")} ${shown.length === 1 ? "row" : "rows"}` : `${shown.length.toLocaleString("en-US")} of ${p.rows.length.toLocaleString("en-US")}`}
        </span>
        <button class="btn btn-ghost btn-small" onClick={() => exportAs("csv")} title="Export the rows shown as CSV" data-testid="export-csv">
          <Icon name="download" size={14} /> CSV
        </button>
        <button class="btn btn-ghost btn-small" onClick={() => exportAs("json")} title="Export the rows shown as JSON" data-testid="export-json">
          <Icon name="download" size={14} /> JSON
        </button>
      </div>
      <div class="table" role="table" aria-label={p.name} aria-rowcount={shown.length}>
        <div class="thead" role="row" style={{ gridTemplateColumns: template }}>
          {p.columns.map((c) => {
            const active = sort?.key === c.key;
            return (
              <button
                type="button"
                role="columnheader"
                class={`th ${c.numeric || c.align === "right" ? "num" : ""} ${active ? "sorted" : ""}`}
                aria-sort={active ? (sort!.dir === "asc" ? "ascending" : "descending") : "none"}
                onClick={() => setSort(nextSort(sort, c.key, !!c.numeric))}
                title={`Sort by ${c.label}`}
              >
                <span>{c.label}</span>
                <span class="sort-mark">{active ? (sort!.dir === "asc" ? "▲" : "▼") : ""}</span>
              </button>
            );
          })}
        </div>
        <div class="tbody" ref={body} onScroll={(e) => setScroll({ top: (e.target as HTMLDivElement).scrollTop, height: (e.target as HTMLDivElement).clientHeight })}>
          {p.error ? (
            <Empty icon="close" title="Could not load">
              {p.error}
            </Empty>
          ) : shown.length === 0 ? (
            p.loading ? (
              <Loading />
            ) : (
              <Empty icon="list" title={p.rows.length ? "No row matches" : p.emptyTitle ?? "Nothing yet"}>
                {p.rows.length ? "Change the search or the filters." : p.emptyText}
              </Empty>
            )
          ) : (
            <div style={{ height: `${win.total}px`, position: "relative" }}>
              <div style={{ transform: `translateY(${win.offset}px)` }}>
                {visible.map((row) => {
                  const key = p.rowKey(row);
                  return (
                    <div
                      key={key}
                      role="row"
                      class={`tr ${p.onRowClick ? "clickable" : ""} ${p.selected === key ? "selected" : ""} ${p.rowClass?.(row) ?? ""}`}
                      style={{ gridTemplateColumns: template, height: `${rowHeight}px` }}
                      onClick={p.onRowClick ? () => p.onRowClick!(row) : undefined}
                    >
                      {p.columns.map((c) => (
                        <div role="cell" class={`td ${c.numeric || c.align === "right" ? "num" : ""}`} title={textOf(c, row)}>
                          {c.render ? c.render(row) : textOf(c, row)}
                        </div>
                      ))}
                    </div>
                  );
                })}
              </div>
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
