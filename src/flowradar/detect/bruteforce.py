"""Brute-force detection: many short logins from one source to one login service.

An attempt is an ended TCP connection to one of ``brute_ports`` (SSH, RDP, FTP, telnet, POP3, IMAP,
SMTP submission, VNC) that the client opened, that lasted less than ``brute_max_duration_s`` and in
which the server sent less than ``brute_max_bytes`` (a session that works sends more), or any HTTP
request answered 401 or 407 (a failed HTTP authentication). ``brute_threshold`` attempts from one
source to one service within ``brute_window_s`` raise an alert: severity high (critical from five
times the threshold), score 70 to 95; the alert is then suppressed for an hour and refreshed.
"""

from __future__ import annotations

import time

import numpy as np

from flowradar.detect import rows as R
from flowradar.detect.base import batch_now, completed, cumulative
from flowradar.detect.settings import DetectConfig
from flowradar.detect.window import WindowedSum
from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert

SERVICES = {
    21: "ftp",
    22: "ssh",
    23: "telnet",
    110: "pop3",
    143: "imap",
    465: "smtp",
    587: "smtp",
    993: "imap",
    995: "pop3",
    3389: "rdp",
    5900: "vnc",
}
"""Service name of each default login port (others are named 'port-N')."""


class BruteForceDetector:
    """Counts short login connections and failed HTTP authentications per source and service."""

    name = "bruteforce"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Thresholds from ``cfg``."""
        self._cfg = cfg
        self._internal = internal
        self._attempts = WindowedSum(cfg.brute_window_s)
        self._alerted: dict[int, float] = {}

    def attempts(self, batch: FlowBatch) -> np.ndarray:
        """Per row: the flow is a login attempt (vectorised; HTTP 401/407 from the L7 facts)."""
        rows = cumulative(batch)
        h = R.history(rows)
        duration = R.seconds(rows["last"] - rows["first"])
        login = (rows["proto"] == R.TCP) & np.isin(rows["dport"], self._cfg.brute_ports) & completed(batch)
        login &= R.has(h, "S") & (R.has(h, "h") | R.has(h, "d"))
        login &= (duration < self._cfg.brute_max_duration_s) & (
            rows["payload"][:, 1] < self._cfg.brute_max_bytes
        )
        if batch.facts:
            denied = {fid for fid, f in batch.facts.items() if f.http_status in (401, 407)}
            if denied:
                ids = np.fromiter(denied, dtype=np.uint64, count=len(denied))
                login |= np.isin(rows["id"], ids) & completed(batch)
        return np.asarray(login)

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Count the batch's attempts; alert on sources past the threshold."""
        if not len(batch.rows):
            return []
        m = self.attempts(batch)
        if not m.any():
            return []
        sel = cumulative(batch)[m]
        key = R.addr_hash(sel["src"], R.addr_hash(sel["dst"]), sel["dport"])
        t = R.seconds(sel["last"])
        cr = self._attempts.crossing(
            self._attempts.add(key, t, t, np.ones(len(sel))), self._cfg.brute_threshold
        )
        now = batch_now(batch)
        out = []
        for k, value, when in zip(cr.keys.tolist(), cr.values.tolist(), cr.times.tolist(), strict=True):
            seen = self._alerted.get(k)
            if seen is not None and now - seen < 3600:
                continue
            self._alerted[k] = now
            out.append(self._alert(sel[key == np.uint64(k)], batch, value, when))
        return out

    def _alert(self, rows: np.ndarray, batch: FlowBatch, value: float, when: float) -> Alert:
        src, dst = R.text_of(rows["src"], rows["ver"], 0), R.text_of(rows["dst"], rows["ver"], 0)
        port = int(rows["dport"][0])
        facts = batch.facts.get(int(rows["id"][0]))
        service = "http" if facts is not None and facts.http_status in (401, 407) else SERVICES.get(port)
        service = service or f"port-{port}"
        ratio = value / self._cfg.brute_threshold
        return Alert(
            kind="bruteforce",
            type=service,
            severity="critical" if ratio >= 5 else "high",
            score=int(min(95, 70 + 25 * min(1.0, (ratio - 1) / 4))),
            subject_ip=src,
            peer_ip=dst,
            identifier=f"bruteforce:{src}:{dst}:{port}",
            message=f"{service} brute force from {src} against {dst}:{port}: {value:.0f} attempts "
            f"in {self._cfg.brute_window_s:g} s",
            evidence=R.uids(rows),
            first_seen=float(rows["first"].min()) / 1e9,
            last_seen=float(rows["last"].max()) / 1e9,
            trigger_ts=when,
            raised_at=time.time(),
            details={
                "attempts": int(value),
                "threshold": self._cfg.brute_threshold,
                "port": port,
                "internal_source": self._internal.contains_ip(src),
            },
        )

    def tick(self, now: float) -> list[Alert]:
        """Expire old attempts."""
        self._attempts.expire(now)
        self._alerted = {k: t for k, t in self._alerted.items() if now - t < 3600}
        return []
