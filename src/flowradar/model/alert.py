"""Alert: what a detector found, about whom, how bad, on what evidence, and where it stands."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

from flowradar.model.schema import doc

SEVERITIES = ("info", "low", "medium", "high", "critical")
"""Severities, least to most severe."""
STATUSES = ("open", "acknowledged", "resolved")
"""Lifecycle of an alert: raised open, acknowledged by a person, resolved (by a person or idle)."""


def severity_rank(severity: str) -> int:
    """0 for info up to 4 for critical (-1 for an unknown name)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


def raise_severity(severity: str, levels: int = 1) -> str:
    """The severity ``levels`` steps up (capped at critical)."""
    return SEVERITIES[min(max(severity_rank(severity), 0) + levels, len(SEVERITIES) - 1)]


@dataclass(slots=True)
class Alert:
    """One finding of a detector or a custom rule."""

    kind: str = doc(
        "what was found: scan, flood, bruteforce, beacon, dns_tunnel, dga, suspicious_port, "
        "cleartext_credentials, threat_intel, tracker, new_country, new_asn, exfiltration or rule"
    )
    type: str = doc("finer class within the kind (port_scan, tcp_syn_flood, ssh, a rule's name, ...)")
    severity: str = doc("info, low, medium, high or critical")
    score: int = doc("0-100: how sure and how bad, comparable across kinds", 0)
    subject_ip: str | None = doc("address the alert is about (scanner, victim, beaconing host, ...)")
    subject_host: str | None = doc("host or domain name the alert is about, when known")
    subject_process: str | None = doc("process the alert is about, when known")
    peer_ip: str | None = doc("the other side, when there is one (the server beaconed to, ...)")
    identifier: str = doc("de-duplication key: alerts with the same identifier are one alert", "")
    message: str = doc("one readable line", "")
    evidence: list[str] = doc("uids of flows that show it (bounded)", factory=list)
    first_seen: float = doc("time of the first evidence, seconds since the epoch", 0.0)
    last_seen: float = doc("time of the latest evidence, seconds since the epoch", 0.0)
    trigger_ts: float = doc("time of the traffic that crossed the threshold", 0.0)
    raised_at: float = doc("wall-clock time the alert was raised (or last updated)", 0.0)
    count: int = doc("how many times it was raised while open (repeats update this alert)", 1)
    status: str = doc("open, acknowledged or resolved", "open")
    uid: str = doc("unique id of this alert (set when the alert manager accepts it)", "")
    details: dict[str, Any] = doc("measurements behind the alert (counts, thresholds, scores)", factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field."""
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """One compact JSON line."""
        return json.dumps(self.to_dict(), separators=(",", ":"), default=str)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Rebuild an alert from :meth:`to_dict` output (unknown keys ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
