"""API models, derived from the record schema (:mod:`flowradar.model.schema`): one documented field
list drives the stored columns, the ingest body and the responses.

Record dataclasses are used as they are (pydantic validates stdlib dataclasses); flat rows (flows and
alerts as the store returns them, plus ``host``) are built from :func:`columns_of`. The field docs
are copied into the OpenAPI schema by :func:`document_schemas`.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from flowradar.model.alert import Alert
from flowradar.model.connection import Connection, ListeningPort
from flowradar.model.flow import DnsAnswer, Enrichment, FlowRecord, L7Facts
from flowradar.model.host import DiskIO, DiskUsage, HostMetrics, InterfaceMetrics, ProcessMetrics
from flowradar.model.schema import columns_of

RECORD_TYPES: tuple[type, ...] = (
    FlowRecord,
    L7Facts,
    Enrichment,
    DnsAnswer,
    Alert,
    Connection,
    ListeningPort,
    HostMetrics,
    InterfaceMetrics,
    DiskUsage,
    DiskIO,
    ProcessMetrics,
)
BATCH_ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"


def _hints(*classes: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cls in classes:
        out.update(typing.get_type_hints(cls))
    return out


def row_model(name: str, cls: type, doc: str) -> type[BaseModel]:
    """A flat response model of a record class (nested records expanded) plus ``host``."""
    hints = _hints(cls, *(f.metadata["nested"] for f in dataclasses.fields(cls) if "nested" in f.metadata))
    fields: dict[str, Any] = {"host": (str | None, Field(None, description="host that observed it"))}
    for col in columns_of(cls):
        fields[col.name] = (hints[col.name] | None, Field(None, description=col.doc))
    model: type[BaseModel] = create_model(name, __doc__=doc, **fields)
    return model


FlowRow = row_model("FlowRow", FlowRecord, "One stored flow record (flat columns) and its host.")
AlertRow = row_model("AlertRow", Alert, "One stored alert and the host that raised it.")


class FlowPage(BaseModel):
    """One page of flows; pass ``next_cursor`` as ``cursor`` for the next one (None at the end)."""

    items: list[FlowRow]  # type: ignore[valid-type]
    next_cursor: str | None = None


class AlertPage(BaseModel):
    """One page of alerts, newest first."""

    items: list[AlertRow]  # type: ignore[valid-type]
    next_cursor: str | None = None


MAX_LIVE_INTERFACES = 4096
"""Interfaces in one live ``interfaces`` part at most."""


class LiveInterfaces(BaseModel):
    """Live only: the rates of every interface of the host over the last second or so."""

    model_config = ConfigDict(extra="forbid")

    ts: float = Field(ge=0, allow_inf_nan=False, description="when the rates were read (epoch seconds)")
    rates: list[InterfaceMetrics] = Field(
        default_factory=list, max_length=MAX_LIVE_INTERFACES, description="one entry per interface"
    )


FLOW_REQUIRED = (
    "uid", "ts_first", "ts_last", "transport", "ip_version", "src_ip", "src_port", "dst_ip", "dst_port",
    "src_packets", "dst_packets", "src_bytes", "dst_bytes",
)  # fmt: skip
"""Fields an ingested flow record must carry (not null)."""


class IngestBatch(BaseModel):
    """What an agent sends (JSON, zstd or gzip Content-Encoding): one batch with its id.

    ``flows``, ``connections``, ``metrics`` and ``alerts`` are stored (once per batch id);
    ``live_flows`` and ``interfaces`` are live-only parts, published on the live feed and never
    stored (not republished when the batch id was stored before).
    """

    model_config = ConfigDict(extra="forbid")

    version: int = Field(1, ge=1, le=1, description="batch format version")
    batch_id: str = Field(
        pattern=BATCH_ID_PATTERN, description="unique id: a batch sent twice is stored once"
    )
    host: str | None = Field(None, max_length=255, description="sending host (must match the token's host)")
    sent_at: float | None = Field(None, description="when the agent made the batch (epoch seconds)")
    flows: list[FlowRecord] = Field(default_factory=list)
    connections: list[Connection] = Field(default_factory=list)
    metrics: list[HostMetrics] = Field(default_factory=list)
    alerts: list[Alert] = Field(default_factory=list)
    live_flows: list[FlowRecord] = Field(
        default_factory=list,
        description="live only: snapshots of active flows (the final record replaces them by uid)",
    )
    interfaces: LiveInterfaces | None = Field(None, description="live only: the latest interface rates")

    @field_validator("flows", "live_flows")
    @classmethod
    def _flows_complete(cls, flows: list[FlowRecord]) -> list[FlowRecord]:
        """Every flow names itself, its time span, endpoints and counters (the dataclass defaults
        these to None for code that builds records piece by piece; an agent's record has them all)."""
        for i, f in enumerate(flows):
            missing = next((name for name in FLOW_REQUIRED if getattr(f, name) is None), None)
            if missing is not None:
                raise ValueError(f"record {i}: {missing} is required")
        return flows

    def durable_count(self) -> int:
        """Records to store."""
        return len(self.flows) + len(self.connections) + len(self.metrics) + len(self.alerts)

    def live_only(self) -> bool:
        """A batch with live parts and nothing to store."""
        return self.durable_count() == 0 and (bool(self.live_flows) or self.interfaces is not None)


class IngestResult(BaseModel):
    """What the server did with a batch."""

    batch_id: str
    host: str
    duplicate: bool = Field(description="the batch id was stored before; nothing was written")
    flows: int = 0
    connections: int = 0
    metrics: int = 0
    alerts: int = 0


class Credentials(BaseModel):
    """Login form."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    """Who the request is authenticated as."""

    name: str
    role: str
    via: str = Field(description="session, api token or ingest token")
    csrf_token: str | None = Field(None, description="echo in X-CSRF-Token on state-changing requests")


class TokenIn(BaseModel):
    """A token to create: 'api' (with a role) or 'ingest' (with a host)."""

    model_config = ConfigDict(extra="forbid")

    kind: typing.Literal["api", "ingest"]
    name: str | None = Field(None, max_length=128)
    role: typing.Literal["viewer", "admin"] | None = None
    host: str | None = Field(None, min_length=1, max_length=255, pattern=r"^[^\s/]+$")


class TokenOut(BaseModel):
    """A token as listed (never its secret)."""

    id: int
    kind: str
    name: str
    role: str | None = None
    host: str | None = None
    created: float
    revoked: float | None = None


class TokenCreated(TokenOut):
    """A new token: ``token`` is shown this once."""

    token: str


class UserIn(BaseModel):
    """A user to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=1024)
    role: typing.Literal["viewer", "admin"] = "viewer"


class UserOut(BaseModel):
    """A user as listed."""

    name: str
    role: str
    created: float


class StatusIn(BaseModel):
    """An alert status change."""

    model_config = ConfigDict(extra="forbid")

    status: typing.Literal["open", "acknowledged", "resolved"]


def document_schemas(openapi: dict[str, Any]) -> dict[str, Any]:
    """Copy each record field's doc into the OpenAPI component schema of its dataclass."""
    schemas = openapi.get("components", {}).get("schemas", {})
    for cls in RECORD_TYPES:
        docs = {f.name: f.metadata.get("doc") for f in dataclasses.fields(cls)}
        for key, schema in schemas.items():
            if key != cls.__name__ and not key.startswith(cls.__name__ + "-"):
                continue
            for name, prop in schema.get("properties", {}).items():
                if docs.get(name) and isinstance(prop, dict):
                    prop.setdefault("description", docs[name])
    return openapi
