"""The embedded DuckDB backend: one file in the data directory, Arrow tables scanned in place."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from flowradar.store.base import StoreError, StoreInputError
from flowradar.store.schema import quote
from flowradar.store.settings import StoreConfig, default_duckdb_path
from flowradar.store.sqlstore import SqlStore

T = TypeVar("T")
_INPUT_ERRORS = (duckdb.ConstraintException, duckdb.ConversionException, duckdb.InvalidInputException)


class _DuckTx:
    """A DuckDB transaction (``?`` placeholders are DuckDB's own)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self._con.execute(sql, list(params))
        return -1

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        cur = self._con.execute(sql, list(params))
        names = [d[0] for d in (cur.description or [])]
        return names, cur.fetchall()

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        cols = ", ".join(quote(n) for n in data.column_names)
        self._con.register("flowradar_staged", data)
        try:
            self._con.execute(f"INSERT INTO {quote(table)} ({cols}) SELECT {cols} FROM flowradar_staged")
        finally:
            self._con.unregister("flowradar_staged")

    def insert_arrow_parts(self, table: str, parts: Iterator[pa.Table]) -> None:
        tables = list(parts)
        if tables:
            self.insert_arrow(table, pa.concat_tables(tables))


class DuckStore(SqlStore):
    """Store in one DuckDB file (``[store] path``); one process opens it at a time."""

    dialect = "duckdb"
    late_rowid = "rowid"

    def __init__(self, cfg: StoreConfig) -> None:
        super().__init__(cfg)
        path = cfg.path or str(default_duckdb_path())
        if path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the data directory of {path}: {exc.strerror}") from None
        config: dict[str, Any] = {"checkpoint_threshold": f"{max(1, cfg.checkpoint_mb)}MB"}
        if cfg.threads > 0:
            config["threads"] = cfg.threads
        try:
            self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(path, config=config)
        except duckdb.Error as exc:
            raise StoreError(f"cannot open DuckDB store {path}: {exc}") from None
        self.path = path
        self._lock = threading.RLock()

    def _run(self, fn: Callable[[Any], T]) -> T:
        with self._lock:
            con = self._con
            if con is None:
                raise StoreError("the store is closed")
            con.execute("BEGIN TRANSACTION")
            try:
                result = fn(_DuckTx(con))
                con.execute("COMMIT")
            except BaseException as exc:
                con.execute("ROLLBACK")
                if isinstance(exc, _INPUT_ERRORS):
                    raise StoreInputError(f"invalid data: {exc}") from None
                if isinstance(exc, duckdb.Error):
                    raise StoreError(f"DuckDB: {exc}") from exc
                raise
            return result

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
