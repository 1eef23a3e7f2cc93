"""Engine benchmark: time `flowradar analyze` against nfstream, ndpiReader and tshark.

Builds the two benchmark captures (``mixed`` and ``churn``, about 1M packets each) from the shared
corpus if they are missing, counts their packets, then runs every tool on every capture, pinned to
one core, N times (interleaved: run 1 of every tool on every capture, then run 2, ...). Each run is a
whole process, timed from outside: wall seconds from a monotonic clock, user/system seconds and peak
resident memory from the kernel's accounting of the reaped child (``os.wait4``, the same figures as
``/usr/bin/time -v``). The best (fastest) run gives packets/s; the table also shows the median.

Capture files never go into the repository: they live in $FLOWRADAR_BENCH_DIR (default
/tmp/flowradar-bench). Results are written as JSON to bench/results/engine-<date>.json.

Usage: python bench/engine_bench.py [--runs N] [--tools flowradar,nfstream,ndpiReader,tshark]
       [--captures mixed,churn] [--cpu 1] [--timeout 900] [--reuse-peers RESULTS.json]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_DATA_DIR = Path("/tmp/flowradar-bench")

CAPTURES = ("mixed", "churn")
TOOLS = ("flowradar", "nfstream", "ndpiReader", "tshark")
PEERS = ("nfstream", "ndpiReader", "tshark")
DEFAULT_PACKETS = 1_000_000

# Targets from the issue: one core, every dissector on.
TARGET_MPPS = {"mixed": 1.0, "churn": 0.3}
TARGET_BYTES_PER_FLOW = 300

TSHARK_FIELDS = ("frame.number", "ip.src", "ip.dst", "tcp.srcport", "udp.srcport")


# --------------------------------------------------------------------------- paths and captures


def data_dir() -> Path:
    """Where benchmark captures live (never inside the repository)."""
    return Path(os.environ.get("FLOWRADAR_BENCH_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()


def corpus_dir() -> Path:
    """The shared corpus: $FLOWRADAR_CORPUS or repo_root/../shared/corpus."""
    env = os.environ.get("FLOWRADAR_CORPUS")
    return Path(env).expanduser().resolve() if env else (REPO_ROOT.parent / "shared" / "corpus").resolve()


def check_outside_repo(path: Path) -> None:
    """Refuse to put capture files inside the repository."""
    resolved = path.resolve()
    if resolved == REPO_ROOT or REPO_ROOT in resolved.parents:
        raise SystemExit(f"bench data directory {resolved} is inside the repository; set FLOWRADAR_BENCH_DIR")


def capture_path(kind: str, directory: Path | None = None) -> Path:
    return (directory or data_dir()) / f"{kind}.pcap"


def ensure_capture(
    kind: str, directory: Path | None = None, packets: int = DEFAULT_PACKETS, timeout: float = 900.0
) -> Path:
    """Return the path of the `kind` capture, building it from the corpus if it is missing."""
    directory = directory or data_dir()
    check_outside_repo(directory)
    out = capture_path(kind, directory)
    if out.exists() and out.stat().st_size > 24:
        return out
    script = corpus_dir() / "make_bench_pcap.py"
    if not script.exists():
        raise SystemExit(f"cannot build {out}: {script} not found (set FLOWRADAR_CORPUS)")
    if shutil.which("editcap") is None:
        raise SystemExit("cannot build captures: editcap missing (apt-get install wireshark-common)")
    directory.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    print(f"building {out} ({packets} packets, {kind}) ...", flush=True)
    try:
        subprocess.run(
            [sys.executable, str(script), str(tmp), str(packets), kind],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
        )
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


_CAPINFOS_RE = re.compile(r"Number of packets:\s+(\d+)")


def count_packets(path: Path, timeout: float = 300.0) -> tuple[int, str]:
    """Packets in a capture: capinfos -c if present, else a walk over the pcap record headers."""
    if shutil.which("capinfos"):
        try:
            proc = subprocess.run(
                ["capinfos", "-c", "-M", str(path)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            m = _CAPINFOS_RE.search(proc.stdout)
            if proc.returncode == 0 and m:
                return int(m.group(1)), "capinfos"
        except subprocess.TimeoutExpired:
            pass
    return count_pcap_records(path), "pcap-walk"


def count_pcap_records(path: Path) -> int:
    """Count classic pcap records by walking their headers (no payload is read)."""
    with path.open("rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return 0
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            raise ValueError(f"{path}: not a classic pcap file")
        rec = struct.Struct(endian + "IIII")
        n = 0
        while True:
            hdr = f.read(16)
            if len(hdr) < 16:
                return n
            incl = rec.unpack(hdr)[2]
            f.seek(incl, os.SEEK_CUR)
            n += 1


def warm_page_cache(path: Path) -> None:
    """Read the file once so every tool starts from the page cache, not the disk."""
    with path.open("rb") as f:
        while f.read(1 << 22):
            pass


# --------------------------------------------------------------------------- running one command


@dataclass
class Run:
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float
    returncode: int
    timed_out: bool = False


@dataclass
class Outcome:
    run: Run
    stdout: str
    stderr: str


def _tail(text: str, lines: int = 8, chars: int = 2000) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])[-chars:]


def run_measured(
    argv: Sequence[str], timeout: float, keep_stdout: bool = True, env: dict[str, str] | None = None
) -> Outcome:
    """Run one whole process, return wall time, CPU time and peak RSS of that process tree.

    The child runs in its own session; at `timeout` seconds the whole group is killed. CPU and peak
    memory come from wait4() on that one child (its waited-for descendants included), so every run
    is measured on its own, like /usr/bin/time -v.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out if keep_stdout else subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            env=env,
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        # Leftovers of the group (helpers that outlived the parent) must not run into the next run.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        out.seek(0)
        err.seek(0)
        return Outcome(
            run=Run(
                wall_s=round(wall, 4),
                user_s=round(usage.ru_utime, 4),
                sys_s=round(usage.ru_stime, 4),
                max_rss_mib=round(usage.ru_maxrss / 1024, 1),
                returncode=proc.returncode,
                timed_out=timed_out.is_set(),
            ),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def run_quick(argv: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str] | None:
    """Run a short helper command; None when it cannot start or times out."""
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


# --------------------------------------------------------------------------- the tools


@dataclass
class Tool:
    name: str
    argv: Callable[[Path], list[str]]
    version: str = ""
    available: bool = True
    why_unavailable: str = ""
    keep_stdout: bool = True
    self_report: Callable[[Path, float], dict[str, Any]] | None = None
    parse_stdout: Callable[[str], dict[str, Any]] | None = None


def venv_python() -> str:
    cand = REPO_ROOT / ".venv" / "bin" / "python"
    return str(cand) if cand.exists() else sys.executable


def flowradar_tool(extra: Sequence[str]) -> Tool:
    exe = REPO_ROOT / ".venv" / "bin" / "flowradar"
    base = [str(exe)] if exe.exists() else ([shutil.which("flowradar") or ""])
    tool = Tool(name="flowradar", argv=lambda p: [*base, "analyze", str(p), *extra], keep_stdout=True)
    if not base[0]:
        tool.available, tool.why_unavailable = False, "flowradar entry point not found (pip install -e .)"
        return tool
    proc = run_quick([*base, "analyze", "--help"])
    if proc is None or proc.returncode != 0:
        why = "timed out" if proc is None else _tail(proc.stderr or proc.stdout, lines=3)
        tool.available, tool.why_unavailable = False, f"`flowradar analyze --help` failed: {why}"
        return tool
    quiet = next((flag for flag in ("--quiet", "-q") if re.search(rf"(^|[\s,]){flag}\b", proc.stdout)), None)
    args = [*extra]
    if quiet and quiet not in args:
        args.insert(0, quiet)
    tool.argv = lambda p: [*base, "analyze", str(p), *args]
    ver = run_quick([*base, "--version"])
    tool.version = (ver.stdout.strip().splitlines() or [""])[0] if ver and ver.returncode == 0 else ""
    return tool


def nfstream_tool() -> Tool:
    py = venv_python()
    script = str(BENCH_DIR / "peer_nfstream.py")
    tool = Tool(name="nfstream", argv=lambda p: [py, script, str(p)], parse_stdout=_parse_nfstream)
    proc = run_quick([py, "-c", "import nfstream; print(nfstream.__version__)"], timeout=120)
    if proc is None or proc.returncode != 0:
        tool.available = False
        tool.why_unavailable = "nfstream not importable (.venv/bin/pip install -e '.[bench]')"
    else:
        tool.version = proc.stdout.strip()
    return tool


def _parse_nfstream(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                data: dict[str, Any] = json.loads(line)
                return data
            except ValueError:
                break
    return {}


_NDPI_PPS = re.compile(r"nDPI throughput:\s+([\d.]+)\s*([KMG]?)\s*pps")
_NDPI_MS = re.compile(r"Packet Processing Time:\s+(\d+)\s*msec")
_NDPI_FLOWS = re.compile(r"Unique flows:\s+(\d+)")


def ndpi_tool() -> Tool:
    exe = shutil.which("ndpiReader")
    # One pcap file means one reader thread (-n is ignored for files); taskset pins it; -q prints nothing.
    tool = Tool(name="ndpiReader", argv=lambda p: [exe or "ndpiReader", "-q", "-i", str(p)])
    if exe is None:
        tool.available, tool.why_unavailable = False, "ndpiReader missing (apt-get install libndpi-bin)"
        return tool
    proc = run_quick([exe, "-h"])
    m = re.search(r"nDPI ([\d.]+)", (proc.stdout + proc.stderr) if proc else "")
    tool.version = m.group(1) if m else ""

    def self_report(path: Path, timeout: float) -> dict[str, Any]:
        """An extra run without -q: ndpiReader's own figure (packet loop only, no start-up or I/O)."""
        out = run_measured([*pin_prefix(), exe, "-i", str(path)], timeout)
        text = out.stdout + out.stderr
        rep: dict[str, Any] = {}
        if m := _NDPI_PPS.search(text):
            scale = {"": 1e-6, "K": 1e-3, "M": 1.0, "G": 1e3}[m.group(2)]
            rep["mpps"] = round(float(m.group(1)) * scale, 4)
        if m := _NDPI_MS.search(text):
            rep["processing_s"] = int(m.group(1)) / 1000
        if m := _NDPI_FLOWS.search(text):
            rep["flows"] = int(m.group(1))
        return rep

    tool.self_report = self_report
    return tool


def tshark_tool() -> Tool:
    exe = shutil.which("tshark")
    fields = [arg for f in TSHARK_FIELDS for arg in ("-e", f)]
    tool = Tool(
        name="tshark",
        argv=lambda p: [exe or "tshark", "-r", str(p), "-T", "fields", *fields],
        keep_stdout=False,
    )
    if exe is None:
        tool.available, tool.why_unavailable = False, "tshark missing (apt-get install tshark)"
        return tool
    proc = run_quick([exe, "--version"])
    tool.version = (proc.stdout.splitlines() or [""])[0] if proc else ""
    return tool


# --------------------------------------------------------------------------- pinning

_PIN: list[str] = []


def pin_prefix() -> list[str]:
    return list(_PIN)


def choose_pin(cpu: int | None) -> tuple[list[str], str]:
    """`taskset -c CPU` prefix; falls back to the first allowed CPU; empty when pinning is off."""
    if cpu is None:
        return [], "not pinned"
    taskset = shutil.which("taskset")
    if taskset is None:
        return [], "not pinned (taskset missing: apt-get install util-linux)"
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpu if cpu in allowed else allowed[0]
    note = f"pinned to CPU {chosen}" + ("" if chosen == cpu else f" (CPU {cpu} not allowed here)")
    return [taskset, "-c", str(chosen)], note


# --------------------------------------------------------------------------- results


@dataclass
class Row:
    tool: str
    capture: str
    packets: int
    status: str = "ok"  # ok | failed | unavailable | reused
    error: str = ""
    runs: list[Run] = field(default_factory=list)
    best_wall_s: float | None = None
    median_wall_s: float | None = None
    mpps: float | None = None
    median_mpps: float | None = None
    cpu_s: float | None = None
    max_rss_mib: float | None = None
    vs: dict[str, float | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def summarize(self) -> None:
        good = [r for r in self.runs if r.returncode == 0 and not r.timed_out]
        if not good:
            return
        best = min(good, key=lambda r: r.wall_s)
        self.best_wall_s = best.wall_s
        self.median_wall_s = round(statistics.median(r.wall_s for r in good), 4)
        self.cpu_s = round(best.user_s + best.sys_s, 4)
        self.max_rss_mib = max(r.max_rss_mib for r in good)
        if self.packets and best.wall_s > 0:
            self.mpps = round(self.packets / best.wall_s / 1e6, 4)
            self.median_mpps = round(self.packets / self.median_wall_s / 1e6, 4)


def compute_ratios(rows: list[Row]) -> None:
    """vs[peer] = this tool's packets/s over the peer's on the same capture (>1: faster than the peer)."""
    by_key = {(r.tool, r.capture): r for r in rows}
    for row in rows:
        row.vs = {}
        for peer in PEERS:
            other = by_key.get((peer, row.capture))
            theirs = other.mpps if other is not None else None
            row.vs[peer] = round(row.mpps / theirs, 3) if row.mpps and theirs else None


def host_info(pin_note: str) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "pinning": pin_note,
    }


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[Row]) -> None:
    head = (
        "tool",
        "capture",
        "packets",
        "best s",
        "median s",
        "Mpps",
        "max RSS MiB",
        "vs nfstream",
        "vs ndpiReader",
        "vs tshark",
        "status",
    )
    lines: list[tuple[str, ...]] = [head]
    for r in rows:
        lines.append(
            (
                r.tool,
                r.capture,
                str(r.packets),
                fmt(r.best_wall_s, ".2f"),
                fmt(r.median_wall_s, ".2f"),
                fmt(r.mpps, ".3f"),
                fmt(r.max_rss_mib, ".1f"),
                *(fmt(r.vs.get(p), ".2f") + ("x" if r.vs.get(p) is not None else "") for p in PEERS),
                r.status if not r.error else f"{r.status}: {r.error.splitlines()[-1][:50]}",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    right = {2, 3, 4, 5, 6, 7, 8, 9}
    for n, line in enumerate(lines):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    notes = []
    for r in rows:
        rep = r.extra.get("self_report")
        if rep and rep.get("mpps"):
            notes.append(
                f"{r.tool} on {r.capture}: its own packet-loop figure {rep['mpps']:.3f} Mpps "
                f"(no start-up, no file reading)"
            )
        nf = r.extra.get("nfstream")
        if nf and nf.get("seconds"):
            notes.append(
                f"{r.tool} on {r.capture}: {nf.get('flows')} flows, streaming loop "
                f"{r.packets / nf['seconds'] / 1e6:.3f} Mpps (without interpreter start-up)"
            )
    for note in notes:
        print("  note: " + note)
    for r in rows:
        if r.tool == "flowradar" and r.capture in TARGET_MPPS:
            target = TARGET_MPPS[r.capture]
            verdict = "n/a" if r.mpps is None else ("met" if r.mpps >= target else "NOT met")
            print(f"  target flowradar {r.capture} >= {target} Mpps: {verdict}")


# --------------------------------------------------------------------------- main


def parse_list(value: str, allowed: Sequence[str]) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    lower = {a.lower(): a for a in allowed}
    out = []
    for item in items:
        if item.lower() not in lower:
            raise argparse.ArgumentTypeError(f"unknown {item!r}; choose from {', '.join(allowed)}")
        out.append(lower[item.lower()])
    return out


def run_memory_per_flow(capture: Path, timeout: float) -> dict[str, Any]:
    """bench/memory_per_flow.py --json on the churn capture, as a child process."""
    argv = [venv_python(), str(BENCH_DIR / "memory_per_flow.py"), "--capture", str(capture), "--json"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        return {"status": "failed", "error": _tail(proc.stderr or proc.stdout, lines=4)}
    try:
        data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"status": "failed", "error": "no JSON from memory_per_flow.py"}
    data["status"] = "ok"
    return data


def load_reused(path: Path, tools: set[str], captures: dict[str, dict[str, Any]]) -> list[Row]:
    """Rows of tools not run now, taken from an earlier results file (same capture sizes only)."""
    old = json.loads(path.read_text())
    rows = []
    for item in old.get("results", []):
        if item["tool"] in tools or item["capture"] not in captures:
            continue
        if item.get("packets") != captures[item["capture"]]["packets"]:
            continue
        known = {f.name for f in fields(Run)}
        runs = [Run(**{k: v for k, v in r.items() if k in known}) for r in item.get("runs", [])]
        row = Row(
            tool=item["tool"],
            capture=item["capture"],
            packets=item["packets"],
            runs=runs,
            status="reused",
            error="",
        )
        row.extra = dict(item.get("extra", {}), reused_from=str(path))
        row.summarize()
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--runs",
        "-n",
        type=int,
        default=int(os.environ.get("BENCH_RUNS", "3")),
        help="timed runs per tool and capture, best one kept (default 3, $BENCH_RUNS)",
    )
    parser.add_argument(
        "--tools",
        type=lambda v: parse_list(v, TOOLS),
        default=list(TOOLS),
        help="comma list of " + ",".join(TOOLS),
    )
    parser.add_argument(
        "--captures",
        type=lambda v: parse_list(v, CAPTURES),
        default=list(CAPTURES),
        help="comma list of " + ",".join(CAPTURES),
    )
    parser.add_argument(
        "--packets",
        type=int,
        default=DEFAULT_PACKETS,
        help="minimum packets when building a capture (default 1000000)",
    )
    parser.add_argument("--cpu", type=int, default=1, help="core to pin every tool to (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one core")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds allowed for one run (default 900)"
    )
    parser.add_argument(
        "--flowradar-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `flowradar analyze` (repeatable)",
    )
    parser.add_argument(
        "--reuse-peers",
        type=Path,
        metavar="RESULTS_JSON",
        help="take rows of tools not run now from an earlier results file",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip bench/memory_per_flow.py")
    parser.add_argument("--no-self-report", action="store_true", help="skip ndpiReader's extra non-quiet run")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/engine-<date>.json)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")

    global _PIN
    _PIN, pin_note = choose_pin(None if args.no_pin else args.cpu)
    print(f"bench data: {data_dir()}  ({pin_note}, {args.runs} run(s) each, best kept)", flush=True)

    captures: dict[str, dict[str, Any]] = {}
    for kind in args.captures:
        path = ensure_capture(kind, packets=args.packets)
        packets, how = count_packets(path)
        captures[kind] = {
            "path": str(path),
            "packets": packets,
            "bytes": path.stat().st_size,
            "counted_by": how,
        }
        print(f"capture {kind}: {path} {packets} packets {path.stat().st_size / 1e6:.0f} MB", flush=True)

    makers: dict[str, Callable[[], Tool]] = {
        "flowradar": lambda: flowradar_tool(args.flowradar_arg),
        "nfstream": nfstream_tool,
        "ndpiReader": ndpi_tool,
        "tshark": tshark_tool,
    }
    tools = [makers[name]() for name in args.tools]
    rows: dict[tuple[str, str], Row] = {}
    for tool in tools:
        for kind in captures:
            row = Row(tool=tool.name, capture=kind, packets=captures[kind]["packets"])
            if not tool.available:
                row.status, row.error = (
                    "unavailable" if tool.name != "flowradar" else "failed",
                    tool.why_unavailable,
                )
            row.extra["command"] = " ".join(pin_prefix() + tool.argv(Path(captures[kind]["path"])))
            rows[(tool.name, kind)] = row
        if not tool.available:
            print(f"{tool.name}: not run: {tool.why_unavailable}", flush=True)

    for i in range(args.runs):
        for kind, cap in captures.items():
            path = Path(cap["path"])
            warm_page_cache(path)
            for tool in tools:
                row = rows[(tool.name, kind)]
                if row.status != "ok":
                    continue
                argv_ = pin_prefix() + tool.argv(path)
                out = run_measured(argv_, args.timeout, keep_stdout=tool.keep_stdout)
                row.runs.append(out.run)
                print(
                    f"run {i + 1}/{args.runs} {tool.name:<10} {kind:<6} {out.run.wall_s:8.2f} s "
                    f"{out.run.max_rss_mib:8.1f} MiB rc={out.run.returncode}"
                    + (" TIMEOUT" if out.run.timed_out else ""),
                    flush=True,
                )
                row.extra["command"] = " ".join(argv_)
                if out.run.timed_out:
                    row.status, row.error = "failed", f"timed out after {args.timeout:g} s"
                elif out.run.returncode != 0:
                    row.status = "failed"
                    row.error = f"exit {out.run.returncode}: " + _tail(out.stderr or out.stdout, lines=4)
                elif tool.parse_stdout is not None:
                    # Keep what the tool said about itself in its fastest run.
                    parsed = tool.parse_stdout(out.stdout)
                    if all(out.run.wall_s <= r.wall_s for r in row.runs):
                        row.extra[tool.name] = parsed

    if not args.no_self_report:
        for tool in tools:
            for kind, cap in captures.items():
                row = rows[(tool.name, kind)]
                if tool.self_report is not None and row.status == "ok":
                    reports = [tool.self_report(Path(cap["path"]), args.timeout) for _ in range(args.runs)]
                    row.extra["self_report"] = max(reports, key=lambda rep: rep.get("mpps") or 0.0)

    result_rows = list(rows.values())
    for row in result_rows:
        row.summarize()
    if args.reuse_peers:
        result_rows += load_reused(args.reuse_peers, set(args.tools), captures)
    order = {t: n for n, t in enumerate(TOOLS)}
    result_rows.sort(key=lambda r: (CAPTURES.index(r.capture), order[r.tool]))
    compute_ratios(result_rows)

    memory: dict[str, Any] | None = None
    if "flowradar" in args.tools and not args.no_memory:
        churn = ensure_capture("churn", packets=args.packets)
        memory = run_memory_per_flow(churn, args.timeout)

    versions = {t.name: t.version for t in tools}
    now = dt.datetime.now(dt.UTC)
    doc_out: dict[str, Any] = {
        "schema": 1,
        "date": now.isoformat(timespec="seconds"),
        "host": host_info(pin_note),
        "runs_per_tool": args.runs,
        "timing": "whole process, best of runs; wall from a monotonic clock, CPU and max RSS from wait4()",
        "captures": captures,
        "versions": versions,
        "targets": {"mpps": TARGET_MPPS, "bytes_per_flow": TARGET_BYTES_PER_FLOW},
        "results": [asdict(r) for r in result_rows],
        "memory_per_flow": memory,
    }
    out_path = args.out
    if out_path is None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        out_path = RESULTS_DIR / f"engine-{now:%Y-%m-%d}.json"
        if out_path.exists():
            out_path = RESULTS_DIR / f"engine-{now:%Y-%m-%d-%H%M%S}.json"
    out_path.write_text(json.dumps(doc_out, indent=2) + "\n")

    print()
    print_table(result_rows)
    if memory is not None:
        if memory.get("status") == "ok":
            bpf = memory.get("table_bytes_per_flow")
            verdict = "met" if bpf is not None and bpf <= TARGET_BYTES_PER_FLOW else "NOT met"
            print(
                f"  memory: {memory.get('active_flows')} flows, {fmt(bpf, '.0f')} table bytes/flow, "
                f"{fmt(memory.get('rss_bytes_per_flow'), '.0f')} RSS bytes/flow; "
                f"target <= {TARGET_BYTES_PER_FLOW} B/flow: {verdict}"
            )
        else:
            print(f"  memory: failed: {memory.get('error', '')}")
    print(f"\nresults written to {out_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
