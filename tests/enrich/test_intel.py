"""Threat and context lists: every format, skipped lines reported with reasons, interval lookups."""

from __future__ import annotations

import ipaddress
import json
import random
from pathlib import Path

import numpy as np
import pytest
from tests.enrich.helpers import record

from flowradar.enrich import datafiles
from flowradar.enrich.intel import IntelDB, IntelEnricher, IntelList, IntervalIndex, load_intel
from flowradar.enrich.intel_formats import parse_file, parse_list

MIXED = """\
# a mixed, partly broken list
; another comment
! adblock comment

1.2.3.4
10.0.0.0/8
192.0.2.0/24 ; SBL123 trailing comment
198.51.100.10-198.51.100.20
2001:db8::/32
evil.example.com
*.tracker.example.net
http://malware.example.org/path/payload.exe
0.0.0.0 ads.example.com
127.0.0.1 localhost
||blocked.example.org^
||example.org/path/ad.js
@@||allowed.example.org^
example.com##.banner
300.1.2.3
10.0.0.0/33
1.2.3.9-1.2.3.1
two words here
!!!garbage!!!
http:///nohost
"""


def test_mixed_list_reports_every_skipped_line() -> None:
    parsed, report = parse_list(MIXED, "mixed")
    assert report.comments == 5  # '#', ';', '!' lines, the blank line and '!!!garbage!!!'
    assert report.accepted == 10
    assert report.skipped == {
        "hosts file loopback entry": 1,
        "adblock rule with a path or pattern": 1,
        "adblock exception rule": 1,
        "adblock cosmetic rule": 1,
        "not an address, network or domain": 1,
        "invalid network": 1,
        "invalid address range": 1,
        "more than one field": 1,
        "URL without host": 1,
    }
    assert report.skipped_total == 9
    assert report.examples[0][0] == 14 and report.examples[0][1] == "hosts file loopback entry"
    assert parsed.domains == {
        "evil.example.com",
        "tracker.example.net",
        "malware.example.org",
        "ads.example.com",
        "blocked.example.org",
    }
    assert (
        4,
        int(ipaddress.ip_address("192.0.2.0")),
        int(ipaddress.ip_address("192.0.2.255")),
    ) in parsed.ranges
    assert "9 lines skipped" in report.summary() and "1 invalid network" in report.summary()
    # every non-comment line is either accepted or counted as skipped: none is dropped silently
    lines = [ln for ln in MIXED.splitlines() if ln.strip() and not ln.startswith(("#", ";", "!"))]
    assert report.accepted + report.skipped_total == len(lines)


def test_garbage_bytes_are_reported_not_raised() -> None:
    rng = random.Random(4)
    text = "".join(chr(rng.randrange(1, 0x2FF)) for _ in range(20000))
    _, report = parse_list(text, "garbage")
    assert report.accepted + report.skipped_total + report.comments == len(text.splitlines())


def test_spamhaus_drop_every_line_is_read() -> None:
    got = datafiles.seek_source("spamhaus_drop.txt")
    if got is None:
        pytest.skip("seek-release wheel not installed (make installs it)")
    _, report = parse_file(got[0], "spamhaus_drop", got[1])
    text = datafiles.read_text(*got)
    data_lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(";")]
    assert report.skipped_total == 0 and report.accepted == len(data_lines) > 1000


def test_default_lists_load_and_match() -> None:
    db = load_intel(Path("/nonexistent-data-dir"), True, (), ("public-dns-v4", "amazon-aws"))
    names = {m.name for m in db.lists}
    if "spamhaus_drop" not in names:
        pytest.skip("seek-release wheel not installed (make installs it)")
    assert {"firehol_level1", "spamhaus_drop", "et_block", "public-dns-v4", "amazon-aws"} <= names
    for r in db.reports:
        if r.name in ("firehol_level1", "spamhaus_drop"):
            assert r.skipped_total == 0, r.summary()
    e = IntelEnricher(db)
    threats, benign, level = e.lookup("1.10.16.5", None)  # 1.10.16.0/20 is on Spamhaus DROP
    assert "spamhaus_drop:hijacked" in threats and level == 50
    threats, benign, level = e.lookup("8.8.8.8", None)
    assert threats == [] and benign == ["public-dns-v4"] and level == 0


def test_formats(tmp_path: Path) -> None:
    feodo_csv = (
        '# Feodo Tracker\n"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"\n'
        '"2026-01-01 00:00:00","203.0.113.7","443","online","2026-01-02","QakBot"\n'
        '"2026-01-01 00:00:00","not-an-ip","443","online","2026-01-02","QakBot"\n'
    )
    parsed, report = parse_list(feodo_csv, "feodo")
    assert report.accepted == 1 and report.skipped == {"not an address, network or domain": 1}
    urlhaus_csv = (
        "# URLhaus\n# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n"
        '"1","2026-01-01","http://bad.example.net/x.sh","online","","malware_download","","",""\n'
        '"2","2026-01-01","http://198.51.100.9:8080/i","online","","malware_download","","",""\n'
    )
    parsed, report = parse_list(urlhaus_csv, "urlhaus")
    assert parsed.domains == {"bad.example.net"} and len(parsed.ranges) == 1 and report.skipped_total == 0
    drop_json = (
        '{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}\n{"cidr":"bogus","sblid":"x"}\n'
        '{"type":"metadata","timestamp":1700000000,"size":2}\n'
    )
    parsed, report = parse_list(drop_json, "drop_v4.json")
    assert report.accepted == 1 and report.skipped == {"not an address, network or domain": 1}
    misp = {"name": "x", "type": "cidr", "list": ["8.8.8.8/32", "2001:4860::/32", "nonsense", 5]}
    parsed, report = parse_list(json.dumps(misp), "misp")
    assert report.accepted == 2 and report.skipped_total == 2
    regex = {"name": "x", "type": "regex", "list": ["^a.*b$"]}
    _, report = parse_list(json.dumps(regex), "misp-regex")
    assert report.skipped == {"MISP regex entry (not matched on flows)": 1}
    parsed, report = parse_list("||beacon.example.com^$ping\n||x.example.com^$third-party\n", "adblock")
    assert parsed.domains == {"x.example.com"}  # a $ping rule does not list the whole host
    assert report.skipped == {"adblock rule limited to some request types": 1}
    f = tmp_path / "list.txt"
    f.write_text("203.0.113.0/24\nbad line here\n")
    cache = tmp_path / "cache"
    first = parse_file(f, "user", None, cache)
    second = parse_file(f, "user", None, cache)  # from the JSON cache
    assert first[0].ranges == second[0].ranges and second[1].skipped == first[1].skipped
    assert len(list(cache.iterdir())) == 1


def _brute(entries: list[tuple[int, int, int]], value: int) -> tuple[int, ...]:
    return tuple(sorted({t for lo, hi, t in entries if lo <= value <= hi}))


def test_interval_index_matches_brute_force_with_overlaps() -> None:
    rng = random.Random(7)
    entries = []
    for tag in range(6):
        for _ in range(60):
            lo = rng.randrange(0, 5000)
            entries.append((lo, lo + rng.randrange(0, 300), tag))
    idx = IntervalIndex(entries, 4)
    for value in [*range(0, 5400, 7), 0, 4999, 5299]:
        assert idx.find(value) == _brute(entries, value)
    values = np.arange(0, 5400, dtype=np.uint64)
    found = idx.find_array(values)
    for v, i in zip(values.tolist(), found.tolist(), strict=True):
        assert (idx.sets[i] if i >= 0 else ()) == _brute(entries, v)


def test_ipv6_and_domains() -> None:
    db = IntelDB()
    parsed, report = parse_list("2001:db8:bad::/48\nc2.example.com\n", "c2")
    db.add(IntelList("c2", "botnet-c2", level=50), parsed, report)
    db.build()
    e = IntelEnricher(db)
    assert e.lookup("2001:db8:bad::1", None)[0] == ["c2:botnet-c2"]
    assert e.lookup("2001:db8:bae::1", None)[0] == []
    assert e.lookup(None, "x.c2.example.com")[0] == ["c2:botnet-c2"]
    assert e.lookup(None, "c2.example.com.evil")[0] == []
    v6 = np.array(
        [int(ipaddress.ip_address(a)).to_bytes(16, "big") for a in ("2001:db8:bad::9", "::1")], "S16"
    )
    assert db.v6.find_array(v6).tolist()[1] == -1 and db.v6.find_array(v6).tolist()[0] >= 0
    rec = record("10.0.0.2", "2001:db8:bad::7")
    rec.enrich.remote_ip, rec.enrich.dst_class = "2001:db8:bad::7", "public"
    assert e.enrich(rec) and rec.enrich.intel == ["c2:botnet-c2"] and rec.enrich.threat_level == 50
    private = record("10.0.0.2", "2001:db8:bad::7")
    private.enrich.remote_ip, private.enrich.dst_class = "2001:db8:bad::7", "reserved"
    assert not e.enrich(private)  # only public endpoints are looked up by address


def test_user_files_and_missing_ones(tmp_path: Path) -> None:
    f = tmp_path / "mine.txt"
    f.write_text("198.51.100.0/24\n")
    db = load_intel(tmp_path, False, (f"scanner={f}",), ())
    assert db.lists[0] == IntelList("mine", "scanner", level=30)
    with pytest.raises(ValueError, match="does not exist"):
        load_intel(tmp_path, False, (str(tmp_path / "nope.txt"),), ())
    db = load_intel(tmp_path, False, (), ("no-such-misp-list",))
    assert db.reports[0].skipped_total == 1 and "not installed" in db.reports[0].summary()
