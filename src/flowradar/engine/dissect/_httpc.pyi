"""HTTP/1.x dissector kernel: the compiled twin of :class:`flowradar.engine.dissect.http.HttpDissector`."""

from flowradar.engine.dissect.base import L7Packet
from flowradar.model.flow import L7Facts

METHODS: tuple[bytes, ...]
"""The request methods the kernel recognises (must equal http.METHODS)."""
MAX_REQUESTS: int
MAX_STREAM: int
MAX_HEAD: int

class HttpFlow:
    """Fills the http_* facts of a flow from its requests (all of them) and its first response."""

    @property
    def directions(self) -> int:
        """Directions still wanted: once the first response head is read, only the client's (1)."""

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Read what this segment completes; True while more requests may come."""
