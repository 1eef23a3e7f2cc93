"""What the live feed says about each host: its flows (ended, or still active), alerts and rates.

Events (JSON objects sent to every WebSocket client, ``ts`` is the server's publish time):

- ``flows``: flows that ended and were stored, ``{"type", "host", "ts", "count", "flows": [...]}``;
- ``flow_updates``: active flows that changed in the last second (single-host mode), same shape,
  each flow with ``"active": true`` and its counters so far. They are not stored: the ``flows``
  event of the same ``uid`` replaces them when the flow ends;
- ``alerts``: new or updated alerts;
- ``rates``: per host, flows and flow bytes per second, interface totals, CPU and memory;
- ``interfaces``: per host, the down and up rate of every interface (every second in single-host
  mode, with each metrics sample of an agent).

A flow in ``flows`` and ``flow_updates`` is :func:`flow_summary`: endpoints, counters per
direction, application, name, process and the enrichment the dashboard shows (geography, ASN,
domain, classes, tracker, intel, privacy score).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from flowradar.model.alert import Alert
from flowradar.model.flow import FlowRecord
from flowradar.model.host import HostMetrics, InterfaceMetrics
from flowradar.server.live import Broadcaster

LIVE_INTERFACES_FRESH_S = 5.0
"""A host whose interface rates came live this recently has its metrics' 10 s averages ignored."""


def flow_summary(f: FlowRecord, active: bool = False) -> dict[str, Any]:
    """The fields of a flow the live feed shows."""
    e, l7 = f.enrich, f.l7
    return {
        "uid": f.uid,
        "active": active,
        "ts_first": f.ts_first,
        "ts_last": f.ts_last,
        "transport": f.transport,
        "src_ip": f.src_ip,
        "src_port": f.src_port,
        "dst_ip": f.dst_ip,
        "dst_port": f.dst_port,
        "app_proto": l7.app_proto,
        "name": e.name or l7.tls_sni or l7.http_host,
        "name_source": e.name_source,
        "tls_sni": l7.tls_sni,
        "http_host": l7.http_host,
        "process": e.process,
        "pid": e.pid,
        "remote_ip": e.remote_ip,
        "src_class": e.src_class,
        "dst_class": e.dst_class,
        "direction": e.direction,
        "service": e.service,
        "domain": e.domain,
        "country": e.country,
        "city": e.city,
        "latitude": e.latitude,
        "longitude": e.longitude,
        "asn": e.asn,
        "as_org": e.as_org,
        "tracker": e.tracker,
        "tracker_category": e.tracker_category,
        "intel": e.intel,
        "threat_level": e.threat_level,
        "privacy_score": e.privacy_score,
        "end_reason": None if active else f.end_reason,
        "src_packets": f.src_packets,
        "dst_packets": f.dst_packets,
        "src_bytes": f.src_bytes,
        "dst_bytes": f.dst_bytes,
        "packets": f.src_packets + f.dst_packets,  # ingest refuses a record without counters
        "bytes": f.src_bytes + f.dst_bytes,
    }


def interface_rates(interfaces: Sequence[InterfaceMetrics]) -> list[dict[str, Any]]:
    """Name, state, down and up bytes per second of every interface but loopback."""
    return [
        {"name": i.name, "up": i.up, "rx_bytes_s": i.rx_bytes_s, "tx_bytes_s": i.tx_bytes_s}
        for i in interfaces
        if i.name != "lo"
    ]


class Announcer:
    """Publishes each host's events; remembers the latest rates of each host (thread-safe enough:
    one writer per host at a time, plain dict updates)."""

    def __init__(self, broadcaster: Broadcaster, live_flows: int = 200) -> None:
        self.broadcaster = broadcaster
        self.live_flows = live_flows
        """Flows per event at most (the rest are counted in ``count``)."""
        self._last: dict[str, float] = {}
        self._iface: dict[str, dict[str, float]] = {}
        self._live_iface: dict[str, float] = {}

    def batch(
        self, host: str, flows: Sequence[FlowRecord], metrics: Sequence[HostMetrics], alerts: Sequence[Alert]
    ) -> None:
        """A stored batch: its ended flows, its alerts and the host's rates."""
        publish = self.broadcaster.publish
        now = time.time()
        if flows:
            publish(self._flows("flows", host, now, flows, active=False))
        if alerts:
            publish({"type": "alerts", "host": host, "ts": now, "alerts": [a.to_dict() for a in alerts]})
        if metrics and not self._live(host, now):
            latest = max(metrics, key=lambda s: s.ts)
            publish(
                {
                    "type": "interfaces",
                    "host": host,
                    "ts": now,
                    "interfaces": interface_rates(latest.interfaces),
                }
            )
        publish(self._rates(host, now, flows, metrics))

    def active_flows(self, host: str, records: Sequence[FlowRecord]) -> None:
        """Snapshots of active flows (never stored; the final record replaces them by uid)."""
        if records:
            self.broadcaster.publish(self._flows("flow_updates", host, time.time(), records, active=True))

    def interfaces(self, host: str, ts: float, rates: Sequence[InterfaceMetrics]) -> None:
        """Live interface rates of a host (every second in single-host mode)."""
        rows = interface_rates(rates)
        self._live_iface[host] = time.time()
        state = self._iface.setdefault(host, {})
        state["rx_bytes_s"] = round(sum(r["rx_bytes_s"] for r in rows), 1)
        state["tx_bytes_s"] = round(sum(r["tx_bytes_s"] for r in rows), 1)
        self.broadcaster.publish({"type": "interfaces", "host": host, "ts": ts, "interfaces": rows})

    def _flows(
        self, kind: str, host: str, now: float, flows: Sequence[FlowRecord], active: bool
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "host": host,
            "ts": now,
            "count": len(flows),
            "flows": [flow_summary(f, active) for f in flows[: self.live_flows]],
        }

    def _live(self, host: str, now: float) -> bool:
        return now - self._live_iface.get(host, 0.0) < LIVE_INTERFACES_FRESH_S

    def _rates(
        self, host: str, now: float, flows: Sequence[FlowRecord], metrics: Sequence[HostMetrics]
    ) -> dict[str, Any]:
        since = self._last.get(host)
        self._last[host] = now
        span = max(now - since, 0.1) if since is not None else 1.0
        volume = sum(f.src_bytes + f.dst_bytes for f in flows)
        if metrics:
            latest = max(metrics, key=lambda s: s.ts)
            state = self._iface.setdefault(host, {})
            if not self._live(host, now):
                up = [i for i in latest.interfaces if i.name != "lo"]
                state["rx_bytes_s"] = sum(i.rx_bytes_s for i in up)
                state["tx_bytes_s"] = sum(i.tx_bytes_s for i in up)
            state["cpu_percent"] = latest.cpu_percent
            state["mem_percent"] = latest.mem_percent
        return {
            "type": "rates",
            "host": host,
            "ts": now,
            "flows_per_s": round(len(flows) / span, 3),
            "flow_bytes_per_s": round(volume / span, 1),
            **self._iface.get(host, {}),
        }
