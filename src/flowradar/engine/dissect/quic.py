"""QUIC over UDP: read the client's hello from its Initial packets.

IETF QUIC (v1, v2, drafts, mvfst) and Google's Q050/T050/T051 protect Initial packets with keys
derived from public values; this dissector removes that protection, walks coalesced packets,
reassembles CRYPTO frames by offset across packets and datagrams, and parses the TLS ClientHello
(or, for Q050, the gQUIC CHLO). Older gQUIC versions (Q0xx up to Q046) carry the CHLO in the clear.
Initial packets of both directions are tried with client keys (so a flow whose first packet was
lost still works); the server's fail authentication and are skipped. The dissector is done once the
hello is read, when the originator's first datagram is not a handshake packet, or after a bounded
number of packets.
"""

from __future__ import annotations

from flowradar.engine.dissect.base import ORIG, DissectError, L7Packet
from flowradar.engine.dissect.quic_crypto import InitialKeys, QuicVersion, lookup_version, version_name
from flowradar.engine.dissect.quic_gquic import Chlo, chlo_size, find_chlo, parse_chlo, public_header_version
from flowradar.engine.dissect.quic_packets import (
    CryptoStream,
    LongHeader,
    crypto_fragments,
    parse_long_header,
    read_version,
)
from flowradar.engine.dissect.tls import client_hello_facts
from flowradar.engine.dissect.tls_hello import parse_client_hello
from flowradar.model.flow import L7Facts

MAX_PACKETS = 20
"""Packets of a flow (both directions) the dissector looks at before giving up."""
MAX_CRYPTO = 32768
"""Largest client hello accepted, in bytes of CRYPTO stream."""

_MAX_KEY_SETS = 4


def looks_like_quic(payload: bytes) -> bool:
    """True for a long-header packet of a known QUIC version or a gQUIC packet with a version tag."""
    if len(payload) < 7:
        return False
    if payload[0] & 0x80:
        return lookup_version(int.from_bytes(payload[1:5], "big")) is not None
    return public_header_version(payload) is not None


class QuicDissector:
    """Dissector for QUIC and gQUIC over UDP; see the module docstring."""

    __slots__ = ("_crypto", "_done", "_keys", "_orig_seen", "_packets")

    def __init__(self) -> None:
        self._crypto = CryptoStream(MAX_CRYPTO)
        self._keys: dict[tuple[str, bytes], InitialKeys] = {}
        self._packets = 0
        self._orig_seen = False
        self._done = False

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Consume one UDP datagram; return False once done (raises DissectError on malformed QUIC)."""
        if self._done:
            return False
        self._packets += 1
        if pkt.payload:
            try:
                recognized = self._datagram(pkt.payload, facts)
            except DissectError:
                self._done = True
                raise
            if pkt.direction == ORIG and not self._orig_seen:
                self._orig_seen = True
                self._done = self._done or not recognized  # the client did not start with a handshake
        if self._packets >= MAX_PACKETS:
            self._done = True
        return not self._done

    def _datagram(self, data: bytes, facts: L7Facts) -> bool:
        """Read one datagram; return whether it held a QUIC handshake (long header) packet."""
        if not data[0] & 0x80:
            return self._public_header(data, facts)
        pos = 0
        while pos < len(data) and data[pos] & 0x80 and not self._done:
            if pos and len(data) - pos < 7:
                break  # trailing bytes after the coalesced packets
            number = read_version(data, pos)
            if number == 0:
                return True  # version negotiation
            if facts.quic_version is None:
                facts.quic_version = version_name(number)
            version = lookup_version(number)
            if version is None:
                self._done = True
                return True
            if version.salt is None:  # Q046: long header, cleartext CHLO
                self._chlo(find_chlo(data, pos + 5), facts)
                return True
            header = parse_long_header(data, pos, version)
            if header.packet_type == version.initial_type:
                self._initial(data, header, version, facts)
            pos = header.end
        return True

    def _public_header(self, data: bytes, facts: L7Facts) -> bool:
        found = public_header_version(data)
        if found is None:
            return False  # short header, or a gQUIC packet without a version
        number, pos = found
        if facts.quic_version is None:
            facts.quic_version = version_name(number)
        self._chlo(find_chlo(data, pos), facts)
        return True

    def _chlo(self, chlo: Chlo | None, facts: L7Facts) -> None:
        if chlo is not None:
            facts.tls_sni = chlo.sni
            self._done = True

    def _keys_for(self, version: QuicVersion, dcid: bytes) -> InitialKeys:
        key = (version.name, dcid)
        keys = self._keys.get(key)
        if keys is None:
            if len(self._keys) >= _MAX_KEY_SETS:
                self._keys.clear()
            keys = self._keys[key] = InitialKeys(version, dcid)
        return keys

    def _initial(self, data: bytes, header: LongHeader, version: QuicVersion, facts: L7Facts) -> None:
        """Decrypt one client Initial packet, collect its CRYPTO data, parse the hello when whole."""
        keys = self._keys_for(version, header.dcid)
        plain = keys.unprotect(data, header.start, header.pn_offset, header.end)
        if plain is None:
            return  # not protected with client Initial keys: a server packet or a damaged one
        for offset, chunk in crypto_fragments(plain, version.google_frames):
            self._crypto.add(offset, chunk)
        if version.tls:
            msg = self._crypto.first_message()
            if msg is not None:
                client_hello_facts(parse_client_hello(msg), facts, "q")
                self._done = True
            return
        stream = self._crypto.data
        size = chlo_size(stream)
        if size is not None and len(stream) >= size:
            self._chlo(parse_chlo(bytes(stream), 0), facts)


def create() -> QuicDissector:
    """A fresh QUIC dissector for one flow."""
    return QuicDissector()
