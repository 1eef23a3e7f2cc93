"""Readers of threat and context list formats. None drops a line silently.

Recognised, by content: FireHOL netsets and plain address/CIDR/range lists, Spamhaus DROP
(``1.2.3.0/24 ; SBL123``) and its JSON-lines form, Emerging Threats block lists, abuse.ch Feodo
(plain IPs or the CSV with ``dst_ip``), URLhaus (plain URLs, the CSV with ``url``, host files),
hosts files (``0.0.0.0 name``), adblock domain rules (``||name^``), plain domain lists and MISP
warning lists (JSON with ``type`` and ``list``). Comment lines (``#``, ``;``, ``!``, ``//``) and
blank lines are counted, not reported; every other line that gives no address, network or domain
is counted under its reason, with the first few kept as examples.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import socket
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flowradar.enrich.datafiles import read_text

MAX_EXAMPLES = 5
MAX_LINE = 4096
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$")
_HOSTS_SINKS = frozenset(("0.0.0.0", "127.0.0.1", "::", "::1", "0"))
_COMMENT = ("#", ";", "!", "//", "[")
_WHOLE_HOST_OPTIONS = frozenset(("third-party", "3p", "all", "important", "doc", "document", "popup"))


@dataclass(slots=True)
class LoadReport:
    """What loading one list did: entries accepted and lines skipped, by reason."""

    name: str
    origin: str
    accepted: int = 0
    comments: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: list[tuple[int, str, str]] = field(default_factory=list)
    """(line number, reason, line) of the first skipped lines."""

    @property
    def skipped_total(self) -> int:
        """Lines skipped (comments and blank lines excluded)."""
        return sum(self.skipped.values())

    def skip(self, lineno: int, reason: str, line: str) -> None:
        """Count one skipped line."""
        self.skipped[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append((lineno, reason, line[:120]))

    def summary(self) -> str:
        """One line: accepted, skipped and why."""
        why = ", ".join(f"{n} {r}" for r, n in self.skipped.most_common())
        text = f"{self.name}: {self.accepted} entries"
        return text + (f", {self.skipped_total} lines skipped ({why})" if self.skipped else "")


@dataclass(slots=True)
class ParsedList:
    """Entries of one list: address ranges (version, first, last) and domain names."""

    ranges: list[tuple[int, int, int]] = field(default_factory=list)
    domains: set[str] = field(default_factory=set)


def _address(text: str) -> tuple[int, int] | None:
    """(version, integer) of an address text, None when it is not one."""
    try:
        if ":" in text:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        if text.count(".") == 3:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        pass
    return None


def _net_range(text: str) -> tuple[int, int, int] | str:
    """(version, first, last) of an address, CIDR or 'a-b' range; else the reason it is not one."""
    if "-" in text and not text.startswith("-"):
        lo_t, _, hi_t = text.partition("-")
        lo, hi = _address(lo_t.strip()), _address(hi_t.strip())
        if lo is None or hi is None:
            return "not an address, network or domain"
        if lo[0] != hi[0] or hi[1] < lo[1]:
            return "invalid address range"
        return lo[0], lo[1], hi[1]
    addr_t, slash, plen_t = text.partition("/")
    addr = _address(addr_t)
    if addr is None:
        return "invalid network" if slash else "not an address, network or domain"
    version, value = addr
    bits = 32 if version == 4 else 128
    if not slash:
        return version, value, value
    if not plen_t.isdigit() or int(plen_t) > bits:
        return "invalid network"
    host = (1 << (bits - int(plen_t))) - 1
    return version, value & ~host, value | host


def parse_entry(token: str, out: ParsedList) -> str | None:
    """Add one address, network, range, URL or domain; return the reason when it is none."""
    token = token.strip().strip('"').lower()
    if not token:
        return "empty entry"
    if len(token) > MAX_LINE:
        return "entry too long"
    if "://" in token:
        host = urlsplit(token).hostname
        if not host:
            return "URL without host"
        token = host
    if token[0].isdigit() or ":" in token:
        got = _net_range(token)
        if not isinstance(got, str):
            out.ranges.append(got)
            return None
        if not _DOMAIN.match(token):
            return got
    name = token.lstrip("*.").rstrip(".")
    if _DOMAIN.match(name):
        out.domains.add(name)
        return None
    return "not an address, network or domain"


def _adblock(line: str, out: ParsedList) -> str | None:
    if line.startswith("@@"):
        return "adblock exception rule"
    if "##" in line or "#@#" in line or "#?#" in line or "#$#" in line:
        return "adblock cosmetic rule"
    if not line.startswith("||"):
        return "adblock rule that is not a domain rule"
    body = line[2:]
    rule, _, options = body.partition("$")
    if not rule.endswith("^") or any(c in rule[:-1] for c in "/*^?="):
        return "adblock rule with a path or pattern"
    opts = [o.strip().lower() for o in options.split(",") if o.strip()] if options else []
    if any(o.startswith(("domain=", "from=", "~")) for o in opts):
        return "adblock rule limited to some sites"
    if any(o not in _WHOLE_HOST_OPTIONS for o in opts):
        return "adblock rule limited to some request types"  # e.g. $ping: not the whole host
    return parse_entry(rule[:-1], out)


def _line(raw: str, out: ParsedList) -> str | None:
    line = raw.strip()
    if line.startswith(("||", "@@")) or "##" in line:
        return _adblock(line, out)
    for sep in (" ;", ";", " #", "\t#"):  # DROP 'net ; SBL', trailing comments
        if sep in line:
            line = line.split(sep, 1)[0].strip()
    fields = line.split()
    if len(fields) >= 2 and fields[0] in _HOSTS_SINKS:  # hosts file
        if fields[1] in ("localhost", "localhost.localdomain", "local", "broadcasthost"):
            return "hosts file loopback entry"
        return parse_entry(fields[1], out)
    if len(fields) == 3 and fields[1] == "-":  # 'a - b' range
        return parse_entry(f"{fields[0]}-{fields[2]}", out)
    if len(fields) > 1 and not fields[1].startswith(("#", ";")):
        return "more than one field"
    return parse_entry(fields[0] if fields else "", out)


def _misp(data: dict[str, Any], out: ParsedList, report: LoadReport) -> None:
    kind = str(data.get("type", "string"))
    for i, item in enumerate(data.get("list", []), 1):
        if not isinstance(item, str):
            report.skip(i, "list item is not text", repr(item))
        elif kind in ("substring", "regex"):
            report.skip(i, f"MISP {kind} entry (not matched on flows)", item)
        else:
            reason = parse_entry(item, out)
            if reason:
                report.skip(i, reason, item)
            else:
                report.accepted += 1


_CSV_COLUMNS = ("dst_ip", "ip_address", "ip", "url", "domain", "host", "hostname", "cidr", "indicator")


def _csv(text: str, out: ParsedList, report: LoadReport) -> None:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    header_at = next((i for i, ln in enumerate(text.splitlines()) if ln.lstrip().startswith("# id,")), None)
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = [h.strip().strip("# ").lower() for h in rows[0]] if rows else []
    if header_at is not None and not any(h in _CSV_COLUMNS for h in header):
        header = [h.strip().lower() for h in text.splitlines()[header_at].lstrip("# ").split(",")]
    else:
        rows = rows[1:]
    col = next((header.index(c) for c in _CSV_COLUMNS if c in header), None)
    report.comments += text.count("\n") + 1 - len(lines)
    if col is None:
        for i, row in enumerate(rows, 1):
            report.skip(i, "CSV without an address, URL or domain column", ",".join(row))
        return
    for i, row in enumerate(rows, 1):
        if len(row) <= col:
            report.skip(i, "CSV row too short", ",".join(row))
            continue
        reason = parse_entry(row[col], out)
        if reason:
            report.skip(i, reason, ",".join(row))
        else:
            report.accepted += 1


CACHE_VERSION = 2


def parse_file(
    path: Path, name: str, member: str | None = None, cache_dir: Path | None = None
) -> tuple[ParsedList, LoadReport]:
    """Parse a list file (or a zip member), through a JSON cache keyed by size and mtime."""
    origin = str(path) + (f"!{member}" if member else "")
    try:
        st = path.stat()
    except OSError as exc:
        raise ValueError(f"list {path}: {exc.strerror}") from None
    key = f"{CACHE_VERSION}|{origin}|{st.st_size}|{st.st_mtime_ns}|{name}"
    cache = None
    if cache_dir is not None:
        cache = cache_dir / (hashlib.sha1(key.encode()).hexdigest()[:20] + ".json")
        got = _cached(cache, key)
        if got is not None:
            return got
    parsed, report = parse_list(read_text(path, member), name, origin)
    if cache is not None:
        _store(cache, key, parsed, report)
    return parsed, report


def _cached(cache: Path, key: str) -> tuple[ParsedList, LoadReport] | None:
    try:
        data = json.loads(cache.read_text())
        if data.get("key") != key:
            return None
        r = data["report"]
        report = LoadReport(r["name"], r["origin"], r["accepted"], r["comments"], Counter(r["skipped"]))
        report.examples = [(int(a), str(b), str(c)) for a, b, c in r["examples"]]
        ranges = [(int(v), int(lo), int(hi)) for v, lo, hi in data["ranges"]]
        return ParsedList(ranges, set(data["domains"])), report
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(cache: Path, key: str, parsed: ParsedList, report: LoadReport) -> None:
    r = {
        "name": report.name,
        "origin": report.origin,
        "accepted": report.accepted,
        "comments": report.comments,
        "skipped": dict(report.skipped),
        "examples": report.examples,
    }
    data = {"key": key, "report": r, "ranges": parsed.ranges, "domains": sorted(parsed.domains)}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".part")
        tmp.write_text(json.dumps(data, separators=(",", ":")))
        tmp.replace(cache)
    except OSError:
        pass  # a read-only cache directory only costs time


def parse_list(text: str, name: str, origin: str = "") -> tuple[ParsedList, LoadReport]:
    """Parse a list in any of the recognised formats."""
    out, report = ParsedList(), LoadReport(name, origin or name)
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{") and '"list"' in stripped[:200000]:
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, dict):
            _misp(data, out, report)
            return out, report
    first = next((ln for ln in stripped.splitlines() if ln.strip() and not ln.startswith("#")), "")
    csv_header = first.lower().startswith(("first_seen", "id,", "dateadded"))
    if (first.startswith('"') and "," in first) or csv_header:
        _csv(text, out, report)
        return out, report
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or (line.startswith(_COMMENT) and not line.startswith("||")):
            report.comments += 1
            continue
        if line.startswith("{"):  # JSON lines (Spamhaus DROP v4/v6 JSON)
            reason = _json_line(line, out)
        elif len(line) > MAX_LINE:
            reason = "line too long"
        else:
            reason = _line(line, out)
        if reason is None:
            report.accepted += 1
        elif reason == "metadata":
            report.comments += 1
        else:
            report.skip(lineno, reason, line)
    return out, report


def _json_line(line: str, out: ParsedList) -> str | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return "invalid JSON line"
    if not isinstance(obj, dict):
        return "JSON line is not an object"
    for key in ("cidr", "ip", "ip_address", "domain", "url"):
        if isinstance(obj.get(key), str):
            return parse_entry(obj[key], out)
    return "metadata" if obj.get("type") == "metadata" else "JSON object without an address or domain"
