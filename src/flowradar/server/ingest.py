"""Ingest: batches from agents (HTTP) or from this host's own sources, into the store and the feed.

A body is checked in order, each step with a one-line reason: size (413), encoding and JSON (400),
schema (422), record count (422), host matches the token (403). The store writes a batch in one
transaction and skips a batch id it already has, so a retried batch is stored once and a refused
one leaves nothing behind. Every stored batch is then announced on the live feed: its new flows, its
alerts, and the host's rates (server/announce.py).

A batch may also carry live-only parts (snapshots of active flows, interface rates): they go to the
live feed as ``flow_updates`` and ``interfaces`` events and are never stored. A batch with only
live parts never touches the store; the live parts of a batch id stored before are not republished.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from flowradar.agent.wire import TooLarge, WireError, decompress
from flowradar.model.alert import Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import FlowRecord
from flowradar.model.host import HostMetrics, InterfaceMetrics
from flowradar.server.announce import Announcer
from flowradar.server.context import Ctx, Ingester, ServerContext
from flowradar.server.schemas import IngestBatch, IngestResult
from flowradar.store.base import StoreInputError, StoreUnavailable

router = APIRouter()


def validation_message(exc: ValidationError) -> str:
    """The first problem of a validation error, as 'where: what' (plus how many more)."""
    errors = exc.errors()
    if not errors:
        return "invalid body"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first.get('msg', 'invalid')}{more}"


def parse_batch(body: bytes, encoding: str, expanded_limit: int, max_records: int) -> IngestBatch:
    """A validated batch from a (compressed) body; HTTPException with a one-line reason otherwise."""
    try:
        raw = decompress(body, encoding, expanded_limit)
    except TooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except WireError as exc:
        raise HTTPException(400, str(exc)) from None
    try:
        batch = IngestBatch.model_validate_json(raw)
    except ValidationError as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            raise HTTPException(400, "body is not valid JSON") from None
        raise HTTPException(422, validation_message(exc)) from None
    count = batch.durable_count() + len(batch.live_flows)
    if count > max_records:
        raise HTTPException(422, f"too many records in one batch: {count} (at most {max_records})")
    return batch


class IngestService:
    """Stores batches and announces them on the live feed (thread-safe; blocking store calls)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.announcer = Announcer(ctx.broadcaster, ctx.cfg.server.live_flows)
        """The live feed's events about each host (also used by this host's live updates)."""

    def store(
        self,
        host: str,
        batch_id: str,
        flows: Sequence[FlowRecord] = (),
        connections: Sequence[Connection] = (),
        metrics: Sequence[HostMetrics] = (),
        alerts: Sequence[Alert] = (),
        agent_id: str | None = None,
        live: LiveParts | None = None,
    ) -> IngestResult:
        """Write one batch (idempotent by id), record the host, announce what is new.

        ``live``: the batch's live-only parts, published (unless the batch is a duplicate) before
        its stored flows, so that a final record always follows the snapshots of its uid.
        """
        counts = self.ctx.store.write_batch(host, batch_id, flows, connections, metrics, alerts)
        self.ctx.store.upsert_host(host, agent_id, time.time())
        written = counts.flows + counts.connections + counts.metrics + counts.alerts
        duplicate = bool(counts.skipped) and written == 0
        m = self.ctx.metrics
        m.batches.labels("duplicate" if duplicate else "stored").inc()
        for kind in ("flows", "connections", "metrics", "alerts"):
            m.records.labels(kind).inc(getattr(counts, kind))
        if not duplicate:
            if live is not None:
                self.publish_live(host, live)
            self.announce(host, flows, metrics, alerts)
        return IngestResult(
            batch_id=batch_id,
            host=host,
            duplicate=duplicate,
            flows=counts.flows,
            connections=counts.connections,
            metrics=counts.metrics,
            alerts=counts.alerts,
        )

    def announce(
        self, host: str, flows: Sequence[FlowRecord], metrics: Sequence[HostMetrics], alerts: Sequence[Alert]
    ) -> None:
        """Publish the batch's flows, alerts and the host's rates to the live feed."""
        self.announcer.batch(host, flows, metrics, alerts)

    def publish_live(self, host: str, live: LiveParts) -> None:
        """Publish live-only parts (never stored): active-flow snapshots and interface rates."""
        if live.flows:
            self.announcer.active_flows(host, live.flows)
        if live.interfaces is not None:
            self.announcer.interfaces(host, live.interfaces[0], live.interfaces[1])


@dataclass(frozen=True, slots=True)
class LiveParts:
    """The live-only parts of a batch."""

    flows: Sequence[FlowRecord] = ()
    interfaces: tuple[float, Sequence[InterfaceMetrics]] | None = None
    """Wall-clock time of the reading and the rates of every interface."""

    @classmethod
    def of(cls, batch: IngestBatch) -> LiveParts | None:
        """The live parts of a validated batch (None when it has none)."""
        rates = batch.interfaces
        if not batch.live_flows and rates is None:
            return None
        return cls(batch.live_flows, (rates.ts, rates.rates) if rates is not None else None)


@router.post(
    "/ingest",
    response_model=IngestResult,
    tags=["ingest"],
    summary="Store one agent batch (idempotent by batch id)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "An IngestBatch as JSON, optionally compressed (Content-Encoding: zstd or gzip).",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestBatch"}}},
        }
    },
    responses={
        400: {"description": "not JSON, or a bad encoding"},
        403: {"description": "not an ingest token, or another host's batch"},
        413: {"description": "body too large (compressed or expanded)"},
        422: {"description": "a record does not match the schema"},
        429: {"description": "too many requests from this agent"},
    },
)
async def ingest(request: Request, ctx: Ctx, caller: Ingester) -> IngestResult:
    """Accept one batch from an agent with an ingest token; a batch id seen before is not stored again.

    Live-only parts (``live_flows``, ``interfaces``) are published on the live feed, never stored.
    """
    if not ctx.ingest_limiter.allow(f"{caller.token_id}"):
        raise HTTPException(
            429, "too many ingest requests: slow down", {"Retry-After": str(ctx.ingest_limiter.retry_after())}
        )
    body = await request.body()
    server = ctx.cfg.server
    batch = await run_in_threadpool(
        parse_batch,
        body,
        request.headers.get("content-encoding", "identity"),
        server.ingest_max_expanded_bytes,
        server.ingest_max_records,
    )
    host = caller.host or ""
    if batch.host is not None and batch.host != host:
        raise HTTPException(403, f"this token reports for host '{host}', not '{batch.host}'")
    service: IngestService = request.app.state.ingest
    live = LiveParts.of(batch)
    if live is not None and batch.live_only():
        ctx.metrics.batches.labels("live").inc()
        await run_in_threadpool(service.publish_live, host, live)
        return IngestResult(batch_id=batch.batch_id, host=host, duplicate=False)
    try:
        return await run_in_threadpool(
            service.store,
            host,
            batch.batch_id,
            batch.flows,
            batch.connections,
            batch.metrics,
            batch.alerts,
            str(caller.token_id),
            live,
        )
    except StoreInputError as exc:
        ctx.metrics.batches.labels("rejected").inc()
        raise HTTPException(422, str(exc)) from None
    except StoreUnavailable as exc:
        raise HTTPException(503, f"store unavailable, retry later: {exc}", {"Retry-After": "5"}) from None
