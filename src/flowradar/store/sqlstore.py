"""What both SQL backends share: migrations, writes, users and tokens, rollup compaction, retention.

A backend supplies a :class:`Tx` (execute, fetch, bulk insert of an Arrow table) and ``_run``, which
runs one function inside one transaction (serialised by a lock, retried by PostgreSQL after a
reconnect). SQL here uses ``?`` placeholders; values are always parameters, identifiers come from
the schema module only.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from flowradar.model.alert import STATUSES, Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import FlowRecord
from flowradar.model.host import HostMetrics
from flowradar.store.base import BatchCounts, StoreConflict, StoreInputError, Token, TokenKind, User
from flowradar.store.queries import QueryMixin
from flowradar.store.rows import (
    FlowBatch,
    check_records,
    flow_parts,
    flows_table,
    other_tables,
)
from flowradar.store.schema import (
    ALERT_COLUMNS,
    MIGRATIONS,
    RECORD_TABLES,
    ROLLUP_COLUMNS,
    ROLLUP_DIMS,
    ROLLUP_TABLES,
    SCHEMA_VERSION_TABLE,
    column_list,
    migration_steps,
    missing_columns,
    quote,
)
from flowradar.store.settings import StoreConfig
from flowradar.store.tx import Tx

ROLES = ("viewer", "admin")
TOKEN_KINDS = ("api", "ingest")


class SqlStore(QueryMixin):
    """The Store implementation over a :class:`Tx`; subclasses provide ``_run`` and the dialect."""

    def __init__(self, cfg: StoreConfig) -> None:
        self._cfg = cfg

    def _lock_migrations(self, tx: Tx) -> None:
        """Hold off other processes migrating the same database (PostgreSQL); no-op by default."""

    # -- lifecycle ---------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply the migrations not yet recorded in schema_version, then add new record columns."""

        def op(tx: Tx) -> int:
            self._lock_migrations(tx)
            tx.execute(SCHEMA_VERSION_TABLE)
            done = {int(r[0]) for r in tx.fetch("SELECT version FROM schema_version")[1]}
            for version, description in MIGRATIONS:
                if version in done:
                    continue
                for sql in migration_steps(self.dialect, version):
                    tx.execute(sql)
                tx.execute(
                    "INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)",
                    (version, description, time.time()),
                )
            for table, cols in RECORD_TABLES.items():
                names = tx.fetch(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = ? AND table_schema = current_schema()",
                    (table,),
                )[1]
                for sql in missing_columns(self.dialect, table, {str(r[0]) for r in names}, cols):
                    tx.execute(sql)
            return MIGRATIONS[-1][0]

        return self._run(op)

    def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        return self._run(lambda tx: int(tx.fetch("SELECT max(version) FROM schema_version")[1][0][0] or 0))

    # -- writes ------------------------------------------------------------------------------------
    def _claim(self, tx: Tx, kind: str, batch_id: str | None, host: str, rows: int) -> bool:
        if batch_id is None:
            return True
        if not isinstance(batch_id, str) or not batch_id or len(batch_id) > 200:
            raise StoreInputError("batch_id must be a string of 1 to 200 characters")
        got = tx.fetch(
            "INSERT INTO batches (kind, batch_id, host, rows, written) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING RETURNING batch_id",
            (kind, batch_id, host, rows, time.time()),
        )[1]
        return bool(got)

    def _touch_host(self, tx: Tx, name: str, agent_id: str | None, first: float, last: float) -> None:
        tx.execute(
            "INSERT INTO hosts (name, agent_id, first_seen, last_seen) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET agent_id = coalesce(excluded.agent_id, hosts.agent_id), "
            "first_seen = least(hosts.first_seen, excluded.first_seen), "
            "last_seen = greatest(hosts.last_seen, excluded.last_seen)",
            (name, agent_id, first, last),
        )

    def write_flows(self, records: Sequence[FlowRecord], host: str, batch_id: str | None = None) -> int:
        """See :meth:`flowradar.store.base.Store.write_flows`."""
        return self.write_batch(host, batch_id, flows=records).flows

    def write_connections(self, conns: Sequence[Connection], host: str, batch_id: str | None = None) -> int:
        """See :meth:`flowradar.store.base.Store.write_connections`."""
        return self.write_batch(host, batch_id, connections=conns).connections

    def write_host_metrics(
        self, samples: Sequence[HostMetrics], host: str, batch_id: str | None = None
    ) -> int:
        """See :meth:`flowradar.store.base.Store.write_host_metrics`."""
        return self.write_batch(host, batch_id, metrics=samples).metrics

    def write_alerts(self, alerts: Sequence[Alert], host: str, batch_id: str | None = None) -> int:
        """See :meth:`flowradar.store.base.Store.write_alerts`."""
        return self.write_batch(host, batch_id, alerts=alerts).alerts

    def write_batch(
        self,
        host: str,
        batch_id: str | None,
        flows: Sequence[FlowRecord] = (),
        connections: Sequence[Connection] = (),
        metrics: Sequence[HostMetrics] = (),
        alerts: Sequence[Alert] = (),
    ) -> BatchCounts:
        """See :meth:`flowradar.store.base.Store.write_batch` (``batch_id`` None: no idempotency)."""
        tables = other_tables(host, connections, metrics, alerts)
        if not (flows or tables):
            return BatchCounts()
        if self.stream_flows and flows:  # checked here; each part's values while streaming
            check_records(flows, host, FlowRecord)
        ready = None if self.stream_flows or not flows else FlowBatch.of(flows_table(flows, host))
        times = _times(tables)

        def op(tx: Tx) -> BatchCounts:
            counts = BatchCounts()
            flow_times: list[float] = []
            if flows and not self._claim(tx, "flows", batch_id, host, len(flows)):
                counts.skipped.append("flows")
            elif flows:
                batch = self._insert_flows(tx, ready, flows, host)
                counts.flows = len(batch.flows)
                flow_times = _times({"flows": batch.flows})
            for kind, data in tables.items():
                if not self._claim(tx, kind, batch_id, host, len(data)):
                    counts.skipped.append(kind)
                    continue
                if kind == "alerts":
                    self._upsert_alerts(tx, data)
                else:
                    tx.insert_arrow(kind, data)
                setattr(counts, "metrics" if kind == "host_metrics" else kind, len(data))
            seen = [t for t in (*times, *flow_times) if t == t]
            if len(counts.skipped) < len(tables) + bool(flows) and seen:
                self._touch_host(tx, host, None, min(seen), max(seen))
            return counts

        return self._run(op)

    stream_flows = False
    """Convert flow records inside the transaction, part by part, each part sent while the next is
    converted (PostgreSQL: the server stores one part while this process converts the next); else
    they are converted before the transaction (DuckDB: the store lock is not held meanwhile)."""

    def _insert_flows(
        self, tx: Tx, ready: FlowBatch | None, records: Sequence[FlowRecord], host: str
    ) -> FlowBatch:
        """Insert a batch's flows (converted already, or streamed now) and its partial rollup rows."""
        if ready is None:
            streamed: list[FlowBatch] = []
            tx.insert_arrow_parts("flows", flow_parts(records, host, streamed))
            batch = streamed[0]
        else:
            batch = ready
            tx.insert_arrow("flows", batch.flows)
        for name, rows in batch.rollups.items():
            tx.insert_arrow(name, rows)
            self._mark_dirty(tx, name, rows)
        return batch

    @staticmethod
    def _mark_dirty(tx: Tx, table: str, rows: pa.Table) -> None:
        """Remember the buckets that got partial rows, for :meth:`rollup` to merge."""
        buckets = pc.unique(rows["bucket"]).to_pylist()
        for i in range(0, len(buckets), 500):
            chunk = buckets[i : i + 500]
            values = ", ".join("(?, ?)" for _ in chunk)
            tx.execute(
                f"INSERT INTO rollup_dirty (tbl, bucket) VALUES {values} ON CONFLICT DO NOTHING",
                [x for b in chunk for x in (table, b)],
            )

    def _upsert_alerts(self, tx: Tx, data: pa.Table) -> None:
        names = [c.name for c in ALERT_COLUMNS]
        sets = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in names if n not in ("uid", "status"))
        sql = (
            f"INSERT INTO alerts ({column_list(ALERT_COLUMNS)}) VALUES ({', '.join('?' * len(names))}) "
            f"ON CONFLICT (uid) DO UPDATE SET {sets}, status = CASE WHEN excluded.status = 'resolved' "
            "THEN excluded.status WHEN alerts.status = 'acknowledged' THEN alerts.status "
            "ELSE excluded.status END"
        )
        as_json = self.dialect == "postgresql"  # lists of strings are JSONB there
        for row in data.to_pylist():
            values = [row[n] for n in names]
            tx.execute(sql, [json.dumps(v) if as_json and isinstance(v, list) else v for v in values])

    def update_alert_status(self, uid: str, status: str) -> bool:
        """See :meth:`flowradar.store.base.Store.update_alert_status`."""
        if status not in STATUSES:
            raise StoreInputError(f"unknown alert status '{status}' (use {', '.join(STATUSES)})")
        sql = "UPDATE alerts SET status = ? WHERE uid = ? RETURNING uid"
        return self._run(lambda tx: bool(tx.fetch(sql, (status, uid))[1]))

    def upsert_host(self, name: str, agent_id: str | None, last_seen: float) -> None:
        """See :meth:`flowradar.store.base.Store.upsert_host`."""
        if not isinstance(name, str) or not name:
            raise StoreInputError("host name must be a non-empty string")
        self._run(lambda tx: self._touch_host(tx, name, agent_id, last_seen, last_seen))

    # -- users and tokens --------------------------------------------------------------------------
    def create_user(self, name: str, password_hash: str, role: str) -> None:
        """See :meth:`flowradar.store.base.Store.create_user`."""
        if role not in ROLES:
            raise StoreInputError(f"unknown role '{role}' (use viewer or admin)")
        if not name or not password_hash:
            raise StoreInputError("user name and password hash must not be empty")

        def op(tx: Tx) -> None:
            if tx.fetch("SELECT 1 FROM users WHERE name = ?", (name,))[1]:
                raise StoreConflict(f"user '{name}' exists")
            tx.execute(
                "INSERT INTO users (name, password_hash, role, created) VALUES (?, ?, ?, ?)",
                (name, password_hash, role, time.time()),
            )

        self._run(op)

    def get_user(self, name: str) -> User | None:
        """See :meth:`flowradar.store.base.Store.get_user`."""
        sql = "SELECT name, password_hash, role, created FROM users WHERE name = ?"
        rows = self._run(lambda tx: tx.fetch(sql, (name,))[1])
        return User(*rows[0]) if rows else None

    def list_users(self) -> list[User]:
        """See :meth:`flowradar.store.base.Store.list_users`."""
        sql = "SELECT name, password_hash, role, created FROM users ORDER BY name"
        return [User(*r) for r in self._run(lambda tx: tx.fetch(sql)[1])]

    def set_password(self, name: str, password_hash: str) -> bool:
        """See :meth:`flowradar.store.base.Store.set_password`."""
        sql = "UPDATE users SET password_hash = ? WHERE name = ? RETURNING name"
        return self._run(lambda tx: bool(tx.fetch(sql, (password_hash, name))[1]))

    def create_token(
        self,
        kind: TokenKind,
        name: str,
        token_hash: str,
        role: str | None = None,
        host: str | None = None,
    ) -> int:
        """See :meth:`flowradar.store.base.Store.create_token`."""
        if kind not in TOKEN_KINDS:
            raise StoreInputError(f"unknown token kind '{kind}' (use api or ingest)")
        if role is not None and role not in ROLES:
            raise StoreInputError(f"unknown role '{role}' (use viewer or admin)")
        if not token_hash:
            raise StoreInputError("token hash must not be empty")

        def op(tx: Tx) -> int:
            if tx.fetch("SELECT 1 FROM tokens WHERE token_hash = ?", (token_hash,))[1]:
                raise StoreConflict("a token with this hash exists")
            cols = "kind, name, token_hash, role, host, created"
            values: list[Any] = [kind, name, token_hash, role, host, time.time()]
            if self.dialect == "duckdb":  # no serial columns: one writer, so max + 1 is safe
                cols = "id, " + cols
                values.insert(0, int(tx.fetch("SELECT coalesce(max(id), 0) + 1 FROM tokens")[1][0][0]))
            marks = ", ".join("?" * len(values))
            sql = f"INSERT INTO tokens ({cols}) VALUES ({marks}) RETURNING id"
            return int(tx.fetch(sql, values)[1][0][0])

        return self._run(op)

    _TOKEN_COLS = "id, kind, name, token_hash, role, host, created, revoked"

    def find_token(self, token_hash: str) -> Token | None:
        """See :meth:`flowradar.store.base.Store.find_token`."""
        sql = f"SELECT {self._TOKEN_COLS} FROM tokens WHERE token_hash = ? AND revoked IS NULL"
        rows = self._run(lambda tx: tx.fetch(sql, (token_hash,))[1])
        return Token(*rows[0]) if rows else None

    def revoke_token(self, token_id: int) -> bool:
        """See :meth:`flowradar.store.base.Store.revoke_token`."""
        sql = "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL RETURNING id"
        return self._run(lambda tx: bool(tx.fetch(sql, (time.time(), int(token_id)))[1]))

    def list_tokens(self) -> list[Token]:
        """See :meth:`flowradar.store.base.Store.list_tokens`."""
        sql = f"SELECT {self._TOKEN_COLS} FROM tokens ORDER BY id"
        return [Token(*r) for r in self._run(lambda tx: tx.fetch(sql)[1])]

    # -- maintenance -------------------------------------------------------------------------------
    def rollup(self, now: float) -> int:
        """See :meth:`flowradar.store.base.Store.rollup`."""
        dims = column_list(ROLLUP_DIMS)
        sums = ", ".join(f"sum({m}) AS {m}" for m in ("flows", "packets", "bytes_in", "bytes_out"))
        dirty = "SELECT bucket FROM rollup_dirty WHERE tbl = ? AND bucket < ?"

        def op(tx: Tx) -> int:
            merged = 0
            for table, step in ROLLUP_TABLES.items():
                cutoff = (now // step) * step  # buckets that ended before now
                if not tx.fetch(f"{dirty} LIMIT 1", (table, cutoff))[1]:
                    continue
                tx.execute("DROP TABLE IF EXISTS rollup_merge")
                tx.execute(
                    f"CREATE TEMP TABLE rollup_merge AS SELECT {dims}, {sums} FROM {table} "
                    f"WHERE bucket IN ({dirty}) GROUP BY {dims}",
                    (table, cutoff),
                )
                before = tx.fetch(f"SELECT count(*) FROM {table} WHERE bucket IN ({dirty})", (table, cutoff))
                after = tx.fetch("SELECT count(*) FROM rollup_merge")
                tx.execute(f"DELETE FROM {table} WHERE bucket IN ({dirty})", (table, cutoff))
                cols = column_list(ROLLUP_COLUMNS)  # in bucket order: zone maps keep pruning by time
                tx.execute(f"INSERT INTO {table} ({cols}) SELECT * FROM rollup_merge ORDER BY bucket")
                tx.execute("DELETE FROM rollup_dirty WHERE tbl = ? AND bucket < ?", (table, cutoff))
                tx.execute("DROP TABLE rollup_merge")
                merged += int(before[1][0][0]) - int(after[1][0][0])
            return merged

        return self._run(op)

    def retain(self, now: float) -> dict[str, int]:
        """See :meth:`flowradar.store.base.Store.retain`."""
        c = self._cfg
        day = 86400.0
        plan = [
            ("flows", "ts_last < ?", now - c.retain_flows_days * day),
            ("connections", "ts < ?", now - c.retain_connections_days * day),
            ("host_metrics", "ts < ?", now - c.retain_host_metrics_days * day),
            ("alerts", "status = 'resolved' AND last_seen < ?", now - c.retain_alerts_days * day),
            ("rollup_1m", "bucket < ?", now - c.retain_rollup_1m_days * day),
            ("rollup_1h", "bucket < ?", now - c.retain_rollup_1h_days * day),
            ("batches", "written < ?", now - c.retain_batches_days * day),
        ]

        def op(tx: Tx) -> dict[str, int]:
            out = {}
            for table, cond, limit in plan:
                n = tx.fetch(f"SELECT count(*) FROM {table} WHERE {cond}", (limit,))[1][0][0]
                if n:
                    tx.execute(f"DELETE FROM {table} WHERE {cond}", (limit,))
                out[table] = int(n)
            return out

        return self._run(op)


def _times(tables: dict[str, pa.Table]) -> list[float]:
    """Earliest and latest record time of a batch (for the host's first and last seen)."""
    import pyarrow.compute as pc

    cols = {"flows": ("ts_first", "ts_last"), "connections": ("ts",), "host_metrics": ("ts",)}
    out: list[float] = []
    for kind, names in cols.items():
        if kind in tables:
            for name in names:
                mm = pc.min_max(tables[kind][name]).as_py()
                out += [float(v) for v in (mm["min"], mm["max"]) if v is not None]
    if "alerts" in tables:
        out.append(time.time())
    return out
