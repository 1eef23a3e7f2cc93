"""`flowradar connections | ports | host | top` as a user runs them: JSON parsed, filters, errors."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

FLOWRADAR = [sys.executable, "-m", "flowradar"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "160", **(env or {})}
    return subprocess.run(
        [*FLOWRADAR, *args], capture_output=True, text=True, timeout=120, env=full, check=False
    )


def json_of(*args: str, env: dict[str, str] | None = None) -> Any:
    proc = run(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def listeners() -> Iterator[dict[str, socket.socket]]:
    """TCP listeners on loopback and on every interface, one connection, and a bound UDP socket."""
    loop = socket.create_server(("127.0.0.1", 0))
    every = socket.create_server(("0.0.0.0", 0))
    client = socket.create_connection(loop.getsockname())
    accepted, _ = loop.accept()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    socks = {"loop": loop, "every": every, "client": client, "accepted": accepted, "udp": udp}
    yield socks
    for s in socks.values():
        s.close()


def port(s: socket.socket) -> int:
    return int(s.getsockname()[1])


def test_connections_json(listeners: dict[str, socket.socket]) -> None:
    rows = json_of("connections", "--json")
    mine = {(r["transport"], r["local_port"], r["remote_port"]): r for r in rows if r["pid"] == os.getpid()}
    lp, cp = port(listeners["loop"]), port(listeners["client"])
    assert mine[("tcp", lp, 0)]["state"] == "LISTEN"
    assert mine[("tcp", cp, lp)]["state"] == "ESTABLISHED"
    assert mine[("tcp", lp, cp)]["state"] == "ESTABLISHED"
    assert mine[("udp", port(listeners["udp"]), 0)]["state"] == "UNCONN"
    first = mine[("tcp", cp, lp)]
    assert first["process"] and first["exe"] and first["user"] and first["inode"] > 0
    assert {"container", "cgroup", "rx_bytes", "tx_bytes", "ts"} <= first.keys()


def test_connections_filters(listeners: dict[str, socket.socket]) -> None:
    lp = port(listeners["loop"])
    rows = json_of("connections", "--json", "--port", str(lp))
    assert len(rows) >= 3 and all(lp in (r["local_port"], r["remote_port"]) for r in rows)
    rows = json_of("connections", "--json", "--state", "listen", "--proto", "tcp")
    assert rows and all(r["state"] == "LISTEN" and r["transport"] == "tcp" for r in rows)
    assert port(listeners["every"]) in {r["local_port"] for r in rows}
    rows = json_of(
        "connections", "--json", "--state", "established", "--remote", "127.0.0.0/8", "--port", str(lp)
    )
    assert {(r["local_port"], r["remote_port"]) for r in rows} == {
        (port(listeners["client"]), lp),
        (lp, port(listeners["client"])),
    }
    assert json_of("connections", "--json", "--remote", "192.0.2.0/24", "--port", str(lp)) == []
    rows = json_of("connections", "--json", "--process", str(os.getpid()))
    assert rows and all(r["pid"] == os.getpid() for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--state", "sleepy"), "unknown state 'sleepy'"),
        (("--remote", "not-a-network"), "is not an address or network"),
        (("--port", "70000"), "out of range"),
    ],
)
def test_connections_bad_filter_is_one_line(args: tuple[str, ...], message: str) -> None:
    proc = run("connections", *args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("flowradar: error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_connections_table_and_watch(listeners: dict[str, socket.socket]) -> None:
    proc = run("connections", "--port", str(port(listeners["loop"])))
    assert proc.returncode == 0 and "LISTEN" in proc.stdout and "ESTABLISHED" in proc.stdout
    proc = run("connections", "--watch", "--count", "2", "--interval", "0.1", "--json", "--state", "listen")
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and len(lines) == 2
    assert all(isinstance(json.loads(line), list) for line in lines)


def test_ports_scope_service_and_risk(listeners: dict[str, socket.socket]) -> None:
    loop, every = port(listeners["loop"]), port(listeners["every"])
    rows = json_of("ports", "--json")
    by_port = {(r["transport"], r["port"]): r for r in rows}
    assert by_port[("tcp", loop)]["scope"] == "loopback"
    assert by_port[("tcp", every)]["scope"] == "all"
    assert by_port[("tcp", loop)]["pid"] == os.getpid() and by_port[("tcp", loop)]["process"]
    assert by_port[("tcp", every)]["risk"] == "medium"  # unlisted port open beyond loopback
    assert by_port[("tcp", loop)]["risk"] == "low"
    assert not any(r["port"] == port(listeners["client"]) for r in rows)  # not a listener
    order = ["high", "medium", "low"]
    assert [order.index(r["risk"]) for r in rows] == sorted(order.index(r["risk"]) for r in rows)


def test_ports_rules_are_configurable(listeners: dict[str, socket.socket]) -> None:
    loop, every = port(listeners["loop"]), port(listeners["every"])
    env = {"FLOWRADAR_PORTS_DATABASE_PORTS": f"{loop},{every}"}
    by_port = {r["port"]: r for r in json_of("ports", "--json", "--proto", "tcp", env=env)}
    assert by_port[every]["risk"] == "high" and "database" in by_port[every]["risk_reason"]
    assert by_port[loop]["risk"] == "medium"
    high = json_of("ports", "--json", "--risk", "high", env=env)
    assert {r["risk"] for r in high} == {"high"} and every in {r["port"] for r in high}
    proc = run("ports", env={"FLOWRADAR_PORTS_UNKNOWN_EXPOSED": "severe"})
    assert proc.returncode == 1 and "unknown_exposed must be one of" in proc.stderr


def test_ports_service_names(listeners: dict[str, socket.socket]) -> None:
    proc = run("ports")
    assert proc.returncode == 0 and "risk" in proc.stdout and "scope" in proc.stdout
    web = socket.socket()
    try:
        web.bind(("127.0.0.1", 8080))
    except OSError:
        pytest.skip("port 8080 is in use")
    web.listen()
    try:
        by_port = {r["port"]: r for r in json_of("ports", "--json", "--proto", "tcp")}
    finally:
        web.close()
    assert by_port[8080]["service"] == "http-alt" and by_port[8080]["risk"] == "low"


def test_host_json_and_watch() -> None:
    m = json_of("host", "--json", "--interval", "0.3")
    assert m["interval_s"] > 0 and m["cpu_count"] >= 1 and m["mem_total_bytes"] > 0
    assert any(i["name"] == "lo" for i in m["interfaces"])
    assert all({"rx_bytes_s", "tx_bytes_s", "errors_s", "drops_s"} <= i.keys() for i in m["interfaces"])
    assert m["processes"] and {"pid", "cpu_percent", "rss_bytes"} <= m["processes"][0].keys()
    proc = run("host", "--watch", "--json", "--count", "2", "--interval", "0.2", "--processes", "3")
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len(lines) == 2 and all(len(x["processes"]) <= 3 for x in lines)
    table = run("host", "--interval", "0.2")
    assert table.returncode == 0 and "interfaces" in table.stdout and "processes" in table.stdout


def test_top_json(listeners: dict[str, socket.socket]) -> None:
    snap = json_of("top", "--json", "--interval", "0.2")
    assert snap["source"] in ("tcp_info", "proc_io") and snap["interval_s"] > 0
    assert isinstance(snap["processes"], list) and isinstance(snap["remotes"], list)
    proc = run("top", "--count", "1", "--interval", "0.2")
    assert proc.returncode == 0 and "processes" in proc.stdout and "remote hosts" in proc.stdout


def test_top_counts_traffic_of_this_process(listeners: dict[str, socket.socket]) -> None:
    """Bytes moving on a loopback connection while `top` samples show up under this process."""
    import threading

    client, accepted = listeners["client"], listeners["accepted"]
    stop = threading.Event()

    def pump() -> None:
        chunk = b"y" * 65536
        while not stop.is_set():
            client.sendall(chunk)
            got = 0
            while got < len(chunk):
                got += len(accepted.recv(1 << 20))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        snap = json_of("top", "--json", "--interval", "0.5")
    finally:
        stop.set()
        thread.join(timeout=10)
    if snap["source"] != "tcp_info":
        pytest.skip("sock_diag is not available: no per-socket byte counters")
    mine = [r for r in snap["processes"] if r["key"].endswith(f"({os.getpid()})")]
    assert mine and mine[0]["rx_s"] > 0 and mine[0]["tx_s"] > 0 and mine[0]["rx_total"] > 0
    loop = [r for r in snap["remotes"] if r["key"] == "127.0.0.1"]
    assert loop and loop[0]["rx_total"] > 0
