"""Suspicious service ports and cleartext logins towards the internet.

- ``suspicious_port``: an answered connection to one of ``suspicious_ports`` (4444 Metasploit,
  5555 adb, 6667 IRC, 1337 and 31337 'leet' backdoors, 8888, 9999): medium, low for the ports that
  development servers also use (5555, 8888, 9999). One alert per source, destination and port.
- ``cleartext_credentials``: a TCP session with client data to an address outside
  ``internal_networks`` on a cleartext login port (FTP, telnet, POP3, IMAP, rexec, rlogin) or an HTTP
  request answered 401 (the next request carries the password in the clear): medium.
"""

from __future__ import annotations

import time

import numpy as np

from flowradar.detect import rows as R
from flowradar.detect.base import cumulative
from flowradar.detect.settings import DetectConfig
from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert

_LOW_PORTS = frozenset({5555, 8888, 9999})
_CLEARTEXT_APPS = {"ftp": 21, "telnet": 23, "pop3": 110, "imap": 143}


class _OncePerTuple:
    """Alerts once per (source, destination, port), forgetting after a day."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str, int], float] = {}

    def first(self, key: tuple[str, str, int], now: float) -> bool:
        last = self._seen.get(key)
        if last is not None and now - last < 86400:
            return False
        self._seen[key] = now
        if len(self._seen) > 100_000:
            self._seen = {k: t for k, t in self._seen.items() if now - t < 86400}
        return True


def _answered(rows: np.ndarray) -> np.ndarray:
    h = R.history(rows)
    tcp = (rows["proto"] == R.TCP) & R.has(h, "S") & R.has(h, "h")
    udp = (rows["proto"] == R.UDP) & (rows["pkts"][:, 1] > 0)
    return np.asarray(tcp | udp)


def _alert(kind: str, typ: str, severity: str, score: int, row: np.void, message: str) -> Alert:
    ver = int(row["ver"])
    src, dst = R.ip_text(bytes(row["src"]), ver), R.ip_text(bytes(row["dst"]), ver)
    port = int(row["dport"])
    return Alert(
        kind=kind,
        type=typ,
        severity=severity,
        score=score,
        subject_ip=src,
        peer_ip=dst,
        identifier=f"{kind}:{src}:{dst}:{port}",
        message=message.format(src=src, dst=dst, port=port),
        evidence=[R.uid_of(row)],
        first_seen=int(row["first"]) / 1e9,
        last_seen=int(row["last"]) / 1e9,
        trigger_ts=int(row["first"]) / 1e9,
        raised_at=time.time(),
        details={"port": port},
    )


class SuspiciousPortDetector:
    """Answered connections to well-known backdoor and C2 ports."""

    name = "ports"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Ports from ``cfg.suspicious_ports``."""
        self._ports = np.array(cfg.suspicious_ports, dtype=np.uint16)
        self._once = _OncePerTuple()

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """One alert per new (source, destination, port) that answered on a suspicious port."""
        rows = cumulative(batch)
        if not len(rows):
            return []
        m = np.isin(rows["dport"], self._ports) & _answered(rows)
        out = []
        for i in np.flatnonzero(m).tolist():
            row = rows[i]
            ver, port = int(row["ver"]), int(row["dport"])
            key = (R.ip_text(bytes(row["src"]), ver), R.ip_text(bytes(row["dst"]), ver), port)
            if self._once.first(key, int(row["last"]) / 1e9):
                low = port in _LOW_PORTS
                out.append(
                    _alert(
                        "suspicious_port",
                        f"port-{port}",
                        "low" if low else "medium",
                        30 if low else 55,
                        row,
                        "{src} talked to {dst} on suspicious port {port}",
                    )
                )
        return out

    def tick(self, now: float) -> list[Alert]:
        """Nothing time-based."""
        return []


class CleartextDetector:
    """Cleartext logins (FTP, telnet, POP3, IMAP, r-services, HTTP after a 401) leaving the network."""

    name = "cleartext"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Ports from ``cfg.cleartext_ports``; ``internal`` tells what 'towards the internet' means."""
        self._ports = np.array(cfg.cleartext_ports, dtype=np.uint16)
        self._internal = internal
        self._once = _OncePerTuple()

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Alert once per client, server and port."""
        rows = cumulative(batch)
        if not len(rows):
            return []
        h = R.history(rows)
        talked = _answered(rows) & R.has(h, "D") & (rows["proto"] == R.TCP)
        idx = np.flatnonzero(talked)
        sub = rows[idx]
        outward = np.zeros(len(rows), dtype=bool)
        outward[idx] = ~self._internal.contains(sub["dst"], sub["ver"]) & ~R.MULTICAST.contains(
            sub["dst"], sub["ver"]
        )
        talked &= outward
        m = talked & np.isin(rows["dport"], self._ports)
        if batch.facts:
            named = [
                fid
                for fid, f in batch.facts.items()
                if f.http_status == 401 or f.app_proto in _CLEARTEXT_APPS
            ]
            if named:
                m |= talked & np.isin(rows["id"], np.array(named, dtype=np.uint64))
        out = []
        for i in np.flatnonzero(m).tolist():
            row = rows[i]
            ver = int(row["ver"])
            key = (R.ip_text(bytes(row["src"]), ver), R.ip_text(bytes(row["dst"]), ver), int(row["dport"]))
            if self._once.first(key, int(row["last"]) / 1e9):
                out.append(
                    _alert(
                        "cleartext_credentials",
                        "login",
                        "medium",
                        50,
                        row,
                        "{src} logged in without encryption to {dst}:{port} (outside the network)",
                    )
                )
        return out

    def tick(self, now: float) -> list[Alert]:
        """Nothing time-based."""
        return []
