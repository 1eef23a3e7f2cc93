"""Privacy score of a flow, 0 to 100, and its level; the weights are configurable.

Score = base + tracker category + threat level + protocol + TLS version + volume + blocked,
clamped to 0..100. Default weights (override with ``[enrich] privacy_weights = ["http=20", ...]``):

==================  ======  ==============================================================
name                points  when
==================  ======  ==============================================================
base                5       every flow
cat.<category>      5..80   the remote name is a tracker of that category (see below)
threat              x1      plus the threat level of intel hits (0..50)
http                15      cleartext HTTP
https               5       HTTPS (TLS to port 443, or QUIC)
ssl                 30      SSLv2/SSLv3 negotiated
tls1.0 / tls1.1     20 / 10 old TLS negotiated
tls1.2 / tls1.3     0 / 0
large               10      more than 10 MB in total
upload              10      more than 100 KB sent to the remote endpoint
blocked             30      the flow was blocked: a sinkholed DNS answer (0.0.0.0 or ::) or a
                            connection refused (reset before any payload)
==================  ======  ==============================================================

Tracker categories: content 5, email 20, telemetry 30, tracking 40, analytics 40, social 50,
advertising 60, session-replay 70, fingerprinting 70, cryptomining 80 (unknown categories 40).
Levels: 0-20 low, 21-50 medium, 51-80 high, 81-100 critical.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowradar.enrich.lru import CacheInfo
from flowradar.model.flow import FlowRecord

DEFAULT_WEIGHTS: dict[str, int] = {
    "base": 5,
    "threat": 1,
    "http": 15,
    "https": 5,
    "ssl": 30,
    "tls1.0": 20,
    "tls1.1": 10,
    "tls1.2": 0,
    "tls1.3": 0,
    "large": 10,
    "upload": 10,
    "blocked": 30,
    "cat.content": 5,
    "cat.email": 20,
    "cat.telemetry": 30,
    "cat.tracking": 40,
    "cat.analytics": 40,
    "cat.social": 50,
    "cat.advertising": 60,
    "cat.session-replay": 70,
    "cat.fingerprinting": 70,
    "cat.cryptomining": 80,
    "cat.unknown": 40,
}
LARGE_BYTES = 10 * 1024 * 1024
UPLOAD_BYTES = 100 * 1024
_TLS = {"SSLv2": "ssl", "SSLv3": "ssl", "TLSv1.0": "tls1.0", "TLSv1.1": "tls1.1", "TLSv1.2": "tls1.2"}
_SINKHOLES = frozenset(("0.0.0.0", "::", "127.0.0.1", "::1"))


def parse_weights(overrides: Iterable[str]) -> dict[str, int]:
    """DEFAULT_WEIGHTS with 'NAME=POINTS' overrides applied."""
    weights = dict(DEFAULT_WEIGHTS)
    for item in overrides:
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or (name not in weights and not name.startswith("cat.")):
            raise ValueError(f"privacy_weights: expected NAME=POINTS with a known NAME, got {item!r}")
        try:
            weights[name] = int(value)
        except ValueError:
            raise ValueError(f"privacy_weights: {item!r}: points must be an integer") from None
    return weights


def level(score: int) -> str:
    """low, medium, high or critical."""
    if score <= 20:
        return "low"
    if score <= 50:
        return "medium"
    if score <= 80:
        return "high"
    return "critical"


_LEVELS = tuple(level(s) for s in range(101))


def blocked(rec: FlowRecord) -> bool:
    """Sinkholed DNS answer, or a connection reset before any payload."""
    if rec.l7.dns_answers:
        return any(a.type in ("A", "AAAA") and a.value in _SINKHOLES for a in rec.l7.dns_answers)
    return rec.transport == "tcp" and "r" in rec.history and rec.src_payload == 0 and rec.dst_payload == 0


def score(rec: FlowRecord, w: dict[str, int]) -> int:
    """The privacy score of one flow (0..100)."""
    e, l7 = rec.enrich, rec.l7
    total = w["base"] + w["threat"] * e.threat_level
    cat = e.tracker_category
    if cat:
        total += w.get("cat." + cat, w["cat.unknown"])
    app = l7.app_proto
    if app == "http":
        total += w["http"]
    elif app == "quic" or (app == "tls" and (rec.dst_port == 443 or rec.src_port == 443)):
        total += w["https"]
    if l7.tls_version:
        total += w.get(_TLS.get(l7.tls_version, "tls1.3"), 0)
    src_bytes, dst_bytes = rec.src_bytes, rec.dst_bytes
    if src_bytes + dst_bytes > LARGE_BYTES:
        total += w["large"]
    remote = e.remote_ip
    if (src_bytes if remote is None or remote == rec.dst_ip else dst_bytes) > UPLOAD_BYTES:
        total += w["upload"]
    if (l7.dns_answers or "r" in rec.history) and blocked(rec):
        total += w["blocked"]
    return 0 if total < 0 else 100 if total > 100 else total


class PrivacyEnricher:
    """Fills privacy_score and privacy_level (run it after trackers and intel)."""

    name = "privacy"

    def __init__(self, weights: dict[str, int] | None = None) -> None:
        self.weights = dict(weights or DEFAULT_WEIGHTS)
        self.scored = 0

    def enrich(self, record: FlowRecord) -> bool:
        """Score one flow."""
        self.enrich_many([record])
        return True

    def enrich_many(self, records: list[FlowRecord]) -> None:
        """Score every flow."""
        w, levels = self.weights, _LEVELS
        for rec in records:
            s = score(rec, w)
            e = rec.enrich
            e.privacy_score, e.privacy_level = s, levels[s]
        self.scored += len(records)

    def cache_info(self) -> CacheInfo:
        """No lookups, so no cache: counters only."""
        return CacheInfo(0, 0, 0, self.scored, 0)

    def close(self) -> None:
        """Nothing to release."""
