"""The PostgreSQL backend (psycopg 3): COPY for bulk writes, reconnect and retry when the server goes.

A call that loses its connection (server restart, network cut) reconnects with exponential backoff
and runs its whole transaction again, for up to ``[store] reconnect_timeout_s``. Writes with a batch
id are safe to retry (a batch already committed is skipped); a write without one whose commit was
lost in flight may be stored twice.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from flowradar.store.base import StoreConflict, StoreError, StoreInputError, StoreUnavailable
from flowradar.store.schema import quote
from flowradar.store.settings import StoreConfig
from flowradar.store.sqlstore import SqlStore

T = TypeVar("T")
MIGRATION_LOCK = 0x466C6F77  # 'Flow': advisory lock key held while migrating
_CSV = pacsv.WriteOptions(include_header=False)


def _pg(sql: str) -> str:
    """Our '?' placeholders as psycopg's '%s' (literal '%' doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


def _json_lists(col: pa.ChunkedArray) -> pa.Array:
    """A list<string> column as JSON text, computed column-wise (empty lists become NULL).

    Strings are escaped for JSON by Arrow kernels; a column holding a control character falls back
    to :func:`json.dumps` for its non-empty lists.
    """
    arr = col.combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(arr), 0)
    flat = pc.list_flatten(arr)
    if len(flat) == 0:
        return pa.nulls(len(arr), pa.string())
    if pc.any(pc.match_substring_regex(flat, "[\\x00-\\x1f]")).as_py():
        filled = np.nonzero(lengths.to_numpy())[0]
        cells: list[str | None] = [None] * len(arr)
        for i, value in zip(filled.tolist(), arr.take(filled).to_pylist(), strict=True):
            cells[i] = json.dumps(value)
        return pa.array(cells, type=pa.string())
    escaped = pc.replace_substring(pc.replace_substring(flat, "\\", "\\\\"), '"', '\\"')
    offsets = pc.subtract(arr.offsets, arr.offsets[0])  # a sliced array's offsets start past 0
    lists = pa.ListArray.from_arrays(offsets, escaped)
    joined = pc.binary_join(lists, '","')
    text = pc.binary_join_element_wise('["', joined, '"]', "")
    return pc.if_else(pc.greater(lengths, 0), text, pa.scalar(None, pa.string()))


class _PgTx:
    """A PostgreSQL transaction on one connection."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._conn.cursor() as cur:
            cur.execute(_pg(sql), list(params))
            return cur.rowcount

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        with self._conn.cursor() as cur:
            cur.execute(_pg(sql), list(params))
            names = [d.name for d in (cur.description or [])]
            return names, cur.fetchall()

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        self.insert_arrow_parts(table, iter((data,)))

    def insert_arrow_parts(self, table: str, parts: Iterator[pa.Table]) -> None:
        """One COPY fed part by part: the server parses a part (from the socket buffers) while the
        next one is made here."""
        first = next(parts, None)
        if first is None:
            return
        cols = ", ".join(quote(n) for n in first.column_names)
        copy_sql = f"COPY {quote(table)} ({cols}) FROM STDIN (FORMAT csv)"
        with self._conn.cursor() as cur, cur.copy(copy_sql) as copy:
            copy.write(_csv(first))
            for data in parts:
                copy.write(_csv(data))


def _csv(data: pa.Table) -> memoryview:
    """An Arrow table as CSV rows for COPY (lists of strings as JSON text)."""
    for i, fld in enumerate(data.schema):
        if pa.types.is_list(fld.type):  # lists of strings go to JSONB: CSV has no list syntax
            data = data.set_column(i, fld.name, _json_lists(data.column(i)))
    buf = io.BytesIO()
    pacsv.write_csv(data, buf, _CSV)
    return buf.getbuffer()


class PgStore(SqlStore):
    """Store in a PostgreSQL database (``[store] dsn``); several server processes may share it."""

    dialect = "postgresql"
    stream_flows = True

    def __init__(self, cfg: StoreConfig) -> None:
        super().__init__(cfg)
        if not cfg.dsn:
            raise StoreError("the postgresql store needs [store] dsn (a connection string)")
        self._dsn = cfg.dsn
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False
        self._lock = threading.RLock()
        self._run(lambda tx: tx.fetch("SELECT 1"))  # fail early on a bad DSN

    def _connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            self._conn = psycopg.connect(
                self._dsn, autocommit=True, connect_timeout=5, prepare_threshold=None
            )
        return self._conn

    def _lock_migrations(self, tx: Any) -> None:
        tx.fetch("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))

    def _run(self, fn: Callable[[Any], T]) -> T:
        deadline = time.monotonic() + self._cfg.reconnect_timeout_s
        delay = 0.05
        with self._lock:
            while True:
                if self._closed:
                    raise StoreError("the store is closed")
                try:
                    conn = self._connect()
                    with conn.transaction():
                        return fn(_PgTx(conn))
                except psycopg.errors.UniqueViolation as exc:
                    raise StoreConflict(f"already exists: {exc.diag.message_detail or exc}") from None
                except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
                    raise StoreInputError(f"invalid data: {exc}") from None
                except psycopg.OperationalError as exc:
                    if self._conn is not None and not (self._conn.closed or self._conn.broken):
                        raise StoreError(f"PostgreSQL: {exc}") from exc
                    if time.monotonic() + delay > deadline:
                        raise StoreUnavailable(f"PostgreSQL unreachable: {exc}") from None
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                except psycopg.Error as exc:
                    raise StoreError(f"PostgreSQL: {exc}") from exc

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
