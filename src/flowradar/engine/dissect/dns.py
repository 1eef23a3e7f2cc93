"""DNS (also mDNS and LLMNR): the per-flow dissector over the parser of :mod:`.dns_wire`.

Every message of a flow (one per UDP datagram, length-prefixed over TCP) fills the flow's
dns_queries/dns_qtypes, dns_answers and dns_rcode. Names are rendered the way tshark 4.0 shows them,
then lower-cased: no trailing dot, ``<root>`` for the root, non-printable bytes as C escapes
(``\\r``, ``\\000``), invalid UTF-8 as U+FFFD, and tshark's markers for names over 253 bytes
(``<name too long>``), pointer loops and unknown extended labels.
"""

from __future__ import annotations

from typing import ClassVar

from flowradar.engine.dissect import _dnsc
from flowradar.engine.dissect.base import ORIG, DissectError, L7Packet
from flowradar.engine.dissect.dns_text import _ROOT, _plain_labels, _render
from flowradar.engine.dissect.dns_wire import (
    _NAME_RDATA,
    _RR,
    RCODE_NAMES,
    TYPE_NAMES,
    DnsMessage,
    _Answers,
    _empty,
    _Questions,
    _rdata_text,
    _Reader,
    looks_like_dns,
    parse_message,
    rcode_name,
    type_name,
)
from flowradar.engine.dissect.tcpstream import TcpStream
from flowradar.model.flow import DnsAnswer, L7Facts

__all__ = [
    "MAX_FLOW_STEPS", "MAX_MESSAGES", "MAX_RECORDS", "RCODE_NAMES", "TYPE_NAMES", "DnsDissector",
    "DnsMessage", "ReferenceDnsDissector", "create", "looks_like_dns", "parse_message", "rcode_name",
    "type_name",
]  # fmt: skip

MAX_MESSAGES = 10_000
"""A dissector stops after this many messages in one flow."""
MAX_RECORDS = 1_000
"""At most this many distinct questions, and as many distinct answers, are kept per flow."""
MAX_FLOW_STEPS = 250_000
"""Name labels and pointers a dissector walks in one flow (under a second of work) before giving up;
ordinary traffic needs a few dozen per message."""


class DnsDissector(_dnsc.Flow):
    """Reads every DNS message of a flow (one per UDP datagram; length-prefixed over TCP) into
    dns_queries/dns_qtypes, dns_answers and dns_rcode.

    Stops after :data:`MAX_MESSAGES` messages. Raises :class:`DissectError` (keeping the facts
    found so far) when the flow is clearly not DNS (3 or more payloads that are not DNS messages,
    outnumbering those that are; a TCP length prefix under 12 before any message) or when its
    names cost more than :data:`MAX_FLOW_STEPS` to read.

    The state (counters, seen sets, TCP streams) lives in the compiled base, whose ``feed`` takes a
    UDP message as :meth:`_handle` does, without a Python frame: :attr:`_kernel` parses and records
    it, or declines it (touching nothing) to :meth:`_parse`; anything else goes to :meth:`_feed_py`."""

    __slots__ = ()
    _kernel: ClassVar[_dnsc.Kernel | None] = _dnsc.Kernel(
        TYPE_NAMES, RCODE_NAMES, DnsAnswer, L7Facts, _render, _rdata_text
    )
    """The compiled parser and recorder of ordinary messages (the Python parser is its reference)."""

    def _feed_py(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """``feed`` in Python: parse the messages this packet completes; True while more messages
        are welcome."""
        if pkt.transport == "tcp":
            self._feed_tcp(pkt, facts)
        elif pkt.payload:
            self._handle(pkt.payload, facts)
        return not self._stopped and self._messages + self._bad < MAX_MESSAGES

    def _feed_tcp(self, pkt: L7Packet, facts: L7Facts) -> None:
        if self._streams is None:
            self._streams = (TcpStream(256 * 1024), TcpStream(256 * 1024))
        stream = self._streams[0 if pkt.direction == ORIG else 1]
        stream.add(pkt.seq, pkt.payload)
        data = stream.data
        while len(data) >= 2 and self._messages + self._bad < MAX_MESSAGES:
            size = (data[0] << 8) | data[1]
            if size < 12:  # lost the message boundaries: nothing after this can be trusted
                self._stopped = True
                stream.consume(len(data))
                if self._messages == 0:
                    raise DissectError(f"DNS over TCP message length {size} is shorter than a header")
                return
            if len(data) < 2 + size:
                if stream.overflow:  # the rest will never come: read what there is
                    self._handle(bytes(data[2:]), facts)
                    stream.consume(len(data))
                return
            self._handle(bytes(data[2 : 2 + size]), facts)
            stream.consume(2 + size)

    def _handle(self, data: bytes, facts: L7Facts) -> None:
        """Parse one message, then record it (or count it as garbage)."""
        if not self._compiled(data, facts):  # the kernel declined: nothing was touched
            self._steps += self._parse(data, facts)
        if self._steps > MAX_FLOW_STEPS:
            self._too_costly()

    def _too_costly(self) -> None:
        """Give up on the flow: its names cost more than MAX_FLOW_STEPS to read."""
        self._stopped = True
        raise DissectError(f"DNS names too costly to read: over {MAX_FLOW_STEPS} labels in one flow")

    def _parse(self, data: bytes, facts: L7Facts) -> int:
        """The Python parser (the compiled kernel's reference): record one message (or count it as
        garbage); return the steps walked."""
        if len(data) < 12:
            self._garbage(f"payload of {len(data)} bytes is not a DNS message")
            return 0
        data = data if type(data) is bytes else bytes(data)
        end = data.find(0, 12) if data[4] == 0 and data[5] == 1 else -1
        name, labels = _plain_labels(data[12:end]) if end > 0 else ("", -1)
        if labels >= 0 and end + 5 <= len(data):
            return self._one_question(data, name, end + 5, labels + 1, facts)
        return self._message(data, facts)

    def _one_question(self, data: bytes, name: str, pos: int, steps: int, facts: L7Facts) -> int:
        """Record a message whose one question, ``name`` (plain, ``steps`` to read), ends at ``pos``,
        as _message would (the usual message); return the steps walked."""
        question = (name, (data[pos - 4] << 8) | data[pos - 3])
        self._messages += 1
        seen = self._questions
        if len(seen) < MAX_RECORDS and question not in seen:
            seen.add(question)
            facts.dns_queries.append(name)
            facts.dns_qtypes.append(TYPE_NAMES.get(question[1]) or type_name(question[1]))
        if data[2] >= 0x80:
            facts.dns_rcode = RCODE_NAMES.get(data[3] & 0xF) or rcode_name(data[3] & 0xF)
        count = (data[6] << 8) | data[7]
        if not count:
            return steps
        answers: _Answers = []
        n = len(data)
        while count and pos + 12 <= n and data[pos] == 0xC0 and data[pos + 1] == 12 and name != _ROOT:
            # the usual record: its owner a pointer to the question, data without a name
            rtype, _, ttl, rdlen = _RR.unpack_from(data, pos + 2)
            if pos + 12 + rdlen > n or rtype in _NAME_RDATA:
                break
            answers.append((name, rtype, ttl, _rdata_text(rtype, data[pos + 12 : pos + 12 + rdlen])))
            pos += 12 + rdlen
            count -= 1
        if count:
            reader = _Reader(data)
            reader.steps -= steps
            if name != _ROOT:
                reader.cache[12] = name
            reader.read(pos, [], 0, answers, count)
            steps = reader.spent()
        if answers and data[2] >= 0x80:
            self._record_answers([question], answers, facts)
        return steps

    def _message(self, data: bytes, facts: L7Facts) -> int:
        """Parse any message, then record it (or count it as garbage); return the steps walked."""
        questions: _Questions = []
        answers: _Answers = []
        reader = _Reader(data)
        reader.read(12, questions, (data[4] << 8) | data[5], answers, (data[6] << 8) | data[7])
        response = data[2] >= 0x80
        if not (questions or answers or (response and _empty(data))):
            self._garbage(f"payload of {len(data)} bytes is not a DNS message")
            return reader.spent()
        self._messages += 1
        seen = self._questions
        for question in questions:
            if len(seen) < MAX_RECORDS and question not in seen:
                seen.add(question)
                facts.dns_queries.append(question[0])
                facts.dns_qtypes.append(TYPE_NAMES.get(question[1]) or type_name(question[1]))
        if response:
            facts.dns_rcode = RCODE_NAMES.get(data[3] & 0xF) or rcode_name(data[3] & 0xF)
            if answers:
                self._record_answers(questions, answers, facts)
        return reader.spent()

    def _garbage(self, why: str) -> None:
        self._bad += 1
        if self._bad >= 3 and self._bad > self._messages:
            self._stopped = True
            raise DissectError(why)

    def _record_answers(self, questions: _Questions, answers: _Answers, facts: L7Facts) -> None:
        names = (
            [questions[0][0]] if len(questions) == 1 else list(dict.fromkeys([q for q, _ in questions]))[:4]
        )
        seen = self._answers
        for owner, rtype, ttl, value in answers:
            tname = TYPE_NAMES.get(rtype) or type_name(rtype)
            for query in names or (owner,):
                key = (query, tname, value, owner)
                if len(seen) < MAX_RECORDS and key not in seen:
                    seen.add(key)
                    facts.dns_answers.append(DnsAnswer(query, tname, value, ttl, owner))


class ReferenceDnsDissector(DnsDissector):
    """DnsDissector with the Python parser alone: the reference the compiled kernel must match."""

    __slots__ = ()
    _kernel = None


def create() -> DnsDissector:
    """A fresh DNS dissector for one flow (the engine's DissectorFactory)."""
    return DnsDissector()
