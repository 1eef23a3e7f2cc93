"""SSH banners and DHCP host names: hand-built payloads and real captures (checked against tshark)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from tests.conftest import tshark_fields
from tests.engine.dissect.replay import replay, tcp_flows, udp_flows

from flowradar.engine.dissect import dhcp, ssh
from flowradar.engine.dissect.base import ORIG, RESP, L7Packet
from flowradar.model.flow import L7Facts

# ---------------------------------------------------------------------------------------------------
# SSH


def ssh_segment(direction: int, payload: bytes, seq: int) -> L7Packet:
    return L7Packet(direction, 0.0, "tcp", 40000, 22, payload, seq, 0x18)


def test_both_banners() -> None:
    d, facts = ssh.create(), L7Facts()
    assert d.feed(ssh_segment(RESP, b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n", 1), facts)
    assert not d.feed(ssh_segment(ORIG, b"SSH-2.0-PuTTY_Release_0.80\r\n\x00\x00\x01\x2c\x0a\x14", 1), facts)
    assert facts.ssh_server == "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13"
    assert facts.ssh_client == "SSH-2.0-PuTTY_Release_0.80"


def test_banner_split_and_preceded_by_other_lines() -> None:
    d, facts = ssh.create(), L7Facts()
    stream = b"Welcome to the host\r\nAuthorised use only\r\nSSH-1.99-Cisco-1.25\r\n"
    for i in range(0, len(stream), 5):
        d.feed(ssh_segment(RESP, stream[i : i + 5], 100 + i), facts)
    assert facts.ssh_server == "SSH-1.99-Cisco-1.25" and facts.ssh_client is None


def test_banner_is_bounded_and_sanitised() -> None:
    d, facts = ssh.create(), L7Facts()
    d.feed(ssh_segment(ORIG, b"SSH-2.0-x\x1b[31m" + b"y" * 400, 1), facts)
    assert facts.ssh_client is not None and len(facts.ssh_client) == ssh.MAX_BANNER
    assert facts.ssh_client.startswith("SSH-2.0-x?[31m")


def test_gives_up_without_banner() -> None:
    d, facts = ssh.create(), L7Facts()
    wants = [d.feed(ssh_segment(ORIG, b"hello there\n" * 8, 1), facts)]
    wants.append(d.feed(ssh_segment(RESP, b"HTTP/1.1 400 Bad Request\r\n" * 8, 1), facts))
    assert wants == [True, False] and facts.ssh_client is None and facts.ssh_server is None


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"SSH-2.0-OpenSSH_9.6\r\n", True),
        (b"SSH-1.99-OpenSSH_3.9p1\n", True),
        (b"SSH-2.0", False),
        (b"GET / HTTP/1.1\r\n", False),
        (b"", False),
    ],
)
def test_looks_like_ssh(payload: bytes, expected: bool) -> None:
    assert ssh.looks_like_ssh(payload) is expected


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["ssh.pcap", "single-conn.pcap"])
def test_ssh_banners_match_tshark(corpus: Path, name: str) -> None:
    pcap = corpus / "pcaps" / name
    expected: dict[tuple[int, int], str] = {}  # (stream, sender port) -> banner
    for row in tshark_fields(pcap, "ssh.protocol", ["tcp.stream", "tcp.srcport", "ssh.protocol"]):
        expected[(int(row[0]), int(row[1]))] = row[2]
    flows = tcp_flows(pcap)
    assert expected
    for (stream, port), banner in expected.items():
        facts, error = replay(flows[stream], ssh.create)
        assert error is None
        orig_port = flows[stream][0].orig_port
        assert (facts.ssh_client if port == orig_port else facts.ssh_server) == banner


@pytest.mark.corpus
def test_ssh_on_a_non_standard_port(corpus: Path) -> None:
    facts, _ = replay(tcp_flows(corpus / "pcaps" / "ssh.pcap")[1], ssh.create)
    assert facts.ssh_client == "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11"
    assert facts.ssh_server == "SSH-2.0-APACHE-SSHD-2.5.0"


# ---------------------------------------------------------------------------------------------------
# DHCP


def bootp(op: int, opts: bytes) -> bytes:
    """A BOOTP message with the magic cookie and the given encoded options (then End)."""
    fixed = struct.pack("!BBBBIHH", op, 1, 6, 0, 0x3903F326, 0, 0) + bytes(16) + bytes(16) + bytes(192)
    return fixed + dhcp.MAGIC + opts + b"\xff"


def option(code: int, value: bytes) -> bytes:
    return bytes([code, len(value)]) + value


def dhcp_packet(payload: bytes) -> L7Packet:
    return L7Packet(ORIG, 0.0, "udp", 68, 67, payload, 0, 0)


def test_hostname_from_option_12() -> None:
    request = bootp(
        1, option(53, b"\x03") + b"\x00\x00" + option(12, b"Lucas-iMac\x00") + option(81, b"\x04\x00\x00x")
    )
    facts = L7Facts()
    assert not dhcp.create().feed(dhcp_packet(request), facts)
    assert facts.dhcp_hostname == "Lucas-iMac"


@pytest.mark.parametrize(
    ("fqdn", "name"),
    [
        (b"\x05\x00\x00\x07laptop1\x04corp\x00", "laptop1.corp"),  # wire format (E bit)
        (b"\x01\x00\x00laptop2.corp.", "laptop2.corp"),  # deprecated ASCII form
        (b"\x05\x00\x00\x50bad", None),
        (b"\x05", None),
    ],
)
def test_hostname_from_client_fqdn(fqdn: bytes, name: str | None) -> None:
    assert dhcp.hostname(bootp(1, option(53, b"\x01") + option(81, fqdn))) == name


def test_server_messages_and_garbage_give_no_name() -> None:
    assert dhcp.hostname(bootp(2, option(12, b"assigned"))) is None
    assert dhcp.hostname(b"\x01" * 300) is None
    assert dhcp.options(bootp(1, b"\x0c\x40short")) == {}  # an option running past the end
    d, facts = dhcp.create(), L7Facts()
    wants = [d.feed(dhcp_packet(bootp(1, option(53, b"\x01"))), facts) for _ in range(dhcp.MAX_MESSAGES)]
    assert all(wants[:-1]) and not wants[-1] and facts.dhcp_hostname is None


def test_looks_like_dhcp() -> None:
    assert dhcp.looks_like_dhcp(bootp(1, b""))
    assert not dhcp.looks_like_dhcp(bootp(3, b""))
    assert not dhcp.looks_like_dhcp(bootp(1, b"")[:239])
    assert not dhcp.looks_like_dhcp(b"\x01" * 300)


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["1kxun.pcap", "android.pcap", "fuzz-2006-06-26-2594.pcap"])
def test_dhcp_hostnames_match_tshark(corpus: Path, name: str) -> None:
    pcap = corpus / "pcaps" / name
    rows = tshark_fields(
        pcap, "dhcp.option.hostname && dhcp.type == 1", ["udp.stream", "dhcp.option.hostname"]
    )
    expected = {int(stream): host for stream, host in reversed(rows)}  # the first per stream
    assert expected
    flows = udp_flows(pcap, "udp.port == 67 || udp.port == 68")
    found = {stream: replay(packets, dhcp.create)[0].dhcp_hostname for stream, packets in flows.items()}
    assert {stream: host for stream, host in found.items() if host} == expected
