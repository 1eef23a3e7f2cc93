"""The Dissector seam: what a per-flow L7 parser sees and how it reports facts.

The compiled flow table hands Python only the first payload-carrying packets of each flow. For each
such packet the engine builds an :class:`L7Packet` and calls ``feed`` on the flow's dissector, which
writes what it finds into the flow's :class:`~flowradar.model.flow.L7Facts`. ``feed`` returns True
while the dissector wants more packets of this flow, False once it is done (the engine then stops
sending that flow's packets to Python).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from flowradar.model.flow import L7Facts

ORIG = 0
"""Direction of a packet sent by the flow's originator (the client, usually)."""
RESP = 1
"""Direction of a packet sent by the flow's responder (the server, usually)."""


class L7Packet(NamedTuple):
    """One payload-carrying packet of a flow, as a dissector sees it (a tuple: cheap to build)."""

    direction: int
    """ORIG (0) or RESP (1)."""
    ts: float
    """Capture time, seconds since the epoch."""
    transport: str
    """'tcp' or 'udp'."""
    orig_port: int
    """Port of the flow's originator."""
    resp_port: int
    """Port of the flow's responder."""
    payload: bytes
    """Transport payload (may be cut short by the capture's snap length)."""
    seq: int
    """TCP sequence number of the payload's first byte (0 for UDP)."""
    tcp_flags: int
    """TCP flags byte (0 for UDP)."""


class Dissector(Protocol):
    """A per-flow L7 parser instance.

    A dissector may also expose ``directions`` (1: originator packets only, 2: responder only,
    3: both, the default) so the compiled table stops handing over packets it does not need, such as
    HTTP response bodies.
    """

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Consume one packet; write facts; return True to keep receiving this flow's packets."""
        ...


class DissectorFactory(Protocol):
    """Creates a fresh dissector for one flow."""

    def __call__(self) -> Dissector: ...


class DissectError(ValueError):
    """Raised inside a dissector for malformed input; the engine records it in ``l7_error``."""
