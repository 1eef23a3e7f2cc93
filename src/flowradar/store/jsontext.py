"""JSON text of Arrow columns, computed column-wise by Arrow kernels (no per-value Python calls).

Strings are escaped for JSON by replacing backslashes and quotes; a column holding a control
character (rare: they need \\u escapes) falls back to :func:`json.dumps` for its values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_NULL = pa.scalar(None, pa.string())


def _has_control(flat: pa.Array | pa.ChunkedArray) -> bool:
    return bool(pc.any(pc.match_substring_regex(flat, "[\\x00-\\x1f]")).as_py())


def _escaped(flat: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    return pc.replace_substring(pc.replace_substring(flat, "\\", "\\\\"), '"', '\\"')


def _dumped(arr: pa.Array, keep: np.ndarray) -> pa.Array:
    """json.dumps of the values at the ``keep`` positions, NULL elsewhere (the slow path)."""
    cells: list[str | None] = [None] * len(arr)
    filled = np.nonzero(keep)[0]
    for i, value in zip(filled.tolist(), arr.take(filled).to_pylist(), strict=True):
        cells[i] = json.dumps(value)
    return pa.array(cells, type=pa.string())


def json_lists(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A list<string> column as JSON arrays (empty and NULL lists become NULL)."""
    arr = _array(col)
    lengths = pc.fill_null(pc.list_value_length(arr), 0)
    flat = pc.list_flatten(arr)
    if len(flat) == 0:
        return pa.nulls(len(arr), pa.string())
    if _has_control(flat):
        return _dumped(arr, lengths.to_numpy() > 0)
    offsets = pc.subtract(arr.offsets, arr.offsets[0])  # a sliced array's offsets start past 0
    lists = pa.ListArray.from_arrays(offsets, _escaped(flat))
    text = pc.binary_join_element_wise('["', pc.binary_join(lists, '","'), '"]', "")
    return pc.if_else(pc.greater(lengths, 0), text, _NULL)


def json_strings(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A string column as JSON strings (NULL stays NULL)."""
    if _has_control(col):
        arr = _array(col)
        return _dumped(arr, arr.is_valid().to_numpy(zero_copy_only=False))
    return pc.binary_join_element_wise('"', _escaped(col), '"', "")


def _array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


Member = tuple[str, np.ndarray, pa.Array | pa.ChunkedArray]
"""(name, rows that have a value, those values as JSON text)."""


def json_objects(members: Sequence[Member], n: int) -> pa.Array:
    """Per row, a JSON object of the members it has a value of; NULL for a row with none.

    Only the values are touched: their ``"name":value`` parts are ordered by row (members in
    order), gathered into a list array and joined.
    """
    members = [m for m in members if len(m[1])]
    if not members:
        return pa.nulls(n, pa.string())
    parts = [_array(pc.binary_join_element_wise(f'"{name}":', text, "")) for name, _, text in members]
    at = np.concatenate([rows for _, rows, _ in members])
    values = pa.concat_arrays(parts).take(pa.array(np.argsort(at, kind="stable")))
    counts = np.bincount(at, minlength=n)
    offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
    body = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), values), ",")
    text = pc.binary_join_element_wise("{", body, "}", "")
    return _array(pc.if_else(pa.array(counts > 0), text, _NULL))
