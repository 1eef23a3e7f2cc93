"""Fuzzing the TLS and QUIC hello parsers and dissectors: nothing but DissectError may escape."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import tshark_fields
from tests.engine.dissect.quic_builders import SALTS, chlo, crypto_frame, initial_packet
from tests.engine.dissect.tls_builders import big_client_hello, build_server_hello, records

from flowradar.engine.dissect.base import DissectError, L7Packet
from flowradar.engine.dissect.quic import create as create_quic
from flowradar.engine.dissect.tls import create as create_tls
from flowradar.engine.dissect.tls_hello import ja3, ja4, parse_client_hello, parse_server_hello
from flowradar.model.flow import L7Facts

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

_TLS_SOURCES = ["tls_ech.pcapng", "sites.pcapng", "android.pcap", "tls_esni_sni_both.pcap", "tls1.2.pcap"]
_QUIC_SOURCES = [
    "chromium-115.0.5790.110-api-cirrus-com.pcap",
    "quic_0RTT.pcap",
    "quic-v2.pcapng",
    "quic.pcap",
]


@pytest.fixture(scope="module")
def real_hellos(corpus: Path) -> list[bytes]:
    """ClientHello handshake messages of the corpus that fit one TLS record in one segment."""
    return corpus_client_hellos(corpus)


def corpus_client_hellos(corpus: Path) -> list[bytes]:
    """ClientHello handshake messages of the corpus that fit one TLS record in one segment."""
    hellos: list[bytes] = []
    for name in _TLS_SOURCES:
        rows = tshark_fields(corpus / "pcaps" / name, "tcp && tls.handshake.type == 1", ["tcp.payload"])
        for (payload_hex,) in rows[:6]:
            payload = bytes.fromhex(payload_hex)
            size = int.from_bytes(payload[3:5], "big")
            if payload[:1] == b"\x16" and len(payload) >= 5 + size:
                hellos.append(payload[5 : 5 + size])
    assert len(hellos) >= 10
    return hellos


@pytest.fixture(scope="module")
def real_datagrams(corpus: Path) -> list[bytes]:
    """Client datagrams of QUIC and gQUIC handshakes in the corpus."""
    datagrams: list[bytes] = []
    for name in _QUIC_SOURCES:
        rows = tshark_fields(corpus / "pcaps" / name, "udp.length > 1000 && (quic || gquic)", ["udp.payload"])
        datagrams += [bytes.fromhex(row[0]) for row in rows[:4]]
    assert len(datagrams) >= 8
    return datagrams


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """The original with a few bytes overwritten, a slice cut out or duplicated, or the tail dropped."""
    data = bytearray(original)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "dup", "truncate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        j = draw(st.integers(i, min(len(data), i + 64)))
        if kind == "flip":
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[i:j]
        elif kind == "dup":
            data[i:i] = data[i:j]
        else:
            del data[i:]
    return bytes(data)


def _only_dissect_error(func: Callable[..., object], *args: object) -> None:
    with contextlib.suppress(DissectError):
        func(*args)


def _feed_tls(segments: list[tuple[int, int, bytes]]) -> None:
    dissector = create_tls()
    facts = L7Facts()
    for direction, seq, payload in segments:
        if not dissector.feed(L7Packet(direction, 0.0, "tcp", 1, 443, payload, seq, 0x18), facts):
            break


def _feed_quic(datagrams: list[bytes]) -> None:
    dissector = create_quic()
    facts = L7Facts()
    for payload in datagrams:
        if payload and not dissector.feed(L7Packet(0, 0.0, "udp", 1, 443, payload, 0, 0), facts):
            break


def _parse_and_fingerprint(msg: bytes) -> None:
    ch = parse_client_hello(msg)
    ja3(ch)
    ja4(ch, "q")
    ch.versions_offered()


@FUZZ
@given(st.binary(max_size=800))
def test_hello_parsers_on_random_bytes(body: bytes) -> None:
    for msg in (
        body,
        b"\x01" + len(body).to_bytes(3, "big") + body,
        b"\x02" + len(body).to_bytes(3, "big") + body,
    ):
        _only_dissect_error(_parse_and_fingerprint, msg)
        _only_dissect_error(parse_server_hello, msg)


@FUZZ
@given(st.data())
def test_mutated_real_client_hellos(real_hellos: list[bytes], data: st.DataObject) -> None:
    original = data.draw(st.sampled_from(real_hellos))
    _only_dissect_error(_parse_and_fingerprint, data.draw(mutated(original)))


@FUZZ
@given(st.data())
def test_tls_dissector_on_mutated_segments(real_hellos: list[bytes], data: st.DataObject) -> None:
    hello = data.draw(st.sampled_from([*real_hellos, big_client_hello()]))
    client = data.draw(mutated(records(hello, data.draw(st.integers(1, 16384)))))
    server = data.draw(mutated(records(build_server_hello())))
    cut = data.draw(st.integers(100, 1460))
    segments = [(0, 1000 + i, client[i : i + cut]) for i in range(0, len(client), cut)]
    segments += [(1, 5000 + i, server[i : i + cut]) for i in range(0, len(server), cut)]
    for _ in range(data.draw(st.integers(0, 3)) if segments else 0):  # a few segments out of order
        i = data.draw(st.integers(0, len(segments) - 1))
        j = data.draw(st.integers(0, len(segments) - 1))
        segments[i], segments[j] = segments[j], segments[i]
    _only_dissect_error(_feed_tls, segments)


@FUZZ
@given(
    st.lists(st.tuples(st.integers(0, 1), st.integers(0, 2**32 - 1), st.binary(max_size=300)), max_size=12)
)
def test_tls_dissector_on_random_segments(segments: list[tuple[int, int, bytes]]) -> None:
    _only_dissect_error(_feed_tls, [(d, s, b"\x16\x03\x01" + p if s % 3 == 0 else p) for d, s, p in segments])


_QUIC_PREFIXES = [b"", b"\xc3\x00\x00\x00\x01", b"\xc3\x6b\x33\x43\xcf", b"\xc3\xff\x00\x00\x1d", b"\xc3Q046"]
_QUIC_PREFIXES += [b"\xd3\x00\x00\x00\x01", b"\x09" + bytes(8) + b"Q043", b"\xc3Q050"]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(_QUIC_PREFIXES), st.binary(max_size=1300)), min_size=1, max_size=4))
def test_quic_dissector_on_random_datagrams(parts: list[tuple[bytes, bytes]]) -> None:
    _only_dissect_error(_feed_quic, [prefix + body for prefix, body in parts])


@FUZZ
@given(st.data())
def test_quic_dissector_on_mutated_real_datagrams(real_datagrams: list[bytes], data: st.DataObject) -> None:
    datagram = data.draw(st.sampled_from(real_datagrams))
    _only_dissect_error(_feed_quic, [data.draw(mutated(datagram))])


@FUZZ
@given(st.data())
def test_quic_dissector_on_mutated_decrypted_initials(real_hellos: list[bytes], data: st.DataObject) -> None:
    # Mutate the plaintext, then protect it properly: this reaches the frame and hello parsers.
    version = data.draw(st.sampled_from(sorted(SALTS)))
    if version == 0x51303530:
        message = chlo({b"SNI\x00": b"fuzz.example", b"PAD\x00": bytes(200)})
        frames = crypto_frame(0, message, 0x08)
    else:
        hello = data.draw(st.sampled_from(real_hellos))
        frame_type = 0x08 if version == 0x54303531 else 0x06
        frames = (
            b"\x01" + crypto_frame(0, hello[:600], frame_type) + crypto_frame(600, hello[600:], frame_type)
        )
    payload = data.draw(mutated(frames))
    _only_dissect_error(
        _feed_quic, [initial_packet(version, b"\x42" * 8, payload, size=max(1200, len(payload) + 60))]
    )
