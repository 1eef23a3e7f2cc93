"""Address classes, direction, service names and registrable domains."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.enrich.helpers import record

from flowradar.enrich import datafiles
from flowradar.enrich.classify import (
    AddressClassifier,
    ClassifyEnricher,
    DomainNames,
    direction,
    load_services,
    service_name,
)

CLASSES = [
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("172.32.0.1", "public"),
    ("192.168.100.7", "private"),
    ("100.64.0.1", "cgnat"),
    ("100.127.255.254", "cgnat"),
    ("100.128.0.1", "public"),
    ("169.254.10.20", "link-local"),
    ("fe80::1", "link-local"),
    ("fd12:3456::1", "ula"),
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::fb", "multicast"),
    ("255.255.255.255", "broadcast"),
    ("0.0.0.0", "reserved"),
    ("192.0.2.55", "reserved"),
    ("2001:db8::1", "reserved"),
    ("8.8.8.8", "public"),
    ("2a00:1450:4001:80b::200e", "public"),
    ("::ffff:10.0.0.1", "private"),
]


@pytest.mark.parametrize(("ip", "cls"), CLASSES)
def test_address_classes(ip: str, cls: str) -> None:
    assert AddressClassifier().classify(ip) == cls


def test_own_networks_win_and_are_validated() -> None:
    c = AddressClassifier(("203.0.113.0/24", "2001:db8:1::/48"))
    assert c.classify("203.0.113.9") == "own"
    assert c.classify("2001:db8:1::5") == "own"
    assert c.classify("203.0.114.1") == "public"
    with pytest.raises(ValueError, match="own_networks"):
        AddressClassifier(("not-a-net",))


@pytest.mark.parametrize(
    ("src", "dst", "expected"),
    [
        ("private", "public", "outbound"),
        ("public", "private", "inbound"),
        ("private", "loopback", "local"),
        ("public", "public", "transit"),
        ("own", "public", "outbound"),
    ],
)
def test_direction(src: str, dst: str, expected: str) -> None:
    assert direction(src, dst) == expected


def test_services_from_the_iana_registry() -> None:
    path = datafiles.services_file(None)
    assert path is not None, "wireshark-common or /etc/services is installed"
    services = load_services(path)
    assert service_name(services, "tcp", 51000, 443) == "https"
    assert service_name(services, "udp", 40000, 53) == "domain"
    assert service_name(services, "tcp", 40000, 22) == "ssh"
    assert service_name(services, "udp", 123, 40000) == "ntp"  # well-known originator port
    assert service_name(services, "tcp", 40000, 1) in ("tcpmux", None)


def test_services_file_format(tmp_path: Path) -> None:
    f = tmp_path / "services"
    f.write_text("# comment\nhttp 80/tcp www # WorldWideWeb\nmyapp 7777/udp\nbroken line\n")
    assert load_services(f) == {("tcp", 80): "http", ("udp", 7777): "myapp"}


@pytest.mark.parametrize(
    ("name", "domain"),
    [
        ("www.bbc.co.uk", "bbc.co.uk"),
        ("bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com"),
        ("a.b.example.com", "example.com"),
        ("Example.COM.", "example.com"),
        ("pic.1kxun.com", "1kxun.com"),
        ("foo.github.io", "foo.github.io"),  # private section of the PSL
        ("s3.amazonaws.com", "amazonaws.com"),  # itself a private suffix: ICANN rules
        ("x.y.kawasaki.jp", "x.y.kawasaki.jp"),  # wildcard rule *.kawasaki.jp
        ("co.uk", None),
        ("8.8.8.8", None),
        ("", None),
    ],
)
def test_registrable_domain(name: str, domain: str | None) -> None:
    assert DomainNames(100).registrable(name) == domain


def test_enricher_sets_classes_direction_remote_and_service() -> None:
    e = ClassifyEnricher((), datafiles.services_file(None))
    out = record("192.168.1.2", "93.184.216.34", 50000, 443)
    inbound = record("198.51.100.20", "10.0.0.5", 50000, 22)
    inbound.src_ip = "81.2.69.142"
    e.enrich_many([out, inbound])
    assert (out.enrich.src_class, out.enrich.dst_class, out.enrich.direction) == (
        "private",
        "public",
        "outbound",
    )
    assert out.enrich.remote_ip == "93.184.216.34" and out.enrich.service == "https"
    assert inbound.enrich.direction == "inbound" and inbound.enrich.remote_ip == "81.2.69.142"
    assert inbound.enrich.service == "ssh"
