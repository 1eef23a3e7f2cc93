"""`flowradar analyze` shows the enrichment; `data info`, `intel check`, configuration, offline update."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flowradar.config import ConfigError, load_config
from flowradar.enrich.datafiles import DataError
from flowradar.enrich.update import fetch

FLOWRADAR = [sys.executable, "-m", "flowradar"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "220", **(env or {})}
    return subprocess.run(
        [*FLOWRADAR, *args], capture_output=True, text=True, timeout=120, env=full, check=False
    )


def test_analyze_shows_remote_endpoints(corpus: Path, tmp_path: Path) -> None:
    flows = tmp_path / "flows.jsonl"
    proc = run("analyze", str(corpus / "pcaps" / "1kxun.pcap"), "--flows", str(flows), "--top", "30")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Remote endpoints" in out and "IP Geolocation by DB-IP" in out
    assert "pic.1kxun.com" in out and "1kxun.com" in out and "AS15169 Google LLC" in out
    assert "Google (advertising)" in out and "Trackers by host or process" in out
    assert "Privacy: mean score" in out
    rows = [json.loads(line) for line in flows.read_text().splitlines()]
    assert len(rows) == 197
    cols = ("name", "name_source", "domain", "country", "asn", "as_org", "tracker", "intel", "privacy_score")
    assert all(c in rows[0] for c in cols)
    google = [r for r in rows if r["asn"] == 15169]
    assert google and all(r["country"] and r["privacy_level"] for r in google)
    ads = [r for r in rows if r["tracker_category"] == "advertising"]
    assert ads and all(r["privacy_score"] >= 65 for r in ads)
    assert {r["direction"] for r in rows} >= {"outbound", "local"}


def test_flow_csv_has_the_new_columns(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    proc = run("analyze", str(corpus / "pcaps" / "chrome.pcap"), "-q", "--flows", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert rows and rows[0]["privacy_level"] and "tracker_category" in rows[0] and rows[0]["remote_ip"]


def test_enrichment_can_be_disabled(corpus: Path) -> None:
    proc = run("analyze", str(corpus / "pcaps" / "chrome.pcap"), env={"FLOWRADAR_ENRICH_ENABLED": "0"})
    assert proc.returncode == 0 and "Remote endpoints" not in proc.stdout


def test_bad_user_list_is_one_clean_line(corpus: Path) -> None:
    proc = run(
        "analyze", str(corpus / "pcaps" / "chrome.pcap"), env={"FLOWRADAR_ENRICH_INTEL_FILES": "/nope.txt"}
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("flowradar: error: intel list /nope.txt does not exist")
    assert proc.stderr.count("\n") == 1


def test_data_info_and_intel_check(tmp_path: Path) -> None:
    proc = run("data", "info")
    assert proc.returncode == 0, proc.stderr
    assert "DB-IP city Lite" in proc.stdout and "CC BY 4.0" in proc.stdout
    assert "IP Geolocation by DB-IP (https://db-ip.com)" in proc.stdout
    f = tmp_path / "list.txt"
    f.write_text("# mine\n198.51.100.0/24\nnot a valid line\n300.0.0.1\n")
    proc = run("intel", "check", str(f))
    assert proc.returncode == 0, proc.stderr
    assert "list.txt: 1 entries, 2 lines skipped" in proc.stdout
    assert "line 3: more than one field: not a valid line" in proc.stdout
    assert "line 4: not an address, network or domain: 300.0.0.1" in proc.stdout


def test_update_fails_with_one_line_when_unreachable() -> None:
    with pytest.raises(DataError) as err:
        fetch("http://127.0.0.1:9/drop.txt")  # loopback, nothing listens: as offline as it gets
    assert "\n" not in str(err.value) and "cannot reach 127.0.0.1" in str(err.value)


def test_enrich_config_section(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text(
        '[enrich]\nown_networks = ["203.0.113.0/24"]\ndns_grace_s = 60\nreverse_dns = false\n'
        "[enrich.privacy_weights]\nhttp = 30\n"
    )
    cfg = load_config(f, env={"FLOWRADAR_ENRICH_TRACKER_FILES": "a.txt,b.json"})
    assert cfg.enrich.own_networks == ("203.0.113.0/24",) and cfg.enrich.dns_grace_s == 60.0
    assert cfg.enrich.privacy_weights == ("http=30",) and cfg.enrich.tracker_files == ("a.txt", "b.json")
    assert cfg.engine.dissect_all_ports == (53, 5353, 5355)
    f.write_text("[enrich]\nnope = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'nope'"):
        load_config(f)
