"""Records to Arrow tables (column by column, no per-row dicts) and stored rows back to records.

Every write goes through an Arrow table: DuckDB scans it in place, PostgreSQL receives it as CSV
through COPY. Converting here also validates: a value of the wrong type, a missing required value or
impossible timestamps raise :class:`~flowradar.store.base.StoreInputError` before anything is written.
"""

from __future__ import annotations

import dataclasses
import json
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter
from types import MappingProxyType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowradar.model.alert import STATUSES, Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import DnsAnswer, Enrichment, FlowRecord, L7Facts
from flowradar.model.host import DiskIO, DiskUsage, HostMetrics, InterfaceMetrics, ProcessMetrics
from flowradar.store.base import StoreInputError
from flowradar.store.schema import (
    ALERT_COLUMNS,
    CONNECTION_COLUMNS,
    FLOW_COLUMNS,
    FLOW_SORT_KEYS,
    METRICS_COLUMNS,
    ROLLUP_COLUMNS,
    ROLLUP_DIMS,
    ROLLUP_TABLES,
    ColumnSpec,
)

ARROW_TYPES: Mapping[str, pa.DataType] = MappingProxyType(
    {
        "text": pa.string(),
        "int": pa.int64(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "strlist": pa.list_(pa.string()),
    }
)
_ENCODE = json.JSONEncoder(separators=(",", ":"), default=str).encode
MAX_FLOW_SECONDS = 31 * 86400.0
"""A flow lasting longer than this is refused as invalid (bogus timestamps)."""


def _plain(value: Any) -> Any:
    """A list item as JSON-ready data (record items become dicts of their fields)."""
    names = getattr(type(value), "__dataclass_fields__", None)
    return {name: getattr(value, name) for name in names} if names is not None else value


def _json_cell(value: Any) -> str:
    if isinstance(value, list):
        value = [_plain(v) for v in value]
    return _ENCODE(value)


_ANSWER = '{"query":%s,"type":%s,"value":%s,"ttl":%d,"owner":%s}'


def _answers_json(items: Any) -> str | None:
    """JSON text of a list of DNS answers exactly as :func:`_json_cell` makes it, by one format per
    answer (None unless every item is a :class:`DnsAnswer` of plain strings and an int TTL)."""
    if type(items) is not list:
        return None
    enc = json.encoder.encode_basestring_ascii  # what json.dumps uses for strings
    parts = []
    for a in items:
        if type(a) is not DnsAnswer or type(a.ttl) is not int:
            return None
        if not (
            type(a.query) is str and type(a.type) is str and type(a.value) is str and type(a.owner) is str
        ):
            return None
        parts.append(_ANSWER % (enc(a.query), enc(a.type), enc(a.value), a.ttl, enc(a.owner)))
    return "[" + ",".join(parts) + "]"


def _owners(cls: type) -> dict[str, str | None]:
    """Column name -> attribute of the record holding it (None: the record itself)."""
    out: dict[str, str | None] = {}
    for f in dataclasses.fields(cls):
        nested = f.metadata.get("nested")
        if nested is not None:
            out.update({g.name: f.name for g in dataclasses.fields(nested)})
        else:
            out[f.name] = None
    return out


def _arrow_column(spec: ColumnSpec, values: Sequence[Any], what: str) -> pa.Array:
    try:
        if spec.kind == "json":
            cells = [(_answers_json(v) or _json_cell(v)) if v else None for v in values]
            return pa.array(cells, type=pa.string())
        if spec.kind == "strlist" and str in set(map(type, values)):  # Arrow would split the text
            raise TypeError("expected a list of strings, got a string")
        if values and values[0] is None and values.count(None) == len(values):
            arr = pa.nulls(len(values), ARROW_TYPES[spec.kind])  # Arrow converts all-None text slowly
        else:
            arr = pa.array(values, type=ARROW_TYPES[spec.kind])
        if spec.kind == "strlist" and pc.list_flatten(arr).null_count:
            raise TypeError("lists must hold strings, not None")
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError) as exc:
        raise StoreInputError(f"{what}: invalid value in column '{spec.name}': {exc}") from None
    if not spec.nullable and arr.null_count:
        raise StoreInputError(f"{what}: column '{spec.name}' must not be empty")
    return arr


def check_records(records: Sequence[Any], host: str, cls: type) -> None:
    """:class:`StoreInputError` unless ``host`` is a non-empty string and every record a ``cls``."""
    what = cls.__name__
    if not isinstance(host, str) or not host:
        raise StoreInputError(f"{what}: host must be a non-empty string")
    kinds = set(map(type, records))
    if kinds - {cls}:
        odd = ", ".join(sorted(k.__name__ for k in kinds - {cls}))
        raise StoreInputError(f"{what}: expected {what} records, got {odd}")


def records_table(records: Sequence[Any], host: str, cls: type, cols: tuple[ColumnSpec, ...]) -> pa.Table:
    """Arrow table of records of one class, columns in table order (``host`` first)."""
    what = cls.__name__
    check_records(records, host, cls)
    owners = _owners(cls)
    parents: dict[str, list[Any]] = {}
    arrays = [pa.array([host] * len(records), type=pa.string())]
    for spec in cols[1:]:
        owner = owners[spec.name]
        if owner is None:
            objs: Sequence[Any] = records
        else:
            if owner not in parents:
                parents[owner] = list(map(attrgetter(owner), records))
            objs = parents[owner]
        arrays.append(_arrow_column(spec, list(map(attrgetter(spec.name), objs)), what))
    return pa.Table.from_arrays(arrays, names=[c.name for c in cols])


def flows_table(records: Sequence[FlowRecord], host: str) -> pa.Table:
    """Validated Arrow table of flow records (times finite, ordered, at most 31 days apart), with the
    stored sort keys (:data:`~flowradar.store.schema.FLOW_SORT_KEYS`) after the record columns."""
    table = records_table(records, host, FlowRecord, FLOW_COLUMNS)
    if len(table):
        first = table["ts_first"].to_numpy()
        last = table["ts_last"].to_numpy()
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(first) & np.isfinite(last) & (last >= first) & (last - first <= MAX_FLOW_SECONDS)
        if not ok.all():
            i = int(np.argmin(ok))
            raise StoreInputError(
                f"FlowRecord: impossible timestamps in flow {records[i].uid!r} "
                f"(ts_first={first[i]}, ts_last={last[i]})"
            )
    return with_sort_keys(table)


def with_sort_keys(flows: pa.Table) -> pa.Table:
    """A flows table with its sort key columns appended (the same arithmetic as the SQL of
    :data:`~flowradar.store.schema.FLOW_SORT_SQL`: int64 sums, a float64 difference)."""
    try:
        keys = [
            pc.add_checked(flows["src_bytes"], flows["dst_bytes"]),
            pc.add_checked(flows["src_packets"], flows["dst_packets"]),
            pc.subtract(flows["ts_last"], flows["ts_first"]),
        ]
    except pa.ArrowInvalid as exc:
        raise StoreInputError(f"FlowRecord: byte or packet counts out of range: {exc}") from None
    for spec, values in zip(FLOW_SORT_KEYS, keys, strict=True):
        flows = flows.append_column(pa.field(spec.name, ARROW_TYPES[spec.kind]), values)
    return flows


def connections_table(conns: Sequence[Connection], host: str) -> pa.Table:
    """Validated Arrow table of socket samples."""
    return records_table(conns, host, Connection, CONNECTION_COLUMNS)


def metrics_table(samples: Sequence[HostMetrics], host: str) -> pa.Table:
    """Validated Arrow table of host metrics samples (nested lists as JSON)."""
    return records_table(samples, host, HostMetrics, METRICS_COLUMNS)


def alerts_table(alerts: Sequence[Alert], host: str) -> pa.Table:
    """Validated Arrow table of alerts (evidence and details as JSON)."""
    return records_table(alerts, host, Alert, ALERT_COLUMNS)


def rollup_table(flows: pa.Table, step: float) -> pa.Table:
    """Partial rollup rows of a flows table: one row per bucket and key, bytes spread over time.

    A flow spanning several buckets gives each the share of its bytes and packets that matches the
    share of its duration inside the bucket; it counts as one flow in the bucket of its first packet.
    """
    n = len(flows)
    if n == 0:
        return pa.Table.from_pylist([], schema=rollup_schema())
    t0 = flows["ts_first"].to_numpy()
    t1 = np.maximum(flows["ts_last"].to_numpy(), t0)
    f0 = np.floor(t0 / step)
    nb = (np.floor(t1 / step) - f0).astype(np.int64) + 1
    idx = np.repeat(np.arange(n), nb)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(nb) - nb, nb)
    bucket = (f0[idx] + k) * step
    if len(idx) == n:
        weight = np.ones(n)
    else:
        a, b = t0[idx], t1[idx]
        span = np.where(b > a, b - a, 1.0)
        weight = np.where(nb[idx] > 1, (np.minimum(b, bucket + step) - np.maximum(a, bucket)) / span, 1.0)
    remote = pc.coalesce(flows["remote_ip"], flows["dst_ip"])
    to_dst = pc.equal(remote, flows["dst_ip"]).to_numpy(zero_copy_only=False)
    src_b = flows["src_bytes"].to_numpy().astype(np.float64)
    dst_b = flows["dst_bytes"].to_numpy().astype(np.float64)
    pkts = (flows["src_packets"].to_numpy() + flows["dst_packets"].to_numpy()).astype(np.float64)
    dims = {
        "host": flows["host"],
        "app": pc.coalesce(flows["app_proto"], flows["transport"]),
        "remote": remote,
        **{c.name: flows[c.name] for c in ROLLUP_DIMS[4:]},
    }
    take = pa.array(idx)
    cols: dict[str, Any] = {"bucket": pa.array(bucket)}
    for name, arr in dims.items():
        cols[name] = arr if len(idx) == n else arr.take(take)
    cols["flows"] = pa.array((k == 0).astype(np.int64))
    cols["packets"] = pa.array(pkts[idx] * weight)
    cols["bytes_in"] = pa.array(np.where(to_dst, dst_b, src_b)[idx] * weight)
    cols["bytes_out"] = pa.array(np.where(to_dst, src_b, dst_b)[idx] * weight)
    keys = [c.name for c in ROLLUP_DIMS]
    grouped = (
        pa.table(cols)
        .group_by(keys, use_threads=False)
        .aggregate([("flows", "sum"), ("packets", "sum"), ("bytes_in", "sum"), ("bytes_out", "sum")])
    )
    arrays = [grouped[name] for name in keys]
    arrays += [grouped[f"{m}_sum"] for m in ("flows", "packets", "bytes_in", "bytes_out")]
    return pa.Table.from_arrays(arrays, schema=rollup_schema())


FLOW_PART = 4096
"""Flow records per part when flows are streamed into the database (:func:`flow_parts`)."""


@dataclass(frozen=True, slots=True)
class FlowBatch:
    """A batch's flows as an Arrow table, with its partial rows for every rollup table."""

    flows: pa.Table
    rollups: dict[str, pa.Table]

    @classmethod
    def of(cls, flows: pa.Table) -> FlowBatch:
        """The flows with their partial rollup rows."""
        return cls(flows, {name: rollup_table(flows, step) for name, step in ROLLUP_TABLES.items()})


def flow_parts(records: Sequence[FlowRecord], host: str, done: list[FlowBatch]) -> Iterator[pa.Table]:
    """Validated Arrow tables of successive parts of ``records``; once all are made, the whole batch
    goes into ``done`` (its rollups made while the database still takes the last part)."""
    parts: list[pa.Table] = []
    for i in range(0, len(records), FLOW_PART):
        parts.append(flows_table(records[i : i + FLOW_PART], host))
        yield parts[-1]
    done.append(FlowBatch.of(pa.concat_tables(parts)))


def other_tables(
    host: str, connections: Sequence[Connection], metrics: Sequence[HostMetrics], alerts: Sequence[Alert]
) -> dict[str, pa.Table]:
    """Validated Arrow tables of a batch's socket samples, metrics and alerts (each alert with a
    uid: the last of a repeated uid wins, a missing one is made up)."""
    tables: dict[str, pa.Table] = {}
    if connections:
        tables["connections"] = connections_table(connections, host)
    if metrics:
        tables["host_metrics"] = metrics_table(metrics, host)
    if alerts:
        if not all(isinstance(a, Alert) for a in alerts):
            raise StoreInputError("Alert: expected Alert records")
        odd = sorted({a.status for a in alerts} - set(STATUSES))
        if odd:
            raise StoreInputError(f"Alert: unknown status {odd[0]!r} (use {', '.join(STATUSES)})")
        unique = {a.uid: a for a in alerts if a.uid}
        fresh = [dataclasses.replace(a, uid=uuid.uuid4().hex) for a in alerts if not a.uid]
        tables["alerts"] = alerts_table([*unique.values(), *fresh], host)
    return tables


def rollup_schema() -> pa.Schema:
    """Arrow schema of the rollup tables."""
    return pa.schema([(c.name, ARROW_TYPES[c.kind]) for c in ROLLUP_COLUMNS])


# -- reading back ----------------------------------------------------------------------------------

_LIST_ITEMS: Mapping[str, Callable[[dict[str, Any]], Any]] = MappingProxyType(
    {
        "dns_answers": lambda d: DnsAnswer(**d),
        "interfaces": lambda d: InterfaceMetrics(**d),
        "disks": lambda d: DiskUsage(**d),
        "disk_io": lambda d: DiskIO(**d),
        "processes": lambda d: ProcessMetrics(**d),
    }
)


def decode_json(value: Any, empty: Any) -> Any:
    """A JSON or list column's value as Python (DuckDB gives text or a list, PostgreSQL parsed JSONB;
    NULL -> empty)."""
    if value is None:
        return empty
    return json.loads(value) if isinstance(value, str) else value


def row_dict(names: Sequence[str], row: Sequence[Any], cols: tuple[ColumnSpec, ...]) -> dict[str, Any]:
    """A JSON-ready dict of one stored row (JSON columns decoded; lists of records stay dicts)."""
    kinds = {c.name: c for c in cols}
    out: dict[str, Any] = {}
    for name, value in zip(names, row, strict=True):
        spec = kinds.get(name)
        if spec is not None and spec.kind in ("json", "strlist"):
            value = decode_json(value, {} if name == "details" else [])
        elif isinstance(value, float) and math.isnan(value) and spec is not None and spec.nullable:
            value = None
        out[name] = value
    return out


def to_record(cls: type, flat: dict[str, Any]) -> Any:
    """Rebuild a record (FlowRecord with its nested parts, Connection, HostMetrics, Alert)."""
    values = {k: ([_LIST_ITEMS[k](x) for x in v] if k in _LIST_ITEMS else v) for k, v in flat.items()}
    if cls is FlowRecord:
        parts: dict[str, dict[str, Any]] = {"l7": {}, "enrich": {}, "": {}}
        owners = _owners(FlowRecord)
        for k, v in values.items():
            if k in owners:
                parts[owners[k] or ""][k] = v
        return FlowRecord(**parts[""], l7=L7Facts(**parts["l7"]), enrich=Enrichment(**parts["enrich"]))
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})
