"""The dashboard's typed queries, written once in the SQL both DuckDB and PostgreSQL speak.

Aggregates read the rollup tables (see :mod:`flowradar.store.base` for the bucket rules); flow and
alert lists read their tables with keyset pagination (an opaque cursor holding the last sort key).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, TypeVar

from flowradar.model.alert import SEVERITIES, severity_rank
from flowradar.model.connection import Connection
from flowradar.model.host import HostMetrics
from flowradar.store.base import (
    Aggregate,
    AlertQuery,
    FlowQuery,
    GeoPoint,
    HostRow,
    Page,
    SeriesBy,
    SeriesPoint,
    StoreInputError,
    TalkerBy,
    TimeRange,
)
from flowradar.store.flowlist import list_flows
from flowradar.store.rows import row_dict, to_record
from flowradar.store.schema import (
    ALERT_COLUMNS,
    CONNECTION_COLUMNS,
    METRICS_COLUMNS,
    ColumnSpec,
    column_list,
)
from flowradar.store.tx import MAX_LIMIT, Tx, check_limit, decode_cursor, encode_cursor

T = TypeVar("T")
FINE_RANGE_S = 6 * 3600.0
"""Ranges up to this long read the 1-minute rollup; longer ones the 1-hour rollup."""
LATEST_METRICS_S = 86400.0
"""hosts() looks for a host's latest metrics sample this far back from its last report."""
SERIES_KEYS: Mapping[str, str] = MappingProxyType(
    {"host": "host", "process": "coalesce(process, 'unknown')", "remote": "remote", "app": "app"}
)
TABLES = (
    "flows",
    "connections",
    "host_metrics",
    "alerts",
    "hosts",
    "users",
    "tokens",
    "batches",
    "rollup_1m",
    "rollup_1h",
)


def _check_range(rng: TimeRange) -> None:
    if not (math.isfinite(rng.start) and math.isfinite(rng.end) and rng.start < rng.end):
        raise StoreInputError("time range must be finite with start before end")


def _rollup_for(rng: TimeRange) -> tuple[str, float]:
    """The rollup table and its bucket width for a range."""
    return ("rollup_1m", 60.0) if rng.end - rng.start <= FINE_RANGE_S else ("rollup_1h", 3600.0)


def _rows(
    names: list[str], rows: list[tuple[Any, ...]], cols: tuple[ColumnSpec, ...]
) -> list[dict[str, Any]]:
    return [row_dict(names, r, cols) for r in rows]


class QueryMixin:
    """Query methods of :class:`~flowradar.store.sqlstore.SqlStore` over ``self._run``."""

    dialect = "duckdb"
    late_rowid: str | None = None
    """Row id column for late materialisation of flow pages (DuckDB: 'rowid'; None: read rows whole)."""

    def _run(self, fn: Callable[[Tx], T]) -> T:  # pragma: no cover - provided by the backends
        raise NotImplementedError

    # -- flows -------------------------------------------------------------------------------------
    def flows(self, query: FlowQuery) -> Page:
        """See :meth:`flowradar.store.base.Store.flows`."""
        return self._run(lambda tx: list_flows(tx, query, self.late_rowid))

    # -- aggregates --------------------------------------------------------------------------------
    def _aggregate(
        self,
        rng: TimeRange,
        host: str | None,
        key: str,
        label: str = "NULL",
        n: int = MAX_LIMIT,
        per_host: bool = False,
    ) -> list[Aggregate]:
        _check_range(rng)
        check_limit(n)
        table, step = _rollup_for(rng)
        where = f"bucket > ? AND bucket < ? AND {key} IS NOT NULL"
        params: list[Any] = [rng.start - step, rng.end]
        if host is not None:
            where += " AND host = ?"
            params.append(host)
        group = f"{key}, host" if per_host else key
        sql = (
            f"SELECT {key}, {label}, {'host' if per_host else 'NULL'}, sum(flows), sum(packets), "
            f"sum(bytes_in), sum(bytes_out) FROM {table} WHERE {where} GROUP BY {group} "
            f"ORDER BY sum(bytes_in) + sum(bytes_out) DESC, {key} LIMIT ?"
        )
        rows = self._run(lambda tx: tx.fetch(sql, [*params, n])[1])
        out = []
        for k, lab, h, flows, pkts, b_in, b_out in rows:
            bi, bo = round(float(b_in)), round(float(b_out))
            out.append(Aggregate(str(k), int(flows), bi + bo, round(float(pkts)), bi, bo, lab, h))
        return out

    def top_talkers(
        self, range: TimeRange, n: int = 10, host: str | None = None, by: TalkerBy = "remote"
    ) -> list[Aggregate]:
        """See :meth:`flowradar.store.base.Store.top_talkers`."""
        if by not in ("remote", "host"):
            raise StoreInputError("top talkers are by 'remote' or 'host'")
        if by == "host":
            return self._aggregate(range, host, "host", n=n)
        return self._aggregate(range, host, "remote", "max(name)", n=n)

    def protocols(self, range: TimeRange, host: str | None = None) -> list[Aggregate]:
        """See :meth:`flowradar.store.base.Store.protocols`."""
        return self._aggregate(range, host, "app")

    def countries(self, range: TimeRange, host: str | None = None) -> list[Aggregate]:
        """See :meth:`flowradar.store.base.Store.countries`."""
        return self._aggregate(range, host, "country")

    def asns(self, range: TimeRange, host: str | None = None, n: int = 50) -> list[Aggregate]:
        """See :meth:`flowradar.store.base.Store.asns`."""
        return self._aggregate(range, host, "asn", "max(as_org)", n=n)

    def domains(self, range: TimeRange, host: str | None = None, n: int = 50) -> list[Aggregate]:
        """See :meth:`flowradar.store.base.Store.domains`."""
        return self._aggregate(range, host, "domain", n=n)

    def processes(self, range: TimeRange, host: str | None = None, n: int = 50) -> list[Aggregate]:
        """See :meth:`flowradar.store.base.Store.processes`."""
        return self._aggregate(range, host, "process", n=n, per_host=True)

    def geo(self, range: TimeRange, host: str | None = None) -> list[GeoPoint]:
        """See :meth:`flowradar.store.base.Store.geo`."""
        _check_range(range)
        table, step = _rollup_for(range)
        where = "bucket > ? AND bucket < ? AND country IS NOT NULL"
        params: list[Any] = [range.start - step, range.end]
        if host is not None:
            where += " AND host = ?"
            params.append(host)
        sql = (
            "SELECT country, city, avg(latitude), avg(longitude), sum(flows), sum(packets), "
            f"sum(bytes_in) + sum(bytes_out) FROM {table} WHERE {where} GROUP BY country, city "
            "ORDER BY 7 DESC, country, city"
        )
        rows2 = self._run(lambda tx: tx.fetch(sql, params)[1])
        return [
            GeoPoint(c, city, lat, lon, int(f), round(float(b)), round(float(p)))
            for c, city, lat, lon, f, p, b in rows2
        ]

    def bandwidth(
        self,
        range: TimeRange,
        step: float = 60.0,
        by: SeriesBy = "host",
        host: str | None = None,
        n: int = 10,
    ) -> list[SeriesPoint]:
        """See :meth:`flowradar.store.base.Store.bandwidth`."""
        _check_range(range)
        check_limit(n)
        if by not in SERIES_KEYS:
            raise StoreInputError(f"bandwidth is split by {', '.join(SERIES_KEYS)}")
        if not (isinstance(step, int | float) and step >= 60 and float(step) % 60 == 0):
            raise StoreInputError("step must be a multiple of 60 seconds")
        if (range.end - range.start) / step > 100_000:
            raise StoreInputError("too many points: use a larger step")
        coarse = range.end - range.start > FINE_RANGE_S and float(step) % 3600 == 0
        table, width = ("rollup_1h", 3600.0) if coarse else ("rollup_1m", 60.0)
        key = SERIES_KEYS[by]
        where = "bucket > ? AND bucket < ?"
        params: list[Any] = [range.start - width, range.end]
        if host is not None:
            where += " AND host = ?"
            params.append(host)
        sql = (
            f"WITH top AS (SELECT k FROM (SELECT {key} AS k, sum(bytes_in + bytes_out) AS b FROM {table} "
            f"WHERE {where} GROUP BY 1) s ORDER BY b DESC, k LIMIT ?) "
            f"SELECT floor(bucket / ?) * ? AS ts, CASE WHEN {key} IN (SELECT k FROM top) THEN {key} "
            f"ELSE 'other' END AS key, sum(bytes_in), sum(bytes_out), sum(packets), sum(flows) "
            f"FROM {table} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2"
        )
        s = float(step)
        rows = self._run(lambda tx: tx.fetch(sql, [*params, n, s, s, *params])[1])
        return [
            SeriesPoint(float(ts), str(k), round(float(bi)), round(float(bo)), round(float(p)), int(f))
            for ts, k, bi, bo, p, f in rows
        ]

    # -- alerts, hosts, sockets --------------------------------------------------------------------
    def alerts(self, query: AlertQuery) -> Page:
        """See :meth:`flowradar.store.base.Store.alerts`."""
        q = query
        check_limit(q.limit)
        conds: list[str] = []
        params: list[Any] = []
        if q.start is not None:
            conds.append("last_seen >= ?")
            params.append(float(q.start))
        if q.end is not None:
            conds.append("last_seen < ?")
            params.append(float(q.end))
        filters = (("host", q.host), ("status", q.status), ("kind", q.kind), ("subject_ip", q.subject_ip))
        for col, value in filters:
            if value is not None:
                conds.append(f"{col} = ?")
                params.append(value)
        if q.min_severity is not None:
            rank = severity_rank(q.min_severity)
            if rank < 0:
                raise StoreInputError(f"unknown severity '{q.min_severity}'")
            wanted = SEVERITIES[rank:]
            conds.append(f"severity IN ({', '.join('?' * len(wanted))})")
            params.extend(wanted)
        if q.cursor is not None:
            seen, uid = decode_cursor(q.cursor, ((int, float), str))
            conds.append("(last_seen < ? OR (last_seen = ? AND uid < ?))")
            params += [seen, seen, uid]
        sql = (
            f"SELECT {column_list(ALERT_COLUMNS)} FROM alerts WHERE {' AND '.join(conds) or 'TRUE'} "
            "ORDER BY last_seen DESC, uid DESC LIMIT ?"
        )
        names, rows = self._run(lambda tx: tx.fetch(sql, [*params, q.limit + 1]))
        items = _rows(names, rows[: q.limit], ALERT_COLUMNS)
        cursor = None
        if len(rows) > q.limit:
            cursor = encode_cursor([items[-1]["last_seen"], items[-1]["uid"]])
        return Page(items, cursor)

    def hosts(self) -> list[HostRow]:
        """See :meth:`flowradar.store.base.Store.hosts`."""
        metrics_sql = (
            f"SELECT {column_list(METRICS_COLUMNS)} FROM host_metrics WHERE host = ? AND ts >= ? "
            "ORDER BY ts DESC LIMIT 1"
        )

        def op(tx: Tx) -> list[HostRow]:
            out = []
            for name, agent, first, last in tx.fetch(
                "SELECT name, agent_id, first_seen, last_seen FROM hosts ORDER BY name"
            )[1]:
                names, rows = tx.fetch(metrics_sql, (name, last - LATEST_METRICS_S))
                latest = self._metrics(names, rows)
                out.append(HostRow(name, agent, first, last, latest[0] if latest else None))
            return out

        return self._run(op)

    @staticmethod
    def _metrics(names: list[str], rows: list[tuple[Any, ...]]) -> list[HostMetrics]:
        out = []
        for d in _rows(names, rows, METRICS_COLUMNS):
            d.pop("host")
            out.append(to_record(HostMetrics, d))
        return out

    def host_metrics(self, host: str, range: TimeRange, limit: int = 1000) -> list[HostMetrics]:
        """See :meth:`flowradar.store.base.Store.host_metrics`."""
        _check_range(range)
        check_limit(limit)
        sql = (
            f"SELECT {column_list(METRICS_COLUMNS)} FROM host_metrics WHERE host = ? AND ts >= ? AND ts < ? "
            "ORDER BY ts DESC LIMIT ?"
        )
        names, rows = self._run(lambda tx: tx.fetch(sql, (host, range.start, range.end, limit)))
        return self._metrics(names, rows[::-1])

    def _latest_poll(self, host: str, extra: str = "", params: Sequence[Any] = ()) -> list[Connection]:
        sql = (
            f"SELECT {column_list(CONNECTION_COLUMNS)} FROM connections WHERE host = ? AND ts = "
            f"(SELECT max(ts) FROM connections WHERE host = ?){extra} "
            "ORDER BY transport, local_port, local_ip, remote_ip, remote_port"
        )
        names, rows = self._run(lambda tx: tx.fetch(sql, (host, host, *params)))
        out = []
        for d in _rows(names, rows, CONNECTION_COLUMNS):
            d.pop("host")
            out.append(to_record(Connection, d))
        return out

    def connections(self, host: str) -> list[Connection]:
        """See :meth:`flowradar.store.base.Store.connections`."""
        return self._latest_poll(host)

    def listening_ports(self, host: str) -> list[Connection]:
        """See :meth:`flowradar.store.base.Store.listening_ports`."""
        return self._latest_poll(
            host, " AND (state = ? OR (transport = ? AND state = ?))", ("LISTEN", "udp", "UNCONN")
        )

    def stats(self) -> dict[str, int]:
        """See :meth:`flowradar.store.base.Store.stats`."""
        sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in TABLES)
        return {str(t): int(n) for t, n in self._run(lambda tx: tx.fetch(sql)[1])}
