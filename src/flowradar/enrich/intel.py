"""Threat intelligence and known-benign context: address ranges and domains from many lists.

Every list's ranges are merged into one sorted set of disjoint intervals per IP version, each
interval carrying the lists that cover it, so one lookup is a binary search whatever the number of
lists and networks: ``bisect`` for single addresses and ``numpy.searchsorted`` for arrays
(IPv4 as integers, IPv6 as 16-byte big-endian strings). Domains match themselves and their
subdomains. Only public remote endpoints are looked up (FireHOL level 1 lists bogons, which would
flag every private address).
"""

from __future__ import annotations

import bisect
import socket
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flowradar.enrich.datafiles import UBLOCK_ASSETS, misp_lists_dir, seek_source
from flowradar.enrich.intel_formats import LoadReport, ParsedList, parse_file, parse_list
from flowradar.enrich.lru import CacheInfo, Lru
from flowradar.model.flow import FlowRecord


@dataclass(frozen=True, slots=True)
class IntelList:
    """One loaded list: its name, category, whether it is benign context, and its threat level."""

    name: str
    category: str
    benign: bool = False
    level: int = 0
    """0 (context) to 50 (confirmed malicious infrastructure); feeds the privacy score."""


DEFAULT_LISTS: tuple[tuple[str, str, str, int], ...] = (
    # (seek-release file, list name, category, threat level)
    ("firehol_level1.netset", "firehol_level1", "attacks", 40),
    ("spamhaus_drop.txt", "spamhaus_drop", "hijacked", 50),
    ("emerging_threats.txt", "et_block", "attacks", 40),
)
UPDATED_ONLY = (
    # lists that only `flowradar intel update` brings: (file, list name, category)
    ("feodo_ipblocklist.txt", "feodo", "botnet-c2"),
    ("urlhaus_hostfile.txt", "urlhaus", "malware"),
)
URLHAUS_FILTER = UBLOCK_ASSETS / "thirdparties" / "urlhaus-filter" / "urlhaus-filter-online.txt"
USER_LEVEL = 30
Hits = tuple[list[str], list[str], int]
"""(threat hits as 'list:category', benign list names, highest threat level)."""


class IntervalIndex:
    """Disjoint sorted intervals of one IP version, each mapped to a tuple of list ids."""

    def __init__(self, entries: Iterable[tuple[int, int, int]], version: int) -> None:
        events = sorted(ev for lo, hi, tag in entries for ev in ((lo, 1, tag), (hi + 1, -1, tag)))
        active: dict[int, int] = {}
        starts: list[int] = []
        ends: list[int] = []
        sets: list[tuple[int, ...]] = []
        n = len(events)
        i = 0
        while i < n:
            point = events[i][0]
            while i < n and events[i][0] == point:
                _, delta, tag = events[i]
                count = active.get(tag, 0) + delta
                if count:
                    active[tag] = count
                else:
                    active.pop(tag, None)
                i += 1
            if not active or i == n:
                continue
            tags = tuple(sorted(active))
            end = events[i][0] - 1
            if sets and sets[-1] == tags and ends[-1] + 1 == point:
                ends[-1] = end
            else:
                starts.append(point)
                ends.append(end)
                sets.append(tags)
        self.version = version
        self.starts, self.ends, self.sets = starts, ends, sets
        if version == 4:
            self._np_starts = np.array(starts, dtype=np.uint64)
            self._np_ends = np.array(ends, dtype=np.uint64)
        else:
            self._np_starts = np.array([s.to_bytes(16, "big") for s in starts], dtype="S16")
            self._np_ends = np.array([e.to_bytes(16, "big") for e in ends], dtype="S16")

    def __len__(self) -> int:
        return len(self.starts)

    def find(self, value: int) -> tuple[int, ...]:
        """List ids covering one address (as an integer)."""
        i = bisect.bisect_right(self.starts, value) - 1
        if i >= 0 and value <= self.ends[i]:
            return self.sets[i]
        return ()

    def find_array(self, values: np.ndarray) -> np.ndarray:
        """Interval index of each address (-1 when none): uint64 for IPv4, S16 for IPv6."""
        if not len(self.starts):
            return np.full(len(values), -1, dtype=np.int64)
        i = np.searchsorted(self._np_starts, values, side="right").astype(np.int64) - 1
        ok = i >= 0
        ok[ok] = values[ok] <= self._np_ends[i[ok]]
        return np.where(ok, i, -1)


class IntelDB:
    """Every loaded list, an interval index per IP version and a domain table."""

    def __init__(self) -> None:
        self.lists: list[IntelList] = []
        self.reports: list[LoadReport] = []
        self._pending: list[tuple[int, int, int, int]] = []
        self.domains: dict[str, tuple[int, ...]] = {}
        self.v4 = IntervalIndex((), 4)
        self.v6 = IntervalIndex((), 6)

    def add(self, meta: IntelList, parsed: ParsedList, report: LoadReport) -> None:
        """Add one parsed list (call :meth:`build` after the last one)."""
        tag = len(self.lists)
        self.lists.append(meta)
        self.reports.append(report)
        self._pending.extend((v, lo, hi, tag) for v, lo, hi in parsed.ranges)
        for d in parsed.domains:
            have = self.domains.get(d, ())
            if tag not in have:
                self.domains[d] = (*have, tag)

    def add_text(self, meta: IntelList, text: str, origin: str) -> LoadReport:
        """Parse and add one list."""
        parsed, report = parse_list(text, meta.name, origin)
        self.add(meta, parsed, report)
        return report

    def build(self) -> None:
        """Build the interval indexes from every list added so far."""
        self.v4 = IntervalIndex(((lo, hi, t) for v, lo, hi, t in self._pending if v == 4), 4)
        self.v6 = IntervalIndex(((lo, hi, t) for v, lo, hi, t in self._pending if v == 6), 6)

    def match_ip(self, ip: str) -> tuple[int, ...]:
        """List ids that list this address."""
        try:
            if ":" in ip:
                return self.v6.find(int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big"))
            return self.v4.find(int.from_bytes(socket.inet_aton(ip), "big"))
        except OSError:
            return ()

    def match_name(self, name: str) -> tuple[int, ...]:
        """List ids that list this name or one of its parent domains."""
        domains = self.domains
        if not domains:
            return ()
        parts = name.split(".")
        found: tuple[int, ...] = ()
        for i in range(len(parts) - 1):
            hit = domains.get(".".join(parts[i:]))
            if hit:
                found += hit
        return found


def load_intel(
    data_dir: Path,
    defaults: bool = True,
    user_files: tuple[str, ...] = (),
    misp_names: tuple[str, ...] = (),
) -> IntelDB:
    """Load the default lists, the chosen MISP warning lists and the user's lists.

    Parsed lists are cached (JSON) under ``<data_dir>/parsed``, keyed by file size and mtime.
    """
    db = IntelDB()
    cache = data_dir / "parsed"
    intel_dir = data_dir / "intel"

    def add(meta: IntelList, path: Path, member: str | None = None) -> None:
        parsed, report = parse_file(path, meta.name, member, cache)
        db.add(meta, parsed, report)

    if defaults:
        for fname, name, category, level in DEFAULT_LISTS:
            src = (intel_dir / fname, None) if (intel_dir / fname).is_file() else seek_source(fname)
            if src is not None:
                add(IntelList(name, category, level=level), *src)
            else:
                db.reports.append(_missing(name, "seek-release (make installs it)"))
        for fname, name, category in UPDATED_ONLY:
            if (intel_dir / fname).is_file():
                add(IntelList(name, category, level=50), intel_dir / fname)
        if URLHAUS_FILTER.is_file() and not (intel_dir / "urlhaus_hostfile.txt").is_file():
            add(IntelList("urlhaus_filter", "malware", level=50), URLHAUS_FILTER)
    misp = misp_lists_dir()
    for name in misp_names:
        path = misp / name / "list.json" if misp is not None else None
        if path is None or not path.is_file():
            db.reports.append(_missing(name, "pymispwarninglists"))
            continue
        add(IntelList(name, "benign", benign=True), path)
    for spec in user_files:
        category, sep, path_text = spec.partition("=")
        if not sep:
            category, path_text = "user", spec
        path = Path(path_text).expanduser()
        if not path.is_file():
            raise ValueError(f"intel list {path} does not exist")
        add(IntelList(path.stem, category, level=USER_LEVEL), path)
    db.build()
    return db


def _missing(name: str, package: str) -> LoadReport:
    report = LoadReport(name, package)
    report.skip(0, f"list not installed ({package})", name)
    return report


class IntelEnricher:
    """Fills intel ('list:category'), benign (list names) and threat_level of the remote endpoint."""

    name = "intel"

    def __init__(self, db: IntelDB, cache_size: int = 65536) -> None:
        self.db = db
        self._cache: Lru[tuple[str, str | None], Hits] = Lru(cache_size)
        self.hits: Counter[str] = Counter()

    def lookup(self, ip: str | None, name: str | None) -> Hits:
        """(threat hits, benign hits, threat level) of an address and a name (cached)."""
        key = (ip or "", name)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        ids = (self.db.match_ip(ip) if ip else ()) + (self.db.match_name(name) if name else ())
        threats: list[str] = []
        benign: list[str] = []
        level = 0
        for i in dict.fromkeys(ids):
            meta = self.db.lists[i]
            if meta.benign:
                benign.append(meta.name)
            else:
                threats.append(f"{meta.name}:{meta.category}")
                level = max(level, meta.level)
        result = (threats, benign, level)
        self._cache.put(key, result)
        return result

    def enrich(self, record: FlowRecord) -> bool:
        """Annotate one flow."""
        return self._enrich(record, {})

    def _enrich(self, record: FlowRecord, memo: dict[tuple[str | None, str | None], Hits]) -> bool:
        e = record.enrich
        ip = e.remote_ip or record.dst_ip
        remote_class = e.src_class if ip == record.src_ip and ip != record.dst_ip else e.dst_class
        key = (ip if remote_class in (None, "public") else None, e.name)
        found = memo.get(key)
        if found is None:
            found = memo[key] = self.lookup(*key)
        threats, benign, level = found
        if not threats and not benign:
            return False
        e.intel, e.benign, e.threat_level = list(threats), list(benign), level
        for t in threats:
            self.hits[t] += 1
        return True

    def enrich_many(self, records: list[FlowRecord]) -> None:
        """Annotate every flow (each distinct address and name once per batch)."""
        memo: dict[tuple[str | None, str | None], Hits] = {}
        enrich = self._enrich
        for rec in records:
            enrich(rec, memo)

    def cache_info(self) -> CacheInfo:
        """The (address, name) cache."""
        return self._cache.info()

    def close(self) -> None:
        """Nothing to release."""
