"""Filters of `flowradar connections`: process, port, state, remote network, transport."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from flowradar.capture.sockets import STATE_NAMES
from flowradar.model.connection import Connection

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_ALIASES = {
    "ESTAB": "ESTABLISHED",
    "SYN_RECEIVED": "SYN_RECV",
    "LISTENING": "LISTEN",
    "UNCONNECTED": "UNCONN",
}


class FilterError(ValueError):
    """A filter value is invalid (one line, shown to the user as is)."""


def state_key(text: str) -> str:
    """Normalise a state as users type it ('time-wait', 'estab') to the kernel name ('TIME_WAIT')."""
    key = text.strip().upper().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in STATE_NAMES:
        raise FilterError(f"unknown state '{text}' (one of: {', '.join(sorted(STATE_NAMES)).lower()})")
    return key


@dataclass(frozen=True, slots=True)
class ConnectionFilter:
    """Every given criterion must hold; an empty filter keeps everything."""

    process: str | None = None
    """Process name (case-insensitive substring) or pid."""
    port: int | None = None
    """Local or remote port."""
    states: frozenset[str] = frozenset()
    """Kernel state names; any of them."""
    remote: Network | None = None
    """Remote address inside this network."""
    transport: str | None = None
    """'tcp' or 'udp'."""

    @classmethod
    def build(
        cls,
        process: str | None = None,
        port: int | None = None,
        states: Iterable[str] = (),
        remote: str | None = None,
        transport: str | None = None,
    ) -> ConnectionFilter:
        """Validate user input; raises FilterError with a one-line message."""
        if port is not None and not 0 <= port <= 65535:
            raise FilterError(f"port {port} is out of range")
        network = None
        if remote:
            try:
                network = ipaddress.ip_network(remote, strict=False)
            except ValueError:
                raise FilterError(f"'{remote}' is not an address or network (e.g. 10.0.0.0/8)") from None
        return cls(process, port, frozenset(state_key(s) for s in states), network, transport)

    def _process_ok(self, c: Connection) -> bool:
        wanted = self.process
        if wanted is None:
            return True
        if wanted.isdigit():
            return c.pid == int(wanted)
        return c.process is not None and wanted.lower() in c.process.lower()

    def _remote_ok(self, c: Connection) -> bool:
        if self.remote is None:
            return True
        if c.remote_port == 0 and c.state in ("LISTEN", "UNCONN"):
            return False
        try:
            return ipaddress.ip_address(c.remote_ip) in self.remote
        except ValueError:
            return False

    def matches(self, c: Connection) -> bool:
        """Whether one connection passes."""
        return (
            (self.transport is None or c.transport == self.transport)
            and (self.port is None or self.port in (c.local_port, c.remote_port))
            and (not self.states or c.state in self.states)
            and self._process_ok(c)
            and self._remote_ok(c)
        )

    def apply(self, conns: Iterable[Connection]) -> list[Connection]:
        """The connections that pass."""
        return [c for c in conns if self.matches(c)]
