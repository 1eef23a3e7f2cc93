"""The compiled flow table through the Engine: keys, Community ID, history, timeouts, eviction."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from tests.conftest import truth

from flowradar.capture.files import open_capture
from flowradar.config import EngineConfig
from flowradar.engine.pipeline import Engine
from flowradar.model.flow import FlowRecord


def records(pcap: Path, cfg: EngineConfig | None = None) -> tuple[list[FlowRecord], Engine]:
    engine = Engine(cfg or EngineConfig())
    source = open_capture(pcap)
    out: list[FlowRecord] = []
    for batch in engine.run(source):
        out.extend(batch.records())
    source.close()
    return out, engine


@pytest.mark.parametrize("name", ["community-id-ipv6_input.pcap", "dns.pcap", "tls1.2.pcap", "rsmurf6.pcap"])
def test_community_id_matches_tshark(corpus: Path, name: str) -> None:
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    pcap = corpus / "pcaps" / name
    cmd = [
        "tshark",
        "-n",
        "-r",
        str(pcap),
        "--enable-protocol",
        "communityid",
        "-T",
        "fields",
        "-e",
        "communityid",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    expected = {line for line in out.split() if line}
    got = {r.community_id for r in records(pcap)[0]}
    assert expected and got == expected


def test_keys_match_truth_and_uids_unique(corpus: Path) -> None:
    recs, _ = records(corpus / "pcaps" / "1kxun.pcap")
    assert {r.key() for r in recs} == set(truth("1kxun.pcap")["flows"]["list"])
    assert len({r.uid for r in recs}) == len(recs)


def test_tcp_history_and_end_reason(corpus: Path) -> None:
    recs, _ = records(corpus / "pcaps" / "single-conn.pcap")
    (rec,) = recs
    assert rec.transport == "tcp" and rec.history.startswith("ShA")
    assert "D" in rec.history and "d" in rec.history
    assert rec.src_packets + rec.dst_packets == truth("single-conn.pcap")["packets"]
    assert rec.end_reason in ("fin", "rst", "end")


def test_idle_timeout_splits_but_keys_stay(corpus: Path) -> None:
    cfg = replace(EngineConfig(), idle_timeout_s=0.5)
    recs, _ = records(corpus / "pcaps" / "dns-tunnel-iodine.pcap", cfg)
    assert len(recs) > 1 and any(r.end_reason == "idle" for r in recs)
    assert {r.key() for r in recs} == set(truth("dns-tunnel-iodine.pcap")["flows"]["list"])
    assert (
        sum(r.src_packets + r.dst_packets for r in recs)
        == truth("dns-tunnel-iodine.pcap")["capture"]["ip_packets"]
    )


def test_active_timeout(corpus: Path) -> None:
    cfg = replace(EngineConfig(), active_timeout_s=1.0)
    recs, _ = records(corpus / "pcaps" / "dns-tunnel-iodine.pcap", cfg)
    assert any(r.end_reason == "active" for r in recs)


def test_full_table_evicts_and_counts(corpus: Path) -> None:
    cfg = replace(EngineConfig(), max_flows=64)
    recs, engine = records(corpus / "pcaps" / "synscan.pcap", cfg)
    stats = engine.stats()
    assert stats.evicted > 0
    assert sum(r.end_reason == "evicted" for r in recs) == stats.evicted
    assert {r.key() for r in recs} == set(truth("synscan.pcap")["flows"]["list"])


def test_ended_tcp_connections_leave_the_table_after_the_close_timeout(corpus: Path) -> None:
    recs, _ = records(corpus / "pcaps" / "1kxun.pcap")
    ended = [r for r in recs if r.end_reason in ("fin", "rst")]
    assert ended, "connections closed by FIN or RST are exported before the end of input"
    for r in ended:
        assert r.transport == "tcp" and ("F" in r.history.upper() or "R" in r.history.upper())
