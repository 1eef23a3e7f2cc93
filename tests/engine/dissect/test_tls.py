"""TLS over TCP: hello parsing, JA3/JA3S/JA4 and the TlsDissector, checked on the real-capture corpus."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from tests.conftest import truth, tshark_fields
from tests.engine.dissect.replay import replay, tcp_flows
from tests.engine.dissect.tls_builders import (
    SPEC_CIPHERS,
    SPEC_EXTS,
    SPEC_SIGS,
    big_client_hello,
    build_client_hello,
    build_server_hello,
    ext,
    ja4_from_tshark_fields,
    records,
    vec16,
)

from flowradar.engine.dissect.base import ORIG, RESP, DissectError, L7Packet
from flowradar.engine.dissect.tls import MAX_PACKETS, create, looks_like_tls
from flowradar.engine.dissect.tls_hello import (
    ClientHello,
    ja3,
    ja3s,
    ja4,
    parse_client_hello,
    parse_server_hello,
    version_name,
)
from flowradar.model.flow import L7Facts

TLS_CAPTURES = [
    "1kxun.pcap",
    "443-curl.pcap",
    "443-safari.pcap",
    "android.pcap",
    "chrome.pcap",
    "community-id-ipv6_input.pcap",
    "ecdhe.pcap",
    "http_ipv6.pcap",
    "sites.pcapng",
    "tls-esni-fuzzed.pcap",
    "tls1.2.pcap",
    "tls_ech.pcapng",
    "tls_esni_sni_both.pcap",
    "tls_port_80.pcapng",
]
"""Captures with TLS (or none, where the truth says so) that have a truth file."""


def dissect_capture(pcap: Path) -> dict[int, tuple[L7Facts, str | None]]:
    """Run a fresh TlsDissector on every stream whose first payload looks like TLS (as the engine does)."""
    return {
        stream: replay(packets, create)
        for stream, packets in tcp_flows(pcap, "tcp && !icmp && !icmpv6").items()
        if packets and looks_like_tls(packets[0].payload)
    }


@pytest.fixture(scope="module")
def results(corpus: Path) -> dict[str, dict[int, tuple[L7Facts, str | None]]]:
    return {name: dissect_capture(corpus / "pcaps" / name) for name in TLS_CAPTURES}


@pytest.mark.corpus
@pytest.mark.parametrize("name", TLS_CAPTURES)
def test_sni_equals_truth(results: dict[str, dict[int, tuple[L7Facts, str | None]]], name: str) -> None:
    found = {facts.tls_sni for facts, _ in results[name].values() if facts.tls_sni}
    assert found == set(truth(name)["tls_sni_by_transport"].get("tcp", []))


@pytest.mark.corpus
def test_ech_outer_sni_and_flag(results: dict[str, dict[int, tuple[L7Facts, str | None]]]) -> None:
    (facts, error), *_ = results["tls_ech.pcapng"].values()
    assert error is None
    assert facts.tls_sni == "performance.radar.cloudflare.com"
    assert facts.tls_ech is True
    assert facts.tls_alpn == ["h2", "http/1.1"]
    assert facts.tls_versions_offered == ["TLSv1.3", "TLSv1.2"]
    assert (facts.tls_version, facts.tls_cipher) == ("TLSv1.3", "0x1301")
    esni = results["tls_esni_sni_both.pcap"].values()
    assert all(facts.tls_ech for facts, _ in esni)


@pytest.mark.corpus
def test_server_hello_that_overtook_its_first_segment(
    results: dict[str, dict[int, tuple[L7Facts, str | None]]],
) -> None:
    # android.pcap stream 7: the server's third segment arrives before the first two.
    facts, error = results["android.pcap"][7]
    assert error is None
    assert (facts.tls_sni, facts.tls_version, facts.tls_cipher) == (
        "connectivitycheck.gstatic.com",
        "TLSv1.2",
        "0xc02b",
    )


@pytest.mark.corpus
def test_tls_on_port_80_without_sni(results: dict[str, dict[int, tuple[L7Facts, str | None]]]) -> None:
    # tshark takes this flow for HTTP (port 80); the payload is a TLS 1.2 handshake without SNI.
    (facts, error), *_ = results["tls_port_80.pcapng"].values()
    assert error is None
    assert (facts.tls_sni, facts.tls_version, facts.tls_cipher) == (None, "TLSv1.2", "0xc02c")
    assert facts.tls_ja4 is not None and facts.tls_ja4.startswith("t12i")


def _tshark_hellos(pcap: Path, fields: list[str], hello: int) -> dict[int, list[str]]:
    rows = tshark_fields(pcap, f"tcp && tls.handshake.type == {hello} && !icmp", ["tcp.stream", *fields])
    out: dict[int, list[str]] = {}
    for row in rows:
        out.setdefault(int(row[0]), row[1:])
    return out


_JA3_CAPTURES = ["1kxun.pcap", "android.pcap", "chrome.pcap", "sites.pcapng", "tls1.2.pcap", "tls_ech.pcapng"]


@pytest.mark.corpus
@pytest.mark.parametrize("name", _JA3_CAPTURES)
def test_ja3_ja3s_version_cipher_match_tshark(
    corpus: Path, results: dict[str, dict[int, tuple[L7Facts, str | None]]], name: str
) -> None:
    pcap = corpus / "pcaps" / name
    clients = _tshark_hellos(pcap, ["tls.handshake.ja3"], 1)
    servers = _tshark_hellos(
        pcap,
        ["tls.handshake.ja3s", "tls.handshake.ciphersuite", "tls.handshake.extensions.supported_version"],
        2,
    )
    ours = results[name]
    assert clients and set(clients) <= set(ours)
    for stream, (tshark_ja3,) in clients.items():
        assert ours[stream][0].tls_ja3 == tshark_ja3, stream
    for stream, (tshark_ja3s, cipher, selected) in servers.items():
        facts = ours[stream][0]
        assert facts.tls_ja3s == tshark_ja3s, stream
        assert facts.tls_cipher == cipher, stream
        if selected:
            assert facts.tls_version == version_name(int(selected, 16)), stream


@pytest.mark.corpus
@pytest.mark.parametrize("name", _JA3_CAPTURES)
def test_ja4_matches_spec_computation_from_tshark_fields(
    corpus: Path, results: dict[str, dict[int, tuple[L7Facts, str | None]]], name: str
) -> None:
    fields = [
        "tls.handshake.ciphersuite",
        "tls.handshake.extension.type",
        "tls.handshake.sig_hash_alg",
        "tls.handshake.sig_hash_alg_len",
        "tls.handshake.extensions.supported_version",
        "tls.handshake.extensions_alpn_str",
        "tls.handshake.version",
    ]
    for stream, row in _tshark_hellos(corpus / "pcaps" / name, fields, 1).items():
        assert results[name][stream][0].tls_ja4 == ja4_from_tshark_fields(*row), stream


# --- hello parsing on hand-built messages -------------------------------------------------------


def test_ja4_spec_example() -> None:
    # FoxIO JA4 spec (technical_details/JA4.md): t13d1516h2_8daaf6152771_e5627efa2ab1, with GREASE added.
    msg = build_client_hello(
        [0x0A0A, *SPEC_CIPHERS], [0x1A1A, *SPEC_EXTS], SPEC_SIGS, versions=[0x2A2A, 0x0304]
    )
    ch = parse_client_hello(msg)
    assert ja4(ch) == "t13d1516h2_8daaf6152771_e5627efa2ab1"
    assert ja4(ch, "q").startswith("q13d1516h2_")
    no_sigs = build_client_hello(SPEC_CIPHERS, [e for e in SPEC_EXTS if e != 0x000D], [])
    assert ja4(parse_client_hello(no_sigs)).endswith(
        "_"
        + hashlib.sha256(b"0005,000a,000b,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01").hexdigest()[:12]
    )


@pytest.mark.parametrize(
    ("alpn", "code"),
    [
        (b"h2", "h2"),
        (b"http/1.1", "h1"),
        (b"h", "hh"),
        (b"\xab", "ab"),
        (b"\xab\xcd", "ad"),
        (b"0\xab", "3b"),
        (b"01\xab\xcd", "3d"),
        (b"0\xab\xcd1", "01"),
    ],
)
def test_ja4_alpn_rule(alpn: bytes, code: str) -> None:
    ch = parse_client_hello(build_client_hello(SPEC_CIPHERS, SPEC_EXTS, SPEC_SIGS, alpn=[alpn]))
    assert ja4(ch).split("_")[0][-2:] == code


def test_ja4_without_alpn_sni_or_ciphers() -> None:
    ch = ClientHello(legacy_version=0x0303)
    assert ja4(ch) == "t12i000000_000000000000_000000000000"


def test_client_hello_fields() -> None:
    msg = build_client_hello(
        SPEC_CIPHERS,
        [0x0000, 0x0010, 0x000A, 0x000B, 0x002B, 0xFE0D],
        SPEC_SIGS,
        alpn=[b"h2", b"http/1.1"],
        sni="WWW.Example.COM",
        versions=[0x0A0A, 0x0304, 0x0303],
    )
    ch = parse_client_hello(msg)
    assert ch.sni == "www.example.com"
    assert ch.alpn == ["h2", "http/1.1"]
    assert ch.versions_offered() == ["TLSv1.3", "TLSv1.2"]
    assert ch.supported_groups == [0x001D, 0x0017]
    assert ch.ec_point_formats == [0]
    assert ch.ech is True
    text, digest = ja3(ch)
    assert text.startswith("771,4865-4866-4867-") and text.endswith(",0-16-10-11-43-65037,29-23,0")
    assert digest == hashlib.md5(text.encode()).hexdigest()


def test_server_hello_and_ja3s() -> None:
    exts = ext(0x002B, b"\x03\x04") + ext(0x0033, b"")
    body = b"\x03\x03" + bytes(32) + b"\x00" + b"\x13\x02" + b"\x00" + vec16(exts)
    sh = parse_server_hello(b"\x02" + len(body).to_bytes(3, "big") + body)
    assert (sh.version, sh.cipher_suite, sh.extensions) == (0x0304, 0x1302, [43, 51])
    assert ja3s(sh)[0] == "771,4866,43-51"


@pytest.mark.parametrize(
    "msg",
    [
        b"",
        b"\x01",
        b"\x02\x00\x00\x01",
        b"\x01\x00\x00\x05\x03\x03",
        b"\x01\x00\x00\x26\x03\x03" + bytes(32) + b"\x21",
    ],
)
def test_malformed_hellos_raise_dissect_error(msg: bytes) -> None:
    with pytest.raises(DissectError):
        parse_client_hello(msg)


def test_version_names() -> None:
    assert [version_name(v) for v in (0x0300, 0x0301, 0x0303, 0x0304, 0x7F1C, 0xFB1A)] == [
        "SSLv3",
        "TLSv1.0",
        "TLSv1.2",
        "TLSv1.3",
        "TLSv1.3-draft-28",
        "0xfb1a",
    ]


# --- the dissector on hand-cut segments -----------------------------------------------------------


def _segments(stream: bytes, size: int, direction: int = ORIG, seq: int = 1000) -> list[L7Packet]:
    return [
        L7Packet(direction, 0.0, "tcp", 40000, 443, stream[i : i + size], seq + i, 0x18)
        for i in range(0, len(stream), size)
    ]


_BIG_HELLO = big_client_hello()


def _server_flight() -> bytes:
    return records(build_server_hello()) + b"\x17\x03\x03\x00\x02xx"


@pytest.mark.parametrize("record_size", [16384, 100, 7])
@pytest.mark.parametrize("segment_size", [1460, 536, 200])
def test_hello_spanning_records_and_segments(record_size: int, segment_size: int) -> None:
    client = _segments(records(_BIG_HELLO, record_size), segment_size)
    server = _segments(_server_flight(), segment_size, RESP, seq=7)
    dissector = create()
    facts = L7Facts()
    swapped = [client[i ^ 1] for i in range(len(client) - len(client) % 2)] + client[
        len(client) - len(client) % 2 :
    ]
    keep = [dissector.feed(p, facts) for p in [*swapped, *server]]
    assert keep[-1] is False
    assert facts.tls_sni == "split.example.org"
    assert facts.tls_ja4 == ja4(parse_client_hello(_BIG_HELLO))
    assert (facts.tls_version, facts.tls_cipher) == ("TLSv1.3", "0x1301")


def test_repeated_and_overlapping_segments() -> None:
    stream = records(_BIG_HELLO, 16384)
    packets = _segments(stream, 200) + _segments(stream[50:], 333, seq=1050)
    facts, error = replay(packets, create)
    assert error is None and facts.tls_sni == "split.example.org"


def test_non_tls_payload_is_a_dissect_error() -> None:
    dissector = create()
    packets = _segments(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n" * 8, 40)
    with pytest.raises(DissectError):
        for pkt in packets:
            dissector.feed(pkt, L7Facts())
    assert dissector.feed(packets[0], L7Facts()) is False


def test_server_alert_ends_the_flow() -> None:
    facts = L7Facts()
    dissector = create()
    assert dissector.feed(_segments(records(_BIG_HELLO, 16384), 9000)[0], facts) is True
    alert = L7Packet(RESP, 0.0, "tcp", 40000, 443, b"\x15\x03\x03\x00\x02\x02\x28", 5, 0x18)
    assert dissector.feed(alert, facts) is False
    assert facts.tls_sni == "split.example.org" and facts.tls_version is None


def test_gives_up_after_bounded_packets() -> None:
    dissector = create()
    first = records(_BIG_HELLO, 16384)[:10]
    results = [dissector.feed(L7Packet(ORIG, 0.0, "tcp", 1, 2, first, 1, 0x18), L7Facts())]
    results += [
        dissector.feed(L7Packet(RESP, 0.0, "tcp", 1, 2, b"\x16", 99, 0x18), L7Facts()) for i in range(50)
    ]
    assert results.index(False) == MAX_PACKETS - 1


def test_looks_like_tls() -> None:
    assert looks_like_tls(records(_BIG_HELLO, 16384))
    assert looks_like_tls(_server_flight())
    assert not looks_like_tls(b"\x16\x03\x01\x00")
    assert not looks_like_tls(b"\x17\x03\x03\x00\x10\x01")
    assert not looks_like_tls(b"\x16\x03\x05\x00\x10\x01")
    assert not looks_like_tls(b"\x16\x03\x01\x00\x10\x0b")
    assert not looks_like_tls(b"GET / HTTP/1.1\r\n")
