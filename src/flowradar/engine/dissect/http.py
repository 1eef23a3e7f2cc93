"""HTTP/1.x over TCP: request heads of the originator, the first response head of the responder.

Each direction is reassembled with :class:`TcpStream`, so a head split over segments is read once
complete, and pipelined requests in one segment are all read. Request bodies are skipped by their
Content-Length; after a chunked body (or anything unexpected) the parser resynchronises on the next
line that looks like a request line. Like tshark, a request is recognised by its first token alone
(``OPTIONS\\n`` counts), line ends may be bare LF, and a head counts once it is complete.
Everything is bounded: 100 requests and 256 KiB per direction, 32 KiB per head.

:func:`create` returns the compiled kernel (``_httpc.HttpFlow``, the same state machine in C) when it
is built; :class:`HttpDissector` here is the reference it must match on every input (checked by
tests/engine/dissect/test_http_kernel.py) and the fallback without it.
"""

from __future__ import annotations

import re

from flowradar.engine.dissect.base import ORIG, DissectError, L7Packet
from flowradar.engine.dissect.tcpstream import TcpStream
from flowradar.model.flow import L7Facts

try:
    from flowradar.engine.dissect._httpc import HttpFlow
except ImportError:  # the extension is not built: the reference implementation serves
    HttpFlow = None  # type: ignore[assignment,misc]

MAX_REQUESTS = 100
"""A dissector stops after this many requests in one flow."""
MAX_STREAM = 256 * 1024
"""A dissector stops after this many payload bytes in either direction."""
MAX_HEAD = 32 * 1024
"""A request or response head longer than this is not read."""

METHODS = frozenset(
    b"GET HEAD POST PUT DELETE CONNECT OPTIONS TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE LOCK "
    b"UNLOCK SEARCH REPORT CHECKIN CHECKOUT UNCHECKOUT MKACTIVITY MKWORKSPACE VERSION-CONTROL "
    b"BASELINE-CONTROL MERGE LABEL UPDATE ORDERPATCH ACL MKCALENDAR BIND UNBIND REBIND POLL BCOPY "
    b"BDELETE BMOVE BPROPFIND BPROPPATCH SUBSCRIBE UNSUBSCRIBE NOTIFY M-SEARCH CCM_POST RPC_CONNECT "
    b"RPC_IN_DATA RPC_OUT_DATA".split()
)
"""Request methods of HTTP/1.x and its extensions (WebDAV, SSDP/GENA, RPC over HTTP); not RTSP's."""

_METHOD_ALT = b"|".join(re.escape(m) for m in sorted(METHODS, key=len, reverse=True))
_REQUEST_LINE = re.compile(rb"(?m)^(?:" + _METHOD_ALT + rb") [^\r\n]*HTTP/1\.\d\r?$")
_HEAD_END = re.compile(rb"\n\r?\n")
_LONGEST_METHOD = max(len(m) for m in METHODS)
_TOKEN_PREFIX = re.compile(rb"[A-Z_-]*")
_WANTED = frozenset(
    {b"host", b"user-agent", b"referer", b"content-length", b"transfer-encoding", b"content-type"}
)


def looks_like_http(payload: bytes) -> bool:
    """True when the payload starts with '<known method> ' or with an 'HTTP/1.' status line."""
    if payload.startswith(b"HTTP/1."):
        return True
    space = payload.find(b" ", 0, _LONGEST_METHOD + 1)
    return space > 0 and payload[:space] in METHODS


def _text(raw: bytes) -> str:
    return raw.strip(b" \t").decode("utf-8", "replace")


def _head_fields(lines: list[bytes]) -> dict[bytes, bytes]:
    """The first value of each wanted header (names lower-cased); folded lines are ignored."""
    out: dict[bytes, bytes] = {}
    for line in lines:
        name, sep, value = line.partition(b":")
        key = name.strip(b" \t").lower()
        if sep and key in _WANTED and key not in out and line[:1] not in (b" ", b"\t"):
            out[key] = value
    return out


class _Side:
    """One direction: its reassembled bytes, and how far they are known to hold no end of head
    (so a head arriving in many small segments is scanned once, not once per segment)."""

    __slots__ = ("scanned", "stream")

    def __init__(self, limit: int) -> None:
        self.stream = TcpStream(limit)
        self.scanned = 0

    @property
    def data(self) -> bytearray:
        """Buffered bytes."""
        return self.stream.data

    def drop(self, n: int) -> None:
        """Consume ``n`` bytes that are not a head (a body, bytes before a request line)."""
        self.stream.consume(n)
        self.scanned = 0

    def take_head(self) -> list[bytes] | None:
        """Consume the complete head at the start and return its lines; None while incomplete."""
        buf = self.stream.data
        m = _HEAD_END.search(buf, max(0, self.scanned - 3), MAX_HEAD + 4)
        if m is None:
            self.scanned = min(len(buf), MAX_HEAD + 4)
            return None
        lines = bytes(buf[: m.start()]).split(b"\n")
        self.drop(m.end())
        return [line.rstrip(b"\r") for line in lines]


class HttpDissector:
    """Fills the http_* facts of a flow from its requests (all of them) and its first response."""

    __slots__ = ("_orig", "_orig_done", "_resp", "_resp_done", "_seen", "_skip", "_synced")

    def __init__(self) -> None:
        self._orig = _Side(MAX_STREAM)
        self._resp = _Side(MAX_HEAD)
        self._seen = [0, 0]  # payload bytes per direction
        self._skip = 0  # request body bytes still to skip
        self._synced = True  # the originator stream is at a request boundary
        self._orig_done = False
        self._resp_done = False

    @property
    def directions(self) -> int:
        """Directions still wanted: once the first response head is read, only the client's (1)."""
        return 1 if self._resp_done else 3

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Read what this segment completes; True while more requests may come."""
        if pkt.transport != "tcp":
            return False
        direction = 0 if pkt.direction == ORIG else 1
        self._seen[direction] += len(pkt.payload)
        if direction == 0 and not self._orig_done:
            self._orig.stream.add(pkt.seq, pkt.payload)
            self._read_requests(facts)
        elif direction == 1 and not self._resp_done:
            self._resp.stream.add(pkt.seq, pkt.payload)
            self._read_response(facts)
        return (
            not self._orig_done
            and facts.http_requests < MAX_REQUESTS
            and max(self._seen) <= MAX_STREAM
            and not self._orig.stream.overflow
        )

    def _read_requests(self, facts: L7Facts) -> None:
        side = self._orig
        for _ in range(MAX_REQUESTS + 1):
            if self._skip:
                step = min(self._skip, len(side.data))
                side.drop(step)
                self._skip -= step
                if self._skip:
                    return
            if not side.data or facts.http_requests >= MAX_REQUESTS:
                return
            if not self._synced and not self._resync(facts):
                return
            if not self._read_request(facts):
                return

    def _resync(self, facts: L7Facts) -> bool:
        """Drop bytes up to the next request line; False when none is buffered yet."""
        data = self._orig.data
        if facts.http_requests == 0 and not 0x21 <= data[0] < 0x7F:
            self._orig_done = True
            raise DissectError("not HTTP/1.x: the originator's first byte is not text")
        m = _REQUEST_LINE.search(data)
        if m is None:
            keep = len(data) - (data.rfind(b"\n") + 1)  # a request line may be arriving
            self._orig.drop(len(data) - keep if keep < 8192 else len(data))
            if facts.http_requests == 0 and self._seen[0] > 16384:
                self._orig_done = True
                raise DissectError("not HTTP/1.x: no request line in the first 16 KiB")
            return False
        self._orig.drop(m.start())
        self._synced = True
        return True

    def _read_request(self, facts: L7Facts) -> bool:
        """Read one request head at the start of the stream; False when it is not complete yet."""
        data = self._orig.data
        space, eol = data.find(b" ", 0, _LONGEST_METHOD + 1), data.find(b"\n", 0, _LONGEST_METHOD + 2)
        ends = [i for i in (space, eol) if i >= 0]
        token = bytes(data[: min(ends) if ends else _LONGEST_METHOD + 1]).rstrip(b"\r")
        if token not in METHODS:
            if not ends and len(data) <= _LONGEST_METHOD and _TOKEN_PREFIX.fullmatch(token):
                return False  # the first token may still be arriving
            self._synced = False
            return True
        lines = self._orig.take_head()
        if lines is None:
            self._orig_done = len(data) > MAX_HEAD
            return False
        self._record_request(lines, facts)
        return True

    def _record_request(self, lines: list[bytes], facts: L7Facts) -> None:
        fields = _head_fields(lines[1:])
        facts.http_requests += 1
        host = _text(fields[b"host"]).lower() if b"host" in fields else None
        agent = _text(fields[b"user-agent"]) if b"user-agent" in fields else None
        if host and host not in facts.http_hosts:
            facts.http_hosts.append(host)
        if agent and agent not in facts.http_user_agents:
            facts.http_user_agents.append(agent)
        if facts.http_method is None:
            method, _, rest = lines[0].partition(b" ")
            target, _, version = rest.rpartition(b" ")
            # a known method may be followed by \r and then any byte up to the space: never raise
            facts.http_method = method.decode("ascii", "replace")
            facts.http_path = _text(target if version.startswith(b"HTTP/") else rest)
            facts.http_host, facts.http_user_agent = host, agent
            facts.http_referer = _text(fields[b"referer"]) if b"referer" in fields else None
        self._plan_body(fields)

    def _plan_body(self, fields: dict[bytes, bytes]) -> None:
        """Skip a Content-Length body; after a chunked one, resynchronise on the next request."""
        if b"chunked" in fields.get(b"transfer-encoding", b"").lower():
            self._synced = False
            return
        length = fields.get(b"content-length", b"").strip(b" \t")
        if length.isdigit() and len(length) <= 12:
            self._skip = int(length)

    def _read_response(self, facts: L7Facts) -> None:
        """Read the first final (non-1xx) response head; then the responder is ignored."""
        for _ in range(8):
            head = self._response_head()
            if head is None:
                return
            status, lines = head
            if not 100 <= status < 200:
                facts.http_status = status or None
                content_type = _head_fields(lines[1:]).get(b"content-type")
                facts.http_content_type = None if content_type is None else _text(content_type)
                break
        self._resp_done = True

    def _response_head(self) -> tuple[int, list[bytes]] | None:
        """Status code (0 when unreadable) and lines of the next response head; None while
        incomplete or when the responder does not speak HTTP/1.x (then it is done)."""
        data = self._resp.data
        if len(data) >= 7 and not data.startswith(b"HTTP/1."):
            self._resp_done = True
            return None
        lines = self._resp.take_head()
        if lines is None:
            self._resp_done = self._resp.stream.overflow
            return None
        parts = lines[0].split(b" ", 2)
        status = int(parts[1]) if len(parts) >= 2 and len(parts[1]) == 3 and parts[1].isdigit() else 0
        return status, lines


def create() -> HttpDissector | HttpFlow:
    """A fresh HTTP dissector for one flow (the engine's DissectorFactory): the compiled kernel
    when available, else the reference implementation."""
    return HttpDissector() if HttpFlow is None else HttpFlow()
