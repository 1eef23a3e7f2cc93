"""The compiled TLS dissector (_tlsc) against its reference, tls.TlsDissector: identical results.

Each example feeds the same TCP segments to the compiled dissector that :func:`tls.create` hands out
and to :class:`tls.TlsDissector` (pure Python), and compares what every ``feed`` returns, the
DissectError each raises and the flow's facts (SNI, ALPN, versions, JA3, JA3S, JA4, ECH, ...).
Segments come from the real-capture corpus, from hellos built with random fields (GREASE, repeated
and malformed extensions, non-ASCII names), cut into records and segments that arrive out of order,
repeated or overlapping, and from mutated and random bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.engine.dissect.replay import tcp_flows
from tests.engine.dissect.test_tls import TLS_CAPTURES
from tests.engine.dissect.test_tls_fuzz import FUZZ, corpus_client_hellos, mutated
from tests.engine.dissect.tls_builders import (
    SPEC_CIPHERS,
    SPEC_SIGS,
    big_client_hello,
    build_client_hello,
    build_server_hello,
    ext,
    records,
    vec16,
)

from flowradar.engine.dissect import _tlsc, tls
from flowradar.engine.dissect.base import DissectError, Dissector, L7Packet
from flowradar.model.flow import L7Facts

Segment = tuple[int, int, bytes]
_GREASE = [0x0A0A, 0x2A2A, 0xFAFA]
_EXTS = [0x0000, 0x000A, 0x000B, 0x000D, 0x0010, 0x002B, 0xFE0D, 0xFFCE, 0x0033, 0x0017, 0x0023, *_GREASE]
_VERSIONS = [0x0304, 0x0303, 0x0302, 0x0301, 0x0300, 0x0002, 0x7F17, 0xFEFD, 0xFEFC, 0x0305, *_GREASE]


def _fresh_kernel_dissector() -> Dissector:
    """A dissector of a new kernel, whose fingerprint caches are empty."""
    return _tlsc.Kernel(DissectError, tls._client_prints, tls._server_prints, tls.hello_facts).dissector()


def _run(factory: Callable[[], Dissector], segments: list[Segment]) -> tuple[L7Facts, list[object]]:
    """Feed every segment (also after the dissector is done); its facts and each answer or error."""
    facts, dissector, answers = L7Facts(), factory(), list[object]()
    for direction, seq, payload in segments:
        try:
            answers.append(
                dissector.feed(L7Packet(direction, 0.0, "tcp", 40000, 443, payload, seq, 0x18), facts)
            )
        except DissectError as exc:
            answers.append(f"DissectError: {exc}")
    return facts, answers


def assert_same(segments: list[Segment], fresh_kernel: bool = False) -> None:
    """The compiled dissector answers, fails and records exactly as the Python reference."""
    compiled = _fresh_kernel_dissector if fresh_kernel else tls.create
    assert _run(compiled, segments) == _run(tls.TlsDissector, segments)


@pytest.fixture(scope="module")
def real_hellos(corpus: Path) -> list[bytes]:
    """ClientHello handshake messages of the corpus (the fuzz seeds)."""
    return corpus_client_hellos(corpus)


@pytest.mark.corpus
@pytest.mark.parametrize("name", TLS_CAPTURES)
def test_corpus_streams(corpus: Path, name: str) -> None:
    for packets in tcp_flows(corpus / "pcaps" / name, "tcp && !icmp && !icmpv6").values():
        segments = [(p.direction, p.seq, p.payload) for p in packets[: tls.MAX_PACKETS + 4]]
        assert_same(segments)
        assert_same(segments, fresh_kernel=True)


_u16 = st.one_of(st.sampled_from([*SPEC_CIPHERS, *SPEC_SIGS, *_GREASE]), st.integers(0, 0xFFFF))
_alpn = st.one_of(
    st.sampled_from([b"h2", b"http/1.1", b"\xc3\xa9", b"A-", b"-", b""]), st.binary(max_size=12)
)
_bodies = st.dictionaries(st.sampled_from(_EXTS), st.binary(max_size=12), max_size=2)


@st.composite
def client_hello(draw: st.DrawFn) -> bytes:
    """A ClientHello with random fields, repeated extensions and, sometimes, malformed bodies."""
    return build_client_hello(
        draw(st.lists(_u16, max_size=40)),
        draw(st.lists(st.one_of(st.sampled_from(_EXTS), st.integers(0, 0xFFFF)), max_size=24)),
        draw(st.lists(_u16, max_size=12)),
        alpn=draw(st.lists(_alpn, max_size=4)),
        sni=draw(
            st.one_of(st.sampled_from(["Example.COM", "caf\u00e9.\u0130.example", ""]), st.text(max_size=24))
        ),
        versions=draw(st.lists(st.one_of(st.sampled_from(_VERSIONS), _u16), max_size=6)),
        bodies=draw(_bodies),
    )


@st.composite
def server_hello(draw: st.DrawFn) -> bytes:
    """A ServerHello with random cipher, extensions and selected version(s)."""
    if draw(st.booleans()):
        return build_server_hello(draw(_u16), draw(st.one_of(st.none(), st.sampled_from(_VERSIONS))))
    exts = draw(
        st.lists(st.tuples(st.sampled_from([0x002B, 0x0033, 0xFF01, *_GREASE]), st.binary(max_size=4)))
    )
    body = b"\x03\x03" + bytes(32) + b"\x00" + draw(_u16).to_bytes(2, "big") + b"\x00"
    if draw(st.booleans()) or exts:  # an empty extensions vector, or none at all
        body += vec16(b"".join(ext(t, data) for t, data in exts))
    return b"\x02" + len(body).to_bytes(3, "big") + body


@st.composite
def segments_of(draw: st.DrawFn, direction: int, stream: bytes) -> list[Segment]:
    """One direction's bytes cut into segments from a random sequence number (near the wrap, too),
    some repeated or overlapping."""
    base = draw(st.one_of(st.integers(0, 2**32 - 1), st.integers(2**32 - 3000, 2**32 - 1)))
    cut = draw(st.integers(1, 1600))
    out = [(direction, (base + i) % 2**32, stream[i : i + cut]) for i in range(0, len(stream), cut)]
    for _ in range(draw(st.integers(0, 2))):
        start = draw(st.integers(0, max(0, len(stream) - 1)))
        size = draw(st.integers(1, 1600))
        out.append((direction, (base + start) % 2**32, stream[start : start + size]))
    return out


@st.composite
def flight(draw: st.DrawFn) -> list[Segment]:
    """Both hellos in records of random size (maybe mutated, maybe with records around them),
    segmented and interleaved, a few segments swapped."""
    client = records(
        draw(st.one_of(client_hello(), st.just(big_client_hello()))), draw(st.integers(1, 16384))
    )
    server = records(draw(server_hello()), draw(st.integers(1, 16384)))
    extra = st.sampled_from(
        [b"", b"\x15\x03\x03\x00\x02\x02\x28", b"\x14\x03\x03\x00\x01\x01", b"\x17\x03\x03\x00\x00"]
    )
    client = draw(extra) + client if draw(st.integers(0, 5)) == 0 else client
    server = server + draw(extra)
    if draw(st.booleans()):
        client = draw(mutated(client))
    segments = draw(segments_of(0, client)) + draw(segments_of(1, server))
    if draw(st.booleans()):
        segments = draw(st.permutations(segments))
    return segments


@FUZZ
@given(flight(), st.booleans())
def test_built_hellos(segments: list[Segment], fresh_kernel: bool) -> None:
    assert_same(segments, fresh_kernel)


@FUZZ
@given(st.data())
def test_mutated_real_hellos(real_hellos: list[bytes], data: st.DataObject) -> None:
    hello = data.draw(st.sampled_from(real_hellos))
    size = data.draw(st.sampled_from([16384, 1, 40, 512]))
    payload = data.draw(mutated(records(hello, size)))
    segments = data.draw(segments_of(0, payload))
    assert_same(segments, data.draw(st.booleans()))
    assert_same([(0, 7, data.draw(mutated(hello)))])


@FUZZ
@given(st.data())
def test_truncated_real_hellos(real_hellos: list[bytes], data: st.DataObject) -> None:
    hello = data.draw(st.sampled_from(real_hellos))
    short = hello[: data.draw(st.integers(0, len(hello)))]
    if data.draw(st.booleans()):  # lengths that agree with the truncation
        body = short[4:]
        short = short[:1] + len(body).to_bytes(3, "big") + body
    assert_same([(0, 1, records(short)), (1, 9, records(build_server_hello()))])


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, 1), st.integers(0, 2**32 - 1), st.binary(max_size=300)),
        max_size=tls.MAX_PACKETS + 4,
    )
)
def test_random_segments(segments: list[Segment]) -> None:
    prefixes = [b"\x16\x03\x01", b"\x16\x03\x03\x00\x30\x01", b"\x15\x03\x03", b"\x17\x03\x03", b""]
    assert_same([(d, s, prefixes[s % 5] + p) for d, s, p in segments])


def test_kernel_limits_are_the_reference_limits() -> None:
    assert (_tlsc.MAX_PACKETS, _tlsc.MAX_HELLO) == (tls.MAX_PACKETS, tls.MAX_HELLO)
    assert tls._KERNEL.dissector().directions == 3
