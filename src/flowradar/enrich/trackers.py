"""Trackers: remote name -> tracker organisation and category.

Sources, most specific first (a name matches itself and its parent domains):

1. flowradar's own organisation map (``flowradar/data/trackers.json``, Apache-2.0): organisation,
   category (advertising, analytics, social, telemetry, session-replay, fingerprinting,
   cryptomining, email) and domains.
2. User lists (``[enrich] tracker_files``): the same JSON layout, Disconnect's ``services.json``
   (mind its licence), or adblock/hosts/plain domain lists (as ``CATEGORY=PATH``, default
   ``tracking``).
3. EasyPrivacy (category ``tracking``) and EasyList (``advertising``) domain rules from Debian's
   ``webext-ublock-origin-firefox`` (GPL-3+ or CC BY-SA 3.0+). These name no organisation; the
   listed domain stands in for it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from flowradar.enrich.datafiles import UBLOCK_ASSETS, package_data
from flowradar.enrich.intel_formats import LoadReport, parse_file
from flowradar.enrich.lru import CacheInfo, Lru
from flowradar.model.flow import FlowRecord

EASYPRIVACY = UBLOCK_ASSETS / "thirdparties" / "easylist" / "easyprivacy.txt"
EASYLIST = UBLOCK_ASSETS / "thirdparties" / "easylist" / "easylist.txt"
Entry = tuple[str, str]  # (organisation or domain, category)


def _org_map(data: dict[str, Any], out: dict[str, Entry]) -> int:
    n = 0
    for org, cats in (data.get("organisations") or {}).items():
        for category, domains in cats.items():
            for d in domains:
                out.setdefault(str(d).lower(), (str(org), str(category).lower()))
                n += 1
    return n


def _disconnect(data: dict[str, Any], out: dict[str, Entry]) -> int:
    """Disconnect services.json: categories -> [{org: {homepage: [domains]}}]."""
    n = 0
    for category, orgs in (data.get("categories") or {}).items():
        cat = str(category).lower()
        cat = "social" if cat == "disconnect" else cat
        for item in orgs:
            for org, sites in item.items():
                for domains in sites.values():
                    if isinstance(domains, list):
                        for d in domains:
                            out.setdefault(str(d).lower(), (str(org), cat))
                            n += 1
    return n


class TrackerDB:
    """Domain -> (organisation, category) from every source, with a load report per source."""

    def __init__(self) -> None:
        self.domains: dict[str, Entry] = {}
        self.reports: list[LoadReport] = []

    def add_json(self, path: Path) -> None:
        """A flowradar organisation map or a Disconnect services.json."""
        report = LoadReport(path.name, str(path))
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            report.skip(0, f"unreadable JSON ({exc})", str(path))
            self.reports.append(report)
            return
        if not isinstance(data, dict):
            report.skip(0, "JSON is not an object", str(path))
        elif "organisations" in data:
            report.accepted = _org_map(data, self.domains)
        elif "categories" in data:
            report.accepted = _disconnect(data, self.domains)
        else:
            report.skip(0, "neither a flowradar tracker map nor a Disconnect services.json", str(path))
        self.reports.append(report)

    def add_list(self, path: Path, category: str, cache_dir: Path | None = None) -> None:
        """An adblock, hosts or plain domain list: every domain gets ``category``."""
        parsed, report = parse_file(path, path.name, None, cache_dir)
        for d in parsed.domains:
            self.domains.setdefault(d, (d, category))
        self.reports.append(report)

    def match(self, name: str) -> Entry | None:
        """The most specific entry that names an organisation, else the most specific listed domain."""
        domains = self.domains
        parts = name.split(".")
        fallback: Entry | None = None
        for i in range(len(parts) - 1):
            suffix = ".".join(parts[i:])
            hit = domains.get(suffix)
            if hit is not None:
                if hit[0] != suffix:
                    return hit
                fallback = fallback or hit
        return fallback


def load_trackers(
    user_files: tuple[str, ...] = (), debian_lists: bool = True, cache_dir: Path | None = None
) -> TrackerDB:
    """flowradar's map, then the user's files, then EasyPrivacy and EasyList (when installed)."""
    db = TrackerDB()
    db.add_json(package_data("trackers.json"))
    for spec in user_files:
        category, sep, path_text = spec.partition("=")
        path = Path(path_text if sep else spec).expanduser()
        if not path.is_file():
            raise ValueError(f"tracker list {path} does not exist")
        if path.suffix == ".json":
            db.add_json(path)
        else:
            db.add_list(path, category if sep else "tracking", cache_dir)
    if debian_lists:
        for path, category in ((EASYPRIVACY, "tracking"), (EASYLIST, "advertising")):
            if path.is_file():
                db.add_list(path, category, cache_dir)
    return db


class TrackerEnricher:
    """Fills tracker and tracker_category from the remote name; counts tracker flows per host."""

    name = "trackers"

    def __init__(self, db: TrackerDB, cache_size: int = 65536) -> None:
        self.db = db
        self._cache: Lru[str, Entry | tuple[()]] = Lru(cache_size)
        self.seen: Counter[str] = Counter()

    def lookup(self, name: str) -> Entry | None:
        """(organisation, category) of a host name (cached)."""
        hit = self._cache.get(name)
        if hit is None:
            hit = self.db.match(name) or ()
            self._cache.put(name, hit)
        return hit or None

    def enrich(self, record: FlowRecord) -> bool:
        """Match one flow's remote name."""
        return self._enrich(record, {})

    def _enrich(self, record: FlowRecord, memo: dict[str, Entry | None]) -> bool:
        e = record.enrich
        name = e.name
        if not name:
            return False
        if name in memo:
            hit = memo[name]
        else:
            hit = memo[name] = self.lookup(name)
        if hit is None:
            return False
        e.tracker, e.tracker_category = hit
        self.seen[hit[0]] += 1
        return True

    def enrich_many(self, records: list[FlowRecord]) -> None:
        """Match every flow (each distinct name once per batch)."""
        memo: dict[str, Entry | None] = {}
        enrich = self._enrich
        for rec in records:
            enrich(rec, memo)

    def cache_info(self) -> CacheInfo:
        """The per-name cache."""
        return self._cache.info()

    def close(self) -> None:
        """Nothing to release."""
