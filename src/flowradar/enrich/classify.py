"""Classification: address classes, flow direction, service names by port, registrable domains.

Address classes (first match wins): ``own`` (configured networks), ``loopback``, ``private``
(RFC 1918), ``cgnat`` (RFC 6598), ``link-local`` (169.254/16, fe80::/10), ``ula`` (fc00::/7),
``multicast``, ``broadcast`` (255.255.255.255), ``reserved`` (0/8, 240/4, documentation and
benchmark ranges, ::/128, ...) and ``public``. Every class but ``public`` counts as internal.

Direction: ``outbound`` (internal originator, external responder), ``inbound`` (the reverse),
``local`` (both internal), ``transit`` (both external).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from pathlib import Path

from flowradar.enrich.lru import CacheInfo, Lru
from flowradar.model.flow import FlowRecord

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network

_CLASS_NETS: tuple[tuple[str, str], ...] = (
    ("loopback", "127.0.0.0/8"),
    ("loopback", "::1/128"),
    ("private", "10.0.0.0/8"),
    ("private", "172.16.0.0/12"),
    ("private", "192.168.0.0/16"),
    ("cgnat", "100.64.0.0/10"),
    ("link-local", "169.254.0.0/16"),
    ("link-local", "fe80::/10"),
    ("ula", "fc00::/7"),
    ("multicast", "224.0.0.0/4"),
    ("multicast", "ff00::/8"),
    ("broadcast", "255.255.255.255/32"),
    ("reserved", "0.0.0.0/8"),
    ("reserved", "192.0.0.0/24"),
    ("reserved", "192.0.2.0/24"),
    ("reserved", "198.18.0.0/15"),
    ("reserved", "198.51.100.0/24"),
    ("reserved", "203.0.113.0/24"),
    ("reserved", "240.0.0.0/4"),
    ("reserved", "::/128"),
    ("reserved", "2001:db8::/32"),
    ("reserved", "100::/64"),
)
CLASSES = ("own", "loopback", "private", "cgnat", "link-local", "ula", "multicast", "broadcast")
"""Classes counted as internal (with ``reserved``); ``public`` is the only external class."""


class AddressClassifier:
    """Address class of an address text, cached (bounded)."""

    def __init__(self, own_networks: tuple[str, ...] = (), cache_size: int = 65536) -> None:
        nets: list[tuple[str, IPNet]] = []
        for text in own_networks:
            try:
                nets.append(("own", ipaddress.ip_network(text, strict=False)))
            except ValueError:
                raise ValueError(f"own_networks: not a network: {text!r}") from None
        nets += [(name, ipaddress.ip_network(net)) for name, net in _CLASS_NETS]
        self._nets = [(name, n.version, int(n.network_address), int(n.netmask)) for name, n in nets]
        self._cache: Lru[str, str] = Lru(cache_size)

    def classify(self, ip: str) -> str:
        """'public', 'private', 'loopback', ... (see the module documentation)."""
        hit = self._cache.get(ip)
        if hit is not None:
            return hit
        try:
            if ":" in ip:
                version, value = 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
                if value >> 32 == 0xFFFF:  # IPv4-mapped
                    version, value = 4, value & 0xFFFFFFFF
            else:
                version, value = 4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
        except OSError:
            return "reserved"
        found = "public"
        for name, net_version, network, mask in self._nets:
            if version == net_version and value & mask == network:
                found = name
                break
        self._cache.put(ip, found)
        return found

    def cache_info(self) -> CacheInfo:
        """The address-class cache."""
        return self._cache.info()


def direction(src_class: str, dst_class: str) -> str:
    """outbound, inbound, local or transit."""
    src_in, dst_in = src_class != "public", dst_class != "public"
    if src_in and dst_in:
        return "local"
    if src_in:
        return "outbound"
    if dst_in:
        return "inbound"
    return "transit"


_SERVICE_LINE = re.compile(r"^([A-Za-z0-9][\w.+-]*)\s+(\d+)/([a-z/]+)")


def load_services(path: Path | None) -> dict[tuple[str, int], str]:
    """(transport, port) -> service name from an IANA/``/etc/services`` style file."""
    out: dict[tuple[str, int], str] = {}
    if path is None:
        return out
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = _SERVICE_LINE.match(line)
            if m:  # 'name port/tcp' or, as Wireshark merges them, 'name port/tcp/udp/sctp'
                for proto in m.group(3).split("/"):
                    out.setdefault((proto, int(m.group(2))), m.group(1).lower())
    return out


def service_name(services: dict[tuple[str, int], str], transport: str, sport: int, dport: int) -> str | None:
    """Service of the server port: a well-known (< 1024) port first, the responder's port next."""
    if 0 < sport < 1024 <= dport:
        return services.get((transport, sport)) or services.get((transport, dport))
    return services.get((transport, dport)) or (services.get((transport, sport)) if sport < 1024 else None)


class DomainNames:
    """Registrable domain ("eTLD+1") of a host name through the Public Suffix List, cached."""

    def __init__(self, cache_size: int = 65536) -> None:
        from publicsuffixlist import PublicSuffixList

        self._psl = PublicSuffixList()
        self._icann = PublicSuffixList(only_icann=True)
        self._cache: Lru[str, str] = Lru(cache_size)

    def registrable(self, name: str) -> str | None:
        """'www.bbc.co.uk' -> 'bbc.co.uk', 's3.amazonaws.com' -> 'amazonaws.com'; 'co.uk' -> None."""
        hit = self._cache.get(name)
        if hit is not None:
            return hit or None
        host = name.strip().lower().rstrip(".")
        found = ""
        if host and not _looks_like_ip(host):
            # a name that is itself a private-section suffix (s3.amazonaws.com) falls back to ICANN rules
            found = self._psl.privatesuffix(host) or self._icann.privatesuffix(host) or ""
        self._cache.put(name, found)
        return found or None

    def cache_info(self) -> CacheInfo:
        """The domain cache."""
        return self._cache.info()


def _looks_like_ip(host: str) -> bool:
    return ":" in host or host.replace(".", "").isdigit()


class ClassifyEnricher:
    """Fills src_class, dst_class, direction, remote_ip and service."""

    name = "classify"

    def __init__(
        self, own_networks: tuple[str, ...] = (), services_path: Path | None = None, cache_size: int = 65536
    ) -> None:
        self.classifier = AddressClassifier(own_networks, cache_size)
        self.services = load_services(services_path)

    def enrich(self, record: FlowRecord) -> bool:
        """Classify one flow."""
        self.enrich_many([record])
        return True

    def enrich_many(self, records: list[FlowRecord]) -> None:
        """Classify every flow (each distinct address and port pair once per batch)."""
        classify, services = self.classifier.classify, self.services
        classes: dict[str, str] = {}
        names: dict[tuple[str, int, int], str | None] = {}
        for rec in records:
            e = rec.enrich
            src, dst = rec.src_ip, rec.dst_ip
            sc = classes.get(src)
            if sc is None:
                sc = classes[src] = classify(src)
            dc = classes.get(dst)
            if dc is None:
                dc = classes[dst] = classify(dst)
            e.src_class, e.dst_class = sc, dc
            e.direction = direction(sc, dc)
            e.remote_ip = src if (sc == "public" and dc != "public") else dst
            key = (rec.transport, rec.src_port, rec.dst_port)
            if key in names:
                e.service = names[key]
            else:
                e.service = names[key] = service_name(services, *key)

    def cache_info(self) -> CacheInfo:
        """The address-class cache."""
        return self.classifier.cache_info()

    def close(self) -> None:
        """Nothing to release."""
