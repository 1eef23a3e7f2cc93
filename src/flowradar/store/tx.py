"""What query code needs from a backend (:class:`Tx`), and the page cursors and limits they share."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import pyarrow as pa

from flowradar.store.base import StoreInputError

MAX_LIMIT = 10_000
"""Largest page or top-n size a query accepts."""


class Tx(Protocol):
    """One open transaction of a backend; SQL uses ``?`` placeholders."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the rows it changed when the backend knows (else -1)."""
        ...

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a query; returns column names and rows."""
        ...

    def insert_arrow(self, table: str, data: pa.Table) -> None:
        """Append every row of an Arrow table (columns named as the table's) in bulk."""
        ...

    def insert_arrow_parts(self, table: str, parts: Iterator[pa.Table]) -> None:
        """Append the rows of Arrow tables of one schema made one after another, as one bulk insert
        (a backend may send each part while the next is being made); ``parts`` is read to its end."""
        ...


def check_limit(n: int) -> None:
    """:class:`StoreInputError` unless 1 <= n <= MAX_LIMIT."""
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_LIMIT:
        raise StoreInputError(f"limit must be between 1 and {MAX_LIMIT}")


def encode_cursor(values: list[Any]) -> str:
    """Opaque page cursor of the last row's sort key."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


def decode_cursor(cursor: str, types: tuple[Any, ...]) -> list[Any]:
    """The sort key inside a cursor; :class:`StoreInputError` when it is not one of ours."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        raise StoreInputError("invalid cursor") from None
    if not isinstance(values, list) or len(values) != len(types):
        raise StoreInputError("invalid cursor")
    if not all(isinstance(v, t) and not isinstance(v, bool) for v, t in zip(values, types, strict=True)):
        raise StoreInputError("invalid cursor")
    return values
