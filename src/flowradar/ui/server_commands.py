"""Sub-commands of the server side: serve (API, live feed, single-host mode), agent, and token."""

from __future__ import annotations

import copy
import logging
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from flowradar.agent.collect import Collector, Sink
from flowradar.agent.feed import CaptureFeed
from flowradar.agent.live import InterfaceMeter, LiveSink
from flowradar.agent.snapshots import LiveSnapshots
from flowradar.capture.base import SourceError
from flowradar.config import Config
from flowradar.model.alert import Alert
from flowradar.ui.cli import EXIT_USAGE, CliError, _config, _guarded, cli, dump_json, stderr_console

log = logging.getLogger("flowradar")


def _warn(console: Console, message: str) -> None:
    console.print(f"[yellow]flowradar: warning:[/] {message}", highlight=False)


def _open_store(cfg: Config) -> Any:
    from flowradar.store import open_store
    from flowradar.store.base import StoreError

    try:
        return open_store(cfg.store)
    except StoreError as exc:
        hint = ""
        if cfg.store.backend == "duckdb" and "lock" in str(exc).lower():
            hint = (
                " (a running `flowradar serve` holds the DuckDB file: use --server URL to go through its API)"
            )
        raise CliError(f"cannot open the store: {exc}{hint}", 1) from None


def start_local(cfg: Config, collector: Collector, interface: str | None, console: Console) -> list[Any]:
    """Start this host's capture pipeline into ``collector``; return what must be closed at the end.

    Capture needs root (or CAP_NET_RAW): without it a warning is shown and sockets and metrics go on.
    """
    from flowradar.alert.delivery import Dispatcher, build_sinks
    from flowradar.alert.manager import AlertManager
    from flowradar.capture.live import LiveSource, default_interface
    from flowradar.detect.runner import DetectionRunner
    from flowradar.engine.pipeline import Engine
    from flowradar.ui.commands import enrich_stage, process_enricher

    name = interface or cfg.capture.interface or default_interface()
    try:
        source = LiveSource(name, bpf=cfg.capture.bpf, snaplen=cfg.capture.snaplen)
    except SourceError as exc:
        _warn(console, f"{exc}; flows will not be collected on this host")
        collector.start(None)
        return []
    dispatcher = Dispatcher(build_sinks(cfg.alert), cfg.alert)

    def deliver(alert: Alert) -> None:
        dispatcher(alert)
        collector.add_alert(copy.deepcopy(alert))

    runner = DetectionRunner(cfg.detect, AlertManager(cfg.alert, deliver))
    owners = process_enricher(cfg, console)
    stage = enrich_stage(cfg, console, [owners] if owners is not None else []) if cfg.enrich.enabled else None
    engine = Engine(cfg.engine)
    snapshots = None
    if collector.live is not None and cfg.agent.live_interval_s > 0:
        snapshots = LiveSnapshots(
            engine,
            stage.pipeline if stage is not None else None,
            collector.live.flows,
            cfg.agent.live_interval_s,
            cfg.agent.live_max_flows,
        )
    collector.start(CaptureFeed(source, engine, runner, stage, snapshots))
    return [dispatcher, owners]


def host_samplers(cfg: Config) -> tuple[Any, Any, list[Any]]:
    """Socket polling and host metrics for the flusher thread (and what to close)."""
    from flowradar.capture.sockets import SocketPoller
    from flowradar.host.metrics import HostSampler

    poller = SocketPoller()
    sampler = HostSampler(cfg.host)
    return (lambda: poller.poll(info=True)), sampler.sample, [poller, sampler]


def run_collector(
    cfg: Config,
    sink: Sink,
    interface: str | None,
    host: str | None,
    console: Console,
    live: LiveSink | None = None,
) -> Any:
    """A started collector of this host's flows, alerts, sockets and metrics, and a stop function.

    With ``live`` (the server's feed in single-host mode, an agent's LiveSender), active-flow
    snapshots and interface rates go to it every ``agent.live_interval_s``.
    """
    conns, metrics, closers = host_samplers(cfg)
    meter = InterfaceMeter() if live is not None else None
    collector = Collector(
        cfg.agent, sink, conns, metrics, host, live, meter.sample if meter is not None else None
    )
    closers += start_local(cfg, collector, interface, console)

    def stop() -> None:
        collector.stop()
        for item in closers:
            if item is not None:
                item.close()

    return collector, stop


def _wait_for_signal(duration: float | None) -> None:
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait(duration)


@cli.command()
@click.option("--host", "bind", help="Address to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="TCP port (default 8470).")
@click.option("-i", "--interface", help="Capture on this interface (default: the default route's).")
@click.option("--no-local", is_flag=True, help="Do not collect on this host (agents only).")
@click.pass_context
@_guarded
def serve(
    ctx: click.Context, bind: str | None, port: int | None, interface: str | None, no_local: bool
) -> None:
    """Serve the API, the live feed and /metrics; collect this host's traffic too (single-host mode).

    On first start the first admin's password is printed once. Agents report with ingest tokens
    from `flowradar token create --kind ingest --host NAME`.
    """
    from flowradar.server.runner import LocalLive, base_url, build_app, local_sink
    from flowradar.server.runner import serve as run_server

    cfg = _config(
        ctx, server__host=bind, server__port=port, server__local_sources=False if no_local else None
    )
    console = stderr_console()
    store = _open_store(cfg)
    try:
        app, password = build_app(cfg, store)
        stop = None
        if cfg.server.local_sources:
            name = socket.gethostname()
            live = LocalLive(app, name)
            _collector, stop = run_collector(cfg, local_sink(app), interface, name, console, live)
        out = Console()
        out.print(f"flowradar serving on [bold]{base_url(cfg)}[/] (API docs: /api/v1/docs)", highlight=False)
        if password is not None:
            out.print(
                f"first admin created: user [bold]{cfg.auth.admin_user}[/] password [bold]{password}[/]"
                " (shown this once)",
                highlight=False,
            )
        try:
            run_server(app, cfg)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        finally:
            if stop is not None:
                stop()
    finally:
        store.close()


@cli.command()
@click.option("--server", "server_url", help="Server URL, e.g. https://radar.example:8470.")
@click.option("--token", envvar="FLOWRADAR_AGENT_TOKEN", help="Ingest token (or FLOWRADAR_AGENT_TOKEN).")
@click.option("-i", "--interface", help="Capture on this interface (default: the default route's).")
@click.option("--ca", "ca_file", type=click.Path(exists=True, dir_okay=False), help="CA file to verify TLS.")
@click.option("--insecure", is_flag=True, help="Do not verify the server's TLS certificate (testing only).")
@click.option("--spool", "spool_dir", type=click.Path(file_okay=False), help="Spool directory.")
@click.option("--name", "host_name", help="Host name to report as (default: the token's host).")
@click.option("--duration", type=float, help="Stop after this many seconds (default: until Ctrl-C).")
@click.pass_context
@_guarded
def agent(
    ctx: click.Context,
    server_url: str | None,
    token: str | None,
    interface: str | None,
    ca_file: str | None,
    insecure: bool,
    spool_dir: str | None,
    host_name: str | None,
    duration: float | None,
) -> None:
    """Collect this host's flows, sockets, metrics and alerts and ship them to a server.

    Batches wait in a spool on disk while the server is away and are sent when it is back; live
    updates (open connections, interface rates) go straight to the server's feed every second.
    """
    from flowradar.agent.livesend import LiveSender
    from flowradar.agent.shipper import Shipper, spool_sink
    from flowradar.agent.spool import Spool
    from flowradar.enrich.datafiles import data_dir

    cfg = _config(
        ctx,
        agent__server=server_url,
        agent__token=token,
        agent__ca_file=ca_file,
        agent__insecure=True if insecure else None,
        agent__spool_dir=spool_dir,
        agent__host_name=host_name,
    )
    a = cfg.agent
    if not a.server or not a.token:
        raise CliError("give --server URL and --token TOKEN (or FLOWRADAR_AGENT_TOKEN)", EXIT_USAGE)
    if not a.server.startswith(("http://", "https://")):
        raise CliError("--server must start with http:// or https://", EXIT_USAGE)
    console = stderr_console()
    if a.insecure:
        _warn(console, "TLS verification is off (--insecure): anyone on the path can read and alter batches")
    logging.basicConfig(level=logging.WARNING, format="flowradar: %(levelname)s: %(message)s")
    spool = Spool(
        Path(a.spool_dir) if a.spool_dir else data_dir(cfg.enrich.data_dir) / "spool", a.spool_max_bytes
    )
    shipper = Shipper(a, spool)
    live = LiveSender(a) if a.live_interval_s > 0 else None
    shipper.start()
    if live is not None:
        live.start()
    sink = spool_sink(spool, a.compression)  # durable parts only: live updates are never spooled
    _collector, stop = run_collector(cfg, sink, interface, a.host_name, console, live)
    console.print(f"flowradar agent shipping to {a.server} (spool {spool.directory})", highlight=False)
    try:
        _wait_for_signal(duration)
    finally:
        stop()
        if live is not None:
            live.stop()
        shipper.stop(flush_s=5.0)
    if spool.dropped:
        _warn(console, f"{spool.dropped} batches were dropped because the spool was over its limit")


@cli.group()
def token() -> None:
    """API and ingest tokens: create, list, revoke (the store directly, or a server's API)."""


_SERVER = click.option(
    "--server", "server_url", help="Go through this running server's API instead of the store."
)
_API_TOKEN = click.option("--api-token", envvar="FLOWRADAR_API_TOKEN", help="Admin API token for --server.")
_USER = click.option(
    "--user", help="With --server and no --api-token: log in as this admin (password prompted)."
)


def _api(
    server: str, api_token: str | None, user: str | None, method: str, path: str, body: Any = None
) -> Any:
    """Call a server's admin API with an API token, or with a session after logging in as ``user``."""
    import httpx

    from flowradar.server.auth import CSRF_COOKIE

    if not api_token and not user:
        raise CliError(
            "--server needs --api-token TOKEN (or FLOWRADAR_API_TOKEN) or --user ADMIN", EXIT_USAGE
        )
    headers = {"Authorization": f"Bearer {api_token}"} if api_token else {}
    try:
        with httpx.Client(base_url=server.rstrip("/") + "/api/v1", timeout=10.0, headers=headers) as client:
            if not api_token:
                password = click.prompt(f"password of {user}", hide_input=True, err=True)
                login = client.post("/auth/login", json={"username": user, "password": password})
                if not login.is_success:
                    raise CliError(f"login refused: {login.text[:200]}", 1)
                client.headers["X-CSRF-Token"] = login.cookies.get(CSRF_COOKIE) or ""
            answer = client.request(method, path, json=body)
    except httpx.HTTPError as exc:
        raise CliError(f"cannot reach {server}: {exc}", 1) from None
    if not answer.is_success:
        raise CliError(f"{server} answered {answer.status_code}: {answer.text[:200]}", 1)
    return answer.json() if answer.content else None


@token.command("create")
@click.option("--kind", type=click.Choice(["ingest", "api"]), required=True, help="ingest (agents) or api.")
@click.option("--host", "host", help="Host name of an ingest token (the agent reports as this host).")
@click.option("--role", type=click.Choice(["viewer", "admin"]), help="Role of an API token (default viewer).")
@click.option("--name", help="A label for the token.")
@_SERVER
@_API_TOKEN
@_USER
@click.pass_context
@_guarded
def token_create(
    ctx: click.Context,
    kind: str,
    host: str | None,
    role: str | None,
    name: str | None,
    server_url: str | None,
    api_token: str | None,
    user: str | None,
) -> None:
    """Create a token and print it (it is shown this once; only its hash is stored)."""
    from flowradar.server.auth import create_token

    if kind == "ingest" and not host:
        raise CliError("an ingest token needs --host NAME", EXIT_USAGE)
    if server_url:
        made = _api(
            server_url,
            api_token,
            user,
            "POST",
            "/tokens",
            {"kind": kind, "host": host, "role": role, "name": name},
        )
        secret, token_id = made["token"], made["id"]
    else:
        store = _open_store(_config(ctx))
        try:
            secret, token_id = create_token(store, kind, name, role, host)
        except ValueError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        finally:
            store.close()
    click.echo(secret)
    target = f" for host {host}" if kind == "ingest" else f" ({role or 'viewer'})"
    stderr_console().print(f"token {token_id}{target}: shown this once, keep it secret", highlight=False)


@token.command("list")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@_SERVER
@_API_TOKEN
@_USER
@click.pass_context
@_guarded
def token_list(
    ctx: click.Context, as_json: bool, server_url: str | None, api_token: str | None, user: str | None
) -> None:
    """Every API and ingest token (never the secrets)."""
    from flowradar.server.auth import parse_session

    if server_url:
        rows = _api(server_url, api_token, user, "GET", "/tokens")
    else:
        store = _open_store(_config(ctx))
        try:
            rows = [
                {k: getattr(t, k) for k in ("id", "kind", "name", "role", "host", "created", "revoked")}
                for t in store.list_tokens()
                if parse_session(t.name) is None
            ]
        finally:
            store.close()
    if as_json:
        click.echo(dump_json(rows))
        return
    for r in rows:
        state = "revoked" if r["revoked"] else "live"
        who = r["host"] if r["kind"] == "ingest" else r["role"]
        click.echo(f"{r['id']:>5}  {r['kind']:<7} {state:<8} {who or '':<20} {r['name']}")


@token.command("revoke")
@click.argument("token_id", type=int)
@_SERVER
@_API_TOKEN
@_USER
@click.pass_context
@_guarded
def token_revoke(
    ctx: click.Context, token_id: int, server_url: str | None, api_token: str | None, user: str | None
) -> None:
    """Revoke a token by id (`flowradar token list` shows the ids)."""
    if server_url:
        _api(server_url, api_token, user, "DELETE", f"/tokens/{token_id}")
        return
    store = _open_store(_config(ctx))
    try:
        if not store.revoke_token(token_id):
            raise CliError(f"no live token with id {token_id}", 1)
    finally:
        store.close()
    click.echo(f"token {token_id} revoked")
