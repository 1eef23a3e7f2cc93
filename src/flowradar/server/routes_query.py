"""The query API (viewer role): flows, hosts, connections, ports, processes, aggregates, series,
geography and alerts; acknowledging and resolving alerts needs the admin role.

Time ranges are ``start``/``end`` in seconds since the epoch; without them, the last hour.
"""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request

from flowradar.host.ports import to_ports
from flowradar.host.services import ServiceRegistry, load_services
from flowradar.model.connection import Connection, ListeningPort
from flowradar.model.host import HostMetrics
from flowradar.server.context import Admin, Ctx, Viewer
from flowradar.server.schemas import AlertPage, FlowPage, StatusIn
from flowradar.store.base import (
    Aggregate,
    AlertQuery,
    FlowQuery,
    GeoPoint,
    HostRow,
    SeriesPoint,
    TimeRange,
)

router = APIRouter(tags=["query"])

Epoch = Annotated[
    float | None, Query(ge=0, le=1e11, allow_inf_nan=False, description="seconds since the epoch")
]
HostName = Annotated[str | None, Query(max_length=255, description="only what this host observed")]
Text = Annotated[str | None, Query(max_length=255)]
TopN = Annotated[int, Query(ge=1, le=1000, description="rows to return")]
DEFAULT_SPAN_S = 3600.0
MAX_HOSTS_LISTED = 1000


def time_range(start: float | None, end: float | None) -> TimeRange:
    """The requested range (default: the last hour up to now); 422 when it is empty."""
    stop = end if end is not None else time.time()
    begin = start if start is not None else stop - DEFAULT_SPAN_S
    if begin >= stop:
        raise HTTPException(422, "start must be before end")
    return TimeRange(begin, stop)


def _limit(ctx: Ctx, limit: int) -> int:
    return min(limit, ctx.cfg.server.query_max_rows)


@router.get("/flows", response_model=FlowPage, summary="Flow records, filtered and paginated")
def flows(
    ctx: Ctx,
    _: Viewer,
    start: Epoch = None,
    end: Epoch = None,
    host: HostName = None,
    ip: Text = None,
    port: Annotated[int | None, Query(ge=0, le=65535)] = None,
    transport: Text = None,
    app: Text = None,
    country: Text = None,
    domain: Text = None,
    process: Text = None,
    text: Text = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    sort: Annotated[
        Literal["ts_first", "-ts_first", "ts_last", "-ts_last", "bytes", "-bytes"]
        | Literal["packets", "-packets", "duration", "-duration"],
        Query(),
    ] = "-ts_first",
) -> FlowPage:
    """Flows overlapping the range (default: any time), newest first unless ``sort`` says otherwise;
    pass ``next_cursor`` back as ``cursor`` for the next page."""
    query = FlowQuery(
        start,
        end,
        host,
        ip,
        port,
        transport,
        app,
        country,
        domain,
        process,
        text,
        _limit(ctx, limit),
        cursor,
        sort,
    )
    page = ctx.store.flows(query)
    return FlowPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})


@router.get("/hosts", response_model=list[HostRow], summary="Hosts that reported, with latest metrics")
def hosts(ctx: Ctx, _: Viewer) -> list[HostRow]:
    """Every host that reported (agents, and this host in single-host mode)."""
    return ctx.store.hosts()


@router.get("/hosts/{name}/metrics", response_model=list[HostMetrics], summary="Host metrics samples")
def host_metrics(
    ctx: Ctx,
    _: Viewer,
    name: Annotated[str, Path(max_length=255)],
    start: Epoch = None,
    end: Epoch = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 300,
) -> list[HostMetrics]:
    """Samples of one host in the range, oldest first (the last ``limit``)."""
    return ctx.store.host_metrics(name, time_range(start, end), _limit(ctx, limit))


def _hosts_of(ctx: Ctx, host: str | None) -> list[str]:
    return [host] if host else [h.name for h in ctx.store.hosts()[:MAX_HOSTS_LISTED]]


@router.get("/connections", response_model=list[Connection], summary="Sockets of the latest poll")
def connections(ctx: Ctx, _: Viewer, host: HostName = None) -> list[Connection]:
    """The sockets (with owner processes) of each host's latest poll, or of one host."""
    out: list[Connection] = []
    for name in _hosts_of(ctx, host):
        out.extend(ctx.store.connections(name))
    return out


def _services(request: Request, ctx: Ctx) -> ServiceRegistry:
    registry: ServiceRegistry | None = getattr(request.app.state, "services", None)
    if registry is None:
        registry = load_services(ctx.cfg.ports.services_file)
        request.app.state.services = registry
    return registry


@router.get("/ports", response_model=list[ListeningPort], summary="Listening ports with risk")
def ports(request: Request, ctx: Ctx, _: Viewer, host: HostName = None) -> list[ListeningPort]:
    """Listening TCP and bound UDP sockets, with service, exposure and risk (the [ports] rules)."""
    services = _services(request, ctx)
    out: list[ListeningPort] = []
    for name in _hosts_of(ctx, host):
        out.extend(to_ports(ctx.store.listening_ports(name), services, ctx.cfg.ports))
    return out


@router.get("/processes", response_model=list[Aggregate], summary="Traffic by process")
def processes(
    ctx: Ctx, _: Viewer, start: Epoch = None, end: Epoch = None, host: HostName = None, n: TopN = 50
) -> list[Aggregate]:
    """The (host, process) pairs with most bytes in the range."""
    return ctx.store.processes(time_range(start, end), host, n)


@router.get("/bandwidth", response_model=list[SeriesPoint], summary="Bandwidth time series")
def bandwidth(
    ctx: Ctx,
    _: Viewer,
    start: Epoch = None,
    end: Epoch = None,
    step: Annotated[int, Query(ge=60, le=86400, multiple_of=60, description="seconds per point")] = 60,
    by: Literal["host", "process", "remote", "app"] = "host",
    host: HostName = None,
    n: Annotated[int, Query(ge=1, le=100)] = 10,
) -> list[SeriesPoint]:
    """Bytes in/out, packets and flows per ``step``, split by ``by`` into the top ``n`` keys + 'other'."""
    return ctx.store.bandwidth(time_range(start, end), float(step), by, host, n)


@router.get("/top-talkers", response_model=list[Aggregate], summary="Top talkers")
def top_talkers(
    ctx: Ctx,
    _: Viewer,
    start: Epoch = None,
    end: Epoch = None,
    n: TopN = 10,
    host: HostName = None,
    by: Literal["remote", "host"] = "remote",
) -> list[Aggregate]:
    """Remote endpoints (or observing hosts) with most bytes."""
    return ctx.store.top_talkers(time_range(start, end), n, host, by)


@router.get("/protocols", response_model=list[Aggregate], summary="Traffic by application protocol")
def protocols(
    ctx: Ctx, _: Viewer, start: Epoch = None, end: Epoch = None, host: HostName = None
) -> list[Aggregate]:
    """Flows, bytes and packets per application protocol."""
    return ctx.store.protocols(time_range(start, end), host)


@router.get("/countries", response_model=list[Aggregate], summary="Traffic by remote country")
def countries(
    ctx: Ctx, _: Viewer, start: Epoch = None, end: Epoch = None, host: HostName = None
) -> list[Aggregate]:
    """Flows, bytes and packets per remote country code."""
    return ctx.store.countries(time_range(start, end), host)


@router.get("/asns", response_model=list[Aggregate], summary="Traffic by remote ASN")
def asns(
    ctx: Ctx, _: Viewer, start: Epoch = None, end: Epoch = None, host: HostName = None, n: TopN = 50
) -> list[Aggregate]:
    """The remote autonomous systems with most bytes (label: organisation)."""
    return ctx.store.asns(time_range(start, end), host, n)


@router.get("/domains", response_model=list[Aggregate], summary="Traffic by registrable domain")
def domains(
    ctx: Ctx, _: Viewer, start: Epoch = None, end: Epoch = None, host: HostName = None, n: TopN = 50
) -> list[Aggregate]:
    """The registrable domains with most bytes."""
    return ctx.store.domains(time_range(start, end), host, n)


@router.get("/geo", response_model=list[GeoPoint], summary="Traffic by country and city")
def geo(ctx: Ctx, _: Viewer, start: Epoch = None, end: Epoch = None, host: HostName = None) -> list[GeoPoint]:
    """Traffic per remote city (or country), with a location for a map."""
    return ctx.store.geo(time_range(start, end), host)


@router.get("/alerts", response_model=AlertPage, summary="Alerts, newest first")
def alerts(
    ctx: Ctx,
    _: Viewer,
    start: Epoch = None,
    end: Epoch = None,
    host: HostName = None,
    status: Literal["open", "acknowledged", "resolved"] | None = None,
    kind: Text = None,
    min_severity: Literal["info", "low", "medium", "high", "critical"] | None = None,
    subject_ip: Text = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> AlertPage:
    """Alerts whose last evidence is in the range (default: any time)."""
    query = AlertQuery(start, end, host, status, kind, min_severity, subject_ip, _limit(ctx, limit), cursor)
    page = ctx.store.alerts(query)
    return AlertPage.model_validate({"items": page.items, "next_cursor": page.next_cursor})


def _set_status(ctx: Ctx, uid: str, status: str) -> StatusIn:
    if not ctx.store.update_alert_status(uid, status):
        raise HTTPException(404, f"no alert with uid '{uid}'")
    return StatusIn.model_validate({"status": status})


AlertUid = Annotated[str, Path(min_length=1, max_length=128)]


@router.post("/alerts/{uid}/acknowledge", response_model=StatusIn, summary="Acknowledge an alert")
def acknowledge(ctx: Ctx, _: Admin, uid: AlertUid) -> StatusIn:
    """Mark an alert as seen by a person (admin)."""
    return _set_status(ctx, uid, "acknowledged")


@router.post("/alerts/{uid}/resolve", response_model=StatusIn, summary="Resolve an alert")
def resolve(ctx: Ctx, _: Admin, uid: AlertUid) -> StatusIn:
    """Close an alert (admin)."""
    return _set_status(ctx, uid, "resolved")
