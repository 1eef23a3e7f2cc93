"""TLS over TCP: read the ClientHello and ServerHello of a flow, on any port.

Each direction is reassembled with :class:`~flowradar.engine.dissect.tcpstream.TcpStream`, cut into
TLS records, and the handshake records' fragments are joined until the first handshake message of
that direction is complete, so hellos that span records or segments (large post-quantum key shares)
are read whole. The dissector is done once both hellos are read, on malformed or non-TLS data
(:class:`~flowradar.engine.dissect.base.DissectError`), or after a bounded number of packets.

:class:`TlsDissector` is the reference implementation; :func:`create` hands out its compiled port
(``_tlsc.c``), which gives the same facts and errors and calls back into this module for the
fingerprints of each distinct hello and for any hello its parser declines.
"""

from __future__ import annotations

import functools

from flowradar.engine.dissect import _tlsc
from flowradar.engine.dissect.base import DissectError, Dissector, L7Packet
from flowradar.engine.dissect.tcpstream import TcpStream
from flowradar.engine.dissect.tls_hello import (
    CLIENT_HELLO,
    SERVER_HELLO,
    ClientHello,
    ServerHello,
    ja3,
    ja3s,
    ja4,
    parse_client_hello,
    parse_server_hello,
    version_name,
)
from flowradar.model.flow import L7Facts

MAX_PACKETS = 32
"""Packets of a flow the dissector looks at before giving up on the hellos."""
MAX_HELLO = 32768
"""Largest hello message accepted, in bytes."""

_HANDSHAKE = 22
_ALERT = 21
_RECORD_TYPES = range(20, 25)  # change_cipher_spec, alert, handshake, application_data, heartbeat
_MAX_RECORD = 16384 + 2048  # TLSCiphertext limit
_MAX_HELD = 4  # out-of-order first segments held back per direction
_STREAM_LIMIT = MAX_HELLO + 8192  # bytes reassembled per direction


def looks_like_tls(payload: bytes) -> bool:
    """True if the payload starts with a TLS handshake record holding a ClientHello or ServerHello."""
    return (
        len(payload) >= 6
        and payload[0] == _HANDSHAKE
        and payload[1] == 3
        and payload[2] <= 4
        and 0 < ((payload[3] << 8) | payload[4]) <= _MAX_RECORD
        and payload[5] in (CLIENT_HELLO, SERVER_HELLO)
    )


_Ints = tuple[int, ...]
_ClientKey = tuple[str, int, _Ints, _Ints, _Ints, _Ints, _Ints, _Ints, bytes | None]
"""What a ClientHello's fingerprints depend on: transport, legacy version, ciphers, extensions, groups,
point formats, signature algorithms, supported versions, first ALPN value."""


def client_hello_facts(ch: ClientHello, facts: L7Facts, transport: str) -> None:
    """Write what a ClientHello tells into the flow's facts (``transport`` 't' or 'q' for JA4)."""
    facts.tls_sni = ch.sni
    facts.tls_alpn = ch.alpn
    facts.tls_ech = ch.ech
    versions, facts.tls_ja3, facts.tls_ja4 = _client_prints(
        (
            transport,
            ch.legacy_version,
            tuple(ch.cipher_suites),
            tuple(ch.extensions),
            tuple(ch.supported_groups),
            tuple(ch.ec_point_formats),
            tuple(ch.signature_algorithms),
            tuple(ch.supported_versions),
            ch.alpn_raw[0] if ch.alpn_raw else None,
        )
    )
    facts.tls_versions_offered = list(versions)


@functools.lru_cache(maxsize=1024)  # clients repeat their hellos: fingerprint each kind once
def _client_prints(key: _ClientKey) -> tuple[tuple[str, ...], str, str]:
    """(versions offered, JA3 hash, JA4) of the hello ``key`` describes."""
    transport, legacy, ciphers, exts, groups, points, sigs, versions, alpn = key
    ch = ClientHello(
        legacy,
        cipher_suites=list(ciphers),
        extensions=list(exts),
        alpn_raw=[alpn] if alpn is not None else [],
        supported_versions=list(versions),
        supported_groups=list(groups),
        ec_point_formats=list(points),
        signature_algorithms=list(sigs),
    )
    return tuple(ch.versions_offered()), ja3(ch)[1], ja4(ch, transport)


def _server_hello_facts(sh: ServerHello, facts: L7Facts) -> None:
    facts.tls_version, facts.tls_cipher, facts.tls_ja3s = _server_prints(
        (sh.legacy_version, sh.selected_version, sh.cipher_suite, tuple(sh.extensions))
    )


@functools.lru_cache(maxsize=1024)
def _server_prints(key: tuple[int, int | None, int, tuple[int, ...]]) -> tuple[str, str, str]:
    """(version name, cipher, JA3S hash) of the ServerHello ``key`` describes."""
    legacy, selected, cipher, exts = key
    sh = ServerHello(legacy, cipher, list(exts), selected)
    return version_name(sh.version), f"0x{sh.cipher_suite:04x}", ja3s(sh)[1]


def _record_start(data: bytearray, pos: int) -> bool:
    """True if ``data[pos:pos + 5]`` is a plausible TLS record header."""
    length = (data[pos + 3] << 8) | data[pos + 4]
    return data[pos] in _RECORD_TYPES and data[pos + 1] == 3 and length <= _MAX_RECORD


def _stream_start(data: bytearray) -> bool:
    """True if ``data`` (6 bytes or more) starts like one direction of TLS: a hello or an alert."""
    if not _record_start(data, 0):
        return False
    return data[0] == _ALERT or (data[0] == _HANDSHAKE and data[5] in (CLIENT_HELLO, SERVER_HELLO))


def _whole_hello(payload: bytes) -> int:
    """Size of the hello handshake message if the first segment of a direction, ``payload``, starts
    with a TLS record that holds all of it (what the reassembly would find), else 0."""
    if len(payload) < 9 or len(payload) > _STREAM_LIMIT or payload[0] != _HANDSHAKE or payload[1] != 3:
        return 0
    length = (payload[3] << 8) | payload[4]
    size = 4 + ((payload[6] << 16) | (payload[7] << 8) | payload[8])
    if payload[5] not in (CLIENT_HELLO, SERVER_HELLO) or not size <= length <= len(payload) - 5:
        return 0
    return size if length <= _MAX_RECORD and size <= MAX_HELLO else 0


class _Direction:
    """Reassembly state of one direction: TCP bytes, then handshake bytes.

    The TCP stream starts at the first segment seen. If that segment is not the start of the
    direction (it overtook earlier ones), its bytes do not begin with a record header: the segment is
    held back and the stream restarts at the next segment, with the held ones added again after it.
    """

    __slots__ = ("done", "fresh", "handshake", "held", "replay", "stream", "synced")

    def __init__(self) -> None:
        self.fresh = True
        self.stream = TcpStream(limit=_STREAM_LIMIT)
        self.handshake = bytearray()
        self.done = False
        self.synced = False
        self.held: list[tuple[int, bytes]] = []
        self.replay = False

    def add(self, seq: int, payload: bytes) -> None:
        """Add a segment, restarting the stream while it does not begin with a TLS record."""
        self.fresh = False
        self.stream.add(seq, payload)
        if self.replay:
            self.replay = False
            for held_seq, held_payload in self.held:
                self.stream.add(held_seq, held_payload)
        if self.synced or len(self.stream.data) < 6:
            return
        if _stream_start(self.stream.data):
            self.synced = True
            self.held.clear()
            return
        if len(self.held) >= _MAX_HELD:
            raise DissectError("not a TLS record")
        self.held.append((seq, payload))
        self.stream = TcpStream(limit=_STREAM_LIMIT)
        self.replay = True


class TlsDissector:
    """Dissector for TLS over TCP; see the module docstring."""

    __slots__ = ("_dirs", "_finished", "_hellos", "_packets")

    def __init__(self) -> None:
        self._dirs = (_Direction(), _Direction())
        self._hellos: set[int] = set()
        self._packets = 0
        self._finished = False

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Consume one TCP segment; return False once done (raises DissectError on malformed TLS)."""
        if self._finished:
            return False
        self._packets += 1
        side = self._dirs[pkt.direction & 1]
        if not side.done and pkt.payload:
            try:
                size = _whole_hello(pkt.payload) if side.fresh else 0
                if size:  # the usual first segment: read the hello in place, without reassembly
                    self._hello(pkt.payload[5 : 5 + size], facts)
                    side.done = True
                else:
                    side.add(pkt.seq, pkt.payload)
                    self._records(side, facts)
            except DissectError:
                self._finished = True
                raise
        both = self._dirs[0].done and self._dirs[1].done
        if both or len(self._hellos) == 2 or self._packets >= MAX_PACKETS:
            self._finished = True
        return not self._finished

    def _records(self, side: _Direction, facts: L7Facts) -> None:
        """Consume every complete record of this direction, up to its hello."""
        data = side.stream.data
        pos = 0
        while not side.done and len(data) - pos >= 5:
            if not _record_start(data, pos):
                raise DissectError("not a TLS record")
            ctype, length = data[pos], (data[pos + 3] << 8) | data[pos + 4]
            if len(data) - pos - 5 < length:
                break
            if ctype == _HANDSHAKE:
                side.handshake += data[pos + 5 : pos + 5 + length]
                self._handshake(side, facts)
            elif ctype == _ALERT:
                side.done = True  # e.g. the server refused the ClientHello
            else:
                raise DissectError(f"TLS record type {ctype} before the hello")
            pos += 5 + length
        side.stream.consume(pos)
        if side.stream.overflow and not side.done:
            raise DissectError("TLS hello larger than the reassembly limit")

    def _handshake(self, side: _Direction, facts: L7Facts) -> None:
        """Parse the first handshake message of this direction once it is complete."""
        hs = side.handshake
        if len(hs) < 4:
            return
        size = 4 + ((hs[1] << 16) | (hs[2] << 8) | hs[3])
        if hs[0] not in (CLIENT_HELLO, SERVER_HELLO):
            raise DissectError(f"handshake message type {hs[0]} before the hello")
        if size > MAX_HELLO:
            raise DissectError("TLS hello larger than the reassembly limit")
        if len(hs) < size:
            return
        self._hello(hs, facts)
        side.done = True
        side.handshake = bytearray()

    def _hello(self, hs: bytes | bytearray, facts: L7Facts) -> None:
        self._hellos.add(hello_facts(hs, facts))


def hello_facts(hs: bytes | bytearray, facts: L7Facts) -> int:
    """Parse the hello handshake message ``hs`` (a ClientHello or ServerHello, by its type byte) and
    write what it tells into the flow's facts; return its type (raises DissectError if malformed)."""
    if hs[0] == CLIENT_HELLO:
        client_hello_facts(parse_client_hello(hs), facts, "t")
    else:
        _server_hello_facts(parse_server_hello(hs), facts)
    return hs[0]


_KERNEL = _tlsc.Kernel(DissectError, _client_prints, _server_prints, hello_facts)


def create() -> Dissector:
    """A fresh TLS dissector for one flow: the compiled port of :class:`TlsDissector` (the reference)."""
    return _KERNEL.dissector()
