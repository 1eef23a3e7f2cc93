"""Database tables derived from the documented record schema, and the versioned migrations.

Record tables (flows, connections, host_metrics, alerts) take their columns from
:func:`~flowradar.model.schema.columns_of`, plus ``host`` (flows also the stored sort keys of
:data:`FLOW_SORT_KEYS`); scalar fields map to SQL types, lists and dicts to JSON. Migrations are a
versioned list of SQL steps per dialect; a field added to a record class later becomes a nullable
column on the next :meth:`Store.migrate` (see :func:`missing_columns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from flowradar.model.alert import Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import FlowRecord
from flowradar.model.host import HostMetrics
from flowradar.model.schema import columns_of

Dialect = str
"""'duckdb' or 'postgresql'."""

SQL_TYPES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "duckdb": {
            "text": "VARCHAR",
            "int": "BIGINT",
            "float": "DOUBLE",
            "bool": "BOOLEAN",
            "json": "VARCHAR",
            "strlist": "VARCHAR[]",
        },
        "postgresql": {
            "text": "TEXT",
            "int": "BIGINT",
            "float": "DOUBLE PRECISION",
            "bool": "BOOLEAN",
            "json": "JSONB",
            "strlist": "JSONB",
        },
    }
)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One database column: name, kind, nullability, documentation.

    Kinds: text, int, float, bool, json (lists of records, dicts: JSON text) and strlist (a list of
    strings: a native list in DuckDB, JSONB in PostgreSQL).
    """

    name: str
    kind: str
    nullable: bool
    doc: str = ""


def _kind(pytype: str) -> tuple[str, bool]:
    base = pytype.replace(" | None", "")
    nullable = base != pytype
    if base == "list[str]":
        return "strlist", True
    if base.startswith(("list[", "dict[")):
        return "json", True
    return {"str": "text", "int": "int", "float": "float", "bool": "bool"}[base], nullable


def record_columns(cls: type) -> tuple[ColumnSpec, ...]:
    """The columns of a record table: ``host`` first, then the record's flat documented columns."""
    out = [ColumnSpec("host", "text", False, "host that observed the record")]
    for col in columns_of(cls):
        kind, nullable = _kind(col.type)
        out.append(ColumnSpec(col.name, kind, nullable, col.doc))
    return tuple(out)


FLOW_COLUMNS = record_columns(FlowRecord)
CONNECTION_COLUMNS = record_columns(Connection)
METRICS_COLUMNS = record_columns(HostMetrics)
ALERT_COLUMNS = record_columns(Alert)
RECORD_TABLES: Mapping[str, tuple[ColumnSpec, ...]] = MappingProxyType(
    {
        "flows": FLOW_COLUMNS,
        "connections": CONNECTION_COLUMNS,
        "host_metrics": METRICS_COLUMNS,
        "alerts": ALERT_COLUMNS,
    }
)

FLOW_SORT_KEYS: tuple[ColumnSpec, ...] = (
    ColumnSpec("sort_bytes", "int", True, "src_bytes + dst_bytes (the 'bytes' sort key)"),
    ColumnSpec("sort_packets", "int", True, "src_packets + dst_packets (the 'packets' sort key)"),
    ColumnSpec("sort_duration", "float", True, "ts_last - ts_first (the 'duration' sort key)"),
)
"""Store-only columns of the flows table (not record fields, never returned): the non-time sort keys,
computed at ingest so that a scan can filter on them directly (DuckDB pushes a bound on a column into
the scan and reads a row's other columns only when it passes; an expression over two columns it
cannot)."""
FLOW_SORT_SQL: Mapping[str, str] = MappingProxyType(
    {
        "sort_bytes": "src_bytes + dst_bytes",
        "sort_packets": "src_packets + dst_packets",
        "sort_duration": "ts_last - ts_first",
    }
)
"""Each sort key column's value, as SQL over the record columns (used to fill existing rows)."""

ROLLUP_DIMS: tuple[ColumnSpec, ...] = (
    ColumnSpec("bucket", "float", False, "bucket start, seconds since the epoch"),
    ColumnSpec("host", "text", False, "observing host"),
    ColumnSpec("app", "text", False, "application protocol, else the transport"),
    ColumnSpec("remote", "text", False, "remote address (enrich remote_ip, else the responder)"),
    ColumnSpec("name", "text", True, "remote name"),
    ColumnSpec("country", "text", True, "remote country code"),
    ColumnSpec("city", "text", True, "remote city"),
    ColumnSpec("latitude", "float", True, "remote latitude"),
    ColumnSpec("longitude", "float", True, "remote longitude"),
    ColumnSpec("asn", "int", True, "remote ASN"),
    ColumnSpec("as_org", "text", True, "remote AS organisation"),
    ColumnSpec("domain", "text", True, "remote registrable domain"),
    ColumnSpec("process", "text", True, "local process"),
)
ROLLUP_MEASURES: tuple[ColumnSpec, ...] = (
    ColumnSpec("flows", "int", False, "flows whose first packet falls in the bucket"),
    ColumnSpec("packets", "float", False, "packets (spread over the flow's buckets)"),
    ColumnSpec("bytes_in", "float", False, "bytes from the remote endpoint"),
    ColumnSpec("bytes_out", "float", False, "bytes to the remote endpoint"),
)
ROLLUP_COLUMNS = (*ROLLUP_DIMS, *ROLLUP_MEASURES)
ROLLUP_TABLES: Mapping[str, float] = MappingProxyType({"rollup_1m": 60.0, "rollup_1h": 3600.0})
"""Rollup table -> bucket width in seconds."""


def quote(name: str) -> str:
    """A quoted SQL identifier (every name comes from the schema here, never from input)."""
    return '"' + name.replace('"', '""') + '"'


def column_list(cols: tuple[ColumnSpec, ...]) -> str:
    """'"a", "b", ...' for an INSERT or SELECT."""
    return ", ".join(quote(c.name) for c in cols)


def create_table(dialect: Dialect, table: str, cols: tuple[ColumnSpec, ...], extra: str = "") -> str:
    """CREATE TABLE IF NOT EXISTS for a column list (plus table constraints in ``extra``)."""
    types = SQL_TYPES[dialect]
    body = [f"{quote(c.name)} {types[c.kind]}{'' if c.nullable else ' NOT NULL'}" for c in cols]
    if extra:
        body.append(extra)
    return f"CREATE TABLE IF NOT EXISTS {quote(table)} ({', '.join(body)})"


def _v1(dialect: Dialect) -> list[str]:
    ident = "BIGINT PRIMARY KEY" if dialect == "duckdb" else "BIGSERIAL PRIMARY KEY"
    steps = [
        create_table(dialect, "flows", FLOW_COLUMNS),
        create_table(dialect, "connections", CONNECTION_COLUMNS),
        create_table(dialect, "host_metrics", METRICS_COLUMNS),
        create_table(dialect, "alerts", ALERT_COLUMNS, "PRIMARY KEY (uid)"),
        create_table(dialect, "rollup_1m", ROLLUP_COLUMNS),
        create_table(dialect, "rollup_1h", ROLLUP_COLUMNS),
        "CREATE TABLE IF NOT EXISTS hosts (name TEXT PRIMARY KEY, agent_id TEXT, "
        "first_seen DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL)",
        "CREATE TABLE IF NOT EXISTS batches (kind TEXT NOT NULL, batch_id TEXT NOT NULL, host TEXT NOT NULL, "
        "rows BIGINT NOT NULL, written DOUBLE PRECISION NOT NULL, PRIMARY KEY (kind, host, batch_id))",
        "CREATE TABLE IF NOT EXISTS rollup_dirty (tbl TEXT NOT NULL, bucket DOUBLE PRECISION NOT NULL, "
        "PRIMARY KEY (tbl, bucket))",
        "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, "
        "role TEXT NOT NULL, created DOUBLE PRECISION NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS tokens (id {ident}, kind TEXT NOT NULL, name TEXT NOT NULL, "
        "token_hash TEXT NOT NULL UNIQUE, role TEXT, host TEXT, created DOUBLE PRECISION NOT NULL, "
        "revoked DOUBLE PRECISION)",
    ]
    return steps


def _v2_indexes(dialect: Dialect) -> list[str]:
    """Indexes for the dashboard queries.

    PostgreSQL: a B-tree on the first packet time (flow pages are sorted by it), BRIN on the last
    (rows arrive roughly in time order), B-trees on host, the addresses, application and country.
    DuckDB: its per-row-group min/max zone maps already prune by time, and ART indexes on the big
    tables would slow bulk ingest several times over, so only the per-host socket and metrics tables
    get indexes.
    """
    if dialect == "duckdb":
        return [
            "CREATE INDEX IF NOT EXISTS connections_host_ts ON connections (host, ts)",
            "CREATE INDEX IF NOT EXISTS host_metrics_host_ts ON host_metrics (host, ts)",
        ]
    out = [
        "CREATE INDEX IF NOT EXISTS flows_ts_first ON flows (ts_first)",
        "CREATE INDEX IF NOT EXISTS flows_ts_last ON flows USING brin (ts_last)",
        "CREATE INDEX IF NOT EXISTS flows_host_ts ON flows (host, ts_first)",
        "CREATE INDEX IF NOT EXISTS flows_src_ip ON flows (src_ip)",
        "CREATE INDEX IF NOT EXISTS flows_dst_ip ON flows (dst_ip)",
        "CREATE INDEX IF NOT EXISTS flows_app ON flows (app_proto, ts_first)",
        "CREATE INDEX IF NOT EXISTS flows_country ON flows (country, ts_first)",
        "CREATE INDEX IF NOT EXISTS connections_host_ts ON connections (host, ts)",
        "CREATE INDEX IF NOT EXISTS host_metrics_host_ts ON host_metrics (host, ts)",
        "CREATE INDEX IF NOT EXISTS alerts_last_seen ON alerts (last_seen)",
        "CREATE INDEX IF NOT EXISTS batches_written ON batches (written)",
    ]
    for table in ROLLUP_TABLES:
        out += [
            f"CREATE INDEX IF NOT EXISTS {table}_bucket ON {table} USING brin (bucket)",
            f"CREATE INDEX IF NOT EXISTS {table}_host_bucket ON {table} (host, bucket)",
        ]
    return out


def _v3_sort_keys(dialect: Dialect) -> list[str]:
    """The stored sort key columns of flows, filled for the rows already there."""
    types = SQL_TYPES[dialect]
    steps = [
        f"ALTER TABLE flows ADD COLUMN IF NOT EXISTS {quote(c.name)} {types[c.kind]}" for c in FLOW_SORT_KEYS
    ]
    sets = ", ".join(f"{quote(c.name)} = {FLOW_SORT_SQL[c.name]}" for c in FLOW_SORT_KEYS)
    return [*steps, f"UPDATE flows SET {sets}"]


MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, "tables for records, rollups (and their dirty buckets), hosts, batches, users and tokens"),
    (2, "indexes for the dashboard queries"),
    (3, "stored sort keys of flows (bytes, packets, duration)"),
)
"""(version, description) of every migration, in order."""


def migration_steps(dialect: Dialect, version: int) -> list[str]:
    """The SQL statements of one migration version for a dialect."""
    if version == 1:
        return _v1(dialect)
    if version == 2:
        return _v2_indexes(dialect)
    if version == 3:
        return _v3_sort_keys(dialect)
    raise ValueError(f"no migration {version}")


SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
    "applied DOUBLE PRECISION NOT NULL)"
)


def missing_columns(
    dialect: Dialect, table: str, existing: set[str], cols: tuple[ColumnSpec, ...]
) -> list[str]:
    """ALTER TABLE statements adding the schema columns a table lacks (as nullable columns)."""
    types = SQL_TYPES[dialect]
    return [
        f"ALTER TABLE {quote(table)} ADD COLUMN {quote(c.name)} {types[c.kind]}"
        for c in cols
        if c.name not in existing
    ]
