"""L7 dispatch: classify each flow's first payload packets and run the matching dissector.

Python sees only the packets the compiled table hands over, one call of :meth:`L7Dispatcher.on_packet`
each (the first payload-carrying packets of flows whose dissection is not finished); its answer sets
at once how many more packets the flow wants. The application protocol is decided by payload first and
port second; the dissector for it (if any) then fills the flow's L7 facts. A dissector that fails on
malformed input records ``l7_error`` and stops; it never stops the engine.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flowradar.engine.dissect import appid, dhcp, dns, http, quic, ssh, tls
from flowradar.engine.dissect.base import Dissector, L7Packet
from flowradar.model.flow import L7Facts

DISSECTORS: dict[str, Callable[[], Dissector]] = {
    "tls": tls.create,
    "quic": quic.create,
    "dns": dns.create,
    "mdns": dns.create,
    "llmnr": dns.create,
    "http": http.create,
    "http-proxy": http.create,
    "ssh": ssh.create,
    "dhcp": dhcp.create,
}
"""Application protocol -> dissector factory."""

_PAYLOAD_TRIES = 4
_REFILL = 8
KEEP = -1
"""Handler answer: the flow's remaining budget stays as the table counted it."""
STOP = 3 << 16
"""Handler answer: no more payload packets of this flow."""
_TRANSPORT = {6: "tcp", 17: "udp"}
_new_packet = tuple.__new__  # an L7Packet without NamedTuple's Python-level __new__


class _FlowL7:
    __slots__ = ("dissector", "done", "facts", "steers", "tries")

    def __init__(self) -> None:
        self.facts = L7Facts()
        self.dissector: Dissector | None = None
        self.steers = False
        """The dissector tells which directions it still wants (its ``directions``)."""
        self.tries = 0
        self.done = False


class L7Dispatcher:
    """Keeps per-flow L7 state, keyed by the flow table's flow id, until the flow is exported."""

    def __init__(self) -> None:
        self._flows: dict[int, _FlowL7] = {}
        self.errors = 0
        """Dissector failures on malformed payload (recorded per flow in l7_error)."""

    def __len__(self) -> int:
        return len(self._flows)

    def on_packet(
        self,
        fid: int,
        direction: int,
        ts_ns: int,
        proto: int,
        orig_port: int,
        resp_port: int,
        seq: int,
        flags: int,
        payload: bytes,
    ) -> int:
        """The compiled table's L7 handler: take one payload packet of flow ``fid``; answer how many
        more the flow wants (``budget | directions << 16``), or :data:`KEEP` to leave that as is."""
        st = self._flows.get(fid)
        if st is None:
            st = self._flows[fid] = _FlowL7()
        elif st.done:
            return STOP
        pkt = _new_packet(
            L7Packet, (direction, ts_ns / 1e9, _TRANSPORT[proto], orig_port, resp_port, payload, seq, flags)
        )
        dissector = st.dissector
        if dissector is None:
            dissector = self._classify(st, pkt)
            if dissector is None:
                return STOP if st.done else KEEP
        try:
            more = dissector.feed(pkt, st.facts)
        except Exception as exc:  # malformed input must never stop the engine
            self.errors += 1
            st.facts.l7_error = f"{type(exc).__name__}: {exc}"[:200]
            more = False
        if more:
            return _REFILL | (dissector.directions if st.steers else 3) << 16  # type: ignore[attr-defined]
        st.done = True
        st.dissector = None
        return STOP

    def _classify(self, st: _FlowL7, pkt: L7Packet) -> Dissector | None:
        """Pick the application protocol; the dissector that now owns the flow, if any."""
        facts = st.facts
        app = appid.guess_by_payload(pkt.transport, pkt.orig_port, pkt.resp_port, pkt.direction, pkt.payload)
        by = "payload"
        if app is None:
            st.tries += 1
            port_app = appid.guess_by_port(pkt.transport, pkt.orig_port, pkt.resp_port)
            if port_app is None or (port_app not in DISSECTORS and st.tries < _PAYLOAD_TRIES):
                if st.tries >= _PAYLOAD_TRIES:
                    st.done = True
                return None
            app, by = port_app, "port"
        facts.app_proto, facts.app_by = app, by
        factory = DISSECTORS.get(app)
        if factory is None:
            st.done = True
            return None
        dissector = st.dissector = factory()
        st.steers = hasattr(dissector, "directions")
        return dissector

    def flow_ids(self) -> np.ndarray:
        """Ids of the flows that currently hold L7 state."""
        return np.fromiter(self._flows.keys(), dtype=np.uint64, count=len(self._flows))

    def peek(self, fid: int) -> L7Facts | None:
        """Facts found so far for a flow that is still active."""
        st = self._flows.get(fid)
        return None if st is None else st.facts

    def pop(self, fid: int) -> L7Facts | None:
        """Remove and return the facts of an exported flow."""
        st = self._flows.pop(fid, None)
        return None if st is None else st.facts
