"""The compiled classifier (_appidc) against its specification, the Python checks of appid: the same
answer on random bytes, on every payload the engine classifies in the corpus, and on cut, flipped
and spliced copies of a positive example of every signature, on the ports that change answers."""

from __future__ import annotations

import contextlib
import random
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.engine.dissect.test_appid import SEEDS, SPEC_CASES, der, nb_name

from flowradar.engine.analyze import analyze_capture
from flowradar.engine.dissect import _appidc, appid, appid_binary
from flowradar.engine.dissect.appid_ports import TCP_PORTS, UDP_PORTS
from flowradar.engine.dissect.appid_ports import guess_by_port as reference_guess_by_port

Call = tuple[str, int, int, bytes]
"""(transport, orig port, resp port, payload)."""

PORTS = [
    *(21, 25, 53, 88, 110, 123, 137, 161, 389, 443, 500, 514, 546, 547, 587, 990, 1080, 1900),
    *(3306, 3389, 3478, 4500, 5060, 5353, 5355, 6379, 9050, 9150, 50000, 61000),
]  # fmt: skip
"""Every port a check looks at, and two that none does."""


def reference(transport: str, orig: int, resp: int, payload: bytes) -> str | None:
    return appid.reference_guess_by_payload(transport, orig, resp, payload)


def kernel(transport: str, orig: int, resp: int, payload: bytes) -> str | None:
    return _appidc.guess_by_payload(transport, orig, resp, payload)


def agree(transport: str, orig: int, resp: int, payload: bytes) -> str | None:
    found = reference(transport, orig, resp, payload)
    assert kernel(transport, orig, resp, payload) == found, (transport, orig, resp, payload)
    return found


# --- positive examples: the test_appid seeds, and one of each signature they lack -------------------


def dtls_hello(srtp: bool) -> bytes:
    """DTLS 1.2 ClientHello (RFC 6347 4.2.2) with or without use_srtp (RFC 5764 4.1.1)."""
    ext = b"\x00\x0e\x00\x05\x00\x02\x00\x01\x00" if srtp else b"\x00\x17\x00\x00"
    body = (
        b"\xfe\xfd"
        + b"R" * 32
        + b"\x00\x00"
        + b"\x00\x02\xc0\x2b\x01\x00"
        + len(ext).to_bytes(2, "big")
        + ext
    )
    hs = (
        b"\x01" + len(body).to_bytes(3, "big") + b"\x00\x00\x00\x00\x00" + len(body).to_bytes(3, "big") + body
    )
    return b"\x16\xfe\xfd" + bytes(8) + len(hs).to_bytes(2, "big") + hs


def quic_initial(version: bytes, first: int) -> bytes:
    """A long-header Initial (RFC 9000 17.2.2): 8-byte DCID, no SCID or token, a 2-byte Length."""
    return bytes([first]) + version + b"\x08" + b"D" * 8 + b"\x00\x00" + b"\x44\xb0" + b"P" * 0x4B0


def dns_query(name: bytes, tcp: bool = False) -> bytes:
    labels = b"".join(bytes([len(x)]) + x for x in name.split(b".")) + b"\x00"
    msg = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00" + labels + b"\x00\x01\x00\x01"
    return len(msg).to_bytes(2, "big") + msg if tcp else msg


def dhcp_discover() -> bytes:
    return b"\x01\x01\x06\x00" + b"\x39\x03\xf3\x26" + bytes(228) + b"\x63\x82\x53\x63\x35\x01\x01\xff"


SNMP_V1 = der(0x30, der(0x02, b"\x00"), der(0x04, b"public"), der(0xA0, der(0x02, b"\x01"), b"\x02\x01\x00"))
SNMP_V3 = der(0x30, der(0x02, b"\x03"), der(0x30, der(0x02, b"\x01")), der(0x04, b"\x04"))
LDAP_BIND = der(0x30, der(0x02, b"\x01"), der(0x60, der(0x02, b"\x03"), der(0x04, b""), der(0x80, b"")))
POSTGRES_STARTUP = struct.pack(">II", 8 + 22, 196608) + b"user\x00alice\x00database\x00db\x00\x00"
NBNS_HEADER = b"\x12\x34\x01\x10\x00\x01\x00\x00\x00\x00\x00\x00"
NBDGM_HEADER = b"\x11\x02\x81\x23\xc0\xa8\x01\x02\x00\x8a\x00\xbb\x00\x00"
SERVER_HELLO = b"\x16\x03\x03\x00\x31\x02\x00\x00\x2d\x03\x03" + b"S" * 32 + b"\x00\x13\x01\x00"
SERVER_HELLO += b"\x00\x05\xff\x01\x00\x01\x00"
EXTRA = [  # (transport, payload, orig, resp): what SEEDS has no example of
    ("udp", dtls_hello(True), 50000, 40000),
    ("udp", dtls_hello(False), 50000, 40000),
    ("udp", quic_initial(b"\x00\x00\x00\x01", 0xC3), 50000, 443),
    ("udp", quic_initial(b"\x6b\x33\x43\xcf", 0xD3), 50000, 443),
    ("udp", b"\x0d" + b"C" * 8 + b"Q043" + b"\x01" + b"\xa0" * 40 + b"CHLO" + bytes(20), 50000, 443),
    ("udp", dns_query(b"example.com"), 50000, 53),
    ("tcp", dns_query(b"example.com", tcp=True), 50000, 53),
    ("udp", dns_query(b"printer.local"), 5353, 5353),
    ("udp", NBNS_HEADER + nb_name(b"WORKGROUP") + b"\x00\x20\x00\x01", 137, 137),
    ("udp", NBDGM_HEADER + nb_name(b"HOST") + nb_name(b"WG"), 138, 138),
    ("udp", dhcp_discover(), 68, 67),
    ("udp", b"\x01\x12\x34\x56\x00\x08\x00\x02\x00\x00\x00\x01\x00\x04\x00\x03\x11\x22", 546, 547),
    ("udp", b"\x23" + bytes(47), 50000, 123),
    ("udp", b"\x24\x02\x06\xe9" + bytes(36) + b"\xe9\x1a\x2b\x3c" + bytes(4), 50000, 40000),
    ("udp", b"\x17\x00\x03\x2a" + bytes(4), 50000, 123),
    ("udp", SNMP_V1, 50000, 161),
    ("udp", SNMP_V3, 50000, 161),
    ("tcp", LDAP_BIND, 50000, 389),
    ("tcp", POSTGRES_STARTUP, 50000, 5432),
    ("tcp", b"\x00\x00\x00\x08\x04\xd2\x16\x2f", 50000, 5432),
    ("tcp", b"\x00\x00\x00\x10\x04\xd2\x16\x2e" + b"\x00\x00\x30\x39\x11\x22\x33\x44", 50000, 5432),
    ("tcp", b"\x10\x16\x00\x04MQTT\x04\x02\x00\x3c\x00\x0aclient-007", 50000, 1883),
    ("tcp", b"\x10\x81\x01\x00\x06MQIsdp\x03\x02\x00\x3c" + b"x" * 120, 50000, 1883),
    ("tcp", b"\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23", 23, 50000),
    ("tcp", b"\xff\xfa\x18\x01\xff\xf0", 23, 50000),
    ("udp", b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed", 50000, 514),
    ("tcp", b"74 <34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", 50000, 601),
    ("udp", b"<13>hello from python\x00", 50000, 514),
    ("tcp", b"\x04\x01\x00\x50\x7f\x00\x00\x01alice\x00", 50000, 1080),
    ("tcp", b"SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n", 22, 50000),
    ("tcp", b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\n\r\n", 50000, 80),
    ("tcp", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 80, 50000),
    ("tcp", b"GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 50000, 3128),
    ("tcp", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 50000, 3128),
    ("udp", b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n", 50000, 1900),
    ("tcp", b"OPTIONS\r\nHost: example.com\r\n\r\n", 50000, 80),
    ("tcp", b"BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\n", 50000, 6771),
    ("tcp", b"DESCRIBE rtsp://cam.example.com/live RTSP/1.0\r\nCSeq: 2\r\n\r\n", 50000, 554),
    ("tcp", b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n", 25, 50000),
    ("tcp", b"220 ProFTPD Server (Debian) [::ffff:10.0.0.1]\r\n", 21, 50000),
    ("tcp", b"220 ready\r\n", 21, 50000),
    ("tcp", b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n", 110, 50000),
    ("tcp", b"* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot ready.\r\n", 143, 50000),
    ("tcp", b"EHLO client.example.com\r\n", 50000, 25),
    ("tcp", b"MAIL FROM: <alice@example.com>\r\n", 50000, 2525),
    ("tcp", b"STARTTLS\r\n", 50000, 25),
    ("tcp", b"AUTH TLS\r\n", 50000, 21),
    ("tcp", b"PORT 127,0,0,1,4,1\r\n", 50000, 2121),
    ("tcp", b"CAPA\r\n", 50000, 110),
    ("tcp", b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", 50000, 110),
    ("tcp", b"USER anonymous\r\n", 50000, 21),
    ("tcp", b"a1 CAPABILITY\r\n", 50000, 143),
    ("tcp", SERVER_HELLO, 443, 50000),
    ("tcp", b"\x15\x03\x03\x00\x02\x02\x28", 443, 50000),
    ("tcp", b"\x14\x03\x03\x00\x01\x01", 443, 50000),
    ("tcp", b"\x17\x03\x03\x00\x20" + b"\x9a" * 32, 443, 50000),
    ("udp", b"\x00\x01\x00\x00\x21\x12\xa4\x42" + b"T" * 12, 50000, 19302),
]  # fmt: skip
SEED_CALLS: list[Call] = [(t, orig, resp, payload) for t, payload, orig, resp in EXTRA]
SEED_CALLS += [(c.values[0], c.values[3], c.values[4], c.values[1]) for c in SPEC_CASES]
SEED_CALLS += [(t, 50000, 40000, payload) for payload in SEEDS for t in ("tcp", "udp")]


def test_every_signature_has_a_positive_example() -> None:
    found = {agree(*call) for call in SEED_CALLS}
    assert found - {None} == appid.PAYLOAD_PROTOCOLS


def test_kernel_names_are_the_protocols() -> None:
    assert set(_appidc.PROTOCOLS) == appid.PROTOCOLS
    assert len(_appidc.PROTOCOLS) == len(appid.PROTOCOLS)


# --- mutations -------------------------------------------------------------------------------------


def mutate(payload: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply edits (kind, where, bytes): cut there, overwrite, insert, delete a byte, or append."""
    out = bytearray(payload)
    for kind, where, data in edits:
        at = where % (len(out) + 1)
        if kind == 0:
            del out[at:]
        elif kind == 1:
            out[at : at + len(data)] = data
        elif kind == 2:
            out[at:at] = data
        elif kind == 3:
            del out[at : at + 1]
        else:
            out += data
    return bytes(out)


EDITS = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 4000), st.binary(min_size=1, max_size=4)), max_size=4
)


@settings(max_examples=4000, deadline=None)
@given(st.sampled_from(SEED_CALLS), EDITS, st.sampled_from(["keep", "tcp", "udp"]), st.sampled_from(PORTS))
def test_mutated_positive_examples(
    seed: Call, edits: list[tuple[int, int, bytes]], move: str, port: int
) -> None:
    transport, orig, resp, payload = seed
    agree(transport if move == "keep" else move, orig, resp, mutate(payload, edits))
    agree(transport, port, resp, mutate(payload, edits))


def test_many_mutations_of_each_example() -> None:
    """A deterministic sweep, wider than hypothesis can afford: 500 mutations of each example."""
    rng = random.Random(1)
    for transport, orig, resp, payload in SEED_CALLS:
        for _ in range(500):
            edits = [
                (
                    rng.randrange(5),
                    rng.randrange(4000),
                    bytes(rng.randrange(256) for _ in range(rng.randint(1, 3))),
                )
                for _ in range(rng.randint(1, 3))
            ]
            ports = rng.choice(
                [(orig, resp), (resp, orig), (rng.choice(PORTS), resp), (orig, rng.choice(PORTS))]
            )
            agree(rng.choice([transport, "tcp", "udp"]), *ports, mutate(payload, edits))


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(["tcp", "udp", "icmp"]),
    st.sampled_from(PORTS) | st.integers(0, 65535),
    st.sampled_from(PORTS) | st.integers(0, 65535),
    st.binary(max_size=1600),
)
def test_random_bytes(transport: str, orig: int, resp: int, payload: bytes) -> None:
    agree(transport, orig, resp, payload)


def test_a_short_ldap_sequence_does_not_end_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: _ldap read past the end of a 7-byte SEQUENCE whose content is one byte
    (IndexError), and the reference's guard answered None without running the checks after it (the
    kernel copied that). Now no check raises: _ldap says no and the chain goes on, in both."""
    payload = b"\x30\x84\x00\x00\x00\x01\x02"
    assert appid_binary._ldap(payload, 50000, 40000, True) is None
    for transport in ("tcp", "udp"):
        for orig, resp in [(50000, 40000), (50000, 389), (389, 50000), (50000, 161), (50000, 1194)]:
            agree(transport, orig, resp, payload)  # unguarded inside: the reference's _guess
            assert appid._guess(transport, orig, resp, payload) is None
    # a check after _ldap now sees the payload (the guard used to swallow the chain before it)
    seen: list[bytes] = []

    def last(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
        seen.append(p)
        return "wireguard"

    monkeypatch.setattr(appid, "_UDP_CHECKS", (*appid._UDP_CHECKS, last))
    assert appid.reference_guess_by_payload("udp", 50000, 40000, payload) == "wireguard"
    assert seen == [payload]


# --- real payloads: every one the engine classifies in the corpus ------------------------------------


@pytest.fixture(scope="module")
def corpus_calls(corpus: Path) -> list[Call]:
    """The arguments of every guess_by_payload call the engine makes over the corpus."""
    calls: set[Call] = set()
    original = appid.guess_by_payload

    def record(transport: str, orig: int, resp: int, direction: int, payload: bytes) -> str | None:
        calls.add((transport, orig, resp, bytes(payload)))
        return original(transport, orig, resp, direction, payload)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(appid, "guess_by_payload", record)
        for pcap in sorted((corpus / "pcaps").iterdir()):
            with contextlib.suppress(Exception):  # the malformed captures are another test's business
                analyze_capture(pcap)
    return sorted(calls)


@pytest.mark.corpus
def test_corpus_payloads(corpus_calls: list[Call]) -> None:
    assert len(corpus_calls) > 1000
    found = set()
    for transport, orig, resp, payload in corpus_calls:
        found.add(agree(transport, orig, resp, payload))
        agree("udp" if transport == "tcp" else "tcp", orig, resp, payload)
        agree(transport, resp, orig, payload)
    assert len(found) > 10


@pytest.mark.corpus
def test_mutated_corpus_payloads(corpus_calls: list[Call]) -> None:
    rng = random.Random(2)
    for transport, orig, resp, payload in rng.sample(corpus_calls, 1000):
        for _ in range(20):
            edits = [(rng.randrange(5), rng.randrange(2000), bytes([rng.randrange(256)])) for _ in range(2)]
            agree(transport, orig, resp, mutate(payload, edits))


# --- ports, and what the kernel leaves to Python ------------------------------------------------------


def port_pairs() -> Iterator[tuple[int, int]]:
    known = sorted(set(TCP_PORTS) | set(UDP_PORTS))
    for port in range(65536):
        yield port, 50000
        yield 50000, port
    for a in known:
        for b in known:
            yield a, b


def test_guess_by_port_every_port() -> None:
    for transport in ("tcp", "udp", "sctp"):
        for orig, resp in port_pairs():
            want = reference_guess_by_port(transport, orig, resp)
            assert _appidc.guess_by_port(transport, orig, resp) == want, (transport, orig, resp)
            assert appid.guess_by_port(transport, orig, resp) == want


@pytest.mark.parametrize(
    ("transport", "orig", "resp", "payload"),
    [
        ("udp", 50000, 53, bytearray(dns_query(b"example.com"))),
        ("udp", 50000, 53, memoryview(dns_query(b"example.com"))),
        ("udp", 50000, 53.0, dns_query(b"example.com")),
        ("udp", 2**70, 53, dns_query(b"example.com")),
        ("tcp", -1, 1 << 64, b"GET / HTTP/1.1\r\n"),
        ("tcp", 50000, 80, bytearray()),
    ],
)
def test_declined_arguments_get_the_reference_answer(
    transport: str, orig: int, resp: int, payload: bytes
) -> None:
    with pytest.raises(TypeError):
        _appidc.guess_by_payload(transport, orig, resp, payload)
    assert appid.guess_by_payload(transport, orig, resp, 0, payload) == reference(
        transport, orig, resp, payload
    )
    assert appid.guess_by_port(transport, orig, resp) == reference_guess_by_port(transport, orig, resp)


def test_unknown_transport_and_empty_payload() -> None:
    assert _appidc.guess_by_payload("icmp", 0, 0, b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x03") is None
    assert _appidc.guess_by_payload("tcp", 0, 0, b"") is None
    assert _appidc.guess_by_port("sctp", 0, 443) is None
