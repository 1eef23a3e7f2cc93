"""The flows table's ``extra`` column: rarely set L7 and enrichment fields as one JSON object.

A flow row holds the fields that queries filter, sort or search on as columns of their own; the
fields of :data:`~flowradar.store.schema.FLOW_EXTRA` (TLS details, HTTP details, DNS lists, SSH
banners, ...) go into one JSON object holding only the fields that differ from their default (NULL
when none does). Fewer columns make ingest about twice as cheap for the database; reading a row
spreads the object back into those fields, so records and API rows keep their shape.

Values are converted and checked as every other column is (:mod:`flowradar.store.rows`); the JSON is
then made from the Arrow columns by Arrow kernels.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowradar.model.flow import FlowRecord
from flowradar.store.jsontext import Member, json_lists, json_objects, json_strings
from flowradar.store.schema import FLOW_EXTRA, FLOW_EXTRA_COLUMN, FLOW_RECORD_COLUMNS, Dialect, quote


def _defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(FlowRecord):
        nested = f.metadata.get("nested")
        for g in dataclasses.fields(nested) if nested is not None else ():
            out[g.name] = g.default if g.default is not dataclasses.MISSING else ()  # a list: () here
    return out


_DEFAULTS = MappingProxyType(_defaults())
_SPECS = MappingProxyType({c.name: c for c in FLOW_RECORD_COLUMNS if c.name in FLOW_EXTRA})


def pack_extra(flows: pa.Table) -> pa.Table:
    """A flows table of every record column (converted and checked) with the fields of FLOW_EXTRA
    replaced by the ``extra`` column (last): JSON made by Arrow kernels from the values that differ
    from their default only."""
    members: list[Member] = []
    for name in FLOW_EXTRA:
        col, kind, default = flows[name], _SPECS[name].kind, _DEFAULTS[name]
        if kind == "strlist":
            keep = pc.greater(pc.list_value_length(col), 0)
        elif kind in ("bool", "int") and default is not None:
            keep = pc.not_equal(col, default)
        else:
            keep = col.is_valid()
        rows = np.nonzero(pc.fill_null(keep, False).to_numpy())[0]
        if not len(rows):
            continue
        values = col.take(pa.array(rows))
        if kind == "text":
            text = json_strings(values)
        elif kind == "strlist":
            text = json_lists(values)
        elif kind == "json":  # JSON text already
            text = values
        else:
            text = pc.cast(values, pa.string())
            text = pc.if_else(values, "true", "false") if kind == "bool" else text
        members.append((name, rows, text))
    packed = json_objects(members, len(flows))
    return flows.drop_columns(list(FLOW_EXTRA)).append_column(FLOW_EXTRA_COLUMN.name, packed)


def spread_extra(item: dict[str, Any], value: Any) -> None:
    """Put the fields of a stored ``extra`` value (JSON text, parsed JSON or None) into a row dict."""
    obj = (json.loads(value) if isinstance(value, str) else value) or {}
    for name in FLOW_EXTRA:
        got = obj.get(name)
        if got is None:
            got = _DEFAULTS[name]
            got = [] if got == () else got
        item[name] = got


def extra_sql(dialect: Dialect, present: Sequence[str]) -> str:
    """SQL of the ``extra`` value of a stored row from its old columns ``present`` (migration 4):
    only fields that differ from their default, NULL when none does."""
    if dialect == "postgresql":
        pairs = ", ".join(f"'{n}', {_pg_value(n)}" for n in present)
        return f"NULLIF(jsonb_strip_nulls(jsonb_build_object({pairs})), '{{}}'::jsonb)"
    parts = []
    for n in present:
        col, key, kind = quote(n), f"'\"{n}\":'", _SPECS[n].kind
        if kind == "strlist":
            parts.append(f"CASE WHEN len({col}) > 0 THEN {key} || to_json({col}) END")
        elif kind == "json":
            parts.append(f"CASE WHEN {col} IS NOT NULL AND {col} <> '[]' THEN {key} || {col} END")
        elif kind == "bool" and _DEFAULTS[n] is False:
            parts.append(f"CASE WHEN {col} THEN {key} || 'true' END")
        elif kind == "int" and _DEFAULTS[n] == 0:
            parts.append(f"CASE WHEN {col} <> 0 THEN {key} || to_json({col}) END")
        else:
            parts.append(f"CASE WHEN {col} IS NOT NULL THEN {key} || to_json({col}) END")
    return f"'{{' || NULLIF(concat_ws(',', {', '.join(parts)}), '') || '}}'"


def _pg_value(name: str) -> str:
    """SQL of a PostgreSQL column's value, NULL when it holds its field's default."""
    kind, col = _SPECS[name].kind, quote(name)
    if kind in ("strlist", "json"):
        return f"CASE WHEN {col} <> '[]'::jsonb THEN {col} END"
    if kind == "bool" and _DEFAULTS[name] is False:
        return f"CASE WHEN {col} THEN true END"
    if kind == "int" and _DEFAULTS[name] == 0:
        return f"NULLIF({col}, 0)"
    return col
