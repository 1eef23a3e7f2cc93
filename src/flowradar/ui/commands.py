"""Sub-commands: analyze (captures and live traffic) and live (terminal flow summary)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from flowradar.capture.base import PacketSource
from flowradar.config import Config
from flowradar.detect.runner import DetectionRunner, build_runner, detect_flows
from flowradar.engine.analyze import conclude
from flowradar.engine.pipeline import Engine
from flowradar.engine.summary import CaptureSummary
from flowradar.enrich.summary import EnrichStage
from flowradar.store.flowfile import FlowWriter, format_for
from flowradar.ui.cli import EXIT_NOTHING_READ, CliError, _config, _guarded, cli, dump_json, stderr_console
from flowradar.ui.tables import print_summary


def _open_source(
    capture: str | None, interface: str | None, bpf: str | None, duration: float | None, count: int | None
) -> PacketSource:
    if capture is not None and interface is not None:
        raise CliError("give either a CAPTURE file or --interface, not both", 2)
    if capture is not None:
        from flowradar.capture.files import open_capture

        if bpf:
            raise CliError("--bpf applies to live capture only", 2)
        return open_capture(capture)
    from flowradar.capture.live import LiveSource, default_interface

    return LiveSource(interface or default_interface(), bpf=bpf, max_packets=count, duration_s=duration)


def _progress(source: Any, console: Console, enabled: bool) -> Progress | None:
    size = getattr(source, "file_size", None)
    if not enabled or not console.is_terminal:
        return None
    columns: list[Any] = [TextColumn("[bold]reading"), BarColumn()]
    columns += [DownloadColumn(), TimeRemainingColumn()] if size else [TextColumn("{task.completed:,} bytes")]
    return Progress(*columns, console=console, transient=True)


def run_engine(
    engine: Engine,
    source: PacketSource,
    summary: CaptureSummary,
    writer: FlowWriter | None,
    console: Console,
    show_progress: bool,
    enrich: EnrichStage | None = None,
    runner: DetectionRunner | None = None,
) -> None:
    """Drive a source through the engine into the summary (and the flow file), with a progress bar.

    With ``enrich``, records are enriched (and briefly held for late DNS answers) before the file.
    With ``runner``, the detectors see every flow batch (live: also the active flows, every second).
    """
    progress = _progress(source, console, show_progress)
    task = progress.add_task("read", total=getattr(source, "file_size", None)) if progress else None
    if progress:
        progress.start()
    try:
        for flows in detect_flows(engine, source, runner, live=_is_live(source)):
            summary.add(flows)
            if enrich is not None:
                records = enrich.feed(flows)
                if runner is not None:
                    runner.observe_records(records)
                if writer is not None:
                    writer.write(records)
            elif writer is not None:
                writer.write(flows.records())
            if progress is not None and task is not None:
                progress.update(task, completed=getattr(source, "bytes_read", 0))
        if enrich is not None:
            records = enrich.finish()
            if runner is not None:
                runner.observe_records(records)
            if writer is not None:
                writer.write(records)
    finally:
        if progress:
            progress.stop()
        source.close()


def _is_live(source: PacketSource) -> bool:
    from flowradar.capture.live import LiveSource

    return isinstance(source, LiveSource)


@cli.command()
@click.argument("capture", required=False)
@click.option("-i", "--interface", help="Capture live on this interface instead of reading a file.")
@click.option("--bpf", help="BPF capture filter for live capture, e.g. 'tcp port 443'.")
@click.option("--duration", type=float, help="Live capture: stop after this many seconds.")
@click.option("--count", type=int, help="Live capture: stop after this many packets.")
@click.option(
    "--flows",
    "flows_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every flow record to FILE (.jsonl, .csv or .parquet).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the capture report (JSON, corpus truth schema) to FILE.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the capture report as JSON on stdout.")
@click.option("--top", default=10, show_default=True, help="Rows per table.")
@click.option("-q", "--quiet", is_flag=True, help="No tables and no progress bar (warnings still shown).")
@click.pass_context
@_guarded
def analyze(
    ctx: click.Context,
    capture: str | None,
    interface: str | None,
    bpf: str | None,
    duration: float | None,
    count: int | None,
    flows_path: Path | None,
    report_path: Path | None,
    as_json: bool,
    top: int,
    quiet: bool,
) -> None:
    """Analyze a capture file (pcap or pcapng, '-' for stdin) or live traffic.

    Prints top talkers, protocols, server names, DNS and HTTP tables. A truncated or corrupt capture
    yields everything readable plus one warning; the exit code is non-zero only when nothing could
    be read.
    """
    if capture is None and interface is None:
        raise CliError("give a CAPTURE file (or '-' for stdin) or --interface NAME", 2)
    cfg = _config(ctx)
    if flows_path is not None:
        format_for(flows_path)
    source = _open_source(capture, interface, bpf, duration, count)
    engine = Engine(cfg.engine)
    summary = CaptureSummary()
    console = stderr_console()
    writer = FlowWriter(flows_path) if flows_path is not None else None
    tables = not as_json and not quiet
    wanted = cfg.enrich.enabled and (tables or writer is not None)
    owners = process_enricher(cfg, console) if wanted and interface is not None else None
    stage = enrich_stage(cfg, console, [owners] if owners is not None else []) if wanted else None
    try:
        runner, dispatcher = build_runner(cfg.detect, cfg.alert)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    try:
        run_engine(engine, source, summary, writer, console, tables, stage, runner)
    finally:
        if writer is not None:
            writer.close()
        dispatcher.close(cfg.alert.timeout_s)
    conclude(summary, source, runner)
    for w in summary.warnings:
        console.print(f"[yellow]flowradar: warning:[/] {w}", highlight=False)
    if report_path is not None or as_json:
        report = summary.report()
        if report_path is not None:
            report_path.write_text(dump_json(report) + "\n")
        if as_json:
            click.echo(dump_json(report))
    if tables:
        print_summary(Console(), summary, engine.stats(), top, stage.summary if stage else None)
    if summary.packets == 0:
        raise CliError(f"nothing could be read from {capture or interface}", EXIT_NOTHING_READ)


def process_enricher(cfg: Config, console: Console) -> Any:
    """Start process attribution for traffic of this host (live capture); None when disabled."""
    from flowradar.enrich.process import ProcessEnricher

    if not cfg.process.enabled:
        return None
    proc = ProcessEnricher(cfg.process)
    proc.start()
    if proc.message:
        console.print(f"[yellow]flowradar: warning:[/] {proc.message}", highlight=False)
    return proc


def enrich_stage(cfg: Config, console: Console, extra: Sequence[Any] = ()) -> EnrichStage:
    """The enrichment pipeline of the configuration; load notes go to stderr as warnings."""
    from flowradar.enrich.pipeline import EnrichmentPipeline

    try:
        pipeline = EnrichmentPipeline.from_config(cfg.enrich, extra=list(extra))
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    for note in pipeline.messages:
        console.print(f"[yellow]flowradar: warning:[/] {note}", highlight=False)
    return EnrichStage(pipeline)


@cli.command()
@click.option("-i", "--interface", help="Interface (default: the one of the default route).")
@click.option("--bpf", help="BPF capture filter, e.g. 'not port 22'.")
@click.option("--top", default=15, show_default=True, help="Rows per table.")
@click.pass_context
@_guarded
def live(ctx: click.Context, interface: str | None, bpf: str | None, top: int) -> None:
    """Capture on an interface and show a live flow summary until Ctrl-C."""
    from rich.live import Live

    from flowradar.capture.live import LiveSource, default_interface
    from flowradar.ui.livestats import LiveView

    cfg = _config(ctx, capture__interface=interface, capture__bpf=bpf)
    name = cfg.capture.interface or default_interface()
    source = LiveSource(name, bpf=cfg.capture.bpf)
    engine = Engine(cfg.engine)
    console = Console()
    view = LiveView(name, top, process_enricher(cfg, Console(stderr=True)))
    with Live(view.render(engine), console=console, refresh_per_second=2, screen=False) as screen:
        last = 0.0
        try:
            for batch in source.batches():
                view.add(engine.feed(batch), batch.count)
                now = time.monotonic()
                if now - last >= 1.0:
                    view.add(engine.tick(time.time_ns()), 0)
                    screen.update(view.render(engine))
                    last = now
        finally:
            source.close()
            if view.owners is not None:
                view.owners.close()


from flowradar.ui import data_commands  # noqa: E402, F401  (data info/update, intel update/check)
