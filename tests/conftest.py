"""Shared test fixtures: the real-capture corpus beside the checkout, tshark extraction, and one
throwaway PostgreSQL cluster for the whole session."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.store.pgcluster import PgCluster, _bindir

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """Path to ../shared/corpus (tests that need it skip only if the corpus is absent)."""
    if not (CORPUS / "pcaps").is_dir():
        pytest.skip("../shared/corpus is not beside the checkout")
    return CORPUS


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """One PostgreSQL cluster (initdb + pg_ctl in a temp dir) for the session, removed at the end."""
    if _bindir() is None:
        pytest.skip("PostgreSQL server binaries are not installed (Debian package postgresql)")
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def truth(name: str) -> dict[str, Any]:
    """The corpus truth JSON of one capture."""
    with open(CORPUS / "truth" / f"{name}.json") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


def tshark_fields(pcap: Path | str, display_filter: str, fields: list[str]) -> list[list[str]]:
    """Rows of tshark -T fields output (tab separated), one per matching packet."""
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed")
    cmd = ["tshark", "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields", "-E", "separator=\t"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False).stdout
    return [line.split("\t") for line in out.splitlines()]
