"""The compiled HTTP kernel (_httpc.HttpFlow) against the reference (http.HttpDissector).

Both are fed the same segments; after every feed the answer (or the exception's type and message),
``directions`` and every fact must be identical. Inputs: random bytes, mutated real and hand-built
messages, streams assembled from HTTP-ish pieces (methods, line ends, wanted headers in odd case and
spacing, non-ASCII), cut into segments that may be reordered, repeated, overlapping or before the
first sequence number, plus hand-picked cases at the limits.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.engine.dissect.test_dns_http_fuzz import HTTP_BUILTIN, _corpus_payloads, mutations

from flowradar.engine.dissect import http
from flowradar.engine.dissect.base import ORIG, RESP, Dissector, L7Packet
from flowradar.model.flow import L7Facts

_httpc = pytest.importorskip("flowradar.engine.dissect._httpc")

DIFF = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PIECES = [
    *(m + b" " for m in sorted(http.METHODS)),
    b"GET",
    b"OPTIONS",
    b"RTSP/1.0",
    b"/",
    b"/a?b=c ",
    b" ",
    b"  ",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n\r\n",
    b"\n\n",
    b"\n\r\n",
    b" HTTP/1.1",
    b" HTTP/1.0\r\n",
    b"HTTP/1.",
    b"HTTP/1.1 ",
    b"HTTP/2 ",
    b"100 Continue\r\n\r\n",
    b"200 OK\r\n",
    b"404",
    b"20",
    b"Host: ",
    b"host:",
    b"HOST \t: ",
    b" Host: folded",
    b"User-Agent: ",
    b"user-agent:",
    b"Referer: ",
    b"Content-Type: ",
    b"content-type:text/html",
    b"Content-Length: ",
    b"Content-Length: 5",
    b"Content-Length: 0012",
    b"Content-Length: 1234567890123",
    b"Transfer-Encoding: ",
    b"transfer-encoding: gzip, CHUNKED",
    b"0\r\n\r\n",
    b"5\r\nhello\r\n",
    b"WWW.Example.COM",
    b"a.example:8080",
    b"curl/8.5.0",
    b"\xc3\xa9",
    b"\xc4\xb0",  # 'İ': lower() gives two code points
    b"\xe1\xba\x9e",
    b"\xff",
    b"\x00",
    b"\x16\x03\x01",
    b"x" * 40,
    b"12",
    b"_-",
]


EOLS = [b"\r\n", b"\n", b"\r\r\n", b"\r", b""]
NAMES = [
    b"Host",
    b"host",
    b"HOST",
    b"hOsT ",
    b"User-Agent",
    b"user-agent",
    b"USER-AGENT\t",
    b"Referer",
    b"referer",
    b"Content-Type",
    b"content-TYPE",
    b"Content-Length",
    b"content-length",
    b"Transfer-Encoding",
    b"transfer-encoding ",
    b"X-Other",
    b"Hostname",
    b"Host-",
    b"",
]
VALUES = [
    b"",
    b" ",
    b" a.example",
    b"  WWW.Example.COM:8080 \t",
    b" \xc4\xb0stanbul.example",
    b" caf\xc3\xa9",
    b" \xff\xfe",
    b" curl/8.5.0",
    b"Mozilla/5.0 (X11)",
    b" text/html; charset=utf-8",
    b" chunked",
    b" gzip, CHUNKED",
    b" 0",
    b" 5",
    b" 0012",
    b"7 ",
    b" 123456789012",
    b" 1234567890123",
    b" -1",
    b" 1e3",
    b" 4\r5",
    b":x",
]
TOKENS = [*sorted(http.METHODS), b"GE", b"get", b"HTTP/1.1", b"DESCRIBE", b"", b"\x00", b"A" * 17]
TARGETS = [b"/", b"/a?q=1", b"*", b"", b"/p\xc3\xa9", b"/x HTTP/1.1 y", b"HTTP/1.1"]
VERSIONS = [b" HTTP/1.1", b" HTTP/1.0", b" HTTP/1.", b" HTTP/2", b"", b" HTTP/1.1\r", b" http/1.1"]
STATUSES = [
    b"HTTP/1.1 100 Continue",
    b"HTTP/1.1 103",
    b"HTTP/1.1 200 OK",
    b"HTTP/1.0 404 Not Found",
    b"HTTP/1.1 20",
    b"HTTP/1.1 2000 x",
    b"HTTP/1.1  200",
    b"HTTP/1.1 abc",
    b"HTTP/1.1 199 x",
    b"HTTP/2 200",
    b"HTTP/1.",
    b"",
]
BODIES = [
    b"",
    b"hello",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"x" * 100,
    b"GET /in-body HTTP/1.1\r\n",
    b"\r\n",
    b"\n\n",
]


@st.composite
def http_messages(draw: st.DrawFn, response: bool) -> bytes:
    """One to four HTTP-like messages: a start line, header lines of wanted and other names in odd
    case, spacing and folding, values of every kind, a head end of any style, maybe a body."""
    out = b""
    for _ in range(draw(st.integers(1, 4))):
        eol = draw(st.sampled_from(EOLS))
        if response:
            out += draw(st.sampled_from(STATUSES)) + eol
        else:
            token = draw(st.sampled_from(TOKENS))
            out += token + b" " + draw(st.sampled_from(TARGETS)) + draw(st.sampled_from(VERSIONS)) + eol
        for _ in range(draw(st.integers(0, 6))):
            fold = draw(st.sampled_from([b"", b"", b"", b" ", b"\t"]))
            sep = draw(st.sampled_from([b":", b":", b" :", b"\t:", b""]))
            name, value = draw(st.sampled_from(NAMES)), draw(st.sampled_from(VALUES))
            out += fold + name + sep + value + draw(st.sampled_from(EOLS))
        out += draw(st.sampled_from([b"\r\n", b"\n", b"\r\n", b""])) + draw(st.sampled_from(BODIES))
    return out


def snapshot(facts: L7Facts) -> tuple[Any, ...]:
    """Every fact, copied (lists included)."""
    return dataclasses.astuple(facts)


def trace(factory: Callable[[], Dissector], packets: list[L7Packet]) -> list[tuple[Any, ...]]:
    """Per feed: the answer or the exception, the wanted directions and the facts. Feeding goes on
    after False (more states reached); it stops at an exception, as the engine does."""
    d, facts = factory(), L7Facts()
    out: list[tuple[Any, ...]] = []
    for pkt in packets:
        try:
            answer: object = d.feed(pkt, facts)
        except Exception as exc:  # the kernel must raise exactly what the reference raises
            out.append((type(exc).__name__, str(exc), snapshot(facts)))
            break
        out.append((answer, getattr(d, "directions", None), snapshot(facts)))
    return out


def assert_same(packets: list[L7Packet]) -> None:
    expected = trace(http.HttpDissector, packets)
    assert trace(_httpc.HttpFlow, packets) == expected


def cut(stream: bytes, cuts: list[int], base: int, direction: int) -> list[L7Packet]:
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    return [
        L7Packet(direction, 0.0, "tcp", 40000, 80, stream[a:b], (base + a) % (1 << 32), 0x18)
        for a, b in itertools.pairwise(points)
        if b > a
    ]


@st.composite
def http_streams(draw: st.DrawFn) -> bytes:
    return b"".join(draw(st.lists(st.sampled_from(PIECES), max_size=40)))


@st.composite
def segment_plans(draw: st.DrawFn, stream: bytes, direction: int) -> list[L7Packet]:
    """The stream as segments: clean cuts, or arbitrary (start, length) slices (overlaps, repeats,
    gaps), with a base sequence number that may wrap; sometimes shuffled."""
    base = draw(st.one_of(st.integers(0, (1 << 32) - 1), st.integers((1 << 32) - 64, (1 << 32) - 1)))
    if draw(st.booleans()):
        packets = cut(stream, draw(st.lists(st.integers(0, 4000), max_size=8)), base, direction)
    else:
        slices = draw(st.lists(st.tuples(st.integers(-8, 4000), st.integers(0, 600)), max_size=10))
        packets = [
            L7Packet(
                direction, 0.0, "tcp", 40000, 80, stream[max(0, a) : max(0, a) + n], (base + a) % (1 << 32), 0
            )
            for a, n in slices
        ]
    return draw(st.permutations(packets)) if draw(st.booleans()) else packets


def interleave(data: st.DataObject, orig: list[L7Packet], resp: list[L7Packet]) -> list[L7Packet]:
    order = data.draw(st.lists(st.booleans(), min_size=len(orig) + len(resp), max_size=len(orig) + len(resp)))
    out, o, r = [], iter(orig), iter(resp)
    for take_orig in order:
        out.append(next(o, None) if take_orig else next(r, None))
    return [p for p in out if p is not None] + list(o) + list(r)


@pytest.fixture(scope="module")
def seeds() -> list[bytes]:
    """Hand-built and real HTTP segments to mutate."""
    out = list(HTTP_BUILTIN)
    for pcap in ("methods.pcap", "wikipedia.pcap", "http_ua_splitted_in_two_pkts.pcapng", "1kxun.pcap"):
        out += _corpus_payloads(pcap, "tcp", "tcp.port == 80", 40)
    return out


@DIFF
@given(st.data(), http_streams(), http_streams())
def test_assembled_streams(data: st.DataObject, request: bytes, response: bytes) -> None:
    orig = data.draw(segment_plans(request, ORIG))
    resp = data.draw(segment_plans(response, RESP))
    assert_same(interleave(data, orig, resp))


@DIFF
@given(st.data(), http_messages(response=False), http_messages(response=True))
def test_structured_messages(data: st.DataObject, request: bytes, response: bytes) -> None:
    orig = data.draw(segment_plans(request, ORIG))
    resp = data.draw(segment_plans(response, RESP))
    assert_same(interleave(data, orig, resp))


@DIFF
@given(st.data(), st.binary(max_size=3000), st.binary(max_size=1500))
def test_random_bytes(data: st.DataObject, request: bytes, response: bytes) -> None:
    assert_same(
        interleave(data, data.draw(segment_plans(request, ORIG)), data.draw(segment_plans(response, RESP)))
    )


@DIFF
@given(st.data(), mutations(), mutations())
def test_mutated_messages(
    seeds: list[bytes],
    data: st.DataObject,
    mutate_request: Callable[[bytes], bytes],
    mutate_response: Callable[[bytes], bytes],
) -> None:
    request = b"".join(
        mutate_request(data.draw(st.sampled_from(seeds))) for _ in range(data.draw(st.integers(1, 3)))
    )
    response = mutate_response(data.draw(st.sampled_from(seeds)))
    orig = data.draw(segment_plans(request, ORIG))
    assert_same(interleave(data, orig, data.draw(segment_plans(response, RESP))))


GET = b"GET / HTTP/1.1\r\nHost: h.example\r\nUser-Agent: ua\r\n\r\n"


def one_way(stream: bytes, size: int, direction: int = ORIG, base: int = 7) -> list[L7Packet]:
    return cut(stream, list(range(size, len(stream), size)), base, direction)


def out_of_order(packets: list[L7Packet]) -> list[L7Packet]:
    """The first segment (it fixes the base), the others from last to third, then the second."""
    return packets[:1] + packets[2:][::-1] + packets[1:2]


def pending_full(packets: list[L7Packet]) -> list[L7Packet]:
    """The first segment, 64 later ones (the most that wait) from last to first, then the gap."""
    return packets[:1] + packets[2:66][::-1] + packets[1:2] + packets[66:]


def head_ending_at(end: int) -> bytes:
    """A request whose head ends ("\\n\\r\\n") at byte ``end``, around the longest head read."""
    start = b"GET / HTTP/1.1\r\nX: "
    return start + b"a" * (end - 3 - len(start)) + b"\n\r\n" + GET


@pytest.mark.parametrize(
    "packets",
    [
        one_way(GET * (http.MAX_REQUESTS + 20), 1400),
        one_way(b"GET / HTTP/1.1\r\nX: " + b"a" * (http.MAX_HEAD + 100) + b"\r\n\r\n" + GET, 1000),
        one_way(b"POST / HTTP/1.1\r\nContent-Length: 300000\r\n\r\n" + b"b" * 300_100 + GET, 1400),
        one_way(b"POST / HTTP/1.1\r\nContent-Length: 20000\r\n\r\n" + b"b" * 20_000 + GET * 3, 1400),
        one_way(b"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + b"z" * 9000 + b"\r\n" + GET, 1000),
        one_way(b"no request line here " * 1000, 1400),
        one_way(b"\x00binary", 3),
        one_way(b"GET" + b"\r" * 14 + b"\xff\xfe / HTTP/1.1\r\nHost: x\r\n\r\n", 9),  # was UnicodeDecodeError
        out_of_order(one_way(GET, 1)),
        out_of_order(one_way(GET * 3, 2)),  # more than 64 pending segments
        pending_full(one_way(GET * 2, 1)),  # exactly 64 of them, then the gap is filled
        *(one_way(head_ending_at(http.MAX_HEAD + k), 1400) for k in range(1, 7)),
        one_way(b"POST / HTTP/1.1\r\nContent-Length: 123456789012\r\n\r\n" + GET, 1400),
        one_way(b"POST / HTTP/1.1\r\nContent-Length: 12345678901\r\n\r\n" + GET, 1400),
        one_way(b"POST / HTTP/1.1\r\nContent-Length: 1234567890123\r\n\r\n" + GET, 1400),
        one_way(b"POST / HTTP/1.1\r\n\tHost: folded\r\n Host: folded\r\nHost: real\r\n\r\n", 1400),
        one_way(
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nBASELINE-CONTROL / HTTP/1.1\r\n\r\n", 1400
        ),
        one_way(
            b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxBASELINE-CONTROL / HTTP/1.1\r\n\r\n", 1400
        ),
        one_way(b"BASELINE-CONTROL\r\r\r / HTTP/1.1\n\n" + b"VERSION-CONTROL\r\n\n" + GET, 1400),
        one_way(GET, 5, base=(1 << 32) - 20),  # sequence numbers wrap
        one_way(GET, 1400) + one_way(b"HTTP/1.1 200 OK\r\n" + b"x" * 40_000, 1400, RESP),
        one_way(GET, 1400)
        + one_way((b"HTTP/1.1 103 Early\r\n\r\n" * 9) + b"HTTP/1.1 200 OK\r\n\r\n", 50, RESP),
        one_way(b"\n\n", 1, RESP) + one_way(b"HTTP/1.1 204 \r\r\n\n", 4, RESP),
    ],
)
def test_limits_and_corner_cases(packets: list[L7Packet]) -> None:
    assert_same(packets)


@pytest.mark.parametrize("factory", [http.HttpDissector, _httpc.HttpFlow])
def test_method_with_carriage_returns_then_non_ascii(factory: Callable[[], Dissector]) -> None:
    """Regression: a known method, 14 or more \\r (so the 17-byte method token is still the method)
    and then a non-ASCII byte made the method's ascii decoding raise UnicodeDecodeError (an
    l7_error, the flow's facts lost). Now the request is recorded, the odd bytes replaced."""
    for returns in (14, 15, 40):
        request = b"GET" + b"\r" * returns + b"\xff\xfe / HTTP/1.1\r\nHost: x\r\n\r\n"
        d, facts = factory(), L7Facts()
        for pkt in one_way(request + GET, 9):
            d.feed(pkt, facts)
        assert facts.http_method == "GET" + "\r" * returns + "\ufffd\ufffd"
        assert (facts.http_requests, facts.http_path, facts.http_hosts) == (2, "/", ["x", "h.example"])
        assert_same(one_way(request + GET, 9))


def test_kernel_matches_reference_constants() -> None:
    assert set(_httpc.METHODS) == http.METHODS and len(_httpc.METHODS) == len(http.METHODS)
    assert (_httpc.MAX_REQUESTS, _httpc.MAX_STREAM, _httpc.MAX_HEAD) == (
        http.MAX_REQUESTS,
        http.MAX_STREAM,
        http.MAX_HEAD,
    )
    assert isinstance(http.create(), _httpc.HttpFlow)


def test_other_payload_types_and_keywords() -> None:
    """bytearray and memoryview payloads, keyword arguments, non-TCP and odd directions."""
    for payload in (bytearray(GET), memoryview(GET)):
        for factory in (http.HttpDissector, _httpc.HttpFlow):
            facts = L7Facts()
            assert factory().feed(pkt=L7Packet(ORIG, 0.0, "tcp", 1, 80, payload, 0, 0), facts=facts)  # type: ignore[arg-type]
            assert facts.http_host == "h.example"
    assert_same([L7Packet(ORIG, 0.0, "udp", 1, 80, GET, 0, 0), L7Packet(True, 0.0, "tcp", 1, 80, GET, 0, 0)])
    with pytest.raises(TypeError):
        _httpc.HttpFlow().feed(L7Packet(ORIG, 0.0, "tcp", 1, 80, GET, 0, 0))
