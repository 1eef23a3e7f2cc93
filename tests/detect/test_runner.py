"""The detection stage end to end: configuration, the CLI report and alert table, sinks, bad rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.detect.rowmaker import batch, flow

from flowradar.config import load_config
from flowradar.detect.runner import DetectionRunner, build_detectors
from flowradar.detect.settings import DetectConfig


def run(*args: str) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "flowradar", *args], capture_output=True, timeout=120, env=env, check=False
    )


def test_configured_detectors_and_errors() -> None:
    assert [d.name for d in build_detectors(DetectConfig(detectors=("scan", "flood")))] == ["scan", "flood"]
    with pytest.raises(ValueError, match="unknown detector"):
        build_detectors(DetectConfig(detectors=("scan", "telepathy")))
    off = DetectionRunner(DetectConfig(enabled=False))
    assert off.detectors == [] and off.observe(batch(flow("10.0.0.1", "10.0.0.2"))) == []


def test_settings_from_file_and_environment(tmp_path: Path) -> None:
    cfg_file = tmp_path / "f.toml"
    cfg_file.write_text(
        '[detect]\nscan_external_threshold = 40\n[alert]\nallow_networks = ["192.0.2.0/24"]\n'
    )
    cfg = load_config(cfg_file, env={"FLOWRADAR_DETECT_FLOOD_WINDOW_S": "5"})
    assert cfg.detect.scan_external_threshold == 40 and cfg.detect.flood_window_s == 5.0
    assert cfg.alert.allow_networks == ("192.0.2.0/24",)


def test_report_entries_one_per_scanner_and_victim() -> None:
    r = DetectionRunner(DetectConfig(detectors=("scan",)))
    probes = [flow("203.0.113.9", "10.0.0.1", dport=p, hist="Sr", pkts=(1, 1)) for p in range(1, 40)]
    r.observe(batch(*probes))
    r.finish()
    assert r.scans() == [
        {"scanner": "203.0.113.9", "distinct_ports": 39, "distinct_hosts": 1, "type": "port_scan"}
    ]
    assert r.floods() == []


@pytest.mark.corpus
def test_analyze_reports_and_lists_alerts(corpus: Path, tmp_path: Path) -> None:
    alerts = tmp_path / "alerts.jsonl"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[alert]\njsonl_path = "{alerts}"\nspill_dir = "{tmp_path / "spool"}"\n')
    proc = run("--config", str(cfg), "analyze", str(corpus / "pcaps" / "synscan.pcap"), "--json")
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert [s["scanner"] for s in report["scans"]] == ["172.16.0.8"] and report["floods"] == []
    assert report["alerts"][0]["kind"] == "scan"
    assert json.loads(alerts.read_text().splitlines()[0])["subject_ip"] == "172.16.0.8"
    tables = run("--config", str(cfg), "analyze", str(corpus / "pcaps" / "amp.UDP.isakmp.pcap"))
    out = tables.stdout.decode()
    assert "Alerts (" in out and "udp_amplification_srcport_4500" in out


def test_a_bad_rule_file_stops_analyze_with_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "x"\nwhen = ["dst_port >> 1"]\n')
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[detect]\nrules_file = "{rules}"\n')
    pcap = tmp_path / "empty.pcap"
    pcap.write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    proc = run("--config", str(cfg), "analyze", str(pcap))
    err = proc.stderr.decode()
    assert (
        proc.returncode == 2 and err.startswith(f"flowradar: error: {rules}:3: ") and "Traceback" not in err
    )
