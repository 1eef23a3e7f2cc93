"""Sub-commands for enrichment data: `flowradar data info|update` and `flowradar intel update|check`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from flowradar.enrich import datafiles
from flowradar.enrich.datafiles import DBIP_ATTRIBUTION, DataError
from flowradar.ui.cli import CliError, _config, _guarded, cli


def _data_dir(ctx: click.Context) -> Path:
    return datafiles.data_dir(_config(ctx).enrich.data_dir)


@cli.group()
def data() -> None:
    """Offline enrichment data: geography/ASN, threat lists, trackers (what, where, licence)."""


@data.command("info")
@click.pass_context
@_guarded
def data_info(ctx: click.Context) -> None:
    """List every data set, where it is installed, its licence and version."""
    base = _data_dir(ctx)
    table = Table(title=f"Enrichment data (data directory {base})", title_justify="left")
    for col in ("data set", "licence", "version", "where"):
        table.add_column(col, overflow="fold")
    for src in datafiles.sources(base):
        table.add_row(src.name, src.licence, src.version, src.path or "[red]missing[/]")
    console = Console()
    console.print(table)
    console.print(f"Geography and ASN: {DBIP_ATTRIBUTION}.", highlight=False)
    console.print(
        "Refresh when online: flowradar data update (DB-IP), flowradar intel update (threat lists)."
    )


@data.command("update")
@click.pass_context
@_guarded
def data_update(ctx: click.Context) -> None:
    """Download this month's DB-IP City Lite and ASN Lite (needs network access)."""
    from flowradar.enrich.update import update_geo

    try:
        for line in update_geo(_data_dir(ctx)):
            click.echo(line)
    except DataError as exc:
        raise CliError(f"data update failed: {exc}") from None


@cli.group()
def intel() -> None:
    """Threat-intel lists: refresh them, or check how a list file loads."""


@intel.command("update")
@click.pass_context
@_guarded
def intel_update(ctx: click.Context) -> None:
    """Download FireHOL level 1, Spamhaus DROP, ET, Feodo and URLhaus lists (needs network access)."""
    from flowradar.enrich.update import update_intel

    try:
        for line in update_intel(_data_dir(ctx)):
            click.echo(line)
    except DataError as exc:
        raise CliError(f"intel update failed: {exc}") from None


@intel.command("check")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
@_guarded
def intel_check(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Load list FILES (or, without FILES, every configured list) and report skipped lines and why."""
    from flowradar.enrich.intel import load_intel
    from flowradar.enrich.intel_formats import parse_file

    if files:
        reports = [parse_file(path, path.name)[1] for path in files]
    else:
        cfg = _config(ctx).enrich
        base = datafiles.data_dir(cfg.data_dir)
        try:
            reports = load_intel(base, cfg.intel_defaults, cfg.intel_files, cfg.misp_lists).reports
        except ValueError as exc:
            raise CliError(str(exc), 2) from None
    for report in reports:
        click.echo(report.summary())
        for lineno, reason, line in report.examples:
            click.echo(f"  line {lineno}: {reason}: {line}")
