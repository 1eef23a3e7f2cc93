"""Tracker matching: flowradar's organisation map, EasyPrivacy/EasyList, user lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.enrich.helpers import record

from flowradar.enrich.trackers import EASYPRIVACY, TrackerDB, TrackerEnricher, load_trackers


@pytest.fixture(scope="module")
def trackers() -> TrackerEnricher:
    return TrackerEnricher(load_trackers(), cache_size=1000)


@pytest.mark.parametrize(
    ("name", "org", "category"),
    [
        ("googleads.g.doubleclick.net", "Google", "advertising"),
        ("www.google-analytics.com", "Google", "analytics"),
        ("connect.facebook.net", "Meta", "advertising"),  # the more specific entry wins
        ("static.xx.fbcdn.net", "Meta", "social"),
        ("script.hotjar.com", "Hotjar", "session-replay"),
        ("api.mixpanel.com", "Mixpanel", "analytics"),
        ("b.scorecardresearch.com", "comScore", "analytics"),
    ],
)
def test_organisation_map(trackers: TrackerEnricher, name: str, org: str, category: str) -> None:
    assert trackers.lookup(name) == (org, category)


def test_non_trackers(trackers: TrackerEnricher) -> None:
    for name in ("www.wikipedia.org", "deb.debian.org", "example.com", "doubleclick.net.example.org"):
        assert trackers.lookup(name) is None


def test_easyprivacy_domains_without_organisation(trackers: TrackerEnricher) -> None:
    if not EASYPRIVACY.is_file():
        pytest.skip("Debian webext-ublock-origin-firefox is not installed")
    report = next(r for r in trackers.db.reports if r.name == "easyprivacy.txt")
    assert report.accepted > 10000 and report.skipped_total > 0  # path rules are reported, not dropped
    listed = [d for d, (org, cat) in trackers.db.domains.items() if cat == "tracking" and org == d]
    assert listed
    name = "x." + listed[0]
    assert trackers.lookup(name) == (listed[0], "tracking")


def test_disconnect_and_adblock_user_lists(tmp_path: Path) -> None:
    services = {
        "categories": {
            "Advertising": [{"AdCo": {"https://adco.example": ["adco.example", "adco-cdn.example"]}}],
            "Disconnect": [{"SocialCo": {"https://social.example": ["social.example"]}}],
        }
    }
    (tmp_path / "services.json").write_text(json.dumps(services))
    (tmp_path / "mine.txt").write_text("||pixel.example.net^\n0.0.0.0 beacon.example.org\n/ads/*\n")
    db = load_trackers(
        (str(tmp_path / "services.json"), f"analytics={tmp_path / 'mine.txt'}"), debian_lists=False
    )
    assert db.match("cdn.adco-cdn.example") == ("AdCo", "advertising")
    assert db.match("social.example") == ("SocialCo", "social")
    assert db.match("a.pixel.example.net") == ("pixel.example.net", "analytics")
    mine = next(r for r in db.reports if r.name == "mine.txt")
    assert mine.accepted == 2 and mine.skipped_total == 1
    with pytest.raises(ValueError, match="does not exist"):
        load_trackers((str(tmp_path / "missing.json"),), debian_lists=False)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    db = TrackerDB()
    db.add_json(bad)
    assert db.reports[0].skipped_total == 1


def test_enricher_uses_the_remote_name(trackers: TrackerEnricher) -> None:
    rec = record()
    assert not trackers.enrich(rec)
    rec.enrich.name = "stats.g.doubleclick.net"
    assert trackers.enrich(rec)
    assert (rec.enrich.tracker, rec.enrich.tracker_category) == ("Google", "advertising")
