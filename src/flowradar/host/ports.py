"""Listening ports: what this host exposes, under which service name, to whom, and how risky it is.

Scope: 'loopback' (127.0.0.0/8, ::1: this host only), 'all' (0.0.0.0 or ::, every interface) or
'specific' (one non-loopback address). The risk level follows the rules of :class:`PortsConfig`
(see its docstring, or the [ports] section of the configuration).
"""

from __future__ import annotations

import ipaddress

from flowradar.capture.sockets import SocketPoller
from flowradar.config import ConfigError, PortsConfig
from flowradar.host.services import ServiceRegistry, load_services
from flowradar.model.connection import Connection, ListeningPort

RISK_LEVELS = ("high", "medium", "low")
RISK_ORDER = {level: i for i, level in enumerate(RISK_LEVELS)}
SCOPES = ("loopback", "all", "specific")

_COMMON_NAMES = {
    21: "FTP",
    23: "telnet",
    139: "NetBIOS/SMB",
    445: "SMB",
    3389: "RDP",
    5900: "VNC",
    1433: "MSSQL",
    3306: "MySQL",
    5432: "PostgreSQL",
    6379: "Redis",
    9200: "Elasticsearch",
    11211: "memcached",
    27017: "MongoDB",
    22: "SSH",
    25: "SMTP",
}
"""Names used in risk reasons where the IANA name is unhelpful (9200 is registered as wap-wsp)."""


def bind_scope(ip: str) -> str:
    """'loopback', 'all' or 'specific' for a bound address (IPv4-mapped IPv6 judged as IPv4)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return "specific"
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_unspecified:
        return "all"
    return "loopback" if addr.is_loopback else "specific"


def check_rules(rules: PortsConfig) -> None:
    """Raise ConfigError when a level setting is not high, medium or low."""
    for name in ("unknown_exposed", "unknown_loopback"):
        if getattr(rules, name) not in RISK_LEVELS:
            raise ConfigError(
                f"ports: {name} must be one of high, medium, low (got {getattr(rules, name)!r})"
            )


def assess(port: int, scope: str, rules: PortsConfig) -> tuple[str, str]:
    """(risk level, reason) of a port bound with this scope."""
    exposed = scope != "loopback"
    where = "open on all interfaces" if scope == "all" else "open on a network address"
    what = _COMMON_NAMES.get(port, f"port {port}")
    if port in rules.risky_ports:
        if exposed:
            return "high", f"{what}: cleartext or remote-control service {where}"
        return "medium", f"{what}: cleartext or remote-control service on loopback"
    if port in rules.database_ports:
        if exposed:
            return "high", f"{what}: database or cache {where}"
        return "medium", f"{what}: database or cache on loopback"
    if port in rules.medium_ports:
        if exposed:
            return "medium", f"{what}: remote login, mail or directory service {where}"
        return "low", f"{what}: on loopback only"
    if port in rules.low_ports:
        return "low", f"{what}: web, DNS or time service"
    if exposed:
        return rules.unknown_exposed, f"unlisted port {where}"
    return rules.unknown_loopback, "unlisted port on loopback only"


def to_ports(conns: list[Connection], services: ServiceRegistry, rules: PortsConfig) -> list[ListeningPort]:
    """Listening records, highest risk first, then by port."""
    check_rules(rules)
    out: list[ListeningPort] = []
    for c in conns:
        if c.local_port == 0:
            continue
        scope = bind_scope(c.local_ip)
        risk, reason = assess(c.local_port, scope, rules)
        out.append(
            ListeningPort(
                transport=c.transport,
                ip_version=c.ip_version,
                address=c.local_ip,
                port=c.local_port,
                scope=scope,
                service=services.name(c.transport, c.local_port),
                risk=risk,
                risk_reason=reason,
                pid=c.pid,
                process=c.process,
                exe=c.exe,
                user=c.user,
                container=c.container,
            )
        )
    out.sort(key=lambda p: (RISK_ORDER.get(p.risk, 9), p.port, p.transport, p.address))
    return out


def listening_ports(
    poller: SocketPoller, rules: PortsConfig, services: ServiceRegistry | None = None
) -> list[ListeningPort]:
    """Every listening TCP socket and bound UDP socket of this host, with service, scope and risk."""
    if services is None:
        services = load_services(rules.services_file)
        if rules.services_file and services.source is None:
            raise ConfigError(f"ports: cannot read services_file {rules.services_file}")
    raws = poller.listening()
    return to_ports(poller.connections(raws), services, rules)
