"""Aggregates of enriched flows: remote endpoints, trackers per host or process, intel hits, privacy.

:class:`EnrichStage` joins the engine's flow batches to the :class:`EnrichmentPipeline` and this
summary: it materialises each batch's records, lets the pipeline enrich (and possibly hold) them,
and folds what is released into the summary. Rendering lives in :mod:`flowradar.ui.tables`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flowradar.engine.records import FlowBatch
from flowradar.enrich.pipeline import EnrichmentPipeline
from flowradar.enrich.privacy import level
from flowradar.model.flow import FlowRecord

MAX_ENDPOINTS = 200_000
"""Remote endpoints tracked one by one; past it they are counted under '(other)'."""


@dataclass(slots=True)
class Endpoint:
    """What was seen of one remote address."""

    ip: str
    names: Counter[str] = field(default_factory=Counter)
    domain: str | None = None
    country: str | None = None
    city: str | None = None
    asn: int | None = None
    as_org: str | None = None
    tracker: str | None = None
    tracker_category: str | None = None
    intel: set[str] = field(default_factory=set)
    benign: set[str] = field(default_factory=set)
    flows: int = 0
    bytes: int = 0
    privacy_max: int = 0

    @property
    def name(self) -> str | None:
        """The most frequent name of the endpoint."""
        return self.names.most_common(1)[0][0] if self.names else None


@dataclass(slots=True)
class OwnerStats:
    """Tracker and privacy statistics of one local host or process."""

    owner: str
    flows: int = 0
    tracker_flows: int = 0
    trackers: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    privacy_sum: int = 0
    privacy_max: int = 0

    @property
    def privacy_mean(self) -> float:
        """Mean privacy score of the owner's flows."""
        return self.privacy_sum / self.flows if self.flows else 0.0


@dataclass(slots=True)
class EnrichSummary:
    """Everything the enriched-flow tables show."""

    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    owners: dict[str, OwnerStats] = field(default_factory=dict)
    intel_hits: Counter[str] = field(default_factory=Counter)
    levels: Counter[str] = field(default_factory=Counter)
    directions: Counter[str] = field(default_factory=Counter)
    named_by: Counter[str] = field(default_factory=Counter)
    flows: int = 0
    privacy_sum: int = 0
    geo_sources: list[str] = field(default_factory=list)

    def add(self, records: list[FlowRecord]) -> None:
        """Fold enriched records into the summary."""
        for rec in records:
            e = rec.enrich
            self.flows += 1
            score = e.privacy_score or 0
            self.privacy_sum += score
            if e.privacy_level:
                self.levels[e.privacy_level] += 1
            if e.direction:
                self.directions[e.direction] += 1
            if e.name_source:
                self.named_by[e.name_source] += 1
            for hit in e.intel:
                self.intel_hits[hit] += 1
            self._endpoint(rec, score)
            self._owner(rec, score)

    def _endpoint(self, rec: FlowRecord, score: int) -> None:
        e = rec.enrich
        ip = e.remote_ip or rec.dst_ip
        ep = self.endpoints.get(ip)
        if ep is None:
            if len(self.endpoints) >= MAX_ENDPOINTS:
                ip = "(other)"
                ep = self.endpoints.get(ip)
            if ep is None:
                ep = self.endpoints[ip] = Endpoint(ip)
        if e.name:
            ep.names[e.name] += 1
            ep.domain = e.domain or ep.domain
        if e.country or e.asn:
            ep.country, ep.city, ep.asn, ep.as_org = e.country, e.city, e.asn, e.as_org
        if e.tracker:
            ep.tracker, ep.tracker_category = e.tracker, e.tracker_category
        ep.intel.update(e.intel)
        ep.benign.update(e.benign)
        ep.flows += 1
        ep.bytes += rec.src_bytes + rec.dst_bytes
        ep.privacy_max = max(ep.privacy_max, score)

    def _owner(self, rec: FlowRecord, score: int) -> None:
        e = rec.enrich
        remote = e.remote_ip or rec.dst_ip
        local = rec.src_ip if remote == rec.dst_ip else rec.dst_ip
        key = f"{e.process} ({local})" if e.process else local
        st = self.owners.get(key)
        if st is None:
            if len(self.owners) >= MAX_ENDPOINTS:
                return
            st = self.owners[key] = OwnerStats(key)
        st.flows += 1
        st.privacy_sum += score
        st.privacy_max = max(st.privacy_max, score)
        if e.tracker:
            st.tracker_flows += 1
            st.trackers[e.tracker] += 1
            st.categories[e.tracker_category or "unknown"] += 1

    @property
    def privacy_mean(self) -> float:
        """Mean privacy score over every flow."""
        return self.privacy_sum / self.flows if self.flows else 0.0

    def privacy_level(self) -> str:
        """Level of the mean score."""
        return level(round(self.privacy_mean))

    def top_endpoints(self, n: int = 10) -> list[Endpoint]:
        """Remote endpoints by bytes (intel hits first)."""
        return sorted(self.endpoints.values(), key=lambda ep: (not ep.intel, -ep.bytes))[:n]

    def tracker_owners(self, n: int = 10) -> list[OwnerStats]:
        """Hosts or processes that contacted trackers, most tracker flows first."""
        found = [o for o in self.owners.values() if o.tracker_flows]
        return sorted(found, key=lambda o: -o.tracker_flows)[:n]


class EnrichStage:
    """Engine batches in, enriched records out (for the flow file), the summary kept up to date."""

    def __init__(self, pipeline: EnrichmentPipeline, summary: EnrichSummary | None = None) -> None:
        self.pipeline = pipeline
        self.summary = summary or EnrichSummary()
        self.summary.geo_sources = pipeline.geo_sources()

    def feed(self, batch: FlowBatch) -> list[FlowRecord]:
        """Enrich one engine batch; return the records released (possibly from earlier batches)."""
        out = self.pipeline.process(list(batch.records()))
        self.summary.add(out)
        return out

    def finish(self) -> list[FlowRecord]:
        """End of input: every held record, enriched; then the pipeline is closed."""
        out = self.pipeline.flush()
        self.summary.add(out)
        self.pipeline.close()
        return out
