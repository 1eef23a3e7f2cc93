"""Aggregate views of a capture's flows: the capture report (corpus truth schema) and top lists.

The summary consumes FlowBatches as they leave the engine. Counters stay in numpy arrays; L7 facts
(server names, DNS, HTTP) are folded into small sets as they arrive.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flowradar.engine.dissect import appid
from flowradar.engine.records import PORTED, FlowBatch, canonical_key_rows, ip_text, transport_name


def _dname(name: str) -> str:
    return name.strip().lower().rstrip(".")


def _http_host(host: str) -> str:
    h = host.strip().lower()
    if h.startswith("["):
        return h.split("]")[0] + "]"
    if h.count(":") == 1:
        h = h.split(":")[0]
    return h.rstrip(".")


COMPACT_DTYPE = np.dtype(
    [
        ("id", "<u8"),
        ("src", "V16"),
        ("dst", "V16"),
        ("pkts", "<u8", (2,)),
        ("bytes", "<u8", (2,)),
        ("sport", "<u2"),
        ("dport", "<u2"),
        ("proto", "u1"),
        ("ver", "u1"),
    ]
)
"""What the summary keeps of each flow (78 bytes instead of the 136 of a full row)."""


@dataclass(slots=True)
class CaptureSummary:
    """Everything analyze reports about one input."""

    packets: int = 0
    warnings: list[str] = field(default_factory=list)
    sni: Counter[str] = field(default_factory=Counter)
    dns_queries: Counter[str] = field(default_factory=Counter)
    dns_answers: set[tuple[str, str, str]] = field(default_factory=set)
    dns_answers_by_owner: set[tuple[str, str, str]] = field(default_factory=set)
    http_hosts: Counter[str] = field(default_factory=Counter)
    http_user_agents: Counter[str] = field(default_factory=Counter)
    apps: Counter[str] = field(default_factory=Counter)
    app_bytes: Counter[str] = field(default_factory=Counter)
    scans: list[dict[str, Any]] = field(default_factory=list)
    """Scanners found by the detectors (filled by the caller): scanner, distinct_ports, distinct_hosts."""
    floods: list[dict[str, Any]] = field(default_factory=list)
    """Flood victims found by the detectors (filled by the caller): victim, type."""
    alerts: list[Any] = field(default_factory=list)
    """Every alert of the run (flowradar.model.alert.Alert, filled by the caller)."""
    _rows: list[np.ndarray] = field(default_factory=list)
    _dissected: list[np.ndarray] = field(default_factory=list)

    def add(self, batch: FlowBatch) -> None:
        """Fold one flow batch into the summary."""
        if len(batch.rows):
            compact = np.empty(len(batch.rows), dtype=COMPACT_DTYPE)
            for name in COMPACT_DTYPE.names or ():
                compact[name] = batch.rows[name]
            self._rows.append(compact)
            dissected = np.zeros(len(batch.rows), dtype=bool)
            if batch.facts:
                ids = np.fromiter(batch.facts.keys(), dtype=np.uint64, count=len(batch.facts))
                dissected = np.isin(batch.rows["id"], ids)
            self._dissected.append(dissected)
        rows_by_id: dict[int, int] | None = None
        totals: list[int] = []
        for fid, f in batch.facts.items():
            if f.tls_sni:
                self.sni[_dname(f.tls_sni)] += 1
            for q in f.dns_queries:
                self.dns_queries[_dname(q)] += 1
            for a in f.dns_answers:
                self.dns_answers.add((_dname(a.query), a.type.upper(), a.value))
                self.dns_answers_by_owner.add((_dname(a.owner or a.query), a.type.upper(), a.value))
            for h in f.http_hosts:
                self.http_hosts[_http_host(h)] += 1
            for ua in f.http_user_agents:
                self.http_user_agents[ua.strip()] += 1
            if f.app_proto:
                self.apps[f.app_proto] += 1
                if rows_by_id is None:
                    rows_by_id = {i: k for k, i in enumerate(batch.rows["id"].tolist())}
                    totals = batch.rows["bytes"].sum(axis=1).tolist()
                k = rows_by_id.get(fid)
                if k is not None:
                    self.app_bytes[f.app_proto] += totals[k]

    @property
    def rows(self) -> np.ndarray:
        """Every flow row seen so far, as one array."""
        if len(self._rows) > 1:
            self._rows = [np.concatenate(self._rows)]
            self._dissected = [np.concatenate(self._dissected)]
        return self._rows[0] if self._rows else np.zeros(0, dtype=COMPACT_DTYPE)

    def flow_keys(self) -> list[str]:
        """Distinct canonical 5-tuples (flows split by timeouts count once), sorted."""
        rows = self.rows
        if not len(rows):
            return []
        return sorted(set(canonical_key_rows(rows)))

    def report(self) -> dict[str, Any]:
        """The capture report, in the corpus truth schema."""
        keys = self.flow_keys()
        answers = [{"query": q, "type": t, "value": v} for q, t, v in sorted(self.dns_answers)]
        by_owner = [{"owner": q, "type": t, "value": v} for q, t, v in sorted(self.dns_answers_by_owner)]
        return {
            "packets": self.packets,
            "flows": {"count": len(keys), "list": keys},
            "tls_sni": sorted(self.sni),
            "dns": {"queries": sorted(self.dns_queries), "answers": answers, "answers_by_owner": by_owner},
            "http": {"hosts": sorted(self.http_hosts), "user_agents": sorted(self.http_user_agents)},
            "scans": list(self.scans),
            "floods": list(self.floods),
            "alerts": [a.to_dict() for a in self.alerts],
            "warnings": list(self.warnings),
        }

    def top_talkers(self, n: int = 10) -> list[tuple[str, int, int, int]]:
        """(address, bytes, packets, flows) of the n hosts that moved the most bytes."""
        rows = self.rows
        if not len(rows):
            return []
        addr = np.concatenate([rows["src"], rows["dst"]])
        ver = np.concatenate([rows["ver"], rows["ver"]])
        nbytes = np.concatenate([rows["bytes"].sum(axis=1), rows["bytes"].sum(axis=1)])
        npk = np.concatenate([rows["pkts"].sum(axis=1), rows["pkts"].sum(axis=1)])
        uniq, inv = np.unique(addr, return_inverse=True)
        tb = np.bincount(inv, weights=nbytes)
        tp = np.bincount(inv, weights=npk)
        tf = np.bincount(inv)
        vers = np.zeros(len(uniq), dtype=np.uint8)
        vers[inv] = ver
        order = np.argsort(-tb)[:n]
        return [(ip_text(bytes(uniq[i]), int(vers[i])), int(tb[i]), int(tp[i]), int(tf[i])) for i in order]

    def transports(self) -> list[tuple[str, int, int, int]]:
        """(transport, flows, packets, bytes) per transport protocol."""
        rows = self.rows
        if not len(rows):
            return []
        out = []
        for proto in np.unique(rows["proto"]).tolist():
            sel = rows[rows["proto"] == proto]
            out.append((transport_name(proto), len(sel), int(sel["pkts"].sum()), int(sel["bytes"].sum())))
        return sorted(out, key=lambda r: -r[3])

    def applications(self) -> list[tuple[str, int, int]]:
        """(application, flows, bytes): dissected flows as found, the rest by server port ('name?')."""
        apps: Counter[str] = Counter(self.apps)
        nbytes: Counter[str] = Counter(self.app_bytes)
        all_rows = self.rows
        if len(all_rows):
            rows = all_rows[~self._dissected[0]]
            lo = np.where(np.isin(rows["proto"], list(PORTED)), np.minimum(rows["sport"], rows["dport"]), 0)
            combos = np.stack([rows["proto"].astype(np.uint32), lo.astype(np.uint32)])
            uniq, inv = np.unique(combos, axis=1, return_inverse=True)
            inv = inv.ravel()
            counts = np.bincount(inv, minlength=uniq.shape[1])
            byt = np.bincount(inv, weights=rows["bytes"].sum(axis=1), minlength=uniq.shape[1])
            for j in range(uniq.shape[1]):
                proto, port = int(uniq[0, j]), int(uniq[1, j])
                name = appid.guess_by_port(transport_name(proto), port, port) if port else None
                label = f"{name}?" if name else transport_name(proto)
                apps[label] += int(counts[j])
                nbytes[label] += int(byt[j])
        return [(a, c, nbytes[a]) for a, c in apps.most_common()]
