"""Well-known server ports: the application protocol a flow gets when its payload said nothing.

The tables follow the IANA service registry and the ports nDPI and nfstream use for their "by port"
guesses. Only ports whose protocol is one that :mod:`flowradar.engine.dissect.appid` can name are
listed; a port that is merely common (8443, 8080) maps to what runs there in practice.
"""

from __future__ import annotations

TCP_PORTS: dict[int, str] = {
    20: "ftp",
    21: "ftp",
    22: "ssh",
    23: "telnet",
    25: "smtp",
    53: "dns",
    80: "http",
    88: "kerberos",
    110: "pop3",
    139: "netbios",
    143: "imap",
    389: "ldap",
    443: "tls",
    445: "smb",
    465: "smtp",
    554: "rtsp",
    587: "smtp",
    601: "syslog",
    636: "ldap",
    853: "tls",
    989: "ftp",
    990: "ftp",
    992: "telnet",
    993: "imap",
    995: "pop3",
    1080: "socks",
    1194: "openvpn",
    1883: "mqtt",
    2525: "smtp",
    3128: "http-proxy",
    3268: "ldap",
    3269: "ldap",
    3306: "mysql",
    3389: "rdp",
    3478: "stun",
    5060: "sip",
    5061: "sip",
    5349: "stun",
    5432: "postgresql",
    5355: "llmnr",
    6379: "redis",
    6514: "syslog",
    6881: "bittorrent",
    6882: "bittorrent",
    6883: "bittorrent",
    6884: "bittorrent",
    6885: "bittorrent",
    6886: "bittorrent",
    6887: "bittorrent",
    6888: "bittorrent",
    6889: "bittorrent",
    8000: "http",
    8008: "http",
    8080: "http",
    8118: "http-proxy",
    8443: "tls",
    8554: "rtsp",
    8883: "mqtt",
    9050: "socks",
}
"""TCP server port -> application protocol."""

UDP_PORTS: dict[int, str] = {
    53: "dns",
    67: "dhcp",
    68: "dhcp",
    88: "kerberos",
    123: "ntp",
    137: "netbios",
    138: "netbios",
    161: "snmp",
    162: "snmp",
    389: "ldap",
    443: "quic",
    500: "ipsec",
    514: "syslog",
    546: "dhcpv6",
    547: "dhcpv6",
    1194: "openvpn",
    1900: "ssdp",
    3389: "rdp",
    3478: "stun",
    4500: "ipsec",
    5060: "sip",
    5349: "stun",
    5353: "mdns",
    5355: "llmnr",
    6771: "bittorrent",
    6881: "bittorrent",
    19302: "stun",
    51820: "wireguard",
}
"""UDP server port -> application protocol."""

PORT_PROTOCOLS: frozenset[str] = frozenset(TCP_PORTS.values()) | frozenset(UDP_PORTS.values())
"""Every name :func:`guess_by_port` can return."""


def guess_by_port(transport: str, orig_port: int, resp_port: int) -> str | None:
    """The protocol of the flow's well-known port, or None when neither port is in the table.

    When both ports are known, the well-known one (below 1024) wins, then the lower one: a client
    whose ephemeral port happens to be 5353 or 51820 talking to 443 is still TLS.
    """
    table = TCP_PORTS if transport == "tcp" else UDP_PORTS if transport == "udp" else None
    if table is None:
        return None
    best: tuple[bool, int] | None = None
    found: str | None = None
    for port in (resp_port, orig_port):
        proto = table.get(port)
        if proto is None:
            continue
        rank = (port >= 1024, port)
        if best is None or rank < best:
            best, found = rank, proto
    return found


_DNS_FAMILY = ((53, "dns"), (5353, "mdns"), (5355, "llmnr"), (137, "netbios"))
_MAIL_PORTS = {21: "ftp", 990: "ftp", 25: "smtp", 465: "smtp", 587: "smtp", 110: "pop3", 995: "pop3"}


def dns_family(orig_port: int, resp_port: int) -> str:
    """Which protocol of the DNS message format the ports point to (plain DNS when none does)."""
    for port, name in _DNS_FAMILY:
        if port in (orig_port, resp_port):
            return name
    return "dns"


def by_port_hint(orig_port: int, resp_port: int) -> str | None:
    """ftp, smtp or pop3 when a port says which, to read words they share ('USER', 'AUTH', '220')."""
    return _MAIL_PORTS.get(resp_port) or _MAIL_PORTS.get(orig_port)
