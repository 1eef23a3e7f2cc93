"""Socket polling benchmark: one poll of ~10,000 sockets with their owners, flowradar against peers.

Not a test: it measures and never fails on a number. Targets from the issue "Host visibility": at most
50 ms per poll with owners (3x faster than psutil), and at most 1% of a core for the idle agent.

What it does (as root; it needs ``ip netns``):

1. creates a network namespace ``frbench<pid>`` (deleted at the end, also on error or Ctrl-C) and
   re-runs itself inside it, so that only the benchmark's sockets are polled;
2. inside, a helper process opens ``--sockets`` loopback TCP sockets (one listener and connected
   pairs: client and accepted ends), like a busy server;
3. times, interleaved, ``--runs`` rounds of:

   - ``flowradar cold``: a new :class:`SocketPoller` per poll (no cache), every socket with pid,
     process name, executable, user and cgroup as Connection records;
   - ``flowradar raw``: the same without building records (socket tuples and owner pids, as ``ss``
     prints them);
   - ``flowradar warm``: one long-lived poller (the agent's case: owners of known sockets cached);
   - ``psutil``: ``psutil.net_connections(kind="inet")`` (pids, no names);
   - ``ss -tanp``: the iproute2 command, a subprocess, wall time (owners by name and pid);
   - ``ss -tan``: the same without owners, for reference;

4. measures the CPU the process enricher's background polling uses over ``--idle-seconds``, with the
   tracer (1 s polling) and without it (0.1 s polling), once with the helper's sockets open and once
   with an idle namespace.

Usage: sudo .venv/bin/python bench/sockets_bench.py [--sockets 10000] [--runs 7] [--idle-seconds 10]
       [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
HOLDER = r"""
import resource, socket, sys
n = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1024, n + 1024))
listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
keep = [listener]
while len(keep) < n:
    c = socket.create_connection(listener.getsockname())
    a, _ = listener.accept()
    keep += [c, a]
print(len(keep), flush=True)
sys.stdin.read()
"""


def _timed(fn: Callable[[], int]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = fn()
    return time.perf_counter() - t0, n


def _ours_cold() -> int:
    from flowradar.capture.sockets import SocketPoller

    with SocketPoller() as poller:
        return len(poller.poll())


def _ours_raw() -> int:
    from flowradar.capture.sockets import SocketPoller

    with SocketPoller() as poller:
        raws = poller.raw()
        pids = poller.owners.resolve({r.inode for r in raws if r.inode})
        return len(raws) if pids else 0


def _psutil() -> int:
    import psutil

    return len(psutil.net_connections(kind="inet"))


def _ss(*flags: str) -> Callable[[], int]:
    def run() -> int:
        out = subprocess.run(["ss", *flags], capture_output=True, text=True, check=True).stdout
        return max(0, out.count("\n") - 1)

    return run


def _tools() -> dict[str, Callable[[], int]]:
    from flowradar.capture.sockets import SocketPoller

    warm = SocketPoller()
    warm.poll()
    tools: dict[str, Callable[[], int]] = {
        "flowradar cold": _ours_cold,
        "flowradar raw": _ours_raw,
        "flowradar warm": lambda: len(warm.poll()),
    }
    try:
        import psutil  # noqa: F401

        tools["psutil"] = _psutil
    except ImportError:
        print("psutil is not installed (pip install -e '.[bench]'): skipped", file=sys.stderr)
    if shutil.which("ss"):
        tools["ss -tanp"] = _ss("-tanp")
        tools["ss -tan"] = _ss("-tan")
    return tools


def _polls(runs: int) -> dict[str, dict[str, Any]]:
    tools = _tools()
    times: dict[str, list[float]] = {name: [] for name in tools}
    seen: dict[str, int] = {}
    for _ in range(runs):
        for name, fn in tools.items():
            elapsed, n = _timed(fn)
            times[name].append(elapsed)
            seen[name] = n
    return {
        name: {"best_ms": min(t) * 1000, "median_ms": statistics.median(t) * 1000, "sockets": seen[name]}
        for name, t in times.items()
    }


def _idle_cpu(seconds: float, tracer: bool) -> dict[str, Any]:
    """CPU share of one core used by the enricher's background thread while nothing else runs."""
    from flowradar.config import ProcessConfig
    from flowradar.enrich.process import ProcessEnricher

    enricher = ProcessEnricher(ProcessConfig(tracer=tracer))
    enricher.start()
    try:
        before, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        time.sleep(seconds)
        after, t1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    finally:
        polls, interval, tracing = enricher.stats["polls"], enricher.interval_s, enricher.tracing
        enricher.close()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"tracer": tracing, "interval_s": interval, "polls": polls, "cpu_percent": cpu / (t1 - t0) * 100}


def _print_polls(results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{'tool':16} {'sockets':>8} {'best ms':>9} {'median ms':>10} {'vs flowradar cold':>18}")
    ours = results["flowradar cold"]["best_ms"]
    for name, r in results.items():
        ratio = r["best_ms"] / ours if ours else float("nan")
        print(f"{name:16} {r['sockets']:>8,} {r['best_ms']:>9.1f} {r['median_ms']:>10.1f} {ratio:>17.2f}x")


def inner(args: argparse.Namespace) -> dict[str, Any]:
    """The part that runs inside the namespace."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(args.sockets)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    opened = int(holder.stdout.readline())
    print(f"{opened:,} sockets open in the namespace (held by pid {holder.pid}); {args.runs} rounds")
    try:
        polls = _polls(args.runs)
        _print_polls(polls)
        busy = [_idle_cpu(args.idle_seconds, t) for t in (True, False)]
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    idle = [_idle_cpu(args.idle_seconds, t) for t in (True, False)]
    print(f"\nenricher background CPU over {args.idle_seconds:g} s (percent of one core):")
    for label, rows in ((f"{opened:,} sockets", busy), ("idle namespace", idle)):
        for r in rows:
            mode = "tracer on " if r["tracer"] else "tracer off"
            every = f"poll every {r['interval_s']:g} s"
            print(f"  {label:16} {mode} {every}: {r['cpu_percent']:.2f}% ({r['polls']} polls)")
    return {"sockets": opened, "runs": args.runs, "polls": polls, "cpu_busy": busy, "cpu_idle": idle}


def outer(args: argparse.Namespace) -> int:
    """Create the namespace, run the measurement inside it, delete the namespace."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        print("sockets_bench needs root and iproute2 (it creates a network namespace)", file=sys.stderr)
        return 2
    ns = f"frbench{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
        cmd = ["ip", "netns", "exec", ns, sys.executable, str(HERE), "--inner"]
        cmd += [
            "--sockets",
            str(args.sockets),
            "--runs",
            str(args.runs),
            "--idle-seconds",
            str(args.idle_seconds),
        ]
        if args.json:
            cmd += ["--json", str(Path(args.json).resolve())]
        return subprocess.run(cmd, check=False).returncode
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sockets", type=int, default=10_000, help="sockets to open (default 10000)")
    parser.add_argument("--runs", type=int, default=7, help="rounds of polls (default 7)")
    parser.add_argument(
        "--idle-seconds", type=float, default=10.0, help="CPU measurement length (default 10)"
    )
    parser.add_argument("--json", help="also write the results as JSON to this file")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.inner:
        return outer(args)
    results = inner(args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
