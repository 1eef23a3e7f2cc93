"""`flowradar alerts`: list alerts, acknowledge and resolve them from the terminal.

Like `flowradar token`, each command works on the store directly (when no server holds it) or, with
``--server URL``, through a running server's API (listing needs a viewer, the rest an admin).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import click
from rich import box
from rich.console import Console
from rich.table import Table

from flowradar.model.alert import SEVERITIES
from flowradar.ui.cli import EXIT_USAGE, CliError, _config, _guarded, cli, dump_json
from flowradar.ui.server_commands import _API_TOKEN, _SERVER, _USER, _api, _open_store

_STATUSES = ("open", "acknowledged", "resolved")
_SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


@cli.group()
def alerts() -> None:
    """Alerts raised by the detectors: list, acknowledge, resolve (the store, or a server's API)."""


def parse_since(text: str | None, now: float) -> float | None:
    """'30m', '2h', '7d' or plain seconds -> the epoch time that long before ``now`` (None: no bound)."""
    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    try:
        value = float(number)
    except ValueError:
        raise CliError(f"--since {text!r}: expected a duration such as 30m, 2h or 7d", EXIT_USAGE) from None
    if value < 0:
        raise CliError(f"--since {text!r}: a duration cannot be negative", EXIT_USAGE)
    return now - value * units[unit]


def _query(filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Alerts from the store matching ``filters`` (AlertQuery fields), newest first."""
    from flowradar.store.base import AlertQuery

    store = _open_store(_config(click.get_current_context()))
    try:
        return list(store.alerts(AlertQuery(**filters)).items)
    finally:
        store.close()


@alerts.command("list")
@click.option("--status", type=click.Choice(_STATUSES), help="Only alerts in this state.")
@click.option("--kind", help="Only this kind, as in the kind column (scan, flood, beacon, ...).")
@click.option("--severity", type=click.Choice(SEVERITIES), help="This severity and above.")
@click.option("--host", "host", help="Only alerts reported by this host.")
@click.option("--since", help="Last evidence within this long: 30m, 2h, 7d (default: any time).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000), help="Rows at most.")
@click.option("--json", "as_json", is_flag=True, help="JSON on stdout.")
@_SERVER
@_API_TOKEN
@_USER
@_guarded
def alerts_list(
    status: str | None,
    kind: str | None,
    severity: str | None,
    host: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
    server_url: str | None,
    api_token: str | None,
    user: str | None,
) -> None:
    """Alerts, newest first: severity, kind, subject, message, status and uid."""
    filters = {
        "start": parse_since(since, time.time()),
        "host": host,
        "status": status,
        "kind": kind,
        "min_severity": severity,
        "limit": limit,
    }
    if server_url:
        params = urlencode({k: v for k, v in filters.items() if v is not None})
        rows = _api(server_url, api_token, user, "GET", f"/alerts?{params}")["items"]
    else:
        rows = _query(filters)
    if as_json:
        click.echo(dump_json(rows))
        return
    Console().print(alerts_table(rows))


def alerts_table(rows: list[dict[str, Any]]) -> Table:
    """A readable table of alert rows (``Alert.to_dict()`` plus ``host``)."""
    table = Table(title=f"Alerts ({len(rows)})", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("last seen", "severity", "kind", "subject", "message", "status", "host", "uid"):
        table.add_column(column, overflow="fold" if column == "message" else "ellipsis")
    for r in rows:
        seen = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(r.get("last_seen") or 0)))
        severity = str(r.get("severity", ""))
        style = _SEVERITY_STYLE.get(severity)
        table.add_row(
            seen,
            f"[{style}]{severity}[/]" if style else severity,
            f"{r.get('kind', '')}/{r.get('type', '')}",
            str(r.get("subject_ip") or r.get("subject_host") or ""),
            str(r.get("message", "")),
            str(r.get("status", "")),
            str(r.get("host") or ""),
            str(r.get("uid", "")),
        )
    return table


def _set_status(
    uid: str, status: str, server_url: str | None, api_token: str | None, user: str | None
) -> None:
    """Set one alert's status through the server's API or in the store; error when no such alert."""
    if server_url:
        action = "acknowledge" if status == "acknowledged" else "resolve"
        _api(server_url, api_token, user, "POST", f"/alerts/{uid}/{action}")
    else:
        store = _open_store(_config(click.get_current_context()))
        try:
            found = store.update_alert_status(uid, status)
        finally:
            store.close()
        if not found:
            raise CliError(f"no alert with uid '{uid}'", 1)
    click.echo(f"{uid} {status}")


@alerts.command("ack")
@click.argument("uid")
@_SERVER
@_API_TOKEN
@_USER
@_guarded
def alerts_ack(uid: str, server_url: str | None, api_token: str | None, user: str | None) -> None:
    """Acknowledge the alert UID (seen by a person; it stays listed until resolved)."""
    _set_status(uid, "acknowledged", server_url, api_token, user)


@alerts.command("resolve")
@click.argument("uid")
@_SERVER
@_API_TOKEN
@_USER
@_guarded
def alerts_resolve(uid: str, server_url: str | None, api_token: str | None, user: str | None) -> None:
    """Resolve the alert UID (the finding is dealt with)."""
    _set_status(uid, "resolved", server_url, api_token, user)
