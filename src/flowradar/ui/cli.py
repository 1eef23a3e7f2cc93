"""The flowradar command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from flowradar import __version__
from flowradar.capture.base import SourceError
from flowradar.config import Config, ConfigError, load_config
from flowradar.store.flowfile import FlowFileError

EXIT_USAGE = 2
EXIT_NOTHING_READ = 3
EXIT_INTERNAL = 70


class CliError(Exception):
    """An error shown to the user as one line on stderr."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _fail(message: str, code: int) -> None:
    click.echo(f"flowradar: error: {message}", err=True)
    sys.exit(code)


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every failure into one line on stderr and a non-zero exit: no traceback reaches the user."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CliError as exc:
            _fail(str(exc), exc.code)
        except (SourceError, ConfigError, FlowFileError) as exc:
            _fail(str(exc), 1)
        except KeyboardInterrupt:
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)
        except OSError as exc:
            _fail(f"{exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}", 1)
        except Exception as exc:  # last resort: still one line
            _fail(f"internal error: {type(exc).__name__}: {exc}", EXIT_INTERNAL)

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="flowradar")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="FLOWRADAR_CONFIG",
    help="TOML configuration file (settings may also come from FLOWRADAR_<SECTION>_<KEY>).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """flowradar: see who your machines talk to, over what, how much, and what looks wrong.

    \b
    Examples:
      flowradar analyze capture.pcap              tables of flows, protocols, server names, DNS, HTTP
      flowradar analyze capture.pcap --json       the capture report as JSON on stdout
      flowradar analyze x.pcapng --flows f.parquet  every flow record (.jsonl, .csv or .parquet)
      flowradar analyze -i eth0 --duration 10     the same for live traffic
      flowradar live                              live flow summary on the default interface
      flowradar serve                             dashboard, API and live feed for this host (127.0.0.1)
      flowradar connections --watch               sockets of this host with their processes
      flowradar ports                             listening ports, their programs and risk
      flowradar alerts list --since 1d            stored alerts; alerts ack/resolve UID
    """
    ctx.obj = config_path


def _config(ctx: click.Context, **overrides: Any) -> Config:
    try:
        return load_config(ctx.obj, **overrides)
    except ConfigError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def main() -> None:
    """Console entry point."""
    from flowradar.ui import alert_commands, commands, host_commands, server_commands  # noqa: F401  (registers the sub-commands)

    cli(prog_name="flowradar")


def dump_json(obj: Any) -> str:
    """Compact-but-readable JSON for machines."""
    return json.dumps(obj, indent=1, ensure_ascii=False)


def stderr_console() -> Console:
    """Console for progress and warnings (stdout stays clean for --json)."""
    return Console(stderr=True)
