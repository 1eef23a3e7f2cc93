"""The lab of the attack scenarios: two namespaces, the radar watching one of them, and its alerts.

Namespace A (the attacker or client) holds 10.201.0.1 (internal) and 198.51.100.10 (outside the
configured internal networks: 'the internet'); namespace B (the target) holds 10.201.0.2 and answers
for every address of 10.202.0.0/24 (scan targets) and 203.0.113.0/24 (an external server). Traffic
goes only between these two namespaces. The radar (``flowradar analyze -i va``) runs in A and writes
its alerts to a JSON-lines sink that the test reads while the attack runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.scenarios.netns import sh, veth_pair

SCANNER_EXTERNAL = "198.51.100.10"
CONFIG = """
[detect]
internal_networks = ["10.0.0.0/8", "fd00::/8"]
beacon_window_s = 24.0
live_interval_s = 0.5

[alert]
jsonl_path = "{alerts}"
spill_dir = "{spool}"
min_severity = "info"
"""


@dataclass
class Expect:
    """The alert a scenario must raise."""

    kind: str
    subject: str
    severities: tuple[str, ...]
    type: str | None = None
    final: tuple[str, ...] = ()
    """Severities the alert must have reached by the end (it escalates as evidence grows), if any."""

    def matches(self, alert: dict[str, Any]) -> bool:
        """Same kind and subject (type too when given)."""
        same = alert["kind"] == self.kind and alert["subject_ip"] == self.subject
        return same and (self.type is None or alert["type"] == self.type)


@dataclass
class Outcome:
    """What the radar said about one scenario."""

    name: str
    found: dict[str, Any] | None
    seen_at: float
    started: float
    ended: float
    alerts: list[dict[str, Any]] = field(default_factory=list)
    false_alerts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def latest(self) -> dict[str, Any] | None:
        """The last delivered state of the found alert (escalations are delivered again)."""
        if self.found is None:
            return None
        return [a for a in self.alerts if a["uid"] == self.found["uid"]][-1]

    @property
    def delay(self) -> float:
        """Seconds from the threshold crossing (traffic time) to the alert (wall clock)."""
        return float("nan") if self.found is None else self.found["raised_at"] - self.found["trigger_ts"]

    def line(self) -> str:
        """One line for the test log."""
        if self.found is None:
            return f"SCENARIO {self.name}: NOT detected, {len(self.false_alerts)} false alert(s)"
        f = self.found
        return (
            f"SCENARIO {self.name}: detected {f['kind']}/{f['type']} {f['severity']} on {f['subject_ip']}, "
            f"{self.delay:.2f} s after crossing (sink line {self.seen_at - f['trigger_ts']:.2f} s), "
            f"attack {self.ended - self.started:.1f} s, final severity {(self.latest or f)['severity']}, "
            f"{len(self.false_alerts)} false alert(s)"
        )


class Lab:
    """The two namespaces and the radar's configuration."""

    def __init__(self, a: str, b: str, tmp: Path) -> None:
        self.a, self.b, self.tmp = a, b, tmp
        self.alerts_path = tmp / "alerts.jsonl"
        self.config = tmp / "flowradar.toml"
        self.config.write_text(CONFIG.format(alerts=self.alerts_path, spool=tmp / "spool"))

    def background(self, ns: str, *cmd: str) -> subprocess.Popen[bytes]:
        """Start a server inside a namespace (the caller terminates it)."""
        return subprocess.Popen(
            ["ip", "netns", "exec", ns, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    @contextmanager
    def radar(self, duration_s: float = 60) -> Iterator[Radar]:
        """The radar on A's interface for the block (alerts of earlier blocks are cleared)."""
        self.alerts_path.unlink(missing_ok=True)
        cmd = ["ip", "netns", "exec", self.a, sys.executable, "-m", "flowradar", "--config", str(self.config)]
        proc = subprocess.Popen(
            [*cmd, "analyze", "-i", "va", "--duration", str(duration_s), "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        r = Radar(proc, self.alerts_path)
        try:
            r.ready()
            yield r
        finally:
            r.stop()


class Radar:
    """A running ``flowradar analyze -i`` and the alerts it delivered so far."""

    def __init__(self, proc: subprocess.Popen[bytes], alerts_path: Path) -> None:
        self.proc, self.path = proc, alerts_path
        self.seen: dict[str, float] = {}

    def ready(self, timeout_s: float = 20) -> None:
        """Wait until the radar has its capture socket open (its namespace lists a packet socket)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                started = b"flowradar" in Path(f"/proc/{self.proc.pid}/cmdline").read_bytes()
                if started and len(Path(f"/proc/{self.proc.pid}/net/packet").read_text().splitlines()) > 1:
                    time.sleep(0.3)
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"radar did not start: {self.stop()}")

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert delivered so far; remembers when each was first read."""
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return []
        out = [json.loads(x) for x in lines if x.strip()]
        now = time.time()
        for a in out:
            self.seen.setdefault(a["uid"], now)
        return out

    def wait_for(self, pred: Callable[[dict[str, Any]], bool], timeout_s: float) -> dict[str, Any] | None:
        """The first delivered alert that satisfies ``pred``, polling every 50 ms."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            hit = next((a for a in self.alerts() if pred(a)), None)
            if hit is not None:
                return hit
            time.sleep(0.05)
        return None

    def stop(self) -> str:
        """Interrupt the radar (its sinks are flushed on the way out); return its stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return (self.proc.stderr.read() if self.proc.stderr else b"").decode(errors="replace")


def run_scenario(
    lab: Lab,
    name: str,
    attack: Callable[[], object],
    expect: Expect,
    wait_s: float = 8,
    settle_s: float = 1.5,
) -> Outcome:
    """Start the radar, run the attack, wait for the expected alert, then collect every alert."""
    with lab.radar() as radar:
        started = time.time()
        worker = threading.Thread(target=attack, name=f"attack {name}")
        worker.start()
        while worker.is_alive():  # read the sink while the attack runs: the alert time is when it appears
            radar.alerts()
            time.sleep(0.05)
        ended = time.time()
        found = radar.wait_for(expect.matches, wait_s)
        time.sleep(settle_s)
        alerts = radar.alerts()
    seen_at = radar.seen.get(found["uid"], float("nan")) if found else float("nan")
    false = [a for a in alerts if not expect.matches(a)]
    out = Outcome(name, found, seen_at, started, ended, alerts, false)
    print(out.line())
    return out


@contextmanager
def lab_namespaces(tmp: Path) -> Iterator[Lab]:
    """Create the two namespaces with the addresses and routes described above."""
    with veth_pair("frat") as (a, b):
        sh("ip", "addr", "add", f"{SCANNER_EXTERNAL}/32", "dev", "va", ns=a)
        sh("ip", "route", "add", "10.202.0.0/24", "via", "10.201.0.2", "src", SCANNER_EXTERNAL, ns=a)
        sh("ip", "route", "add", "203.0.113.0/24", "via", "10.201.0.2", ns=a)
        sh("ip", "route", "add", "local", "10.202.0.0/24", "dev", "lo", ns=b)
        sh("ip", "route", "add", "local", "203.0.113.0/24", "dev", "lo", ns=b)
        sh("ip", "route", "add", f"{SCANNER_EXTERNAL}/32", "via", "10.201.0.1", ns=b)
        sh("sysctl", "-q", "-w", "net.ipv4.icmp_ratelimit=0", ns=b)
        os.makedirs(tmp, exist_ok=True)
        yield Lab(a, b, tmp)
