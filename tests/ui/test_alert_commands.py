"""`flowradar alerts list|ack|resolve` on a real DuckDB store: filters, table, JSON, status changes,
and one-line errors for an unknown alert or a bad --since."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from flowradar.model.alert import Alert
from flowradar.store import open_store
from flowradar.store.settings import StoreConfig
from flowradar.ui.alert_commands import parse_since
from flowradar.ui.cli import cli


def _alert(uid: str, kind: str, severity: str, subject: str, age_s: float) -> Alert:
    now = time.time()
    return Alert(
        kind=kind,
        type=f"{kind}_type",
        severity=severity,
        subject_ip=subject,
        identifier=f"{kind}:{subject}",
        message=f"{subject} did {kind}",
        first_seen=now - age_s - 10,
        last_seen=now - age_s,
        trigger_ts=now - age_s,
        raised_at=now - age_s,
        uid=uid,
    )


@pytest.fixture
def store_env(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "radar.duckdb"
    store = open_store(StoreConfig(path=str(path)))
    try:
        store.write_alerts(
            [
                _alert("a-scan", "scan", "medium", "10.0.0.5", 60),
                _alert("a-flood", "flood", "critical", "192.0.2.9", 120),
                _alert("a-old", "beacon", "low", "10.0.0.7", 3 * 86400),
            ],
            host="web1",
        )
    finally:
        store.close()
    return {"FLOWRADAR_STORE_PATH": str(path), "FLOWRADAR_DATA_DIR": str(tmp_path)}


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_list_filters_and_json(store_env: dict[str, str]) -> None:
    code, out, _ = _run(store_env, "alerts", "list", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [r["uid"] for r in rows] == ["a-scan", "a-flood", "a-old"]  # newest first
    assert {r["host"] for r in rows} == {"web1"}
    code, out, _ = _run(store_env, "alerts", "list", "--json", "--since", "1d", "--severity", "high")
    assert code == 0 and [r["uid"] for r in json.loads(out)] == ["a-flood"]
    code, out, _ = _run(store_env, "alerts", "list", "--kind", "scan")
    assert code == 0 and "10.0.0.5" in out and "a-scan" in out and "192.0.2.9" not in out


def test_ack_and_resolve_change_the_status(store_env: dict[str, str]) -> None:
    assert _run(store_env, "alerts", "ack", "a-scan")[:2] == (0, "a-scan acknowledged\n")
    assert _run(store_env, "alerts", "resolve", "a-flood")[0] == 0
    code, out, _ = _run(store_env, "alerts", "list", "--json", "--status", "open")
    assert code == 0 and [r["uid"] for r in json.loads(out)] == ["a-old"]
    code, out, _ = _run(store_env, "alerts", "list", "--json")
    assert {r["uid"]: r["status"] for r in json.loads(out)} == {
        "a-scan": "acknowledged",
        "a-flood": "resolved",
        "a-old": "open",
    }


def test_errors_are_one_line(store_env: dict[str, str]) -> None:
    code, _, err = _run(store_env, "alerts", "resolve", "no-such-alert")
    assert code == 1 and err.strip() == "flowradar: error: no alert with uid 'no-such-alert'"
    code, _, err = _run(store_env, "alerts", "list", "--since", "soon")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--since" in err


def test_parse_since() -> None:
    assert parse_since(None, 1000.0) is None
    assert parse_since("90", 1000.0) == 910.0
    assert parse_since("2m", 1000.0) == 880.0
    assert parse_since("1h", 10_000.0) == 6400.0
    assert parse_since("1d", 100_000.0) == 13_600.0
