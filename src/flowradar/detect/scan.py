"""Scan detection: failed attempts per scanner over a sliding window (after Zeek's scan policy).

A failed attempt is a probe that got no conversation: a TCP SYN never completed by the originator
(history S, Sh, Sr, ShR, ...), a connection opened and reset without a byte (the connect scan), an
ACK probe answered by a reset, an invalid-flag probe (NULL, FIN, Xmas: neither SYN nor ACK), a UDP
datagram without reply, an ICMP echo or timestamp request without reply. Multicast and broadcast
destinations are never targets.

A source whose failed attempts reach distinct (host, port) targets past the threshold (25 for an
external source, 250 for one inside ``internal_networks``) within ``scan_window_s`` is a scanner; so
is one with ``scan_stealth_threshold`` invalid-flag probes, or one that passes ntopng's SYN-scan
check (SYNs minus SYN-ACKs above 256 a minute, counted from its 16th distinct failed target). It is
classified as a port scan (one host, many ports), an address scan (many hosts, few ports: a sweep)
or a random scan, then suppressed for ``scan_suppress_s`` (its alert is refreshed, not repeated).

Severity: medium for an external scanner, high for an internal one (an inside host that scans is
likely compromised). Score: 50 at the threshold, up to 90 at ten times it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from flowradar.detect import rows as R
from flowradar.detect.base import ACTIVE, batch_now
from flowradar.detect.settings import DetectConfig
from flowradar.detect.window import WindowedDistinct, WindowedSum
from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert

_ICMP_REQUESTS = np.array([8, 13, 17, 128], dtype=np.uint16)


@dataclass(slots=True)
class Probes:
    """Failed attempts of one batch: which rows, and which of them are invalid-flag probes."""

    failed: np.ndarray
    stealth: np.ndarray
    syn_unanswered: np.ndarray


def probes(rows: np.ndarray, now: float, reply_wait_s: float) -> Probes:
    """Classify every row of a batch as a failed attempt or not (vectorised)."""
    h = R.history(rows)
    proto, f0 = rows["proto"], rows["flags0"]
    has = {c: R.has(h, c) for c in "SAhrRD^"}
    tcp = proto == R.TCP
    old = (rows["end_reason"] != ACTIVE) | (now - R.seconds(rows["first"]) >= reply_wait_s)
    no_payload = (rows["payload"][:, 0] == 0) & (rows["payload"][:, 1] == 0)
    half_open = tcp & has["S"] & ~has["A"] & ~has["D"] & ~has["^"]
    answered = has["h"] | has["r"]
    half_open &= answered | old
    connect_reset = tcp & has["S"] & has["A"] & has["R"] & no_payload
    stealth = tcp & ((f0 & (R.SYN | R.ACK | R.RST)) == 0) & (rows["pkts"][:, 0] > 0) & ~has["^"]
    ack_probe = tcp & (f0 == R.ACK) & has["r"] & no_payload & ~has["S"] & ~has["^"]
    quiet = rows["pkts"][:, 1] == 0
    udp = (proto == R.UDP) & quiet & old
    icmp = np.isin(proto, (R.ICMP, R.ICMP6)) & np.isin(rows["sport"], _ICMP_REQUESTS) & quiet & old
    target_ok = ~R.MULTICAST.contains(rows["dst"], rows["ver"])
    failed = (half_open | connect_reset | stealth | ack_probe | udp | icmp) & target_ok
    syn_unanswered = half_open & ~has["h"] & target_ok
    return Probes(failed, stealth & target_ok, syn_unanswered)


class ScanDetector:
    """Finds scanners: distinct failed targets per source in a sliding window."""

    name = "scan"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Thresholds and windows from ``cfg``; ``internal`` decides which threshold a source gets."""
        self._cfg = cfg
        self._internal = internal
        self._targets = WindowedDistinct(cfg.scan_window_s)
        self._stealth = WindowedDistinct(cfg.scan_window_s)
        self._syns = WindowedSum(60.0)
        self._alerted: dict[int, tuple[float, Alert]] = {}

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Count the batch's failed attempts; alert on sources that became scanners."""
        rows = batch.rows
        if not len(rows):
            return []
        now = batch_now(batch)
        p = probes(rows, now, self._cfg.scan_reply_wait_s)
        if not p.failed.any():
            return []
        sel = rows[p.failed]
        key = R.addr_hash(sel["src"])
        port = np.where(np.isin(sel["proto"], (R.ICMP, R.ICMP6)), 0, sel["dport"])
        host, ts = R.addr_hash(sel["dst"]), R.seconds(sel["last"])
        update = self._targets.add(key, host, port, ts)
        internal = self._internal.contains(sel["src"], sel["ver"])
        uk, at = np.unique(key, return_index=True)
        is_internal = internal[at][np.searchsorted(uk, update.keys)]
        thr = np.where(is_internal, self._cfg.scan_internal_threshold, self._cfg.scan_external_threshold)
        cr = self._targets.crossing(update, thr)
        hits = {int(k): float(t) for k, t in zip(cr.keys.tolist(), cr.times.tolist(), strict=True)}
        st = p.stealth[p.failed]
        if st.any():
            up = self._stealth.add(key[st], host[st], port[st], ts[st])
            cr = self._stealth.crossing(up, self._cfg.scan_stealth_threshold)
            for k, t in zip(cr.keys.tolist(), cr.times.tolist(), strict=True):
                hits.setdefault(int(k), float(t))
        hits.update(
            {k: t for k, t in self._synscan(sel, key, p.syn_unanswered[p.failed]).items() if k not in hits}
        )
        return self._alerts(hits, sel, key, internal, now)

    def _synscan(self, sel: np.ndarray, key: np.ndarray, syn: np.ndarray) -> dict[int, float]:
        """ntopng's SYN-scan check, for sources that already have enough distinct failed targets."""
        enough = syn & (self._targets.counts(key) >= self._cfg.scan_synscan_min_targets)
        if not enough.any():
            return {}
        t = R.seconds(sel["last"][enough])
        touched = self._syns.add(key[enough], t, t, np.ones(int(enough.sum())))
        cr = self._syns.crossing(touched, self._cfg.scan_synscan_per_min)
        return {int(k): float(w) for k, w in zip(cr.keys.tolist(), cr.times.tolist(), strict=True)}

    def _alerts(
        self, hits: dict[int, float], sel: np.ndarray, key: np.ndarray, internal: np.ndarray, now: float
    ) -> list[Alert]:
        out = []
        for k, when in hits.items():
            seen = self._alerted.get(k)
            if seen is not None and now - seen[0] < self._cfg.scan_suppress_s:
                continue
            idx = np.flatnonzero(key == np.uint64(k))
            alert = self._build(k, sel[idx], bool(internal[idx[0]]), when)
            self._alerted[k] = (now, alert)
            out.append(alert)
        return out

    def _build(self, k: int, rows: np.ndarray, internal: bool, when: float) -> Alert:
        hosts, ports, first, last = self._targets.describe(k)
        targets = int(self._targets.counts(np.array([k], dtype=np.uint64))[0])
        thr = self._cfg.scan_internal_threshold if internal else self._cfg.scan_external_threshold
        kind = classify(hosts, ports)
        scanner = R.text_of(rows["src"], rows["ver"], 0)
        score = int(min(90, 50 + 40 * max(0.0, targets / thr - 1) / 9)) if targets >= thr else 50
        return Alert(
            kind="scan",
            type=kind,
            severity="high" if internal else "medium",
            score=score,
            subject_ip=scanner,
            identifier=f"scan:{scanner}",
            message=f"{kind.replace('_', ' ')} from {scanner}: {targets} failed targets "
            f"({hosts} hosts, {ports} ports)",
            evidence=R.uids(rows),
            first_seen=first,
            last_seen=last,
            trigger_ts=when,
            raised_at=time.time(),
            details={
                "distinct_targets": targets,
                "distinct_hosts": hosts,
                "distinct_ports": ports,
                "threshold": thr,
                "internal": internal,
                "window_s": self._cfg.scan_window_s,
            },
        )

    def tick(self, now: float) -> list[Alert]:
        """Expire old attempts; refresh the counts of scanners alerted recently."""
        out = []
        for k, (at, alert) in list(self._alerted.items()):
            hosts, ports, _first, last = self._targets.describe(k)
            if hosts and last > alert.last_seen:
                targets = int(self._targets.counts(np.array([k], dtype=np.uint64))[0])
                alert.details.update(distinct_targets=targets, distinct_hosts=hosts, distinct_ports=ports)
                alert.last_seen, alert.type = last, classify(hosts, ports)
                out.append(alert)
            if now - at >= self._cfg.scan_suppress_s:
                del self._alerted[k]
        self._targets.expire(now)
        self._stealth.expire(now)
        self._syns.expire(now)
        return out


def classify(hosts: int, ports: int) -> str:
    """port_scan (one host or ports far above hosts), address_scan (hosts far above ports) or random_scan."""
    if hosts <= 1 or ports >= 5 * hosts:
        return "port_scan"
    if ports <= 1 or hosts >= 5 * ports:
        return "address_scan"
    return "random_scan"
