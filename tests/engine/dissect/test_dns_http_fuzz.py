"""Hostile input: random and mutated real messages through the parsers and every dissector's feed.

Nothing may raise except :class:`DissectError`. Seeds are hand-built messages plus, when the corpus
and tshark are available, real payloads from the corpus captures.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import CORPUS
from tests.engine.dissect.replay import replay, tcp_flows, udp_flows
from tests.engine.dissect.test_dns import CHAIN, message, rr, wire_name

from flowradar.engine.dissect import dhcp, dns, http, ssh
from flowradar.engine.dissect.base import ORIG, RESP, DissectError, L7Packet
from flowradar.model.flow import L7Facts

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DNS_BUILTIN = [
    CHAIN,
    message([(wire_name("example.com"), 1), (b"\xc0\x0c", 28)]),
    message(
        [(wire_name("svc.example"), 33)],
        [
            rr(b"\xc0\x0c", 33, b"\x00\x01\x00\x05\x13\xc4" + wire_name("sip.example")),
            rr(b"\xc0\x0c", 15, b"\x00\x0a\xc0\x0c"),
            rr(b"\xc0\x0c", 16, b"\x03abc\x02de"),
            rr(b"\xc0\x0c", 6, wire_name("ns.example") + b"\xc0\x0c" + bytes(20)),
        ],
        response=True,
    ),
]
HTTP_BUILTIN = [
    b"GET /a HTTP/1.1\r\nHost: a.example\r\nUser-Agent: ua/1\r\n\r\n"
    b"POST /b HTTP/1.1\r\nHost: b.example\r\nContent-Length: 4\r\n\r\nbody"
    b"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\nGET / HTTP/1.0\n\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok",
]


def _corpus_payloads(pcap: str, transport: str, display_filter: str, limit: int) -> list[bytes]:
    if shutil.which("tshark") is None or not (CORPUS / "pcaps" / pcap).exists():
        return []
    extract = udp_flows if transport == "udp" else tcp_flows
    flows = extract(CORPUS / "pcaps" / pcap, display_filter)
    return [pkt.payload for packets in flows.values() for pkt in packets][:limit]


@pytest.fixture(scope="module")
def dns_seeds() -> list[bytes]:
    """DNS messages (without TCP length prefix) to mutate."""
    seeds = list(DNS_BUILTIN)
    for pcap in (
        "dns.pcap",
        "malformed_dns.pcap",
        "bad-dns-traffic.pcap",
        "dns-tunnel-iodine.pcap",
        "android.pcap",
    ):
        seeds += _corpus_payloads(pcap, "udp", "udp.port == 53 || udp.port == 5353", 40)
    return seeds


@pytest.fixture(scope="module")
def http_seeds() -> list[bytes]:
    """HTTP segments (requests and responses) to mutate."""
    seeds = list(HTTP_BUILTIN)
    for pcap in ("methods.pcap", "wikipedia.pcap", "http_ua_splitted_in_two_pkts.pcapng"):
        seeds += _corpus_payloads(pcap, "tcp", "tcp.port == 80", 60)
    return seeds


@st.composite
def mutations(draw: st.DrawFn) -> Callable[[bytes], bytes]:
    """A random edit of a seed: byte overwrites (often compression pointers), then a cut."""
    edits = draw(st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), max_size=8))
    pointers = draw(st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 0x3FFF)), max_size=2))
    cut = draw(st.integers(0, 4096))

    def apply(seed: bytes) -> bytes:
        data = bytearray(seed)
        if not data:
            return b""
        for pos, value in edits:
            data[pos % len(data)] = value
        for pos, target in pointers:
            at = pos % len(data)
            data[at : at + 2] = (0xC000 | target).to_bytes(2, "big")
        return bytes(data[: cut % (len(data) + 1)])

    return apply


def segments(stream: bytes, cuts: list[int], base: int, direction: int = ORIG) -> list[L7Packet]:
    """A byte stream as TCP segments cut at the given points."""
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return [
        L7Packet(direction, 0.0, "tcp", 40000, 53, stream[a:b], (base + a) % (1 << 32), 0x18)
        for a, b in itertools.pairwise(points)
        if b > a
    ]


def check_dns_facts(facts: L7Facts) -> None:
    assert len(facts.dns_queries) == len(facts.dns_qtypes) <= dns.MAX_RECORDS
    assert len(facts.dns_answers) <= dns.MAX_RECORDS
    assert all(isinstance(q, str) for q in facts.dns_queries)


@FUZZ
@given(st.binary(max_size=700))
def test_parse_random_bytes(data: bytes) -> None:
    try:
        msg = dns.parse_message(data)
    except DissectError:
        assert len(data) < 12
        return
    assert all(isinstance(name, str) and isinstance(t, int) for name, t in msg.questions)
    assert all(isinstance(value, str) for _, _, _, value in msg.answers)
    assert isinstance(dns.looks_like_dns(data, "udp"), bool) and isinstance(
        dns.looks_like_dns(data, "tcp"), bool
    )


@FUZZ
@given(st.data(), mutations())
def test_parse_mutated_messages(
    dns_seeds: list[bytes], data: st.DataObject, mutate: Callable[[bytes], bytes]
) -> None:
    seed = data.draw(st.sampled_from(dns_seeds))
    mutated = mutate(seed)
    if len(mutated) >= 12:
        msg = dns.parse_message(mutated)
        assert len(msg.questions) <= len(mutated) and len(msg.answers) <= len(mutated)
    dns.looks_like_dns(mutated, "udp")


@FUZZ
@given(st.data(), st.lists(mutations(), min_size=1, max_size=5))
def test_dns_dissector_udp(
    dns_seeds: list[bytes], data: st.DataObject, edits: list[Callable[[bytes], bytes]]
) -> None:
    payloads = [edit(data.draw(st.sampled_from(dns_seeds))) for edit in edits]
    packets = [L7Packet(i % 2, 0.0, "udp", 40000, 53, p, 0, 0) for i, p in enumerate(payloads)]
    check_dns_facts(replay(packets, dns.create)[0])


@FUZZ
@given(
    st.data(),
    st.lists(mutations(), min_size=1, max_size=4),
    st.lists(st.integers(0, 10_000), max_size=6),
    st.integers(0, (1 << 32) - 1),
    st.booleans(),
)
def test_dns_dissector_tcp(
    dns_seeds: list[bytes],
    data: st.DataObject,
    edits: list[Callable[[bytes], bytes]],
    cuts: list[int],
    base: int,
    shuffle: bool,
) -> None:
    messages = [edit(data.draw(st.sampled_from(dns_seeds))) for edit in edits]
    stream = b"".join(len(m).to_bytes(2, "big") + m for m in messages)
    packets = segments(stream, cuts, base)
    if shuffle:
        packets = data.draw(st.permutations(packets))
    check_dns_facts(replay(packets, dns.create)[0])


@FUZZ
@given(st.binary(max_size=3000), st.lists(st.integers(0, 3000), max_size=6), st.integers(0, (1 << 32) - 1))
def test_tcp_dissectors_random_streams(stream: bytes, cuts: list[int], base: int) -> None:
    for direction in (ORIG, RESP):
        packets = segments(stream, cuts, base, direction)
        for factory in (dns.create, http.create, ssh.create):
            replay(packets, factory)
    assert isinstance(http.looks_like_http(stream), bool) and isinstance(ssh.looks_like_ssh(stream), bool)


@FUZZ
@given(st.data(), mutations(), st.lists(st.integers(0, 5000), max_size=8), st.integers(0, (1 << 32) - 1))
def test_http_dissector_mutated(
    http_seeds: list[bytes], data: st.DataObject, mutate: Callable[[bytes], bytes], cuts: list[int], base: int
) -> None:
    request = mutate(data.draw(st.sampled_from(http_seeds)))
    response = mutate(data.draw(st.sampled_from(http_seeds)))
    packets = segments(request, cuts, base, ORIG) + segments(response, cuts, base + 7, RESP)
    ordered = data.draw(st.permutations(packets)) if data.draw(st.booleans()) else packets
    facts, _error = replay(ordered, http.create)
    assert facts.http_requests <= http.MAX_REQUESTS
    assert len(facts.http_hosts) <= facts.http_requests and len(facts.http_user_agents) <= facts.http_requests


@FUZZ
@given(st.binary(max_size=1500), mutations())
def test_dhcp_random_and_mutated(data: bytes, mutate: Callable[[bytes], bytes]) -> None:
    base = (
        bytes([1, 1, 6, 0])
        + bytes(232)
        + dhcp.MAGIC
        + b"\x35\x01\x03\x0c\x04host\x51\x05\x05\x00\x00\x01a\xff"
    )
    for payload in (data, mutate(base), base[:240] + data):
        replay([L7Packet(ORIG, 0.0, "udp", 68, 67, payload, 0, 0)], dhcp.create)
        assert isinstance(dhcp.looks_like_dhcp(payload), bool)
