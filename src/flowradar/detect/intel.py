"""Reputation and behaviour hooks: threat-intel and tracker hits, first contact with a new country or
ASN, and an outbound transfer far above the host's own baseline.

The first three read what enrichers put on a FlowRecord (``threat``, ``tracker``, ``country``,
``asn``, read defensively: an enricher that is not configured simply leaves them empty) and come in
through :meth:`IntelDetector.observe_records`. The transfer check works on the flow rows.

- ``threat_intel``: the remote end is on a threat list: high (critical from threat level 40), score 80+.
- ``tracker``: the remote end is a known tracker: info (a privacy fact, not an attack), score 10.
- ``new_country`` / ``new_asn``: an internal host talks to a country / ASN for the first time after
  having been watched ``baseline_s``: low, score 25.
- ``exfiltration``: one flow uploads at least ``exfil_min_bytes`` and ``exfil_factor`` times the
  host's mean upload per flow (after 20 flows): high, score 75.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import numpy as np

from flowradar.detect import rows as R
from flowradar.detect.base import completed, cumulative
from flowradar.detect.settings import DetectConfig
from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert
from flowradar.model.flow import FlowRecord

_THREAT_FIELDS = ("threat", "threats", "threat_hits", "intel", "intel_hits", "threat_category")
_TRACKER_FIELDS = ("tracker", "tracker_org", "trackers", "tracker_name")


def first_value(obj: Any, names: tuple[str, ...]) -> str | None:
    """The first non-empty attribute among ``names``, as text (lists joined with commas)."""
    for n in names:
        v = getattr(obj, n, None)
        if isinstance(v, list | tuple | set):
            v = ", ".join(str(x) for x in v if x)
        if v:
            return str(v)
    return None


def _ends(r: FlowRecord) -> tuple[str, str]:
    """(local, remote) ends of a flow: the remote one is the one enrichment looked up, if it says."""
    remote = getattr(r.enrich, "remote_ip", None)
    if remote == r.src_ip:
        return r.dst_ip, r.src_ip
    return r.src_ip, r.dst_ip


class IntelDetector:
    """Threat-intel and tracker hits, new countries and ASNs, and unusual uploads."""

    name = "intel"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Baselines and thresholds from ``cfg``."""
        self._cfg = cfg
        self._internal = internal
        self._watched: dict[str, float] = {}
        self._places: dict[str, set[str]] = {}
        self._upload: dict[int, tuple[int, float]] = {}
        self._seen: set[str] = set()

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """The outbound transfer check on the batch's ended flows."""
        rows = cumulative(batch)
        if not len(rows):
            return []
        idx = np.flatnonzero(completed(batch))
        sub = rows[idx]
        out_of = self._internal.contains(sub["src"], sub["ver"]) & ~self._internal.contains(
            sub["dst"], sub["ver"]
        )
        out_of &= ~R.MULTICAST.contains(sub["dst"], sub["ver"])
        m = np.zeros(len(rows), dtype=bool)
        m[idx[out_of]] = True
        if not m.any():
            return []
        sel = rows[m]
        up = sel["bytes"][:, 0].astype(np.float64)
        host = R.addr_hash(sel["src"])
        out = [
            self._exfil(sel[i], float(up[i]), int(host[i]))
            for i in np.flatnonzero(up >= self._cfg.exfil_min_bytes)
        ]
        uk, inv = np.unique(host, return_inverse=True)
        sums, counts = np.bincount(inv, weights=up), np.bincount(inv)
        for k, s, c in zip(uk.tolist(), sums.tolist(), counts.tolist(), strict=True):
            n, mean = self._upload.get(k, (0, 0.0))
            self._upload[k] = (n + c, (mean * n + s) / (n + c))
        if len(self._upload) > 200_000:
            self._upload.clear()
        return [a for a in out if a is not None]

    def _exfil(self, row: np.void, upload: float, host: int) -> Alert | None:
        n, mean = self._upload.get(host, (0, 0.0))
        if n < 20 or upload < self._cfg.exfil_factor * max(mean, 1.0):
            return None
        ver = int(row["ver"])
        src, dst = R.ip_text(bytes(row["src"]), ver), R.ip_text(bytes(row["dst"]), ver)
        return self._alert(
            "exfiltration",
            "upload",
            "high",
            75,
            src,
            dst,
            None,
            int(row["last"]) / 1e9,
            f"{src} sent {upload / 1e6:.0f} MB to {dst}, {upload / max(mean, 1):.0f}x its usual upload",
            {"bytes": int(upload), "baseline_mean": round(mean), "flows_seen": n},
            R.uid_of(row),
        )

    def observe_records(self, records: Iterable[FlowRecord]) -> list[Alert]:
        """Check enriched records for threat-intel and tracker hits and new countries or ASNs."""
        out: list[Alert] = []
        for r in records:
            out.extend(self._reputation(r))
            out.extend(self._first_contact(r))
        return out

    def _reputation(self, r: FlowRecord) -> list[Alert]:
        out = []
        threat = first_value(r.enrich, _THREAT_FIELDS)
        name = r.enrich.domain or r.l7.tls_sni or r.l7.http_host
        local, remote = _ends(r)
        if threat and f"t|{local}|{remote}" not in self._seen:
            self._seen.add(f"t|{local}|{remote}")
            level = int(getattr(r.enrich, "threat_level", 0) or 0)  # 0-50 from the intel enricher
            category = threat.split(",")[0].split(":")[-1].strip() or "listed"
            out.append(
                self._alert(
                    "threat_intel",
                    category,
                    "critical" if level >= 40 else "high",
                    min(100, 80 + level // 3),
                    local,
                    remote,
                    name,
                    r.ts_last,
                    f"{local} talked to {remote} ({name or 'no name'}), listed as {threat}",
                    {"lists": threat, "threat_level": level},
                    r.uid,
                )
            )
        tracker = first_value(r.enrich, _TRACKER_FIELDS)
        if tracker and f"k|{r.src_ip}|{tracker}" not in self._seen:
            self._seen.add(f"k|{r.src_ip}|{tracker}")
            out.append(
                self._alert(
                    "tracker",
                    tracker,
                    "info",
                    10,
                    r.src_ip,
                    r.dst_ip,
                    name,
                    r.ts_last,
                    f"{r.src_ip} contacted tracker {tracker} ({name or r.dst_ip})",
                    {"tracker": tracker},
                    r.uid,
                )
            )
        return out

    def _first_contact(self, r: FlowRecord) -> list[Alert]:
        if not self._internal.contains_ip(r.src_ip) or self._internal.contains_ip(r.dst_ip):
            return []
        since = self._watched.setdefault(r.src_ip, r.ts_first)
        places = self._places.setdefault(r.src_ip, set())
        out = []
        for kind, value in (
            ("new_country", getattr(r.enrich, "country", None)),
            ("new_asn", getattr(r.enrich, "asn", None)),
        ):
            if value in (None, "") or f"{kind}:{value}" in places:
                continue
            places.add(f"{kind}:{value}")
            if r.ts_first - since >= self._cfg.baseline_s:
                out.append(
                    self._alert(
                        kind,
                        str(value),
                        "low",
                        25,
                        r.src_ip,
                        r.dst_ip,
                        None,
                        r.ts_first,
                        f"{r.src_ip} contacted {kind[4:]} {value} for the first time ({r.dst_ip})",
                        {kind[4:]: value},
                        r.uid,
                    )
                )
        return out

    def _alert(
        self,
        kind: str,
        typ: str,
        severity: str,
        score: int,
        src: str,
        dst: str,
        host: str | None,
        t: float,
        message: str,
        details: dict[str, Any],
        uid: str,
    ) -> Alert:
        return Alert(
            kind=kind,
            type=typ,
            severity=severity,
            score=score,
            subject_ip=src,
            peer_ip=dst,
            subject_host=host,
            identifier=f"{kind}:{src}:{dst if kind != 'tracker' else typ}",
            message=message,
            evidence=[uid],
            first_seen=t,
            last_seen=t,
            trigger_ts=t,
            raised_at=time.time(),
            details=details,
        )

    def tick(self, now: float) -> list[Alert]:
        """Bound the remembered pairs."""
        if len(self._seen) > 100_000:
            self._seen.clear()
        return []
