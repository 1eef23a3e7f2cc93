"""Type stubs of the compiled TLS kernel (_tlsc.c)."""

from collections.abc import Callable

from flowradar.engine.dissect.base import L7Packet
from flowradar.model.flow import L7Facts

MAX_PACKETS: int
"""tls.MAX_PACKETS."""
MAX_HELLO: int
"""tls.MAX_HELLO."""

_ClientPrints = Callable[
    [
        tuple[
            str,
            int,
            tuple[int, ...],
            tuple[int, ...],
            tuple[int, ...],
            tuple[int, ...],
            tuple[int, ...],
            tuple[int, ...],
            bytes | None,
        ]
    ],
    tuple[tuple[str, ...], str, str],
]

class Dissector:
    """One flow's TLS dissector: a port of tls.TlsDissector."""

    @property
    def directions(self) -> int:
        """Both directions are dissected (3)."""

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Consume one TCP segment; return False once done (raises DissectError on malformed TLS)."""

class Kernel:
    """Makes TLS dissectors that share the Python fingerprint functions and their caches."""

    def __init__(
        self,
        dissect_error: type[Exception],
        client_prints: _ClientPrints,
        server_prints: Callable[[tuple[int, int | None, int, tuple[int, ...]]], tuple[str, str, str]],
        hello_facts: Callable[[bytes, L7Facts], int],
    ) -> None: ...
    def dissector(self) -> Dissector:
        """A fresh dissector for one flow."""
