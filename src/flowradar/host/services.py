"""Service names of ports, from the IANA registry as packaged by Debian.

Sources, first found wins: the ``[ports] services_file`` setting; ``/usr/share/wireshark/services``
(Debian's wireshark-common: the IANA Service Name and Transport Protocol Port Number Registry, one
line per name, ``name<TAB>port/tcp/udp/sctp  # description``); ``/etc/services`` (netbase, a
shorter hand-kept list, ``name port/proto [aliases]``). Lines that do not parse are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_FILES = (Path("/usr/share/wireshark/services"), Path("/etc/services"))
TRANSPORTS = ("tcp", "udp", "sctp", "dccp")


@dataclass(frozen=True, slots=True)
class ServiceRegistry:
    """(transport, port) -> service name."""

    names: Mapping[tuple[str, int], str] = field(default_factory=dict)
    source: str | None = None
    """File the names came from (None: no registry found)."""

    def name(self, transport: str, port: int) -> str | None:
        """Registered name of a port for a transport ('tcp' or 'udp'), if any."""
        return self.names.get((transport, port))


def parse_services(text: str) -> dict[tuple[str, int], str]:
    """Parse either file format; the first name given for a (transport, port) wins."""
    out: dict[tuple[str, int], str] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        port_text, *protos = fields[1].split("/")
        if not port_text.isdigit() or not protos:
            continue
        port = int(port_text)
        for proto in protos:
            if proto in TRANSPORTS and 0 < port < 65536:
                out.setdefault((proto, port), fields[0])
    return out


def load_services(path: str | None = None) -> ServiceRegistry:
    """The registry from ``path`` when given, else from the first default file that exists."""
    candidates = [Path(path)] if path else list(DEFAULT_FILES)
    for candidate in candidates:
        try:
            text = candidate.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        return ServiceRegistry(parse_services(text), str(candidate))
    return ServiceRegistry()
