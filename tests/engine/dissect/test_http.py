"""HTTP/1.x dissector: hand-built streams, and real captures replayed against the corpus truth."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import truth
from tests.engine.dissect.replay import replay_all, tcp_flows

from flowradar.engine.dissect import http
from flowradar.engine.dissect.base import ORIG, RESP, DissectError, Dissector, L7Packet
from flowradar.model.flow import L7Facts

GET = (
    b"GET /index.html?q=1 HTTP/1.1\r\nHost: WWW.Example.com:8080\r\nUser-Agent: curl/8.5.0\r\n"
    b"Referer: http://ref.example/\r\nAccept: */*\r\n\r\n"
)
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello"


def feed_stream(
    segments: list[bytes], direction: int = ORIG, seq: int = 1000
) -> tuple[Dissector, L7Facts, list[bool]]:
    """Feed consecutive segments of one direction to a fresh dissector."""
    d, facts, wants = http.create(), L7Facts(), []
    for seg in segments:
        wants.append(d.feed(L7Packet(direction, 0.0, "tcp", 50000, 80, seg, seq, 0x18), facts))
        seq += len(seg)
    return d, facts, wants


def segment(direction: int, payload: bytes, seq: int) -> L7Packet:
    return L7Packet(direction, 0.0, "tcp", 50000, 80, payload, seq, 0x18)


def test_first_request_and_response() -> None:
    d, facts, wants = feed_stream([GET])
    assert d.feed(segment(RESP, RESPONSE, 7000), facts)
    assert wants == [True]
    assert (facts.http_method, facts.http_path, facts.http_host) == (
        "GET",
        "/index.html?q=1",
        "www.example.com:8080",
    )
    assert (facts.http_user_agent, facts.http_referer) == ("curl/8.5.0", "http://ref.example/")
    assert (facts.http_status, facts.http_content_type) == (200, "text/html; charset=utf-8")
    assert facts.http_requests == 1
    assert facts.http_hosts == ["www.example.com:8080"] and facts.http_user_agents == ["curl/8.5.0"]


def test_pipelined_requests_in_one_segment() -> None:
    second = b"GET /b HTTP/1.1\r\nHost: cdn.example\r\nUser-Agent: other/1\r\n\r\n"
    third = b"HEAD /c HTTP/1.1\r\nHost: www.example.com:8080\r\n\r\n"
    _, facts, _ = feed_stream([GET + second + third])
    assert facts.http_requests == 3
    assert facts.http_hosts == ["www.example.com:8080", "cdn.example"]
    assert facts.http_user_agents == ["curl/8.5.0", "other/1"]
    assert facts.http_method == "GET" and facts.http_path == "/index.html?q=1"


@pytest.mark.parametrize("size", [1, 2, 7, 13, 64])
def test_head_split_across_segments(size: int) -> None:
    _, facts, wants = feed_stream([GET[i : i + size] for i in range(0, len(GET), size)])
    assert all(wants) and facts.http_requests == 1
    assert facts.http_user_agent == "curl/8.5.0"


def test_out_of_order_segments_are_reassembled() -> None:
    d, facts = http.create(), L7Facts()
    for start in (0, 60, 30):
        d.feed(segment(ORIG, GET[start : start + 30] if start < 60 else GET[60:], 1000 + start), facts)
    assert facts.http_requests == 1 and facts.http_referer == "http://ref.example/"


def test_request_body_is_skipped_by_content_length() -> None:
    body = b"GET /fake HTTP/1.1\r\nHost: not-a-request.example\r\n\r\n"
    post = b"POST /form HTTP/1.1\r\nHost: api.example\r\nContent-Length: %d\r\n\r\n" % len(body)
    after = b"GET /next HTTP/1.1\r\nHost: next.example\r\n\r\n"
    stream = post + body + after
    _, facts, _ = feed_stream([stream[:70], stream[70:100], stream[100:]])
    assert facts.http_requests == 2 and facts.http_hosts == ["api.example", "next.example"]


def test_chunked_body_resynchronises_on_the_next_request() -> None:
    post = b"POST /up HTTP/1.1\r\nHost: up.example\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = b"5\r\nhello\r\n1a\r\nGET /x is not a request line\r\n0\r\n\r\n"
    after = b"GET /after HTTP/1.1\r\nHost: after.example\r\n\r\n"
    _, facts, wants = feed_stream([post, chunks, after])
    assert all(wants) and facts.http_hosts == ["up.example", "after.example"]


def test_bare_line_feeds_and_lenient_request_lines() -> None:
    _, facts, _ = feed_stream(
        [b"OPTIONS\nHost: www.google.com\n\n", b"GET / HTTP/1.\nHost: www.google.com\n\n"]
    )
    assert facts.http_requests == 2 and facts.http_method == "OPTIONS" and facts.http_path == ""
    assert facts.http_hosts == ["www.google.com"]


def test_informational_response_is_skipped() -> None:
    d, facts = http.create(), L7Facts()
    d.feed(segment(ORIG, GET, 1), facts)
    d.feed(segment(RESP, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n", 1), facts)
    before = facts.http_status  # the final response's head is not complete yet
    d.feed(segment(RESP, b"Content-Type: text/plain\r\n\r\n", 50), facts)
    assert (before, facts.http_status, facts.http_content_type) == (None, 404, "text/plain")


def test_first_response_only_and_non_http_responder() -> None:
    d, facts = http.create(), L7Facts()
    d.feed(segment(ORIG, GET, 1), facts)
    d.feed(segment(RESP, b"\x00\x01binary junk", 1), facts)
    d.feed(segment(RESP, RESPONSE, 14), facts)
    assert facts.http_status is None


def test_non_http_originator_is_an_error() -> None:
    with pytest.raises(DissectError):
        feed_stream([b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"])
    with pytest.raises(DissectError):
        feed_stream([b"SSH-2.0-OpenSSH_9.6\r\n" + b"x" * 9000, b"y" * 9000])


def test_request_limit() -> None:
    request = b"GET / HTTP/1.1\r\nHost: h.example\r\n\r\n"
    _, facts, wants = feed_stream([request] * (http.MAX_REQUESTS + 5))
    assert facts.http_requests == http.MAX_REQUESTS
    assert wants.index(False) == http.MAX_REQUESTS - 1


def test_byte_limit_per_direction() -> None:
    d, facts = http.create(), L7Facts()
    assert d.feed(segment(ORIG, GET, 1), facts)
    seq, wants = 1, []
    for _ in range(300):  # 300 KiB of response body
        wants.append(d.feed(segment(RESP, b"x" * 1024, seq), facts))
        seq += 1024
    assert wants[200] and not wants[-1]


def test_oversized_head_is_not_buffered_forever() -> None:
    head = b"GET / HTTP/1.1\r\nX-Pad: " + b"a" * (http.MAX_HEAD + 10)
    _, facts, wants = feed_stream([head[i : i + 1000] for i in range(0, len(head), 1000)])
    assert facts.http_requests == 0 and not wants[-1]


def test_udp_is_not_for_this_dissector() -> None:
    pkt = L7Packet(ORIG, 0.0, "udp", 1900, 1900, b"M-SEARCH * HTTP/1.1\r\n\r\n", 0, 0)
    assert http.create().feed(pkt, L7Facts()) is False


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (GET, True),
        (RESPONSE, True),
        (b"PROPFIND /dav HTTP/1.1\r\n", True),
        (b"DESCRIBE rtsp://cam/ RTSP/1.0\r\n", False),
        (b"RTSP/1.0 200 OK\r\n", False),
        (b"HTTP/2.0 200\r\n", False),
        (b"\x16\x03\x01\x02\x00", False),
        (b"GET", False),
        (b"", False),
    ],
)
def test_looks_like_http(payload: bytes, expected: bool) -> None:
    assert http.looks_like_http(payload) is expected


# ---------------------------------------------------------------------------------------------------
# Real captures against the corpus truth

HTTP_CAPTURES = [
    "methods.pcap",
    "http_ua_splitted_in_two_pkts.pcapng",
    "wikipedia.pcap",
    "WebattackSQLinj.pcap",
    "1kxun.pcap",
    "android.pcap",
    "workshop_2011_browse.pcap",
    "windowsupdate_over_http.pcap",
    "http-vlan-0.pcap",
    "mixed-vlan-mpls.pcap",
    "sites.pcapng",
]


def strip_port(host: str) -> str:
    """The report's rule: drop a ':port' suffix (an IPv6 literal keeps its colons)."""
    if host.startswith("["):
        return host[: host.index("]") + 1] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@pytest.mark.corpus
@pytest.mark.parametrize("name", HTTP_CAPTURES)
def test_http_matches_truth(corpus: Path, name: str) -> None:
    expected = truth(name)["http"]
    hosts: set[str] = set()
    agents: set[str] = set()
    requests = 0
    for facts, _ in replay_all(tcp_flows(corpus / "pcaps" / name), http.create):
        hosts.update(strip_port(h) for h in facts.http_hosts)
        agents.update(facts.http_user_agents)
        requests += facts.http_requests
    assert hosts == set(expected["hosts"])
    assert agents == set(expected["user_agents"])
    assert requests == expected["requests"]  # the truth leaves SSDP (HTTP over UDP) out


@pytest.mark.corpus
def test_user_agent_split_over_two_segments(corpus: Path) -> None:
    flows = tcp_flows(corpus / "pcaps" / "http_ua_splitted_in_two_pkts.pcapng")
    (facts, error), *_ = replay_all(flows, http.create)
    assert error is None and facts.http_requests == 37
    assert facts.http_user_agents == truth("http_ua_splitted_in_two_pkts.pcapng")["http"]["user_agents"]
    assert facts.http_status == 200


@pytest.mark.corpus
def test_tls_on_port_80_is_not_http(corpus: Path) -> None:
    results = replay_all(tcp_flows(corpus / "pcaps" / "tls_port_80.pcapng"), http.create)
    assert results and all(facts.http_requests == 0 for facts, _ in results)
    assert any(error is not None for _, error in results)
