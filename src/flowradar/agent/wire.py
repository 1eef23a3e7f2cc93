"""The batch format between agents and the server: JSON, compressed (zstd or gzip), with a batch id.

A batch carries what one host collected in about one second: flow records, socket samples, host
metrics and alerts, each as the plain dict of its record type (``dataclasses.asdict``). The batch id
makes ingest idempotent: a batch sent twice (a retry after a lost answer) is stored once.
Decompression is bounded, so a small body cannot expand into an unbounded one.

Two optional, live-only parts (version 1 still: a body without them is read as before) carry what
is happening right now, for the dashboard: ``live_flows`` (snapshots of active flows, counters so
far) and ``interfaces`` (``{"ts", "rates": [InterfaceMetrics...]}``). The server publishes them on
its live feed and never stores them; the agent never spools them (:meth:`Batch.durable`), so a
batch that waits out an outage arrives without stale live data. They are left out of the JSON when
empty, so a batch with none is exactly the version-1 document older servers accept.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import Any

import zstandard

from flowradar.model.alert import Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import FlowRecord
from flowradar.model.host import HostMetrics, InterfaceMetrics

WIRE_VERSION = 1
ENCODINGS = ("zstd", "gzip", "identity")
KINDS = ("flows", "connections", "metrics", "alerts")
"""The durable parts of a batch: stored by the server, spooled by the agent."""


class WireError(ValueError):
    """A body that cannot be read as a batch (one line, shown to the client)."""


class TooLarge(WireError):
    """A body that expands past the allowed size."""


@dataclass(slots=True)
class InterfaceRates:
    """Rates of every interface of a host over the last live interval, at wall-clock ``ts``."""

    ts: float
    rates: list[InterfaceMetrics] = field(default_factory=list)


@dataclass(slots=True)
class Batch:
    """What one host collected over one interval (``host`` None: the server takes the token's host)."""

    host: str | None
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    sent_at: float = field(default_factory=time.time)
    flows: list[FlowRecord] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    metrics: list[HostMetrics] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    live_flows: list[FlowRecord] = field(default_factory=list)
    """Live only: snapshots of active flows (never stored; the final record replaces them by uid)."""
    interfaces: InterfaceRates | None = None
    """Live only: the latest interface rates."""

    def __len__(self) -> int:
        """Durable records in the batch (live parts are not counted)."""
        return len(self.flows) + len(self.connections) + len(self.metrics) + len(self.alerts)

    @property
    def live(self) -> bool:
        """Whether the batch has a live part."""
        return bool(self.live_flows) or self.interfaces is not None

    def durable(self) -> Batch:
        """The same batch (same id) without its live parts: what may be spooled and stored."""
        if not self.live:
            return self
        return Batch(
            self.host, self.batch_id, self.sent_at, self.flows, self.connections, self.metrics, self.alerts
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of the batch (live parts only when present)."""
        doc: dict[str, Any] = {
            "version": WIRE_VERSION,
            "batch_id": self.batch_id,
            "host": self.host,
            "sent_at": self.sent_at,
            "flows": [dataclasses.asdict(r) for r in self.flows],
            "connections": [dataclasses.asdict(r) for r in self.connections],
            "metrics": [dataclasses.asdict(r) for r in self.metrics],
            "alerts": [dataclasses.asdict(r) for r in self.alerts],
        }
        if self.live_flows:
            doc["live_flows"] = [dataclasses.asdict(r) for r in self.live_flows]
        if self.interfaces is not None:
            doc["interfaces"] = dataclasses.asdict(self.interfaces)
        return doc


def encode(batch: Batch, encoding: str = "zstd") -> bytes:
    """The compressed JSON body of a batch."""
    raw = json.dumps(batch.to_dict(), separators=(",", ":"), default=str).encode()
    return compress(raw, encoding)


def compress(raw: bytes, encoding: str) -> bytes:
    """Compress with zstd, gzip or not at all ('identity')."""
    if encoding == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(raw)
    if encoding == "gzip":
        return gzip.compress(raw, compresslevel=5)
    if encoding == "identity":
        return raw
    raise WireError(f"unknown encoding '{encoding}' (use one of {', '.join(ENCODINGS)})")


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Expand a body, refusing one that expands past ``limit`` bytes (:class:`TooLarge`)."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        out = body
    elif encoding == "zstd":
        try:
            with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body)) as reader:
                out = reader.read(limit + 1)
        except zstandard.ZstdError as exc:
            raise WireError(f"body is not valid zstd: {exc}") from None
    elif encoding == "gzip":
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(body, limit + 1)
        except zlib.error as exc:
            raise WireError(f"body is not valid gzip: {exc}") from None
    else:
        raise WireError(f"unsupported Content-Encoding '{encoding}' (use zstd, gzip or identity)")
    if len(out) > limit:
        raise TooLarge(f"body expands past {limit} bytes")
    return out


def parse_json(raw: bytes) -> dict[str, Any]:
    """The JSON object of a body (:class:`WireError` when it is not one)."""
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise WireError("body must be a JSON object")
    return doc
