"""`flowradar analyze` as a user runs it: tables, JSON, report, flow files, stdin, bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.conftest import truth

FLOWRADAR = [sys.executable, "-m", "flowradar"]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run(
        [*FLOWRADAR, *args], input=stdin, capture_output=True, timeout=120, env=env, check=False
    )


def assert_clean_error(proc: subprocess.CompletedProcess[bytes]) -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err
    assert err.startswith("flowradar: error: ") and err.count("\n") == 1, err
    return err


def test_help_lists_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    assert b"analyze" in proc.stdout and b"live" in proc.stdout
    assert b"--flows" in run("analyze", "--help").stdout


def test_tables(corpus: Path) -> None:
    proc = run("analyze", str(corpus / "pcaps" / "wikipedia.pcap"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    for title in ("Top talkers", "Protocols", "DNS queries", "HTTP hosts", "HTTP user agents"):
        assert title in out
    assert "www.wikipedia.org" in out


def test_json_report_matches_truth_schema(corpus: Path, tmp_path: Path) -> None:
    pcap = corpus / "pcaps" / "dns.pcap"
    proc = run("analyze", str(pcap), "--json", "--report", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report == json.loads((tmp_path / "r.json").read_text())
    t = truth("dns.pcap")
    assert report["packets"] == t["packets"]
    assert set(report["flows"]["list"]) == set(t["flows"]["list"])
    assert set(report["dns"]["queries"]) == set(t["dns"]["queries"])
    assert {"packets", "flows", "tls_sni", "dns", "http", "scans", "floods"} <= set(report)


@pytest.mark.parametrize("ext", ["jsonl", "csv", "parquet"])
def test_flow_files(corpus: Path, tmp_path: Path, ext: str) -> None:
    out = tmp_path / f"flows.{ext}"
    proc = run("analyze", str(corpus / "pcaps" / "443-curl.pcap"), "-q", "--flows", str(out))
    assert proc.returncode == 0, proc.stderr
    if ext == "jsonl":
        rows = [json.loads(line) for line in out.read_text().splitlines()]
    elif ext == "csv":
        with open(out, newline="") as fh:
            rows = list(csv.DictReader(fh))
    else:
        import pyarrow.parquet as pq

        rows = pq.read_table(out).to_pylist()
    assert len(rows) == 1
    assert rows[0]["tls_sni"] == "www.ntop.org"
    assert rows[0]["tls_ja3"] and rows[0]["tls_ja4"]
    assert rows[0]["community_id"].startswith("1:")


def test_stdin_gives_same_report(corpus: Path) -> None:
    pcap = corpus / "pcaps" / "http-vlan-0.pcap"
    from_file = json.loads(run("analyze", str(pcap), "--json").stdout)
    from_stdin = json.loads(run("analyze", "-", "--json", stdin=pcap.read_bytes()).stdout)
    assert from_file == from_stdin


def test_truncated_capture_warns_and_keeps_what_was_read(corpus: Path, tmp_path: Path) -> None:
    data = (corpus / "pcaps" / "1kxun.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: len(data) // 2])
    proc = run("analyze", str(cut), "--json")
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    assert 0 < report["packets"] < truth("1kxun.pcap")["packets"]
    err = proc.stderr.decode()
    assert "Traceback" not in err and err.count("warning") == 1


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, this is not a capture\n", b"\xd4\xc3\xb2\xa1" + b"\x00" * 3],
    ids=["empty", "text", "short"],
)
def test_unreadable_input_is_one_line(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(content)
    proc = run("analyze", str(bad))
    assert proc.returncode != 0
    assert_clean_error(proc)


def test_missing_file_and_bad_flags(tmp_path: Path) -> None:
    assert_clean_error(run("analyze", str(tmp_path / "nope.pcap")))
    proc = run("analyze", str(tmp_path / "nope.pcap"), "--flows", str(tmp_path / "x.txt"))
    assert_clean_error(proc)
    assert run("analyze").returncode != 0


def test_every_malformed_capture_without_traceback(corpus: Path) -> None:
    names = [
        n
        for n in sorted(os.listdir(corpus / "pcaps"))
        if any(k in n for k in ("fuzz", "trunc", "bogus", "malformed", "bad", "corrupt", "garbage"))
    ]
    assert len(names) >= 10
    for name in names:
        proc = run("analyze", str(corpus / "pcaps" / name), "--json")
        assert "Traceback" not in proc.stderr.decode(), name
        assert proc.returncode == 0, (name, proc.stderr)
        json.loads(proc.stdout)
