"""Flood detection: volume towards one victim over a short sliding window (after ntopng).

Rules, each summed per victim over ``flood_window_s`` (10 s):

- ``tcp_syn_flood``: half-open connections (a SYN the originator never completed) to the victim;
- ``udp_flood``: UDP packets the victim never answered (not from an amplification port);
- ``icmp_flood``: ICMP packets to the victim (``icmp_smurf`` when sent to a multicast or broadcast
  group: the victim is then the spoofed source);
- ``udp_amplification_srcport_N``: unsolicited UDP responses from service port N (DNS, NTP, SSDP,
  IKE NAT-T, memcached, ...) to the victim, which never asked;
- ``tcp_synack_reflection``: SYN-ACKs to a victim that sent no SYN.

A SYN or UDP flood spread over many ports must come from ``flood_min_sources`` sources or hit each
port ``flood_per_port_ratio`` times (one source sweeping ports is a scan). Severity high (critical
from ten times the threshold), score 60 to 95. ``request_rate`` (low, score 30) marks a source making
more than ``rate_threshold`` requests (answered connections) to one service per ``rate_window_s``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flowradar.detect import rows as R
from flowradar.detect.base import batch_now, first_sight, increment_start
from flowradar.detect.settings import DetectConfig
from flowradar.detect.window import WindowedDistinct, WindowedSum
from flowradar.engine.records import FlowBatch
from flowradar.model.alert import Alert

_ECHO = np.array([8, 128], dtype=np.uint16)


@dataclass(slots=True)
class Selection:
    """What one rule takes from a batch: matching rows, their victim column and amounts."""

    mask: np.ndarray
    victim_src: np.ndarray
    """Per selected row: the victim is the row's source (else its destination)."""
    amount: np.ndarray
    by_packets: bool


Selector = Callable[[FlowBatch, DetectConfig, np.ndarray], Selection]
"""(batch, configuration, history bits of the rows) -> what the rule takes."""


def _syn(batch: FlowBatch, cfg: DetectConfig, h: np.ndarray) -> Selection:
    m = (batch.rows["proto"] == R.TCP) & R.has(h, "S") & ~R.has(h, "A") & ~R.has(h, "D")
    m &= ~R.has(h, "^") & first_sight(batch)
    return Selection(m, np.zeros(int(m.sum()), dtype=bool), np.ones(int(m.sum())), False)


def _udp(batch: FlowBatch, cfg: DetectConfig, h: np.ndarray) -> Selection:
    rows = batch.rows
    m = (rows["proto"] == R.UDP) & ~R.has(h, "d") & (rows["pkts"][:, 0] > 0)
    m &= ~np.isin(rows["sport"], cfg.flood_amplification_ports)
    return Selection(m, np.zeros(int(m.sum()), dtype=bool), rows["pkts"][m, 0].astype(float), True)


def _icmp(batch: FlowBatch, cfg: DetectConfig, h: np.ndarray) -> Selection:
    rows = batch.rows
    m = np.isin(rows["proto"], (R.ICMP, R.ICMP6)) & (rows["pkts"][:, 0] > 0)
    smurf = R.MULTICAST.contains(rows["dst"], rows["ver"])[m] & np.isin(rows["sport"][m], _ECHO)
    return Selection(m, smurf, rows["pkts"][m, 0].astype(float), True)


def _amplification(batch: FlowBatch, cfg: DetectConfig, h: np.ndarray) -> Selection:
    rows = batch.rows
    m = (rows["proto"] == R.UDP) & np.isin(rows["sport"], cfg.flood_amplification_ports)
    m &= (rows["pkts"][:, 1] == 0) & (rows["pkts"][:, 0] > 0) & ~R.has(h, "d")
    return Selection(m, np.zeros(int(m.sum()), dtype=bool), rows["pkts"][m, 0].astype(float), True)


def _synack(batch: FlowBatch, cfg: DetectConfig, h: np.ndarray) -> Selection:
    m = (batch.rows["proto"] == R.TCP) & R.has(h, "^") & ~R.has(h, "S") & (batch.rows["pkts"][:, 1] > 0)
    return Selection(m, np.ones(int(m.sum()), dtype=bool), batch.rows["pkts"][m, 1].astype(float), True)


@dataclass(slots=True)
class Rule:
    """One flood rule: its selector, its threshold setting and whether its spread is checked."""

    name: str
    select: Selector
    threshold: str
    spread_checked: bool
    per_port: bool = False
    """Key victims per source port (amplification is typed by the port)."""


RULES = (
    Rule("tcp_syn_flood", _syn, "flood_syn_threshold", True),
    Rule("udp_flood", _udp, "flood_udp_threshold", True),
    Rule("icmp_flood", _icmp, "flood_icmp_threshold", False),
    Rule("udp_amplification", _amplification, "flood_reflection_threshold", False, per_port=True),
    Rule("tcp_synack_reflection", _synack, "flood_reflection_threshold", False),
)


class _RuleState:
    def __init__(self, rule: Rule, cfg: DetectConfig) -> None:
        self.rule = rule
        self.threshold = float(getattr(cfg, rule.threshold))
        self.sums = WindowedSum(cfg.flood_window_s)
        self.spread = WindowedDistinct(cfg.flood_window_s * 3)


class FloodDetector:
    """Finds flood victims (and heavy requesters) with windowed sums over each batch."""

    name = "flood"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Thresholds and windows from ``cfg``."""
        self._cfg = cfg
        self._rules = [_RuleState(r, cfg) for r in RULES]
        self._rate = WindowedSum(cfg.rate_window_s)
        self._alerted: dict[tuple[str, int], float] = {}

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Account the batch under every rule; alert on victims past a threshold."""
        if not len(batch.rows):
            return []
        out: list[Alert] = []
        bits = R.history(batch.rows)
        for st in self._rules:
            out.extend(self._apply(st, batch, bits))
        out.extend(self._request_rate(batch, bits))
        return out

    def _apply(self, st: _RuleState, batch: FlowBatch, bits: np.ndarray) -> list[Alert]:
        sel = st.rule.select(batch, self._cfg, bits)
        if not sel.mask.any():
            return []
        rows = batch.rows[sel.mask]
        victim = R.pick(sel.victim_src, rows)
        extra = [rows["sport"]] if st.rule.per_port else []
        key = R.addr_hash(victim, *extra)
        start, end = R.seconds(increment_start(batch)[sel.mask]), R.seconds(rows["last"])
        touched = st.sums.add(key, start, end, sel.amount)
        other = np.where(sel.victim_src, R.addr_hash(rows["dst"]), R.addr_hash(rows["src"]))
        st.spread.add(key, other, np.where(sel.victim_src, rows["sport"], rows["dport"]), end)
        cr = st.sums.crossing(touched, st.threshold)
        out = []
        for k, value, when in zip(cr.keys.tolist(), cr.values.tolist(), cr.times.tolist(), strict=True):
            i = int(np.flatnonzero(key == np.uint64(k))[0])
            alert = self._flood_alert(
                st, k, rows[key == np.uint64(k)], victim[i], int(rows["ver"][i]), value, when
            )
            if alert is not None:
                out.append(alert)
        return out

    def _flood_alert(
        self, st: _RuleState, k: int, rows: np.ndarray, victim: np.void, ver: int, value: float, when: float
    ) -> Alert | None:
        now = float(rows["last"].max()) / 1e9
        sources, ports, _first, _last = st.spread.describe(k)
        spread_out = (
            sources < self._cfg.flood_min_sources and value / max(ports, 1) < self._cfg.flood_per_port_ratio
        )
        if st.rule.spread_checked and spread_out:
            return None
        seen = self._alerted.get((st.rule.name, k))
        if seen is not None and now - seen < self._cfg.scan_suppress_s:
            return None
        self._alerted[(st.rule.name, k)] = now
        ip = R.ip_text(victim.tobytes(), ver)
        kind = st.rule.name
        if kind == "udp_amplification":
            kind = f"udp_amplification_srcport_{int(rows['sport'][0])}"
        elif kind == "icmp_flood" and R.MULTICAST.contains_ip(ip):
            kind = "icmp_smurf"
        ratio = value / st.threshold
        unit = "packets" if st.rule.select is not _syn else "half-open connections"
        return Alert(
            kind="flood",
            type=kind,
            severity="critical" if ratio >= 10 else "high",
            score=int(min(95, 60 + 35 * min(1.0, (ratio - 1) / 9))),
            subject_ip=ip,
            identifier=f"flood:{kind}:{ip}",
            message=f"{kind.replace('_', ' ')} against {ip}: {value:.0f} {unit} in "
            f"{self._cfg.flood_window_s:g} s from {sources} sources",
            evidence=R.uids(rows),
            first_seen=float(rows["first"].min()) / 1e9,
            last_seen=now,
            trigger_ts=when,
            raised_at=time.time(),
            details={
                "window_value": round(value, 1),
                "threshold": st.threshold,
                "sources": sources,
                "ports": ports,
                "unit": unit,
                "window_s": self._cfg.flood_window_s,
            },
        )

    def _request_rate(self, batch: FlowBatch, h: np.ndarray) -> list[Alert]:
        rows = batch.rows
        tcp_req = (rows["proto"] == R.TCP) & R.has(h, "D")
        udp_req = (rows["proto"] == R.UDP) & R.has(h, "D") & R.has(h, "d")
        m = (tcp_req | udp_req) & first_sight(batch)
        m &= ~np.isin(rows["dport"], self._cfg.rate_exclude_ports) & ~np.isin(
            rows["dport"], self._cfg.brute_ports
        )
        if not m.any():
            return []
        sel = rows[m]
        key = R.addr_hash(sel["src"], R.addr_hash(sel["dst"]), sel["dport"], sel["proto"])
        t = R.seconds(sel["first"])
        cr = self._rate.crossing(self._rate.add(key, t, t, np.ones(len(sel))), self._cfg.rate_threshold)
        out = []
        for k, value, when in zip(cr.keys.tolist(), cr.values.tolist(), cr.times.tolist(), strict=True):
            now = batch_now(batch)
            seen = self._alerted.get(("rate", k))
            if seen is not None and now - seen < self._cfg.rate_window_s * 10:
                continue
            self._alerted[("rate", k)] = now
            out.append(self._rate_alert(sel[key == np.uint64(k)], value, when))
        return out

    def _rate_alert(self, rows: np.ndarray, value: float, when: float) -> Alert:
        src, dst = R.text_of(rows["src"], rows["ver"], 0), R.text_of(rows["dst"], rows["ver"], 0)
        port = int(rows["dport"][0])
        return Alert(
            kind="flood",
            type="request_rate",
            severity="low",
            score=30,
            subject_ip=src,
            peer_ip=dst,
            identifier=f"rate:{src}:{dst}:{port}",
            message=f"{src} made {value:.0f} requests to {dst}:{port} in {self._cfg.rate_window_s:g} s",
            evidence=R.uids(rows),
            first_seen=float(rows["first"].min()) / 1e9,
            last_seen=float(rows["last"].max()) / 1e9,
            trigger_ts=when,
            raised_at=time.time(),
            details={"requests": int(value), "threshold": self._cfg.rate_threshold, "port": port},
        )

    def tick(self, now: float) -> list[Alert]:
        """Expire old sums and forget victims alerted long ago."""
        for st in self._rules:
            st.sums.expire(now)
            st.spread.expire(now)
        self._rate.expire(now)
        limit = max(self._cfg.scan_suppress_s, self._cfg.rate_window_s * 10)
        self._alerted = {k: t for k, t in self._alerted.items() if now - t < limit}
        return []
