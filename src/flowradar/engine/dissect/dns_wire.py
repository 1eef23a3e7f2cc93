"""DNS wire format: a lenient, bounded parser of one message, and the header heuristics.

:func:`parse_message` reads the header, the question section and the answer section of one message
(authority and additional records are not needed by flowradar and are not read). It never raises
for a message cut short (by a snap length or a truncated TCP stream): it returns what was parsed
completely before the cut and sets ``truncated``. Names are rendered the way tshark 4.0 shows them
(see :mod:`.dns_text`). All work is bounded: names stop after 512 labels or pointers, a message after
4,096 of them in total. :func:`looks_like_dns` tells whether a payload starts like a DNS message.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

from flowradar.engine.dissect.base import DissectError
from flowradar.engine.dissect.dns_text import (
    _MAX_NAME,
    _NAME_STEPS,
    _NOT_PLAIN,
    _ROOT,
    _TOO_LONG,
    _plain_labels,
    _render,
    format_text,
)

TYPE_NAMES: dict[int, str] = {
    1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO", 15: "MX",
    16: "TXT", 17: "RP", 18: "AFSDB", 24: "SIG", 25: "KEY", 28: "AAAA", 29: "LOC", 33: "SRV", 35: "NAPTR",
    36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP",
    45: "IPSECKEY", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 49: "DHCID", 50: "NSEC3", 51: "NSEC3PARAM",
    52: "TLSA", 53: "SMIMEA", 55: "HIP", 59: "CDS", 60: "CDNSKEY", 61: "OPENPGPKEY", 62: "CSYNC",
    63: "ZONEMD", 64: "SVCB", 65: "HTTPS", 99: "SPF", 249: "TKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR",
    255: "ANY", 256: "URI", 257: "CAA",
}  # fmt: skip
"""Mnemonics of the record types worth naming; any other type is shown as ``TYPE<n>`` (RFC 3597)."""

RCODE_NAMES: dict[int, str] = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE", 11: "DSOTYPENI",
}  # fmt: skip
"""Mnemonics of the response codes of the 4-bit header field."""

_HDR = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_NAME_RDATA = frozenset({2, 5, 6, 12, 39, 15, 33})  # record types whose data holds a name
_NAME_RANGE = range(_NAME_STEPS)
_MESSAGE_STEPS = 4096  # labels + pointers walked for one message
_MAX_TEXT = 1024  # longest TXT rendering kept
_VALID_OPCODES = frozenset({0, 1, 2, 4, 5, 6})
_VALID_QCLASSES = frozenset({1, 3, 4, 254, 255})
_LOOP, _UNKNOWN_LABEL = "<name contains a pointer that loops>", "<unknown extended label>"


class _Cut(Exception):
    """The message ends (or turns invalid) here: keep what was parsed before."""


@dataclass(slots=True)
class DnsMessage:
    """The parts of one DNS message that flowradar reports."""

    id: int
    is_response: bool
    opcode: int
    rcode: int
    questions: list[tuple[str, int]] = field(default_factory=list)
    """(name, qtype) of each question parsed completely."""
    answers: list[tuple[str, int, int, str]] = field(default_factory=list)
    """(owner, type, ttl, rdata as text) of each answer-section record parsed completely."""
    truncated: bool = False
    """The question or answer section was cut short or malformed; the lists hold what came before."""
    steps: int = 0
    """Name labels and pointers walked: the work this message cost (at most 4,096)."""


def type_name(rtype: int) -> str:
    """Mnemonic of a record type, ``TYPE<n>`` when it has none here."""
    return TYPE_NAMES.get(rtype) or f"TYPE{rtype}"


def rcode_name(rcode: int) -> str:
    """Mnemonic of a response code, ``RCODE<n>`` when it has none."""
    return RCODE_NAMES.get(rcode) or f"RCODE{rcode}"


_Questions = list[tuple[str, int]]
_Answers = list[tuple[str, int, int, str]]


class _Reader:
    """Walks one message: names with decompression, record data, and a shared work budget."""

    __slots__ = ("cache", "data", "steps")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.steps = _MESSAGE_STEPS
        self.cache: dict[int, str] = {}

    def name(self, pos: int, limit: int = 0) -> tuple[str, int]:
        """The name at ``pos`` and the offset after it; ``limit`` bounds names inside record data."""
        data = self.data
        if pos + 1 < len(data) and data[pos] >= 0xC0:  # a pointer to a name read before: reuse it
            target = ((data[pos] & 0x3F) << 8) | data[pos + 1]
            cached = self.cache.get(target) if target < pos else None
            if cached is not None:
                return cached, pos + 2
        elif not limit:  # the usual: uncompressed labels up to the next zero byte
            end = data.find(0, pos)
            name, labels = _plain_labels(data[pos:end]) if end >= 0 else ("", -1)
            if 0 <= labels < self.steps:
                self.steps -= labels + 1
                if name != _ROOT:
                    self.cache[pos] = name
                return name, end + 1
        name, end = self._walk(pos, limit)
        if not limit and name != _ROOT:
            self.cache[pos] = name
        return name, end

    def _walk(self, start: int, limit: int) -> tuple[str, int]:
        data = self.data
        n = len(data)
        pos, end, pointers, size = start, -1, 0, -1
        parts: list[bytes] = []
        steps = self.steps
        try:
            for _ in _NAME_RANGE:
                if limit and pos - start >= limit:
                    break
                steps -= 1
                if steps < 0 or pos >= n:
                    raise _Cut
                length = data[pos]
                pos += 1
                if length < 0x40:
                    if not length:
                        break
                    after = pos + length
                    if after > n or (limit and after - start > limit):
                        raise _Cut
                    if size <= _MAX_NAME:
                        parts.append(data[pos:after])
                    size += length + 1
                    pos = after
                elif length >= 0xC0:
                    if pos >= n:
                        raise _Cut
                    target = ((length & 0x3F) << 8) | data[pos]
                    pos += 1
                    pointers += 1
                    if end < 0:
                        end = pos
                    if target == pos + 2 or pointers > 255:
                        return _LOOP, end
                    pos = target
                elif length == 0x41:
                    pos = self._bitstring(pos, parts)
                    size += len(parts[-1]) + 1
                elif length < 0x80:
                    return _UNKNOWN_LABEL, (pos if end < 0 else end)
                else:
                    raise _Cut
            else:  # too many labels: without a pointer, where the name ends is unknown
                if end < 0:
                    raise _Cut
                return (_TOO_LONG if size > _MAX_NAME else _LOOP), end
        finally:
            self.steps = steps
        if end < 0:
            end = pos
        if not parts:
            if end - start > 1:  # a compressed root: tshark gives up on the message here
                raise _Cut
            return _ROOT, end
        if size > _MAX_NAME:
            return _TOO_LONG, end
        return _render(b".".join(parts) if len(parts) > 1 else parts[0]), end

    def _bitstring(self, pos: int, parts: list[bytes]) -> int:
        """An RFC 2673 bitstring label, rendered like tshark: ``\\[x<hex>/<bits>]``."""
        if pos >= len(self.data):
            raise _Cut
        bits = self.data[pos]
        nbytes = (bits + 7) // 8 or 1
        blob = self.data[pos + 1 : pos + 1 + nbytes]
        if len(blob) < nbytes:
            raise _Cut
        parts.append(b"\\[x" + blob.hex().encode() + b"/%d]" % bits)
        return pos + 1 + nbytes

    def rdata(self, rtype: int, pos: int, rdlen: int) -> str:
        """Record data as text: addresses, names, 'pref name' (MX), 'prio weight port target' (SRV),
        the primary server (SOA), text (TXT), RFC 3597 ``\\# len hex`` for everything else."""
        if rtype not in _NAME_RDATA:
            return _rdata_text(rtype, self.data[pos : pos + rdlen])
        if rtype == 15:
            if rdlen > 2:
                return f"{int.from_bytes(self.data[pos : pos + 2])} {self.name(pos + 2, rdlen - 2)[0]}"
        elif rtype == 33:
            if rdlen > 6:
                prio, weight, port = struct.unpack_from("!HHH", self.data, pos)
                return f"{prio} {weight} {port} {self.name(pos + 6, rdlen - 6)[0]}"
        elif rdlen > 0:
            return self.name(pos, rdlen)[0]
        return _rdata_text(rtype, self.data[pos : pos + rdlen])

    def read(self, pos: int, questions: _Questions, qdcount: int, answers: _Answers, ancount: int) -> bool:
        """Append (name, qtype) of ``qdcount`` questions from ``pos``, then (owner, type, ttl, rdata
        text) of ``ancount`` records; return whether the message was cut short."""
        data, name = self.data, self.name
        try:
            for _ in range(qdcount):
                qname, pos = name(pos)
                if pos + 4 > len(data):
                    raise _Cut
                questions.append((qname, (data[pos] << 8) | data[pos + 1]))
                pos += 4
            for _ in range(ancount):
                owner, pos = name(pos)
                if pos + 10 > len(data):
                    raise _Cut
                rtype, _, ttl, rdlen = _RR.unpack_from(data, pos)
                pos += 10
                if pos + rdlen > len(data):
                    raise _Cut
                answers.append((owner, rtype, ttl, self.rdata(rtype, pos, rdlen)))
                pos += rdlen
        except _Cut:
            return True
        return False

    def spent(self) -> int:
        """Steps walked so far."""
        return _MESSAGE_STEPS - (self.steps if self.steps > 0 else 0)


def _rdata_text(rtype: int, blob: bytes) -> str:
    """Record data that holds no name as text: addresses, text (TXT), else ``\\# len hex``."""
    if rtype == 1 and len(blob) == 4:
        return socket.inet_ntoa(blob)
    if rtype == 28 and len(blob) == 16:
        return socket.inet_ntop(socket.AF_INET6, blob)
    if rtype in (16, 99):
        return _txt(blob)
    return f"\\# {len(blob)} {blob.hex()}" if len(blob) <= 64 else f"\\# {len(blob)} {blob[:64].hex()}..."


def _txt(blob: bytes) -> str:
    """The character-strings of a TXT record, concatenated and escaped (bounded)."""
    chunks: list[bytes] = []
    i = 0
    while i < len(blob) and i < 4 * _MAX_TEXT:
        ln = blob[i]
        chunks.append(blob[i + 1 : i + 1 + ln])
        i += 1 + ln
    text = b"".join(chunks)[:_MAX_TEXT]
    return text.decode("ascii") if not _NOT_PLAIN.search(text) else format_text(text)[:_MAX_TEXT]


def parse_message(data: bytes) -> DnsMessage:
    """Parse the header, questions and answers of one DNS message (without a TCP length prefix).

    Raises :class:`DissectError` only when the 12-byte header itself is missing.
    """
    if len(data) < 12:
        raise DissectError(f"DNS message of {len(data)} bytes is shorter than its header")
    ident, flags, qdcount, ancount, _, _ = _HDR.unpack_from(data, 0)
    msg = DnsMessage(ident, bool(flags & 0x8000), (flags >> 11) & 0xF, flags & 0xF)
    reader = _Reader(bytes(data))
    msg.truncated = reader.read(12, msg.questions, qdcount, msg.answers, ancount)
    msg.steps = reader.spent()
    return msg


def _empty(data: bytes) -> bool:
    """No question and no answer announced (an error response may echo nothing)."""
    return not any(data[4:8])


def _plausible_header(data: bytes | bytearray) -> bool:
    """Header sanity for a message inside a DNS flow: size, opcode and counts."""
    if len(data) < 12:
        return False
    _, flags, qd, an, ns, ar = _HDR.unpack_from(data, 0)
    return (flags >> 11) & 0xF in _VALID_OPCODES and qd <= 64 and max(an, ns, ar) <= 4096


def looks_like_dns(payload: bytes, transport: str) -> bool:
    """True when the payload starts like a DNS message: a sane header and a well-formed first
    question (uncompressed labels, a known class), or for a response without questions, a first
    answer record of class IN. For TCP the payload starts with the 2-byte length prefix."""
    if transport == "tcp":
        if len(payload) < 14 or int.from_bytes(payload[:2]) < 12:
            return False
        payload = payload[2:]
    if not _plausible_header(payload):
        return False
    _, flags, qd, an, _, _ = _HDR.unpack_from(payload, 0)
    if qd == 0:
        return bool(flags & 0x8000) and an > 0 and _first_class(payload) == 1
    return qd <= 16 and _first_class(payload) in _VALID_QCLASSES


def _first_class(payload: bytes) -> int:
    """Class (without the mDNS top bit) after an uncompressed first name at offset 12, or -1."""
    pos = 12
    for _ in range(128):
        if pos >= len(payload):
            return -1
        length = payload[pos]
        if length == 0:
            break
        if length > 63:
            return -1
        pos += 1 + length
    else:
        return -1
    if pos + 5 > len(payload):
        return -1
    return ((payload[pos + 3] << 8) | payload[pos + 4]) & 0x7FFF
