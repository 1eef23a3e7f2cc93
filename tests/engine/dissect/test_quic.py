"""QUIC and gQUIC: Initial decryption, CRYPTO reassembly and the QuicDissector, on the real-capture corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import truth, tshark_fields
from tests.engine.dissect.quic_builders import chlo, client_keys, crypto_frame, initial_packet, varint
from tests.engine.dissect.replay import replay, udp_flows
from tests.engine.dissect.tls_builders import big_client_hello, ja4_from_tshark_fields

from flowradar.engine.dissect.base import ORIG, RESP, DissectError, L7Packet
from flowradar.engine.dissect.quic import MAX_PACKETS, create, looks_like_quic
from flowradar.engine.dissect.quic_crypto import lookup_version
from flowradar.engine.dissect.quic_gquic import parse_chlo
from flowradar.engine.dissect.quic_packets import CryptoStream
from flowradar.engine.dissect.tls_hello import ja4, parse_client_hello
from flowradar.model.flow import L7Facts

QUIC_CAPTURES = [
    "chromium-115.0.5790.110-api-cirrus-com.pcap",
    "http_ipv6.pcap",
    "quic-v2.pcapng",
    "quic.pcap",
    "quic_0RTT.pcap",
    "quicv2-http3-443.pcap",
    "sites.pcapng",
    "youtube_quic.pcap",
]
"""Captures with QUIC or gQUIC (or none, where the truth says so) that have a truth file."""

Results = dict[int, tuple[L7Facts, str | None]]


@pytest.fixture(scope="module")
def results(corpus: Path) -> dict[str, Results]:
    out: dict[str, Results] = {}
    for name in QUIC_CAPTURES:
        streams = udp_flows(corpus / "pcaps" / name, "udp && !icmp && !icmpv6")
        out[name] = {s: replay(p, create) for s, p in streams.items() if p and looks_like_quic(p[0].payload)}
    return out


@pytest.mark.corpus
@pytest.mark.parametrize("name", QUIC_CAPTURES)
def test_sni_equals_truth(results: dict[str, Results], name: str) -> None:
    by_transport = truth(name)["tls_sni_by_transport"]
    expected = set(by_transport.get("quic", [])) | set(by_transport.get("gquic", []))
    assert {facts.tls_sni for facts, _ in results[name].values() if facts.tls_sni} == expected
    assert all(error is None for _, error in results[name].values())


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "versions"),
    [
        ("quic_0RTT.pcap", {"draft-28", "v1"}),
        ("quic-v2.pcapng", {"v2"}),
        ("quicv2-http3-443.pcap", {"v2"}),
        ("chromium-115.0.5790.110-api-cirrus-com.pcap", {"v1"}),
        ("quic.pcap", {"Q024", "Q025", "Q030", "Q033"}),
        ("youtube_quic.pcap", {"Q035"}),
    ],
)
def test_quic_versions(results: dict[str, Results], name: str, versions: set[str]) -> None:
    assert {facts.quic_version for facts, _ in results[name].values()} == versions


@pytest.mark.corpus
def test_chrome_client_hello_facts(results: dict[str, Results]) -> None:
    # Chrome 115 scatters its ClientHello over nine CRYPTO frames, out of order, between PADDING/PING.
    (facts, _), *_ = results["chromium-115.0.5790.110-api-cirrus-com.pcap"].values()
    assert facts.tls_sni == "api.cirrus-ci.com"
    assert facts.tls_alpn == ["h3"]
    assert facts.tls_versions_offered == ["TLSv1.3"]
    assert facts.tls_ja4 is not None and facts.tls_ja4.startswith("q13d0311h3_")


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", ["chromium-115.0.5790.110-api-cirrus-com.pcap", "quic_0RTT.pcap", "sites.pcapng"]
)
def test_quic_ja4_matches_spec_computation_from_tshark_fields(
    corpus: Path, results: dict[str, Results], name: str
) -> None:
    fields = [
        "udp.stream",
        "tls.handshake.ciphersuite",
        "tls.handshake.extension.type",
        "tls.handshake.sig_hash_alg",
        "tls.handshake.sig_hash_alg_len",
        "tls.handshake.extensions.supported_version",
        "tls.handshake.extensions_alpn_str",
        "tls.handshake.version",
    ]
    rows = tshark_fields(corpus / "pcaps" / name, "udp && tls.handshake.type == 1", fields)
    assert rows
    for stream, *row in rows:
        expected = "q" + ja4_from_tshark_fields(*row)[1:]
        assert results[name][int(stream)][0].tls_ja4 == expected, stream


# --- key schedule: RFC test vectors -----------------------------------------------------------------

_RFC_DCID = bytes.fromhex("8394c8f03e515708")


def test_rfc9001_and_rfc9369_client_initial_keys() -> None:
    assert [k.hex() for k in client_keys(0x00000001, _RFC_DCID)] == [
        "1f369613dd76d5467730efcbe3b1a22d",
        "fa044b2f42a3fd3b46fb255c",
        "9f50449e04a0e810283a1e9933adedd2",
    ]
    assert [k.hex() for k in client_keys(0x6B3343CF, _RFC_DCID)] == [
        "8b1a0bc121284290a29e0971b5cd045d",
        "91f73e2351d8fa91660e909f",
        "45b95e15235d6f45a6b19cbcb0294ba9",
    ]


@pytest.mark.parametrize(
    ("version", "name"),
    [(0x00000001, "v1"), (0x6B3343CF, "v2"), (0xFF00001D, "draft-29"), (0xFF00001B, "draft-27")],
)
def test_single_packet_client_hello_per_version(version: int, name: str) -> None:
    hello = big_client_hello("one.example", key_share=32)
    datagram = initial_packet(version, _RFC_DCID, crypto_frame(0, hello))
    facts, error = replay([_pkt(datagram)], create)
    assert error is None
    assert (facts.tls_sni, facts.quic_version) == ("one.example", name)
    assert facts.tls_ja4 == ja4(parse_client_hello(hello), "q")


def _pkt(payload: bytes, direction: int = ORIG) -> L7Packet:
    return L7Packet(direction, 0.0, "udp", 50000, 443, payload, 0, 0)


def _server_initial(version: int) -> bytes:
    """An Initial that does not authenticate with the client keys of its DCID, like a server's."""
    datagram = bytearray(initial_packet(version, b"\x22" * 8, b"\x02" + bytes(4)))
    datagram[-1] ^= 0xFF
    return bytes(datagram)


def test_client_hello_across_datagrams_out_of_order_with_other_frames() -> None:
    hello = big_client_hello("draft.example", key_share=1600)
    a, b, c = hello[:700], hello[700:1400], hello[1400:]
    ack = b"\x02" + varint(0) + varint(0) + varint(1) + varint(0) + varint(0) + varint(0)
    first = crypto_frame(700, b) + b"\x01" + bytes(5) + crypto_frame(0, a)
    second = ack + b"\x01" + crypto_frame(1400, c) + crypto_frame(650, hello[650:800])
    dcid = bytes(range(8))
    packets = [
        _pkt(initial_packet(0xFF00001D, dcid, first, pn=0)),
        _pkt(_server_initial(0xFF00001D), RESP),
        _pkt(initial_packet(0xFF00001D, dcid, second, pn=1)),
    ]
    dissector = create()
    facts = L7Facts()
    assert [dissector.feed(p, facts) for p in packets] == [True, True, False]
    assert facts.tls_sni == "draft.example"


def test_coalesced_initial_then_handshake_and_short_header() -> None:
    hello = big_client_hello("coalesced.example", key_share=64)
    dcid = b"\xaa" * 8
    initial = initial_packet(0x6B3343CF, dcid, crypto_frame(0, hello), size=600)
    handshake = b"\xf0\x6b\x33\x43\xcf\x08" + dcid + b"\x00" + varint(30) + bytes(30)
    zero_rtt = b"\xe0\x6b\x33\x43\xcf\x08" + dcid + b"\x00" + varint(20) + bytes(20)
    facts, error = replay([_pkt(zero_rtt + initial + handshake + b"\x40" + bytes(50))], create)
    assert error is None and facts.tls_sni == "coalesced.example"


def test_zero_rtt_and_server_datagrams_do_not_stop_the_dissector() -> None:
    dcid = b"\x11" * 8
    zero_rtt = b"\xd0\x00\x00\x00\x01\x08" + dcid + b"\x00" + varint(40) + bytes(40)
    initial = initial_packet(1, dcid, crypto_frame(0, big_client_hello("late.example", key_share=32)))
    facts, error = replay([_pkt(zero_rtt), _pkt(_server_initial(1), RESP), _pkt(initial)], create)
    assert error is None and facts.tls_sni == "late.example"


def test_t051_tls_hello_in_google_crypto_frames() -> None:
    hello = big_client_hello("t51.example", key_share=32)
    frames = b"\x07" + crypto_frame(0, hello, frame_type=0x08)
    facts, error = replay([_pkt(initial_packet(0x54303531, b"\x05" * 8, frames))], create)
    assert error is None
    assert (facts.tls_sni, facts.quic_version) == ("t51.example", "T051")


def test_q050_chlo_over_two_packets() -> None:
    message = chlo({b"SNI\x00": b"Q50.Example.com", b"UAID": b"Chrome/80", b"PAD\x00": bytes(1500)})
    dcid = b"\x07" * 8
    packets = [
        _pkt(initial_packet(0x51303530, dcid, crypto_frame(0, message[:1000], 0x08), pn=1)),
        _pkt(initial_packet(0x51303530, dcid, crypto_frame(1000, message[1000:], 0x08), pn=2)),
    ]
    facts, error = replay(packets, create)
    assert error is None
    assert (facts.tls_sni, facts.quic_version) == ("q50.example.com", "Q050")


def test_cleartext_gquic_public_header_and_q046() -> None:
    message = chlo({b"SNI\x00": b"www.example.com", b"VER\x00": b"Q043"})
    q043 = b"\x09" + bytes(8) + b"Q043" + b"\x01" + bytes(12) + b"\xa0\x01" + len(message).to_bytes(2, "big")
    facts, error = replay([_pkt(q043 + message + bytes(100))], create)
    assert (facts.tls_sni, facts.quic_version, error) == ("www.example.com", "Q043", None)
    q046 = b"\xc3Q046\x50" + bytes(8) + b"\x00\x00\x00\x01" + bytes(12) + b"\x80\x01" + message
    facts, error = replay([_pkt(q046)], create)
    assert (facts.tls_sni, facts.quic_version, error) == ("www.example.com", "Q046", None)


def test_parse_chlo_reads_sni_and_uaid() -> None:
    parsed = parse_chlo(chlo({b"SNI\x00": b"a.example", b"UAID": b"agent 1"}), 0)
    assert (parsed.sni, parsed.uaid) == ("a.example", "agent 1")
    with pytest.raises(DissectError):
        parse_chlo(b"CHLO\x02\x00\x00\x00SNI\x00\x05\x00\x00\x00UAID\x01\x00\x00\x00abcdefgh", 0)


def test_not_quic_first_datagram_ends_without_error() -> None:
    dissector = create()
    assert dissector.feed(_pkt(b"\x40" + bytes(60)), L7Facts()) is False


def test_unknown_version_is_reported_and_ends() -> None:
    facts = L7Facts()
    assert create().feed(_pkt(b"\xc0\x12\x34\x56\x78\x08" + bytes(40)), facts) is False
    assert facts.quic_version == "0x12345678"


def test_truncated_initial_is_a_dissect_error() -> None:
    datagram = initial_packet(1, _RFC_DCID, crypto_frame(0, b"\x01\x00\x00\x10"))
    with pytest.raises(DissectError):
        create().feed(_pkt(datagram[:40]), L7Facts())


def test_gives_up_after_bounded_packets() -> None:
    dissector = create()
    dcid = b"\x33" * 8
    hello = big_client_hello(key_share=4000)
    first = _pkt(initial_packet(1, dcid, crypto_frame(0, hello[:500])))
    verdicts = [dissector.feed(first, L7Facts())]
    verdicts += [dissector.feed(_pkt(b"\x41" + bytes(30)), L7Facts()) for _ in range(30)]
    assert verdicts.index(False) == MAX_PACKETS - 1


def test_crypto_stream_bounds() -> None:
    stream = CryptoStream(limit=100)
    with pytest.raises(DissectError):
        stream.add(90, bytes(20))
    stream.add(10, b"x" * 10)
    stream.add(0, b"\x01\x00\x00\x14" + bytes(6))
    assert stream.first_message() is None
    stream.add(20, bytes(5))
    assert stream.first_message() == b"\x01\x00\x00\x14" + bytes(6) + b"x" * 10 + bytes(4)


def test_looks_like_quic() -> None:
    assert looks_like_quic(initial_packet(1, _RFC_DCID, b"\x01"))
    assert looks_like_quic(b"\x0d" + bytes(8) + b"Q043" + bytes(20))
    assert not looks_like_quic(b"\xc0\x12\x34\x56\x78\x08" + bytes(40))
    assert not looks_like_quic(b"\x40" + bytes(40))
    assert lookup_version(0xFF000020) is not None and lookup_version(0x1A2A3A4A) is None
