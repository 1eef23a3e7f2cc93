"""Declarative field descriptions: one documented schema drives every export format.

Each record field is a dataclass field whose ``metadata["doc"]`` documents it once. The helpers here
flatten a record (nested dataclasses become their own columns) for JSON lines, CSV and Parquet.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Column:
    """One flat output column: its name, its Python type name and its documentation."""

    name: str
    type: str
    doc: str


def doc(text: str, default: Any = None, *, factory: Any = None) -> Any:
    """Declare a documented dataclass field (default value or default factory)."""
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata={"doc": text})
    return dataclasses.field(default=default, metadata={"doc": text})


def columns_of(cls: type) -> list[Column]:
    """Flat columns of a record class; nested record fields are expanded in place."""
    out: list[Column] = []
    for f in dataclasses.fields(cls):
        sub = f.metadata.get("nested")
        if sub is not None:
            out.extend(columns_of(sub))
        else:
            out.append(Column(f.name, str(f.type), str(f.metadata.get("doc", ""))))
    return out


def to_flat_dict(record: Any) -> dict[str, Any]:
    """Flatten a record into one level of column -> value (nested records expanded)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.metadata.get("nested") is not None:
            out.update(to_flat_dict(value))
        elif isinstance(value, list):
            out[f.name] = [
                dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
                for v in value
            ]
        else:
            out[f.name] = value
    return out


def scalar_for_csv(value: Any) -> Any:
    """Render a flat value for a CSV cell: lists and dicts as compact JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))
    return value
