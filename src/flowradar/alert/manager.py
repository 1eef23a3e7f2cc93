"""The alert lifecycle: allowlists, de-duplication and suppression, acknowledgement and resolution.

Detectors hand their alerts to :class:`AlertManager.submit`. An alert about an allowlisted network,
domain or process is dropped. An alert whose identifier matches an alert raised within
``suppress_s`` is merged into it (count, last seen, evidence, the higher severity) and is not
delivered again unless its severity rose. Everything else is new: it gets a uid, is kept, and is
returned for delivery to the sinks. Open alerts with no new evidence for ``resolve_after_s`` resolve.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections.abc import Callable, Iterable

from flowradar.alert.settings import AlertConfig
from flowradar.detect.rows import Networks
from flowradar.model.alert import STATUSES, Alert, severity_rank


class AlertManager:
    """Keeps every alert of a run (bounded) and decides which ones are delivered."""

    def __init__(self, cfg: AlertConfig, deliver: Callable[[Alert], None] | None = None) -> None:
        """``deliver`` is called with each alert to send (new, or escalated) at or above ``min_severity``."""
        self._cfg = cfg
        self._deliver = deliver
        self._allow_nets = Networks(cfg.allow_networks)
        self._allow_domains = tuple(d.lower().strip(".") for d in cfg.allow_domains)
        self._allow_procs = frozenset(cfg.allow_processes)
        self._by_id: dict[str, Alert] = {}
        self._by_uid: dict[str, Alert] = {}
        self._serial = 0

    @property
    def alerts(self) -> list[Alert]:
        """Every alert kept, oldest first."""
        return list(self._by_uid.values())

    def allowed(self, alert: Alert) -> bool:
        """True when an allowlist covers the alert's subject (it is then dropped)."""
        for ip in (alert.subject_ip, alert.peer_ip):
            if ip and self._allow_nets.contains_ip(ip):
                return True
        names = [alert.subject_host or "", str(alert.details.get("domain", ""))]
        for name in (n.lower().strip(".") for n in names if n):
            if any(name == d or name.endswith("." + d) for d in self._allow_domains):
                return True
        return bool(alert.subject_process and alert.subject_process in self._allow_procs)

    def submit(self, alerts: Iterable[Alert]) -> list[Alert]:
        """Take detector output; return the alerts that were delivered (new or escalated)."""
        out = []
        for incoming in alerts:
            if self.allowed(incoming):
                continue
            kept = self._by_id.get(incoming.identifier)
            if kept is not None and kept.status != "resolved" and self._suppressed(kept, incoming):
                if self._merge(kept, incoming):
                    out.append(kept)
                continue
            out.append(self._accept(incoming))
        for alert in out:
            if self._deliver is not None and severity_rank(alert.severity) >= severity_rank(
                self._cfg.min_severity
            ):
                self._deliver(copy.deepcopy(alert))  # a snapshot: later merges must not change it
        return out

    def _suppressed(self, kept: Alert, incoming: Alert) -> bool:
        return (
            incoming.last_seen - kept.first_seen < self._cfg.suppress_s
            or incoming.trigger_ts <= kept.last_seen
        )

    def _merge(self, kept: Alert, incoming: Alert) -> bool:
        """Fold a repeat into the kept alert; True when its severity rose (worth delivering)."""
        kept.count += 1
        kept.first_seen = (
            min(kept.first_seen, incoming.first_seen) if kept.first_seen else incoming.first_seen
        )
        kept.last_seen = max(kept.last_seen, incoming.last_seen)
        kept.details.update(incoming.details)
        kept.type = incoming.type or kept.type
        for uid in incoming.evidence:
            if uid not in kept.evidence and len(kept.evidence) < self._cfg.max_evidence:
                kept.evidence.append(uid)
        rose = severity_rank(incoming.severity) > severity_rank(kept.severity)
        if rose:
            kept.severity, kept.raised_at = incoming.severity, incoming.raised_at
            kept.message = incoming.message
        kept.score = max(kept.score, incoming.score)
        return rose

    def _accept(self, incoming: Alert) -> Alert:
        alert = copy.deepcopy(incoming)
        self._serial += 1
        seed = f"{alert.identifier}|{alert.trigger_ts}|{self._serial}".encode()
        alert.uid = "A" + hashlib.blake2b(seed, digest_size=8).hexdigest()
        alert.raised_at = alert.raised_at or time.time()
        alert.evidence = alert.evidence[: self._cfg.max_evidence]
        alert.status = "open"
        self._by_id[alert.identifier] = alert
        self._by_uid[alert.uid] = alert
        self._bound()
        return alert

    def _bound(self) -> None:
        while len(self._by_uid) > self._cfg.max_alerts:
            victim = next((a for a in self._by_uid.values() if a.status == "resolved"), None)
            victim = victim or next(iter(self._by_uid.values()))
            del self._by_uid[victim.uid]
            if self._by_id.get(victim.identifier) is victim:
                del self._by_id[victim.identifier]

    def set_status(self, uid: str, status: str) -> Alert:
        """Acknowledge or resolve (or reopen) an alert by uid; KeyError or ValueError when invalid."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r} (one of {', '.join(STATUSES)})")
        alert = self._by_uid[uid]
        alert.status = status
        return alert

    def acknowledge(self, uid: str) -> Alert:
        """Mark an alert as seen by a person (it stays open to merges)."""
        return self.set_status(uid, "acknowledged")

    def resolve(self, uid: str) -> Alert:
        """Close an alert: a new alert with its identifier starts a new one."""
        return self.set_status(uid, "resolved")

    def resolve_idle(self, now: float) -> list[Alert]:
        """Resolve open or acknowledged alerts with no new evidence for ``resolve_after_s``."""
        done = []
        for alert in self._by_uid.values():
            if alert.status != "resolved" and now - alert.last_seen >= self._cfg.resolve_after_s:
                alert.status = "resolved"
                done.append(alert)
        return done
