"""DNS tunnelling and generated domains, from the DNS questions the dissector read.

Tunnelling (after RITA's C2-over-DNS): unique subdomains one client asks under one registered domain
within ``dns_window_s``. ``dns_subdomain_threshold`` (100) raises a low alert, 500 medium, 1000 high;
one level more when the subdomains are long (mean length from ``dns_long_label``), random (mean
Shannon entropy from ``dns_entropy`` bits per character) or mostly asked as TXT or NULL records.

Generated domains (DGA): ``dns_dga_threshold`` distinct random-looking registered domains answered
NXDOMAIN to one client within the window: medium.

Reverse lookups (in-addr.arpa, ip6.arpa) and local names (.local, .lan, .home.arpa) are skipped.
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from flowradar.detect import rows as R
from flowradar.detect.base import batch_now
from flowradar.detect.settings import DetectConfig
from flowradar.detect.window import WindowedDistinct
from flowradar.engine.records import FlowBatch, ip_text
from flowradar.model.alert import Alert, raise_severity

_SKIP_SUFFIXES = (".in-addr.arpa", ".ip6.arpa", ".local", ".lan", ".home.arpa", ".localdomain")
_SECOND_LEVEL = frozenset({"co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "mil", "nom"})


def registered_domain(name: str) -> str:
    """Approximate registrable domain: the last two labels, three under a country's com/co/org/..."""
    labels = name.lower().strip(".").split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


@functools.lru_cache(maxsize=65536)
def _subdomain(question: str) -> tuple[str, str, int] | None:
    """(registered domain, subdomain, hash of the subdomain) of a question name; None for names
    that are skipped (reverse lookups, local names, single labels) or have no subdomain. Memoised:
    the same names are asked again and again."""
    name = question.lower().strip(".")
    if not name or name.endswith(_SKIP_SUFFIXES) or "." not in name:
        return None
    domain = registered_domain(name)
    sub = name[: -len(domain)].rstrip(".")
    return (domain, sub, _hash(sub)) if sub else None


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


@dataclass(slots=True)
class _Sample:
    """A bounded sample of one key's names, for the length, entropy and record-type measures."""

    client: str
    domain: str
    names: list[str] = field(default_factory=list)
    txt: int = 0
    total: int = 0
    flow_rows: list[np.void] = field(default_factory=list)


class DnsDetector:
    """Counts unique subdomains per client and domain, and NXDOMAIN answers for random names."""

    name = "dns"

    def __init__(self, cfg: DetectConfig, internal: R.Networks) -> None:
        """Thresholds from ``cfg``."""
        self._cfg = cfg
        self._subs = WindowedDistinct(cfg.dns_window_s, max_items=1_000_000)
        self._dga = WindowedDistinct(cfg.dns_window_s, max_items=200_000)
        self._samples: dict[int, _Sample] = {}
        self._alerted: dict[tuple[int, str], float] = {}
        self._clients: dict[int, str] = {}

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Fold the batch's DNS questions in; alert on clients past a threshold."""
        if not batch.facts:
            return []
        keys: list[int] = []
        items: list[int] = []
        times: list[float] = []
        dga: list[tuple[int, int, float]] = []
        index = _row_index(batch)
        for fid, facts in batch.facts.items():
            i = index.get(fid)
            if i is None or not facts.dns_queries:
                continue
            row = batch.rows[i]
            client = ip_text(bytes(row["src"]), int(row["ver"]))
            t = int(row["last"]) / 1e9
            for q, qtype in zip(
                facts.dns_queries, facts.dns_qtypes or [""] * len(facts.dns_queries), strict=False
            ):
                self._question(client, q, qtype, row, keys, items, times)
                if facts.dns_rcode == "NXDOMAIN" and _random_domain(q):
                    dga.append((_hash(client), _hash(registered_domain(q)), t))
                    self._clients[_hash(client)] = client
            if keys:
                times.extend([t] * (len(keys) - len(times)))
        out = self._tunnel_alerts(keys, items, times, batch_now(batch))
        return out + self._dga_alerts(dga, batch_now(batch))

    def _question(
        self,
        client: str,
        q: str,
        qtype: str,
        row: np.void,
        keys: list[int],
        items: list[int],
        times: list[float],
    ) -> None:
        split = _subdomain(q)
        if split is None:
            return
        domain, sub, sub_hash = split
        key = _hash(f"{client}|{domain}")
        keys.append(key)
        items.append(sub_hash)
        sample = self._samples.get(key)
        if sample is None:
            sample = self._samples[key] = _Sample(client, domain)
        sample.total += 1
        sample.txt += qtype.upper() in ("TXT", "NULL")
        if len(sample.names) < 500 and sub not in sample.names[-5:]:
            sample.names.append(sub)
        if len(sample.flow_rows) < 10:
            sample.flow_rows.append(row.copy())  # a copy: a view would keep its whole batch alive

    def _tunnel_alerts(
        self, keys: list[int], items: list[int], times: list[float], now: float
    ) -> list[Alert]:
        if not keys:
            return []
        k = np.array(keys, dtype=np.uint64)
        update = self._subs.add(
            k, np.array(items, dtype=np.uint64), np.zeros(len(k), dtype=np.uint64), np.array(times)
        )
        cr = self._subs.crossing(update, self._cfg.dns_subdomain_threshold)
        out = []
        for key, count, when in zip(cr.keys.tolist(), cr.values.tolist(), cr.times.tolist(), strict=True):
            if self._due((int(key), "tunnel"), now):
                out.append(self._tunnel_alert(self._samples[int(key)], int(count), when))
        return out

    def _tunnel_alert(self, s: _Sample, count: int, when: float) -> Alert:
        severity = "high" if count >= 1000 else "medium" if count >= 500 else "low"
        mean_len = sum(map(len, s.names)) / max(len(s.names), 1)
        mean_entropy = sum(map(entropy, s.names)) / max(len(s.names), 1)
        txt_share = s.txt / max(s.total, 1)
        odd = (
            mean_len >= self._cfg.dns_long_label or mean_entropy >= self._cfg.dns_entropy or txt_share >= 0.5
        )
        severity = raise_severity(severity) if odd else severity
        return Alert(
            kind="dns_tunnel",
            type="subdomains",
            severity=severity,
            score=int(
                min(95, 40 + 15 * (severity in ("medium", "high", "critical")) + 20 * odd + count / 100)
            ),
            subject_ip=s.client,
            subject_host=s.domain,
            identifier=f"dns_tunnel:{s.client}:{s.domain}",
            message=f"{s.client} asked {count} unique names under {s.domain} "
            f"(mean length {mean_len:.0f}, entropy {mean_entropy:.1f}, TXT/NULL {txt_share:.0%})",
            evidence=[R.uid_of(r) for r in s.flow_rows],
            first_seen=float(s.flow_rows[0]["first"]) / 1e9 if s.flow_rows else when,
            last_seen=when,
            trigger_ts=when,
            raised_at=time.time(),
            details={
                "domain": s.domain,
                "unique_subdomains": count,
                "mean_length": round(mean_len, 1),
                "mean_entropy": round(mean_entropy, 2),
                "txt_null_share": round(txt_share, 2),
            },
        )

    def _dga_alerts(self, dga: list[tuple[int, int, float]], now: float) -> list[Alert]:
        if not dga:
            return []
        k, d, t = (np.array(x) for x in zip(*dga, strict=True))
        update = self._dga.add(k.astype(np.uint64), d.astype(np.uint64), np.zeros(len(k), dtype=np.uint64), t)
        cr = self._dga.crossing(update, self._cfg.dns_dga_threshold)
        out = []
        for key, count, when in zip(cr.keys.tolist(), cr.values.tolist(), cr.times.tolist(), strict=True):
            client = self._clients.get(int(key))
            if client is None or not self._due((int(key), "dga"), now):
                continue
            out.append(
                Alert(
                    kind="dga",
                    type="nxdomain",
                    severity="medium",
                    score=60,
                    subject_ip=client,
                    identifier=f"dga:{client}",
                    message=f"{client} got NXDOMAIN for {count} random-looking domains",
                    first_seen=when,
                    last_seen=when,
                    trigger_ts=when,
                    raised_at=time.time(),
                    details={"nxdomain_domains": int(count)},
                )
            )
        return out

    def _due(self, key: tuple[int, str], now: float) -> bool:
        last = self._alerted.get(key)
        if last is not None and now - last < self._cfg.dns_window_s:
            return False
        self._alerted[key] = now
        return True

    def tick(self, now: float) -> list[Alert]:
        """Expire old names and samples of quiet keys."""
        self._subs.expire(now)
        self._dga.expire(now)
        live = set(self._subs.counts(np.array(list(self._samples), dtype=np.uint64)).nonzero()[0].tolist())
        self._samples = {k: s for i, (k, s) in enumerate(self._samples.items()) if i in live}
        self._alerted = {k: t for k, t in self._alerted.items() if now - t < self._cfg.dns_window_s}
        if len(self._clients) > 10000:
            self._clients.clear()
        return []


def _row_index(batch: FlowBatch) -> dict[int, int]:
    """Row position of each flow id that has L7 facts (without a dict over every row)."""
    fids = np.fromiter(batch.facts.keys(), dtype=np.uint64, count=len(batch.facts))
    ids = batch.rows["id"]
    order = np.argsort(ids, kind="stable")
    pos = np.minimum(np.searchsorted(ids[order], fids), max(len(ids) - 1, 0))
    hit = ids[order][pos] == fids if len(ids) else np.zeros(len(fids), dtype=bool)
    return dict(zip(fids[hit].tolist(), order[pos[hit]].tolist(), strict=True))


def _random_domain(name: str) -> bool:
    label = registered_domain(name).split(".")[0]
    return len(label) >= 10 and entropy(label) >= 3.0
