"""The flow list query: filters, keyset pagination, and bounds that keep it fast on big tables.

A list sorted by time does not scan the whole range: it asks for the newest (or oldest) minute first
and widens the window eightfold until a page is full or the range is covered, so that min/max zone
maps (DuckDB) or the time index (PostgreSQL) skip the rest. A list sorted by bytes, packets or
duration (stored key columns) first finds the key of the page's last row on that column alone, then
reads only the rows up to it. On DuckDB the page is found on the sort key and row id alone, and only
its rows are then read in full (late materialisation).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from flowradar.store.base import FLOW_SORTS, FlowQuery, Page, StoreInputError
from flowradar.store.rows import row_dict
from flowradar.store.schema import FLOW_COLUMNS, column_list
from flowradar.store.tx import Tx, check_limit, decode_cursor, encode_cursor

SORT_EXPR: Mapping[str, str] = MappingProxyType(
    {
        "ts_first": "ts_first",
        "ts_last": "ts_last",
        "bytes": "sort_bytes",
        "packets": "sort_packets",
        "duration": "sort_duration",
    }
)
"""Column of each sort key (bytes, packets and duration are stored sums, see FLOW_SORT_KEYS)."""
TEXT_COLUMNS = "name, tls_sni, http_host, process, as_org, src_ip, dst_ip, uid"
"""Columns a text search looks in."""
FIRST_WINDOW_S = 60.0
LAST_WINDOW_S = 64 * 86400.0


def _filters(q: FlowQuery) -> tuple[list[str], list[Any]]:
    conds: list[str] = []
    params: list[Any] = []

    def add(cond: str, *values: Any) -> None:
        conds.append(cond)
        params.extend(values)

    if q.start is not None:
        add("ts_last >= ?", float(q.start))
    if q.end is not None:
        add("ts_first < ?", float(q.end))
    for col, value in (
        ("host", q.host),
        ("transport", q.transport),
        ("app_proto", q.app),
        ("country", q.country),
        ("process", q.process),
    ):
        if value is not None:
            add(f"{col} = ?", str(value))
    if q.ip is not None:
        add("(src_ip = ? OR dst_ip = ?)", str(q.ip), str(q.ip))
    if q.port is not None:
        add("(src_port = ? OR dst_port = ?)", int(q.port), int(q.port))
    if q.domain is not None:
        add("(domain = ? OR name = ?)", q.domain.lower(), q.domain.lower())
    if q.text:
        pattern = "%" + q.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        add(
            f"concat_ws(' ', {TEXT_COLUMNS}) ILIKE ? ESCAPE '\\'",
            pattern,
        )
    return conds, params


def _anchor(tx: Tx, col: str, desc: bool, edges: tuple[float | None, ...]) -> float:
    """Where the first window starts: the range end (or cursor) going down, its start going up."""
    known = [float(v) for v in edges if v is not None]
    if known:
        return min(known) if desc else max(known)
    found = tx.fetch(f"SELECT {'max' if desc else 'min'}({col}) FROM flows")[1][0][0]
    return float(found) if found is not None else 0.0


Probe = Callable[..., list[tuple[Any, ...]]]
"""probe(window conditions, their params, order=..., n=...): one query for page rows."""


def _key_bound(tx: Tx, expr: str, way: str, conds: list[str], params: list[Any], limit: int) -> Any:
    """The sort key of the last row a page reads (row ``limit + 1``), None when fewer rows match.

    Found on the key column alone: cheap, no tie-breaker strings, no row payload.
    """
    where = " AND ".join(conds) or "TRUE"
    sql = f"SELECT {expr} FROM flows WHERE {where} ORDER BY 1 {way} LIMIT 1 OFFSET ?"
    found = tx.fetch(sql, [*params, limit])[1]
    return found[0][0] if found else None


def _time_sorted(
    tx: Tx, probe: Probe, q: FlowQuery, name: str, desc: bool, cursor_key: float | None
) -> list[tuple[Any, ...]]:
    """Page rows of a list sorted by a time column: windows from the anchor, widened eightfold."""
    if desc:
        anchor = _anchor(tx, name, True, (q.end, cursor_key))
        limit = q.start if q.start is not None else -math.inf
    else:
        anchor = _anchor(tx, name, False, (q.start, cursor_key))
        limit = q.end if q.end is not None else math.inf
    width = FIRST_WINDOW_S
    while True:
        edge = anchor - width if desc else anchor + width
        if (edge <= limit if desc else edge >= limit) or width > LAST_WINDOW_S:
            return probe([], [])
        rows = probe([f"{name} {'>=' if desc else '<'} ?"], [edge])
        if len(rows) > q.limit:
            return rows
        width *= 8


def _key_sorted(
    tx: Tx, probe: Probe, q: FlowQuery, expr: str, desc: bool, conds: list[str], params: list[Any]
) -> list[tuple[Any, ...]]:
    """Page rows of a list sorted by a stored key column (bytes, packets, duration).

    The key of the page's last row bounds the page: the rows strictly before it (fewer than a page)
    come first, then the rows holding that very key in (uid, host) order. Each query filters on the
    key column, which the scan applies before reading anything else; the tie query's first sort key
    is the uid. The rows are exactly those of the one query ordered by (key, uid, host).
    """
    way = "DESC" if desc else "ASC"
    bound = _key_bound(tx, expr, way, conds, params, q.limit)
    if bound is None:
        return probe([], [])
    rows = probe([f"{expr} {'>' if desc else '<'} ?"], [bound])
    wanted = q.limit + 1 - len(rows)
    if wanted > 0:  # a write committed between the queries may have filled the page already
        rows += probe([f"{expr} = ?"], [bound], order=f"uid {way}, host {way}", n=wanted)
    return rows


def list_flows(tx: Tx, q: FlowQuery, late_rowid: str | None) -> Page:
    """One page of :meth:`Store.flows`; ``late_rowid`` names the backend's row id for late reads."""
    check_limit(q.limit)
    name = q.sort.lstrip("-")
    if name not in FLOW_SORTS or q.sort.count("-") > 1:
        raise StoreInputError(f"unknown sort '{q.sort}' (use {', '.join(FLOW_SORTS)}, '-' first: desc)")
    desc = q.sort.startswith("-")
    expr, op, way = SORT_EXPR[name], ("<" if desc else ">"), ("DESC" if desc else "ASC")
    conds, params = _filters(q)
    cursor_key = None
    if q.cursor is not None:
        value, uid, host = decode_cursor(q.cursor, ((int, float), str, str))
        cursor_key = float(value)
        conds.append(f"({expr} {op} ? OR ({expr} = ? AND (uid {op} ? OR (uid = ? AND host {op} ?))))")
        params += [value, value, uid, uid, host]
    what = f"{late_rowid}, ts_first" if late_rowid else column_list(FLOW_COLUMNS)

    def probe(
        window: list[str], extra: list[Any], order: str = f"{expr} {way}, uid {way}, host {way}", n: int = 0
    ) -> list[tuple[Any, ...]]:
        where = " AND ".join([*conds, *window]) or "TRUE"
        sql = f"SELECT {what} FROM flows WHERE {where} ORDER BY {order} LIMIT ?"
        return tx.fetch(sql, [*params, *extra, n or q.limit + 1])[1]

    if name in ("ts_first", "ts_last"):
        rows = _time_sorted(tx, probe, q, name, desc, cursor_key)
    else:
        rows = _key_sorted(tx, probe, q, expr, desc, conds, params)
    if late_rowid and rows:
        ids = [r[0] for r in rows[: q.limit + 1]]
        lo, hi = min(r[1] for r in rows), max(r[1] for r in rows)
        names, full = tx.fetch(
            f"SELECT {late_rowid}, {column_list(FLOW_COLUMNS)} FROM flows "
            f"WHERE ts_first >= ? AND ts_first <= ? AND {late_rowid} = ANY(?)",
            (lo, hi, ids),
        )
        by_id = {r[0]: r[1:] for r in full}
        names, rows = names[1:], [by_id[i] for i in ids]
    else:
        names = [c.name for c in FLOW_COLUMNS]
    items = [row_dict(names, r, FLOW_COLUMNS) for r in rows[: q.limit]]
    cursor = None
    if len(rows) > q.limit:
        last = items[-1]
        key = {
            "bytes": last["src_bytes"] + last["dst_bytes"],
            "packets": last["src_packets"] + last["dst_packets"],
            "duration": last["ts_last"] - last["ts_first"],
        }.get(name, last.get(name))
        cursor = encode_cursor([key, last["uid"], last["host"]])
    return Page(items, cursor)
