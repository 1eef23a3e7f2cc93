"""Sub-commands for host visibility: connections, ports, host (metrics) and top (bandwidth).

Each prints a table, or with ``--json`` the records as JSON on stdout; ``--watch`` refreshes until
Ctrl-C (with ``--json``: one compact JSON document per line and refresh).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.live import Live

from flowradar.capture.sockets import SocketPoller
from flowradar.host.filters import ConnectionFilter, FilterError
from flowradar.model.connection import Connection
from flowradar.model.host import HostMetrics
from flowradar.ui.cli import EXIT_USAGE, CliError, _config, _guarded, cli, dump_json, stderr_console
from flowradar.ui.host_views import connections_table, host_view, ports_table, top_view

_PROTO = click.Choice(["tcp", "udp"])


def _records(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(x) for x in items]


def _warn(messages: Iterable[str]) -> None:
    console = stderr_console()
    for m in messages:
        console.print(f"[yellow]flowradar: warning:[/] {m}", highlight=False)


def _privilege_note() -> list[str]:
    if os.geteuid() != 0:
        return ["not root: the owners of other users' sockets are not shown"]
    return []


def _watch(
    render: Callable[[], RenderableType],
    as_json: Callable[[], Any] | None,
    interval: float,
    count: int | None,
) -> None:
    """Refresh a view every ``interval`` seconds, ``count`` times (None: until Ctrl-C)."""
    if interval <= 0:
        raise CliError("--interval must be positive", EXIT_USAGE)
    done = 0
    if as_json is not None:
        while count is None or done < count:
            click.echo(json.dumps(as_json(), separators=(",", ":"), ensure_ascii=False))
            done += 1
            if count is None or done < count:
                time.sleep(interval)
        return
    with Live(render(), console=Console(), refresh_per_second=4, screen=False) as live:
        done = 1
        while count is None or done < count:
            time.sleep(interval)
            live.update(render())
            done += 1


@cli.command()
@click.option("--process", "process", help="Process name (substring) or pid.")
@click.option("--port", type=int, help="Local or remote port.")
@click.option(
    "--state", "states", multiple=True, help="Socket state, e.g. established, listen, time-wait (repeatable)."
)
@click.option("--remote", help="Remote address or network, e.g. 10.0.0.0/8.")
@click.option("--proto", type=_PROTO, help="Only tcp or only udp.")
@click.option("--watch", is_flag=True, help="Refresh until Ctrl-C.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between refreshes with --watch.")
@click.option("--count", type=int, help="With --watch: stop after this many refreshes.")
@click.option("--json", "as_json", is_flag=True, help="Print the connection records as JSON.")
@click.pass_context
@_guarded
def connections(
    ctx: click.Context,
    process: str | None,
    port: int | None,
    states: tuple[str, ...],
    remote: str | None,
    proto: str | None,
    watch: bool,
    interval: float,
    count: int | None,
    as_json: bool,
) -> None:
    """Every TCP and UDP socket of this host with its process, user and container.

    Read through netlink sock_diag (or /proc/net when unavailable); owners from /proc.
    """
    _config(ctx)
    try:
        flt = ConnectionFilter.build(process, port, states, remote, proto)
    except FilterError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    with SocketPoller() as poller:
        _warn(_privilege_note() + poller.warnings)

        def rows() -> list[Connection]:
            """One poll, filtered and sorted (listeners first)."""
            conns = flt.apply(poller.poll(info=True))
            conns.sort(
                key=lambda c: (c.transport, c.state != "LISTEN", c.local_port, c.remote_ip, c.remote_port)
            )
            return conns

        if watch:

            def view() -> RenderableType:
                """The table of one poll."""
                conns = rows()
                return connections_table(conns, f"{len(conns)} sockets ({poller.backend})")

            _watch(view, (lambda: _records(rows())) if as_json else None, interval, count)
        elif as_json:
            click.echo(dump_json(_records(rows())))
        else:
            conns = rows()
            Console().print(connections_table(conns, f"{len(conns)} sockets ({poller.backend})"))


@cli.command()
@click.option("--risk", type=click.Choice(["high", "medium", "low"]), help="Only this risk level and above.")
@click.option("--proto", type=_PROTO, help="Only tcp or only udp.")
@click.option("--json", "as_json", is_flag=True, help="Print the listening-port records as JSON.")
@click.pass_context
@_guarded
def ports(ctx: click.Context, risk: str | None, proto: str | None, as_json: bool) -> None:
    """Listening sockets: service name, owning program, bind scope and risk level.

    Risk rules live in the [ports] section of the configuration. Service names come from the IANA
    registry (/usr/share/wireshark/services), or /etc/services.
    """
    from flowradar.host.ports import RISK_ORDER, listening_ports

    cfg = _config(ctx)
    with SocketPoller() as poller:
        _warn(_privilege_note() + poller.warnings)
        found = listening_ports(poller, cfg.ports)
    if risk is not None:
        found = [p for p in found if RISK_ORDER[p.risk] <= RISK_ORDER[risk]]
    if proto is not None:
        found = [p for p in found if p.transport == proto]
    if as_json:
        click.echo(dump_json(_records(found)))
    else:
        high = sum(p.risk == "high" for p in found)
        Console().print(ports_table(found, f"{len(found)} listening sockets, {high} high risk"))


@cli.command()
@click.option("--watch", is_flag=True, help="Refresh every interval until Ctrl-C.")
@click.option("--interval", type=float, help="Seconds between samples (default: [host] interval_s).")
@click.option("--count", type=int, help="With --watch: stop after this many samples.")
@click.option("--processes", type=int, help="Processes listed (default: [host] processes).")
@click.option("--json", "as_json", is_flag=True, help="Print the HostMetrics record as JSON.")
@click.pass_context
@_guarded
def host(
    ctx: click.Context,
    watch: bool,
    interval: float | None,
    count: int | None,
    processes: int | None,
    as_json: bool,
) -> None:
    """Interface rates, CPU, memory, disk usage and I/O, and the busiest processes.

    Rates need two samples: the first output comes after one interval.
    """
    from flowradar.host.metrics import HostMonitor, HostSampler

    cfg = _config(ctx, host__interval_s=interval, host__processes=processes)
    if cfg.host.interval_s <= 0:
        raise CliError("--interval must be positive", EXIT_USAGE)
    if not watch:
        sampler = HostSampler(cfg.host)
        try:
            sampler.sample()
            time.sleep(cfg.host.interval_s)
            metrics = sampler.sample()
        finally:
            sampler.close()
        if as_json:
            click.echo(dump_json(dataclasses.asdict(metrics)))
        else:
            Console().print(host_view(metrics))
        return
    monitor = HostMonitor(cfg.host)
    monitor.start()
    try:
        monitor.wait_for(2, cfg.host.interval_s * 10 + 10)

        def latest() -> HostMetrics:
            """The newest sample (an error if sampling stopped)."""
            found = monitor.latest()
            if monitor.error or found is None:
                raise CliError(monitor.error or "no host metrics")
            return found

        _watch(
            lambda: host_view(latest(), monitor.history()),
            (lambda: dataclasses.asdict(latest())) if as_json else None,
            cfg.host.interval_s,
            count,
        )
    finally:
        monitor.stop()


@cli.command()
@click.option("--interval", default=1.0, show_default=True, help="Seconds between refreshes.")
@click.option("--count", type=int, help="Stop after this many refreshes.")
@click.option("--top", "rows", default=15, show_default=True, help="Rows per table.")
@click.option("--json", "as_json", is_flag=True, help="Print the rates as JSON (one document per refresh).")
@click.pass_context
@_guarded
def top(ctx: click.Context, interval: float, count: int | None, rows: int, as_json: bool) -> None:
    """Live bandwidth per process and per remote host (TCP), like bandwhich."""
    from flowradar.host.bandwidth import BandwidthMeter

    _config(ctx)
    if interval <= 0:
        raise CliError("--interval must be positive", EXIT_USAGE)
    with SocketPoller() as poller:
        _warn(_privilege_note() + poller.warnings)
        meter = BandwidthMeter(poller)
        meter.update()
        time.sleep(interval)
        if as_json and count is None:
            count = 1
        _watch(
            lambda: top_view(meter.update(), rows),
            (lambda: dataclasses.asdict(meter.update())) if as_json else None,
            interval,
            count,
        )
