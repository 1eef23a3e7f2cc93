"""Type stubs of the compiled DNS kernel (_dnsc.c)."""

from collections.abc import Callable
from typing import ClassVar

from flowradar.engine.dissect.base import L7Packet
from flowradar.engine.dissect.tcpstream import TcpStream
from flowradar.model.flow import DnsAnswer, L7Facts

MAX_RECORDS: int
"""Distinct questions, and answers, the kernel records per flow (dns.MAX_RECORDS)."""

class Kernel:
    """Parses and records whole DNS messages as dns.DnsDissector's Python parser does."""

    def __init__(
        self,
        type_names: dict[int, str],
        rcode_names: dict[int, str],
        answer_type: type[DnsAnswer],
        facts_type: type[L7Facts],
        render: Callable[[bytes], str],
        rdata_text: Callable[[int, bytes], str],
    ) -> None: ...
    def message(
        self,
        data: bytes,
        questions: set[tuple[str, int]],
        answers: set[tuple[str, str, str, str]],
        facts: L7Facts,
    ) -> int | None:
        """Record one message (without TCP length prefix) into facts and the flow's seen sets;
        return the name steps it cost, or None, touching nothing, to let the Python parser decide."""

MAX_MESSAGES: int
"""Messages a flow's feed reads (dns.MAX_MESSAGES)."""
MAX_FLOW_STEPS: int
"""Name steps a flow's feed walks before giving up (dns.MAX_FLOW_STEPS)."""

class Flow:
    """A DNS flow's state; feed parses UDP messages with the class's ``_kernel`` (None: Python only)
    and hands the rest to the subclass's ``_feed_py``, ``_parse`` and ``_too_costly``."""

    _kernel: ClassVar[Kernel | None]
    _messages: int
    _steps: int
    _bad: int
    _stopped: bool
    _streams: tuple[TcpStream, TcpStream] | None
    @property
    def _questions(self) -> set[tuple[str, int]]: ...
    @property
    def _answers(self) -> set[tuple[str, str, str, str]]: ...
    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Parse the messages this packet completes; True while more messages are welcome."""
    def _compiled(self, data: bytes, facts: L7Facts) -> bool:
        """Record and count one message with the kernel; False (nothing touched) when it declines."""
