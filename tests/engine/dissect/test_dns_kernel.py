"""The compiled DNS kernel against its reference, the Python parser: identical facts and state.

Each example feeds the same packets to :class:`dns.DnsDissector` (compiled kernel, Python parser for
what it declines) and :class:`dns.ReferenceDnsDissector` (Python parser alone) and compares what
``feed`` returns, the error raised, the flow's facts and the dissector's counters and seen sets.
Payloads are random bytes, hand-built edge cases and mutated real messages (the fuzz seeds).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.engine.dissect.test_dns import CHAIN, message, rr, wire_name
from tests.engine.dissect.test_dns_http_fuzz import (
    DNS_BUILTIN,
    FUZZ,
    _corpus_payloads,
    mutations,
    segments,
)

from flowradar.engine.dissect import _dnsc, dns
from flowradar.engine.dissect.base import DissectError, L7Packet
from flowradar.model.flow import L7Facts

_Q = wire_name("www.Example.com")
EDGE = [
    # names: non-ASCII and control bytes (rendered by Python), a label that reads "<ROOT>", the root
    message(
        [(b"\x05caf\xc3\xa9\x03com\x00", 1), (b"\x03a\rb\x00", 16), (b"\x06<ROOT>\x00", 1), (b"\x00", 2)]
    ),
    message([(b"\x04\xff\xfeab\x00", 1)], [rr(b"\xc0\x0c", 1, b"\x01\x02\x03\x04")], response=True),
    # a pointer loop, a pointer to itself, an unknown extended label, a bitstring label
    message([(b"\x01a\xc0\x0c", 1)], [rr(b"\xc0\x0c", 5, b"\xc0\x0c")], response=True),
    message([(b"\xc0\x0c", 1)]),
    message([(b"\x01a\x42xx\x00", 1)], response=True),
    message([(b"\x41\x10\xab\xcd\x00", 12)], [rr(b"\xc0\x0c", 12, b"\x41\x08\x01\x00")], response=True),
    # a name over 253 bytes, 600 one-byte labels (over the per-name step budget)
    message([((b"\x3f" + b"x" * 63) * 5 + b"\x00", 1)], [rr(b"\xc0\x0c", 1, bytes(4))], response=True),
    message([(b"\x01a" * 600 + b"\x00", 1)]),
    # every rdata form: MX, SRV, SOA, NS, PTR, DNAME, TXT (plain and not), AAAA, odd lengths, empty
    message(
        [(_Q, 255)],
        [
            rr(b"\xc0\x0c", 15, b"\x00\x0a\xc0\x0c"),
            rr(b"\xc0\x0c", 15, b"\x00\x0a"),
            rr(b"\xc0\x0c", 33, b"\x00\x01\x00\x05\x13\xc4" + wire_name("Sip.Example")),
            rr(b"\xc0\x0c", 33, b"\x00\x01\x00"),
            rr(b"\xc0\x0c", 6, wire_name("ns.example") + b"\xc0\x0c" + bytes(20)),
            rr(b"\xc0\x0c", 2, b"\xc0\x0c"),
            rr(b"\xc0\x0c", 12, b""),
            rr(b"\xc0\x0c", 39, b"\x01x\x00"),
            rr(b"\xc0\x0c", 16, b"\x03abc\x02de\x05"),
            rr(b"\xc0\x0c", 16, b"\x04a\x00\xe9b"),
            rr(b"\xc0\x0c", 99, b"\x07\xc3\xa9t\xc3\xa9!!"),
            rr(b"\xc0\x0c", 28, bytes(15) + b"\x01"),
            rr(b"\xc0\x0c", 28, b"\x20\x01\x0d\xb8" + bytes(12)),
            rr(b"\xc0\x0c", 1, b"\x01\x02\x03"),
            rr(b"\xc0\x0c", 10, bytes(80)),
            rr(b"\xc0\x0c", 300, b""),
            rr(b"\xc0\x0c", 16, b"\xff" + b"a" * 255 + b"\xff" + b"b" * 255 * 4 + b"\xfe" * 1200),
        ],
        response=True,
        rcode=3,
    ),
    # several questions (more than the kernel's tables), a response without questions, errors
    message([(wire_name(f"h{i}.Example"), i) for i in range(70)]),
    message([], [rr(wire_name("x.example"), 1, bytes(4)) for _ in range(3)], response=True),
    message([(_Q, 1)] * 3, [rr(b"\xc0\x0c", 1, bytes([i, 1, 2, 3])) for i in range(70)], response=True),
    message([(_Q, 1), (wire_name("b.example"), 1)], [rr(b"\xc0\x0c", 1, bytes(4))], response=True),
    message([], response=True, rcode=12),
    message([], response=False),
    CHAIN,
]


@pytest.fixture(scope="module")
def seeds() -> list[bytes]:
    """Hand-built and real DNS messages (without TCP length prefix)."""
    real = [p for pcap in ("dns.pcap", "malformed_dns.pcap", "dns-tunnel-iodine.pcap", "android.pcap")
            for p in _corpus_payloads(pcap, "udp", "udp.port == 53 || udp.port == 5353", 40)]  # fmt: skip
    return EDGE + DNS_BUILTIN + real


def _run(cls: type[dns.DnsDissector], packets: list[L7Packet], prefill: int) -> tuple[object, ...]:
    """Feed every packet to one dissector; its return values, error, facts and state."""
    d, facts = cls(), L7Facts()
    d._questions.update((f"q{i}", 1) for i in range(prefill))
    d._answers.update((f"q{i}", "A", "", "") for i in range(prefill))
    wants, error = [], None
    for pkt in packets:
        try:
            wants.append(d.feed(pkt, facts))
        except DissectError as exc:
            error = str(exc)
            break
    state = (d._messages, d._bad, d._steps, d._stopped, d._questions, d._answers)
    return wants, error, facts, state


def _same(payloads: list[bytes], prefill: int = 0, cuts: list[int] | None = None) -> None:
    """Compare both dissectors on UDP messages, or (with cuts) on one TCP stream cut there."""
    if cuts is None:
        packets = [L7Packet(i % 2, 0.0, "udp", 40000, 53, p, 0, 0) for i, p in enumerate(payloads)]
    else:
        packets = segments(b"".join(len(p).to_bytes(2, "big") + p for p in payloads), cuts, 1000)
    assert _run(dns.DnsDissector, packets, prefill) == _run(dns.ReferenceDnsDissector, packets, prefill)


def test_limits_agree() -> None:
    assert (_dnsc.MAX_RECORDS, _dnsc.MAX_MESSAGES, _dnsc.MAX_FLOW_STEPS) == (
        dns.MAX_RECORDS,
        dns.MAX_MESSAGES,
        dns.MAX_FLOW_STEPS,
    )


@pytest.mark.parametrize("index", range(len(EDGE)))
def test_edge_cases(index: int) -> None:
    _same([EDGE[index], EDGE[index]])
    _same([EDGE[index]], prefill=dns.MAX_RECORDS - 1)


def test_step_budget_over_many_messages() -> None:
    costly = message([(b"\x01a" * 200 + b"\x00", 1)] * 20)
    _same([costly] * (dns.MAX_FLOW_STEPS // 4000 + 2))


def test_kernel_declines_without_touching_anything() -> None:
    facts, questions, answers = L7Facts(), {("x", 1)}, {("x", "A", "1.2.3.4", "x")}
    kernel = dns.DnsDissector._kernel
    assert kernel is not None
    for data in (b"", b"\x00" * 11, EDGE[5], EDGE[9], message([], response=False)):
        assert kernel.message(data, questions, answers, facts) is None
    assert facts == L7Facts() and questions == {("x", 1)} and len(answers) == 1


@FUZZ
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=4))
def test_random_bytes(payloads: list[bytes]) -> None:
    _same([b"\x12\x34\x81\x80" + p if i % 2 else p for i, p in enumerate(payloads)])


@FUZZ
@given(st.data(), st.lists(mutations(), min_size=1, max_size=5), st.sampled_from([0, 0, 998, 1000]))
def test_mutated_messages(
    seeds: list[bytes], data: st.DataObject, edits: list[Callable[[bytes], bytes]], prefill: int
) -> None:
    _same([edit(data.draw(st.sampled_from(seeds))) for edit in edits], prefill)


@FUZZ
@given(st.data(), st.lists(mutations(), min_size=1, max_size=4), st.lists(st.integers(0, 5000), max_size=5))
def test_mutated_tcp_streams(
    seeds: list[bytes], data: st.DataObject, edits: list[Callable[[bytes], bytes]], cuts: list[int]
) -> None:
    _same([edit(data.draw(st.sampled_from(seeds))) for edit in edits], cuts=cuts)


class _OtherFacts(L7Facts):
    """Facts of another type: the kernel records through the attributes instead of the slots."""

    __slots__ = ()


def test_facts_by_attribute() -> None:
    kernel = dns.DnsDissector._kernel
    assert kernel is not None
    recorded = []
    for facts in (L7Facts(), _OtherFacts()):
        seen: tuple[set[tuple[str, int]], set[tuple[str, str, str, str]]] = (set(), set())
        steps = [kernel.message(m, *seen, facts) for m in (EDGE[0], EDGE[8], CHAIN)]
        recorded.append((steps, seen, [getattr(facts, f.name) for f in dataclasses.fields(L7Facts)]))
    assert recorded[0] == recorded[1] and recorded[0][0] == [8, 12, 13]
