"""DNS parser and dissector: hand-built messages, and real captures replayed against the corpus truth.

The replay helpers here (tshark extraction of per-stream payloads, fed in capture order to a fresh
dissector per flow) are shared by the other dissector tests.
"""

from __future__ import annotations

import itertools
import struct
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from tests.conftest import truth
from tests.engine.dissect.replay import replay, replay_all, tcp_flows, udp_flows

from flowradar.engine.dissect import dns
from flowradar.engine.dissect.base import ORIG, RESP, DissectError, L7Packet
from flowradar.model.flow import L7Facts

# ---------------------------------------------------------------------------------------------------
# Replay of real captures (shared helpers)

# ---------------------------------------------------------------------------------------------------
# Hand-built messages


def wire_name(name: str) -> bytes:
    """A name in uncompressed wire format ('' is the root)."""
    labels = [label.encode() for label in name.split(".") if label]
    return b"".join(bytes([len(lab)]) + lab for lab in labels) + b"\x00"


def rr(owner: bytes, rtype: int, rdata: bytes, ttl: int = 60) -> bytes:
    """One resource record with an already encoded owner name."""
    return owner + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def message(
    questions: list[tuple[bytes, int]],
    answers: Sequence[bytes] = (),
    *,
    response: bool = False,
    rcode: int = 0,
    opcode: int = 0,
    ident: int = 0x1234,
) -> bytes:
    """A DNS message from encoded questions (name, qtype) and encoded answer records."""
    flags = (0x8180 if response else 0x0100) | (opcode << 11) | rcode
    head = struct.pack("!HHHHHH", ident, flags, len(questions), len(answers), 0, 0)
    body = b"".join(name + struct.pack("!HH", qtype, 1) for name, qtype in questions)
    return head + body + b"".join(answers)


# A response for www.example.com: CNAME to edge.cdn.net (owner compressed to the question), and an
# A record owned by the CNAME target (compressed to the CNAME's rdata at offset 45).
CHAIN = message(
    [(wire_name("www.Example.com"), 1)],
    [rr(b"\xc0\x0c", 5, wire_name("edge.cdn.net")), rr(b"\xc0\x2d", 1, bytes([192, 0, 2, 7]), 30)],
    response=True,
)


def test_parse_query_header_and_question() -> None:
    msg = dns.parse_message(message([(wire_name("Example.COM"), 28)], ident=0xBEEF))
    assert (msg.id, msg.is_response, msg.opcode, msg.rcode) == (0xBEEF, False, 0, 0)
    assert msg.questions == [("example.com", 28)]
    assert msg.answers == [] and not msg.truncated


def test_compression_and_cname_chain() -> None:
    msg = dns.parse_message(CHAIN)
    assert msg.questions == [("www.example.com", 1)]
    assert msg.answers == [("www.example.com", 5, 60, "edge.cdn.net"), ("edge.cdn.net", 1, 30, "192.0.2.7")]


def test_dissector_attributes_answers_to_the_question() -> None:
    facts = L7Facts()
    d = dns.create()
    d.feed(L7Packet(ORIG, 0, "udp", 5000, 53, message([(wire_name("www.example.com"), 1)]), 0, 0), facts)
    assert d.feed(L7Packet(RESP, 0, "udp", 5000, 53, CHAIN, 0, 0), facts)
    assert facts.dns_queries == ["www.example.com"] and facts.dns_qtypes == ["A"]
    got = [(a.query, a.type, a.value, a.ttl, a.owner) for a in facts.dns_answers]
    assert got == [
        ("www.example.com", "CNAME", "edge.cdn.net", 60, "www.example.com"),
        ("www.example.com", "A", "192.0.2.7", 30, "edge.cdn.net"),
    ]
    assert facts.dns_rcode == "NOERROR"


@pytest.mark.parametrize(
    ("rtype", "rdata", "text"),
    [
        (1, bytes([10, 0, 0, 1]), "10.0.0.1"),
        (28, bytes.fromhex("20010db8000000000000000000000001"), "2001:db8::1"),
        (2, wire_name("ns1.Example.net"), "ns1.example.net"),
        (12, wire_name("host.example"), "host.example"),
        (15, b"\x00\x0a" + wire_name("mx.example"), "10 mx.example"),
        (16, b"\x05hello\x06 world", "hello world"),
        (16, b"\x03a\rb", "a\\rb"),
        (6, wire_name("ns.example") + wire_name("admin.example") + bytes(20), "ns.example"),
        (33, struct.pack("!HHH", 1, 5, 5060) + wire_name("sip.example"), "1 5 5060 sip.example"),
        (65280, b"\x01\x02\x03", "\\# 3 010203"),
        (10, bytes(100), "\\# 100 " + "00" * 64 + "..."),
    ],
)
def test_rdata_rendering(rtype: int, rdata: bytes, text: str) -> None:
    msg = dns.parse_message(message([(wire_name("q.example"), rtype)], [rr(b"\xc0\x0c", rtype, rdata)]))
    assert msg.answers == [("q.example", rtype, 60, text)]


def test_type_and_rcode_names() -> None:
    assert [dns.type_name(t) for t in (1, 28, 5, 65, 41, 4242)] == [
        "A",
        "AAAA",
        "CNAME",
        "HTTPS",
        "OPT",
        "TYPE4242",
    ]
    assert [dns.rcode_name(r) for r in (0, 2, 3, 5, 14)] == [
        "NOERROR",
        "SERVFAIL",
        "NXDOMAIN",
        "REFUSED",
        "RCODE14",
    ]


def test_cut_message_keeps_what_came_before() -> None:
    full = message(
        [(wire_name("a.example"), 1)],
        [rr(b"\xc0\x0c", 1, bytes([192, 0, 2, n])) for n in range(3)],
        response=True,
    )
    question_end = 12 + len(wire_name("a.example")) + 4
    for cut in range(12, len(full) + 1):
        msg = dns.parse_message(full[:cut])
        assert len(msg.questions) == (1 if cut >= question_end else 0)
        assert len(msg.answers) == max(0, (cut - question_end) // 16)
        assert msg.truncated == (cut < len(full))


def test_short_header_is_an_error() -> None:
    with pytest.raises(DissectError):
        dns.parse_message(b"\x12\x34\x01\x00")


@pytest.mark.parametrize(
    ("raw_name", "shown"),
    [
        (b"\x00", "<root>"),
        (b"\x07in-a\x1adr\x04arpa\x00", "in-a\\032dr.arpa"),
        (b"\x02%s\x00", "%s"),
        (b"\x03s\rp\x02dk\x00", "s\\rp.dk"),
        (b"\x03%s\x00\x02dk\x00", "%s\\000.dk"),
        (b"\x04arp\\\x00", "arp\\"),
        (b"\x05cyb\xf2r\x00", "cyb\ufffdr"),
        (b"\x06caf\xc3\xa9s\x00", "caf\u00e9s"),
        (b"\x04\x7f\x01AB\x00", "\\177\\001ab"),
        (b"\x4d_sip\x00", "<unknown extended label>"),
        (b"\x41\x0c\xab\xc0\x00", "\\[xabc0/12]"),
    ],
)
def test_names_are_rendered_like_tshark(raw_name: bytes, shown: str) -> None:
    msg = dns.parse_message(message([(raw_name, 1)]))
    assert msg.questions[0][0] == shown


def test_name_length_limit() -> None:
    longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])  # 253 characters
    assert dns.parse_message(message([(wire_name(longest), 1)])).questions == [(longest, 1)]
    too_long = longest + "d"
    assert dns.parse_message(message([(wire_name(too_long), 1)])).questions == [("<name too long>", 1)]


def test_pointer_loops_are_bounded() -> None:
    # the question name is a label then a pointer back to itself: an endless name
    looping = message([(b"\x03abc\xc0\x0c", 1)], [rr(b"\xc0\x0c", 1, bytes(4))] * 300, response=True)
    start = time.perf_counter()
    msg = dns.parse_message(looping)
    assert time.perf_counter() - start < 0.5
    assert msg.questions == [("<name contains a pointer that loops>", 1)]
    assert len(msg.answers) == 300
    self_pointer = message([(b"\xc0\x0c", 1)])
    assert dns.parse_message(self_pointer).questions == [("<name contains a pointer that loops>", 1)]


def test_compressed_root_and_bad_label_stop_the_parse() -> None:
    assert dns.parse_message(message([(wire_name("a.b"), 1), (b"\xc0\x10", 1)])).truncated
    bad = dns.parse_message(message([(b"\x83abc\x00", 1)]))
    assert bad.questions == [] and bad.truncated


def udp(direction: int, payload: bytes) -> L7Packet:
    return L7Packet(direction, 0.0, "udp", 40000, 53, payload, 0, 0)


def tcp(direction: int, payload: bytes, seq: int) -> L7Packet:
    return L7Packet(direction, 0.0, "tcp", 40000, 53, payload, seq, 0x18)


def test_queries_are_deduplicated_by_name_and_type() -> None:
    facts, d = L7Facts(), dns.create()
    for qtype in (1, 1, 28):
        d.feed(udp(ORIG, message([(wire_name("host.example"), qtype)])), facts)
    assert facts.dns_queries == ["host.example", "host.example"]
    assert facts.dns_qtypes == ["A", "AAAA"]
    d.feed(udp(RESP, message([(wire_name("host.example"), 1)], response=True, rcode=3)), facts)
    assert facts.dns_rcode == "NXDOMAIN"


def test_mdns_announcement_without_question_uses_the_owner() -> None:
    facts = L7Facts()
    announce = message([], [rr(wire_name("printer.local"), 1, bytes([169, 254, 1, 2]))], response=True)
    dns.create().feed(udp(ORIG, announce), facts)
    assert [(a.query, a.owner, a.value) for a in facts.dns_answers] == [
        ("printer.local", "printer.local", "169.254.1.2")
    ]


def test_tcp_messages_split_and_batched() -> None:
    query = message([(wire_name("one.example"), 1)])
    q2, q3 = message([(wire_name("two.example"), 1)]), message([(wire_name("three.example"), 1)])
    stream = b"".join(len(m).to_bytes(2, "big") + m for m in (query, q2, q3))
    facts, d = L7Facts(), dns.create()
    cuts = [0, 1, 7, 40, len(stream)]  # a length prefix split, then two messages in one segment
    segments = [(stream[a:b], 1000 + a) for a, b in itertools.pairwise(cuts)]
    for payload, seq in [segments[0], segments[2], segments[1], segments[3]]:  # one out of order
        assert d.feed(tcp(ORIG, payload, seq), facts)
    assert facts.dns_queries == ["one.example", "two.example", "three.example"]


def test_tcp_bad_length_prefix_is_an_error() -> None:
    with pytest.raises(DissectError):
        dns.create().feed(tcp(ORIG, b"\x00\x03abc", 1), L7Facts())


def test_garbage_stops_the_dissector() -> None:
    facts, d = L7Facts(), dns.create()
    assert d.feed(udp(ORIG, message([(wire_name("ok.example"), 1)])), facts)
    assert d.feed(udp(ORIG, b"\xff" * 8), facts)  # one bad datagram in a DNS flow is tolerated
    with pytest.raises(DissectError):
        for _ in range(3):
            d.feed(udp(ORIG, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), facts)
    assert facts.dns_queries == ["ok.example"]


def test_costly_names_exhaust_the_flow_budget() -> None:
    # every name loops through pointers: each message costs the whole per-message budget
    costly = message([(b"\x01a\xc0\x0c", 1)], [rr(b"\x01b\xc0\x0c", 1, bytes(4))] * 200, response=True)
    assert dns.parse_message(costly).steps == 4096
    facts, d = L7Facts(), dns.create()
    with pytest.raises(DissectError, match="costly"):
        for _ in range(dns.MAX_FLOW_STEPS // 4096 + 1):
            d.feed(udp(RESP, costly), facts)
    assert facts.dns_queries == ["<name contains a pointer that loops>"]


def test_message_limit() -> None:
    facts, d = L7Facts(), dns.create()
    query = udp(ORIG, message([(wire_name("t.example"), 16)]))
    wants = [d.feed(query, facts) for _ in range(dns.MAX_MESSAGES)]
    assert all(wants[:-1]) and not wants[-1]


@pytest.mark.parametrize(
    ("payload", "transport", "expected"),
    [
        (message([(wire_name("example.com"), 1)]), "udp", True),
        (CHAIN, "udp", True),
        (len(CHAIN).to_bytes(2, "big") + CHAIN, "tcp", True),
        (message([], [rr(wire_name("tv.local"), 1, bytes(4))], response=True), "udp", True),
        (message([(wire_name("example.com"), 1)], opcode=3), "udp", False),
        (message([]), "udp", False),
        (b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "tcp", False),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40), "udp", False),
        (b"\x00\x01", "udp", False),
        (CHAIN, "tcp", False),
    ],
)
def test_looks_like_dns(payload: bytes, transport: str, expected: bool) -> None:
    assert dns.looks_like_dns(payload, transport) is expected


# ---------------------------------------------------------------------------------------------------
# Real captures against the corpus truth

DNS_CAPTURES = [
    "dns.pcap",
    "dns53.pcap",
    "cond-log-dns-dig_input.pcap",
    "dns-tunnel-iodine.pcap",
    "dns_fragmented.pcap",  # IP-fragmented over IPv4 and IPv6, and two flows over TCP
    "malformed_dns.pcap",
    "dns-corrupt.pcap",
    "bad-dns-traffic.pcap",
    "badpackets.pcap",
    "android.pcap",
    "1kxun.pcap",
    "wikipedia.pcap",
    "fuzz-2006-06-26-2594.pcap",  # not scored upstream, but names must be escaped like tshark's
]


def dns_results(pcap: Path) -> list[tuple[L7Facts, str | None]]:
    """Every port-53 flow of a capture (UDP and TCP) through a fresh DNS dissector."""
    flows = list(udp_flows(pcap, "udp.port == 53").values()) + list(
        tcp_flows(pcap, "tcp.port == 53").values()
    )
    return [replay(packets, dns.create) for packets in flows]


@pytest.mark.corpus
@pytest.mark.parametrize("name", DNS_CAPTURES)
def test_dns_matches_truth(corpus: Path, name: str) -> None:
    expected = truth(name)["dns"]
    queries: set[str] = set()
    answers: set[tuple[str, str, str]] = set()
    by_owner: set[tuple[str, str, str]] = set()
    for facts, _ in dns_results(corpus / "pcaps" / name):
        queries.update(facts.dns_queries)
        for a in facts.dns_answers:
            if a.type in ("A", "AAAA", "CNAME"):
                answers.add((a.query, a.type, a.value))
                by_owner.add((a.owner, a.type, a.value))
    assert queries == set(expected["queries"])
    assert answers == {(a["query"], a["type"], a["value"]) for a in expected["answers"]}
    assert by_owner == {(a["owner"], a["type"], a["value"]) for a in expected["answers_by_owner"]}


@pytest.mark.corpus
def test_dns_over_tcp(corpus: Path) -> None:
    flows = tcp_flows(corpus / "pcaps" / "dns_fragmented.pcap", "tcp.port == 53")
    results = replay_all(flows, dns.create)
    assert len(results) == 2
    for facts, error in results:
        assert error is None
        assert facts.dns_queries == ["weberlab.de"] and facts.dns_qtypes == ["DNSKEY"]
        assert [a.type for a in facts.dns_answers] == ["DNSKEY", "DNSKEY", "RRSIG", "RRSIG"]


@pytest.mark.corpus
def test_iodine_tunnel_is_read_to_the_end(corpus: Path) -> None:
    (facts, error), *_ = dns_results(corpus / "pcaps" / "dns-tunnel-iodine.pcap")
    assert error is None
    assert len(facts.dns_queries) == len(truth("dns-tunnel-iodine.pcap")["dns"]["queries"])
    assert facts.dns_answers and all(a.type == "NULL" for a in facts.dns_answers)


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["dns.pcap", "cond-log-dns-dig_input.pcap", "dns-tunnel-iodine.pcap"])
def test_looks_like_dns_on_real_messages(corpus: Path, name: str) -> None:
    flows = udp_flows(corpus / "pcaps" / name, "udp.port == 53")
    payloads = [pkt.payload for packets in flows.values() for pkt in packets]
    assert payloads and all(dns.looks_like_dns(p, "udp") for p in payloads)
    first = tcp_flows(corpus / "pcaps" / "dns_fragmented.pcap", "tcp.port == 53")[0][0].payload
    assert dns.looks_like_dns(first, "tcp")
