"""Network namespaces for scenario tests: created by the test, removed afterwards.

Traffic in these tests goes only to addresses inside the namespaces the test creates.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def require_root_netns() -> None:
    """Skip (with the reason) where namespaces cannot be made: not root or no iproute2."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("scenario tests need root and iproute2")


def sh(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command (inside namespace ns when given)."""
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=60)


@contextmanager
def veth_pair(prefix: str = "fr") -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth pair: 10.201.0.1/30 and 10.201.0.2/30 (fd00:201::1/2)."""
    require_root_netns()
    tag = f"{prefix}{os.getpid() % 100000}"
    a, b = f"{tag}a", f"{tag}b"
    try:
        for ns in (a, b):
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "set", "lo", "up", ns=ns)
        sh("ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb", "netns", b)
        for ns, dev, n in ((a, "va", 1), (b, "vb", 2)):
            sh("ip", "addr", "add", f"10.201.0.{n}/30", "dev", dev, ns=ns)
            sh("ip", "-6", "addr", "add", f"fd00:201::{n}/64", "dev", dev, "nodad", ns=ns)
            sh("ip", "link", "set", dev, "up", ns=ns)
        yield a, b
    finally:
        for ns in (a, b):
            sh("ip", "netns", "del", ns, check=False)


@contextmanager
def tcpdump(ns: str, dev: str, out: Path, bpf: str = "") -> Iterator[Path]:
    """Capture on dev inside ns into out (pcap) for the duration of the block."""
    if shutil.which("tcpdump") is None:
        pytest.skip("tcpdump is not installed")
    cmd = [
        "ip",
        "netns",
        "exec",
        ns,
        "tcpdump",
        "-n",
        "-U",
        "--immediate-mode",
        "-i",
        dev,
        "-w",
        str(out),
    ] + ([bpf] if bpf else [])
    log = out.with_suffix(".log")
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "listening" not in log.read_text():
            time.sleep(0.05)
        try:
            yield out
        finally:
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
