"""Process attribution of flows: polling, listeners, the eBPF tracer, degradation, and the scenario.

The scenario (root): two network namespaces joined by a veth pair (10.203.0.1/30 server side,
10.203.0.2/30 client side); an HTTP server and a tiny DNS responder on the server side; on the
client side the agent (live capture + process enricher), then REQUESTS sequential curl requests,
REQUESTS dig queries and one long-lived Python client. At least 99% of those flows must name the
right process. Traffic goes only to addresses inside these namespaces.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from flowradar.config import ProcessConfig
from flowradar.enrich.bpf import Asm, BpfError, tracepoint_format
from flowradar.enrich.cache import TtlLru
from flowradar.enrich.process import ProcessEnricher
from flowradar.model.flow import FlowRecord

REQUESTS = 100
"""curl requests and dig queries each (the issue asks 500; 100 keeps the test run short)."""
ROOT = Path(__file__).resolve().parents[2]
AGENT = Path(__file__).with_name("attribution_agent.py")
MY_COMM = Path("/proc/self/comm").read_text().strip()


def flow(transport: str, src: str, sport: int, dst: str, dport: int, ts: float | None = None) -> FlowRecord:
    """A FlowRecord with only what attribution reads."""
    now = time.time() if ts is None else ts
    return FlowRecord(
        uid="C1", community_id="1:x", ts_first=now, ts_last=now, transport=transport,
        ip_version=6 if ":" in src else 4, src_ip=src, src_port=sport, dst_ip=dst, dst_port=dport,
        src_packets=1, dst_packets=1, src_bytes=60, dst_bytes=60, src_payload=0, dst_payload=0,
        tcp_flags="", history="", end_reason="fin",
    )  # fmt: skip


@pytest.fixture
def polling() -> Iterator[ProcessEnricher]:
    """An enricher with polling only, driven by hand (no background thread)."""
    enricher = ProcessEnricher(ProcessConfig(tracer=False))
    enricher.start(background=False)
    yield enricher
    enricher.close()


def test_ttl_lru_bound_and_expiry() -> None:
    now = [0.0]
    cache: TtlLru[str, int] = TtlLru(2, 10.0, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.evicted) == (None, 2, 1)
    now[0] = 5.0
    cache.put("b", 20)  # refreshed
    now[0] = 12.0
    assert (cache.get("c"), cache.get("b")) == (None, 20)
    now[0] = 30.0
    assert cache.expire() == 1 and len(cache) == 0


def test_polled_socket_attributed_and_remembered_after_close(polling: ProcessEnricher) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    lport, cport = listener.getsockname()[1], client.getsockname()[1]
    polling.poll_once()
    for s in (client, server):
        s.close()
    polling.poll_once()  # the sockets are gone; their owner stays cached
    rec = flow("tcp", "127.0.0.1", cport, "127.0.0.1", lport)
    assert polling.enrich(rec)
    assert (rec.enrich.pid, rec.enrich.process) == (os.getpid(), MY_COMM)
    assert rec.enrich.exe == os.readlink("/proc/self/exe")
    inbound = flow("tcp", "192.0.2.7", 40000, "127.0.0.1", lport)  # towards a local listener
    assert polling.enrich(inbound) and inbound.enrich.pid == os.getpid()
    listener.close()
    assert polling.cache_info().size >= 2


def test_live_socket_found_by_exact_lookup(polling: ProcessEnricher) -> None:
    listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    client = socket.create_connection(listener.getsockname()[:2])
    try:
        owner = polling.attribute(
            (6, socket.inet_pton(socket.AF_INET6, "::1"), client.getsockname()[1],
             socket.inet_pton(socket.AF_INET6, "::1"), listener.getsockname()[1])
        )  # fmt: skip
        assert owner is not None and (owner.pid, owner.via) == (os.getpid(), "lookup")
    finally:
        client.close()
        listener.close()


def test_unknown_and_odd_records_are_left_alone(polling: ProcessEnricher) -> None:
    assert not polling.enrich(flow("icmp", "127.0.0.1", 0, "127.0.0.1", 0))
    assert not polling.enrich(flow("tcp", "not-an-ip", 1, "127.0.0.1", 2))
    assert not polling.enrich(flow("udp", "192.0.2.1", 1, "192.0.2.2", 2))
    assert polling.stats["unattributed"] == 1


def test_degrades_with_one_message_without_tracer() -> None:
    def refused(_cfg: ProcessConfig) -> Any:
        raise BpfError(1, "Operation not permitted")

    enricher = ProcessEnricher(ProcessConfig(poll_interval_s=0.05), tracer_factory=refused)
    enricher.start()
    try:
        assert not enricher.tracing
        assert enricher.message is not None and "\n" not in enricher.message
        assert "no eBPF tracer (Operation not permitted)" in enricher.message
        assert "shorter than 0.05 s may show no process" in enricher.message
        listener = socket.create_server(("127.0.0.1", 0))
        rec = flow("tcp", "192.0.2.9", 1234, "127.0.0.1", listener.getsockname()[1])
        deadline = time.monotonic() + 10
        while not enricher.enrich(rec) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rec.enrich.pid == os.getpid()
        listener.close()
    finally:
        enricher.close()


def test_asm_resolves_jumps_and_map_loads() -> None:
    a = Asm()
    a.movi(0, 0)
    a.jump("eq", 1, 0, "out")
    a.ld_map(1, 7)
    a.label("out")
    a.exit()
    code = a.assemble()
    assert len(code) == 5 * 8
    assert code[8:16] == bytes([0x15, 0x01]) + (2).to_bytes(2, "little") + bytes(4)  # skips the 2-slot load
    assert code[16:18] == bytes([0x18, 0x11]) and code[20:24] == (7).to_bytes(4, "little")


def test_tracepoint_format_parsing(tmp_path: Path) -> None:
    d = tmp_path / "events" / "sock" / "inet_sock_set_state"
    d.mkdir(parents=True)
    (d / "id").write_text("2287\n")
    (d / "format").write_text(
        "name: inet_sock_set_state\nID: 2287\nformat:\n"
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
        "\tfield:const void * skaddr;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:__u8 saddr_v6[16];\toffset:40;\tsize:16;\tsigned:0;\n"
    )
    fmt = tracepoint_format(tmp_path, "sock", "inet_sock_set_state")
    assert fmt.tp_id == 2287 and fmt.offsets == {"common_type": 0, "skaddr": 8, "saddr_v6": 40}
    with pytest.raises(BpfError, match="not available"):
        tracepoint_format(tmp_path, "sock", "missing")


@pytest.fixture
def traced() -> Iterator[ProcessEnricher]:
    """An enricher with the eBPF tracer (root only), driven by hand."""
    if os.geteuid() != 0:
        pytest.skip("the eBPF tracer needs root")
    enricher = ProcessEnricher(ProcessConfig())
    enricher.start(background=False)
    if not enricher.tracing:
        enricher.close()
        pytest.fail(f"tracer did not start: {enricher.message}")
    yield enricher
    enricher.close()


def test_tracer_names_a_process_that_already_exited(traced: ProcessEnricher, tmp_path: Path) -> None:
    """A child connects (TCP and UDP) for a few milliseconds and exits before the next poll."""
    exe = tmp_path / "frshortlived"
    exe.symlink_to(os.path.realpath(sys.executable))
    listener = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    code = (
        "import socket,sys; t=socket.create_connection(('127.0.0.1',int(sys.argv[1]))); "
        "u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.sendto(b'q',('127.0.0.1',int(sys.argv[2]))); "
        "print(t.getsockname()[1], u.getsockname()[1]); t.close(); u.close()"
    )
    traced.poll_once()
    started = time.time()
    out = subprocess.run([str(exe), "-c", code, str(listener.getsockname()[1]), str(udp.getsockname()[1])],
                         capture_output=True, text=True, check=True, timeout=30)  # fmt: skip
    tport, uport = (int(x) for x in out.stdout.split())
    # No poll since the child ran: the enricher drains the tracer itself when a lookup finds nothing.
    for rec in (
        flow("tcp", "127.0.0.1", tport, "127.0.0.1", listener.getsockname()[1], started + 0.01),
        flow("udp", "127.0.0.1", uport, "127.0.0.1", udp.getsockname()[1], started + 0.01),
    ):
        assert traced.enrich(rec), rec
        assert rec.enrich.process == "frshortlived"
        assert rec.enrich.exe is not None and rec.enrich.exe.endswith("frshortlived")
        assert rec.enrich.pid is not None and rec.enrich.pid != os.getpid()
    listener.close()
    udp.close()


# ---------------------------------------------------------------------------------------- scenario

DNS_RESPONDER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
print("ready", flush=True)
while True:
    data, peer = s.recvfrom(4096)
    if len(data) < 17:
        continue
    end = 12
    while end < len(data) and data[end]:
        end += 1 + data[end]
    header = data[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
    answer = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(sys.argv[1])
    s.sendto(header + data[12:end + 5] + answer, peer)
"""

LONG_CLIENT = r"""
import socket, sys
s = socket.create_connection((sys.argv[1], 8000))
print(s.getsockname()[1], flush=True)
s.sendall(b"GET / HTTP/1.0\r\nHost: server\r\n")
sys.stdin.read()
s.sendall(b"\r\n")
while s.recv(65536):
    pass
"""


def _sh(*args: str, ns: str | None = None) -> str:
    cmd = (["ip", "netns", "exec", ns] if ns else []) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=300).stdout


@contextmanager
def namespaces() -> Iterator[tuple[str, str]]:
    """Server namespace (10.203.0.1/30) and client namespace (10.203.0.2/30), removed afterwards."""
    tag = f"fr3{os.getpid() % 100000}"
    server, client = f"{tag}s", f"{tag}c"
    try:
        for ns in (server, client):
            _sh("ip", "netns", "add", ns)
            _sh("ip", "link", "set", "lo", "up", ns=ns)
        _sh(
            "ip",
            "link",
            "add",
            "v3s",
            "netns",
            server,
            "type",
            "veth",
            "peer",
            "name",
            "v3c",
            "netns",
            client,
        )
        for ns, dev, n in ((server, "v3s", 1), (client, "v3c", 2)):
            _sh("ip", "addr", "add", f"10.203.0.{n}/30", "dev", dev, ns=ns)
            _sh("ip", "link", "set", dev, "up", ns=ns)
        yield server, client
    finally:
        for ns in (server, client):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@contextmanager
def background(cmd: list[str], ns: str) -> Iterator[subprocess.Popen[str]]:
    """A process inside a namespace, killed at the end of the block."""
    proc = subprocess.Popen(["ip", "netns", "exec", ns, *cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def _wait_listening(ns: str, port: int, udp: bool = False) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if _sh("ss", "-Hlnu" if udp else "-Hlnt", f"sport = :{port}", ns=ns).strip():
            return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} in {ns}")


def _expected(flows: list[dict[str, Any]], python_port: int) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {"curl": [], "dig": [], "python": []}
    for f in flows:
        if f["dst_ip"] != "10.203.0.1" or f["src_ip"] != "10.203.0.2":
            continue
        if f["transport"] == "tcp" and f["dst_port"] == 8000:
            groups["python" if f["src_port"] == python_port else "curl"].append(f)
        elif f["transport"] == "udp" and f["dst_port"] == 53:
            groups["dig"].append(f)
    return groups


@pytest.mark.scenario
def test_attribution_of_short_lived_connections(tmp_path: Path) -> None:
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("ip", "ss", "curl", "dig")):
        pytest.skip("the attribution scenario needs root, iproute2, curl and dig")
    (tmp_path / "index.html").write_text("hello\n")
    out = tmp_path / "flows.jsonl"
    env_py = [sys.executable]
    with namespaces() as (server, client):
        http = [*env_py, "-m", "http.server", "8000", "--bind", "10.203.0.1", "--directory", str(tmp_path)]
        with background(http, server), background([*env_py, "-c", DNS_RESPONDER, "10.203.0.1"], server):
            _wait_listening(server, 8000)
            _wait_listening(server, 53, udp=True)
            with background([*env_py, str(AGENT), "v3c", str(out)], client) as agent:
                assert agent.stdout is not None
                ready = json.loads(agent.stdout.readline() or "{}")
                assert ready.get("ready"), agent.stderr.read() if agent.stderr else ""
                assert ready["tracing"], ready["message"]
                with background([*env_py, "-c", LONG_CLIENT, "10.203.0.1"], client) as longlived:
                    assert longlived.stdout is not None and longlived.stdin is not None
                    python_port = int(longlived.stdout.readline())
                    loop = "for i in $(seq {n}); do {cmd} >/dev/null || echo failed; done"
                    curl = "curl -s -o /dev/null --max-time 5 http://10.203.0.1:8000/index.html"
                    dig = "dig +tries=1 +time=2 +short @10.203.0.1 q$i.scenario.test A"  # one name each
                    assert "failed" not in _sh("sh", "-c", loop.format(n=REQUESTS, cmd=curl), ns=client)
                    assert "failed" not in _sh("sh", "-c", loop.format(n=REQUESTS, cmd=dig), ns=client)
                    longlived.stdin.close()
                    longlived.wait(timeout=30)
                time.sleep(0.5)  # let the last packets reach the capture
                agent.send_signal(signal.SIGTERM)
                summary = agent.communicate(timeout=120)[0]
    flows = [json.loads(line) for line in out.read_text().splitlines()]
    groups = _expected(flows, python_port)
    # dig picks a random source port: two queries on the same port make one flow, so dig is counted
    # by query (each asks a distinct name; the flow record lists the names it carried).
    queries = sum(len(f["l7"]["dns_queries"]) for f in groups["dig"])
    right = {
        "curl": sum(_named(f, "curl") for f in groups["curl"]),
        "dig": sum(len(f["l7"]["dns_queries"]) for f in groups["dig"] if _named(f, "dig")),
        "python": sum((f["enrich"]["process"] or "").startswith("python") for f in groups["python"]),
    }
    total = 2 * REQUESTS + 1
    rate = sum(right.values()) / total
    report = (
        f"attribution {sum(right.values())}/{total} = {rate:.2%}; right {right}; curl flows "
        f"{len(groups['curl'])}, dig queries {queries} in {len(groups['dig'])} flows, python flows "
        f"{len(groups['python'])}"
    )
    print(report, summary)
    assert (len(groups["curl"]), queries, len(groups["python"])) == (REQUESTS, REQUESTS, 1), report
    assert rate >= 0.99, report


def _named(flow: dict[str, Any], program: str) -> bool:
    """The flow names this program, with its executable."""
    e = flow["enrich"]
    return bool(e["process"] == program and e["exe"] and e["exe"].endswith("/" + program))
