"""One typed configuration, built once (defaults < file < environment < flags) and passed down."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Flow table and dissection settings."""

    max_flows: int = 2_000_000
    """Flows tracked at once; when full the least recently seen flow is evicted (and counted)."""
    idle_timeout_s: float = 120.0
    """A flow with no packet for this long is exported (reason 'idle')."""
    active_timeout_s: float = 1800.0
    """A flow older than this is exported (reason 'active') and continues as a new record."""
    l7_packets: int = 10
    """Payload packets per flow handed to dissectors before a dissector asks for more."""
    dissect_all_ports: tuple[int, ...] = (53, 5353, 5355)
    """Flows on these ports hand every payload packet to the dissectors (DNS: every question counts)."""
    dissect: bool = True
    """Run the L7 dissectors at all."""
    max_fragments: int = 4096
    """IP datagrams being reassembled at once."""


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """Live capture settings."""

    interface: str | None = None
    """Interface to capture on; None means the interface of the default route."""
    bpf: str | None = None
    """Optional BPF capture filter (tcpdump syntax)."""
    snaplen: int = 65535
    """Bytes kept per packet."""


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration of one flowradar process."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)


class ConfigError(ValueError):
    """The configuration file or an override is invalid (one line, shown as is)."""


def _coerce(section: Any, values: dict[str, Any], origin: str) -> Any:
    known = {f.name: f for f in fields(section)}
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in known:
            raise ConfigError(f"{origin}: unknown setting '{key}'")
        current = getattr(section, key)
        try:
            if isinstance(current, bool):
                value: Any = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
            elif isinstance(current, tuple):
                items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
                value = tuple(int(x) for x in items if str(x).strip())
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float):
                value = float(raw)
            else:
                value = None if raw in (None, "") else str(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: invalid value {raw!r} for '{key}'") from None
        changes[key] = value
    return replace(section, **changes)


def load_config(path: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Build the configuration: defaults, then a TOML file, then FLOWRADAR_<SECTION>_<KEY>, then flags.

    ``overrides`` use ``section__key`` names (``engine__idle_timeout_s=30``); None values are ignored.
    """
    cfg = Config()
    sections: dict[str, dict[str, Any]] = {"engine": {}, "capture": {}}
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc}") from None
        for name, values in data.items():
            if name not in sections or not isinstance(values, dict):
                raise ConfigError(f"{path}: unknown section [{name}]")
            sections[name].update(values)
    for key, value in (env if env is not None else dict(os.environ)).items():
        parts = key.lower().split("_", 2)
        if len(parts) == 3 and parts[0] == "flowradar" and parts[1] in sections:
            sections[parts[1]][parts[2]] = value
    for key, value in overrides.items():
        name, _, setting = key.partition("__")
        if value is not None and name in sections:
            sections[name][setting] = value
    return Config(
        engine=_coerce(cfg.engine, sections["engine"], "engine"),
        capture=_coerce(cfg.capture, sections["capture"], "capture"),
    )
