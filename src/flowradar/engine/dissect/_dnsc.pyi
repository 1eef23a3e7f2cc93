"""Type stubs of the compiled DNS kernel (_dnsc.c)."""

from collections.abc import Callable

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
