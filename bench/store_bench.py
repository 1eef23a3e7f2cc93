"""Store benchmark: ingest rate into DuckDB and PostgreSQL, dashboard query latency over N flows.

A benchmark, not a test: it measures and never fails on a number. Targets (one core): >= 100k
flows/s into DuckDB, >= 50k flows/s into PostgreSQL, p95 <= 100 ms for every dashboard query over
10M stored flows in DuckDB.

Flows are the corpus captures' flows (engine + enrichment: geo, ASN, names, classes), repeated with
times spread evenly over ``--hours`` and remote addresses shifted through a pool of ``--remotes``
addresses; ``--hosts`` observing hosts, each with its own local addresses; a process name on the
local side of two flows in three. Generating the records is not timed: ingest time is the time of
``Store.write_flows`` calls of ``--batch`` records, each with a batch id (idempotency included).

Ingest is timed twice: wall seconds, and CPU seconds of this process (DuckDB runs in-process, so that
is the one-core cost; PostgreSQL's server work is in another process, and its wall rate is the one
reported). DuckDB runs with one worker thread. Queries run after a rollup compaction (the server
compacts every minute), each ``--repeat`` times, over the last hour and the last 24 hours.

    .venv/bin/python bench/store_bench.py [--flows 1000000] [--backend duckdb|postgresql|both]
        [--pg-flows N] [--dsn DSN] [--batch 20000] [--threads 1] [--checkpoint-mb MB] [--json FILE]

Without ``--dsn`` PostgreSQL is a throwaway cluster (initdb in a temp dir, as the tests make it).
Pin the process to one core for the one-core figures (``taskset -c 1``); a cluster started by the
benchmark inherits the pinning, so PostgreSQL's client and server then share that core too. Results
go to ``bench/results/store-DATE.json`` (a second run the same day adds ``-HHMMSS``), with the load
average at start and end (the machine is shared: compare runs made at a similar load).
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from flowradar.model.flow import FlowRecord  # noqa: E402
from flowradar.store import open_store  # noqa: E402
from flowradar.store.base import AlertQuery, FlowQuery, TimeRange  # noqa: E402
from flowradar.store.settings import StoreConfig  # noqa: E402
from flowradar.store.sqlstore import SqlStore  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CORPUS = ROOT.parent / "shared" / "corpus" / "pcaps"
T_END = 1_800_000_000.0
PROCESSES = ("firefox", "curl", "sshd", "systemd-resolved", "python3", "nginx", "postgres", "apt")


def corpus_files(kind: str = "mixed") -> list[Path]:
    """Corpus captures, malformed ones left out; 'mixed' also leaves out floods and scans (as the
    engine benchmark's 'mixed' capture does), 'churn' keeps them."""
    out = []
    for line in (CORPUS.parent / "SOURCES.tsv").read_text().splitlines()[1:]:
        cols = line.split("\t")
        cats = cols[5]
        if "malformed" in cats or (kind == "mixed" and ("flood" in cats or "scan" in cats)):
            continue
        out.append(CORPUS / cols[0])
    return [p for p in out if p.exists()]


def corpus_templates(kind: str = "mixed") -> list[FlowRecord]:
    """Every flow of the corpus captures, enriched (geo/ASN/names when the data files are there)."""
    from flowradar.capture.files import open_capture
    from flowradar.config import EngineConfig, EnrichConfig
    from flowradar.engine.pipeline import Engine

    out: list[FlowRecord] = []
    for path in corpus_files(kind):
        try:
            source = open_capture(str(path))
            try:
                for batch in Engine(EngineConfig()).run(source):
                    out.extend(batch.records())
            finally:
                source.close()
        except Exception as exc:  # a capture the engine refuses is skipped, not fatal
            print(f"  skipped {path.name}: {exc}", file=sys.stderr)
    try:
        from flowradar.enrich.pipeline import EnrichmentPipeline

        pipeline = EnrichmentPipeline.from_config(EnrichConfig(dns_hold_s=0, reverse_dns=False))
        for i in range(0, len(out), 4096):
            pipeline.enrich(out[i : i + 4096])
        pipeline.close()
    except Exception as exc:
        print(f"  enrichment unavailable ({exc}); flows stay unenriched", file=sys.stderr)
    return out


def _remote_of(rec: FlowRecord) -> str:
    return rec.enrich.remote_ip or rec.dst_ip


def synthetic(
    templates: list[FlowRecord], n: int, hours: float, hosts: int, remotes: int, batch: int
) -> Iterator[tuple[str, list[FlowRecord]]]:
    """(host, records) batches: templates repeated with shifted times, hosts and remote addresses.

    Each repetition of the templates moves every remote address to another one of ``remotes``
    addresses (the same move for the same template address, so popular remotes stay popular); each
    host talks to its own share of the remotes.
    """
    span = hours * 3600.0
    start = T_END - span
    index: dict[str, int] = {}
    for t in templates:
        index.setdefault(_remote_of(t), len(index))
    tidx = [index[_remote_of(t)] for t in templates]
    variants = max(1, remotes // max(1, len(index)))
    per_host = max(1, variants // hosts)  # each host talks to its own share of the remotes
    k = 0
    while k < n:
        size = min(batch, n - k)
        host_no = (k // batch) % hosts
        recs = []
        for j in range(k, k + size):
            ti = j % len(templates)
            t = templates[ti]
            rec = copy.copy(t)
            enr = copy.copy(t.enrich)
            rec.enrich = enr
            dur = min(t.ts_last - t.ts_first, 1800.0)
            rec.ts_first = start + span * j / n
            rec.ts_last = rec.ts_first + dur
            rec.uid = f"B{j:012x}"
            variant = (host_no * per_host + (j // len(templates)) % per_host) % variants
            r = (tidx[ti] + len(index) * variant) % remotes
            remote = f"{198 + r // 65536 % 2}.{18 + r // 131072}.{r // 256 % 256}.{r % 256}"
            local = f"10.{host_no}.{ti % 200}.{1 + ti % 250}"
            if enr.remote_ip is not None and enr.remote_ip == t.src_ip:
                rec.src_ip, rec.dst_ip = remote, local
            else:
                rec.src_ip, rec.dst_ip = local, remote
            enr.remote_ip = remote
            if enr.process is None and ti % 3:
                enr.process = PROCESSES[ti % len(PROCESSES)]
            recs.append(rec)
        yield f"host-{host_no:02d}", recs
        k += size


def cluster_cpu(data_dir: Path) -> Callable[[], float]:
    """CPU seconds used so far by every process of a local PostgreSQL cluster (postmaster + children)."""
    tick = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        master = int((data_dir / "postmaster.pid").read_text().split()[0])
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(stat.parent.name)
            if pid == master or int(fields[1]) == master:
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    return used


def ingest(
    store: SqlStore, batches: Iterator[tuple[str, list[FlowRecord]]], server_cpu: Callable[[], float] | None
) -> dict[str, float]:
    """Write every batch; flows per wall second, per CPU second of this process, and per CPU second
    of this process and the database server together (PostgreSQL on this machine)."""
    wall = cpu = server = 0.0
    count = 0
    for i, (host, recs) in enumerate(batches):
        s0 = server_cpu() if server_cpu else 0.0
        w, c = time.perf_counter(), time.process_time()
        count += store.write_flows(recs, host, f"bench-{i}")
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
        server += (server_cpu() - s0) if server_cpu else 0.0
        if i % 50 == 0:
            print(
                f"  {count:>10} flows  {count / wall:>9.0f}/s wall  {count / (cpu + server):>9.0f}/s cpu",
                file=sys.stderr,
            )
    out = {"flows": count, "wall_s": wall, "client_cpu_s": cpu, "flows_per_s_wall": count / wall}
    out["server_cpu_s"] = server
    out["flows_per_cpu_s"] = count / (cpu + server)
    return out


def queries(store: SqlStore, hours: float) -> dict[str, Callable[[], Any]]:
    """The dashboard's queries over the last ``hours`` hours of the stored flows."""
    rng = TimeRange(T_END - hours * 3600, T_END)
    step = 60.0 if hours <= 6 else 3600.0
    first = store.flows(FlowQuery(start=rng.start, end=rng.end, limit=100))
    ip = first.items[0]["dst_ip"] if first.items else "198.18.0.1"
    return {
        "flows_page": lambda: store.flows(FlowQuery(start=rng.start, end=rng.end, limit=100)),
        "flows_next_page": lambda: store.flows(
            FlowQuery(start=rng.start, end=rng.end, limit=100, cursor=first.next_cursor)
        ),
        "flows_by_bytes": lambda: store.flows(
            FlowQuery(start=rng.start, end=rng.end, limit=100, sort="-bytes")
        ),
        "flows_ip": lambda: store.flows(FlowQuery(start=rng.start, end=rng.end, ip=ip, limit=100)),
        "flows_app_country": lambda: store.flows(
            FlowQuery(start=rng.start, end=rng.end, app="tls", country="US")
        ),
        "flows_text": lambda: store.flows(FlowQuery(start=rng.start, end=rng.end, text="google", limit=100)),
        "top_talkers": lambda: store.top_talkers(rng, 10),
        "protocols": lambda: store.protocols(rng),
        "countries": lambda: store.countries(rng),
        "asns": lambda: store.asns(rng),
        "domains": lambda: store.domains(rng),
        "processes": lambda: store.processes(rng),
        "geo": lambda: store.geo(rng),
        "bandwidth_host": lambda: store.bandwidth(rng, step, "host"),
        "bandwidth_remote": lambda: store.bandwidth(rng, step, "remote"),
        "alerts": lambda: store.alerts(AlertQuery(start=rng.start)),
        "hosts": store.hosts,
    }


def latency(store: SqlStore, repeat: int) -> dict[str, dict[str, float]]:
    """p50/p95/max milliseconds of every dashboard query, last hour and last 24 hours."""
    out: dict[str, dict[str, float]] = {}
    for hours in (1, 24):
        for name, fn in queries(store, hours).items():
            fn()  # warm
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            key = f"{name}@{hours}h"
            out[key] = {
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(times[max(0, int(len(times) * 0.95 + 0.5) - 1)], 2),
                "max_ms": round(times[-1], 2),
            }
            print(
                f"  {key:28} p50 {out[key]['p50_ms']:8.2f} ms  p95 {out[key]['p95_ms']:8.2f} ms",
                file=sys.stderr,
            )
    return out


def run_backend(
    cfg: StoreConfig, args: argparse.Namespace, templates: list[FlowRecord], n: int
) -> dict[str, Any]:
    """Ingest n flows into the store (unless it holds flows already), compact, then time the queries."""
    store = open_store(cfg)
    assert isinstance(store, SqlStore)
    result: dict[str, Any] = {}
    if store.stats()["flows"] == 0:
        print(f"{cfg.backend}: ingesting {n} flows", file=sys.stderr)
        flows = synthetic(templates, n, args.hours, args.hosts, args.remotes, args.batch)
        result["ingest"] = ingest(store, flows, args.server_cpu)
        t = time.perf_counter()
        result["rollup_merged_rows"] = store.rollup(T_END + 3600)
        result["rollup_s"] = time.perf_counter() - t
    result["rows"] = store.stats()
    if cfg.backend == "duckdb":
        store._run(lambda tx: tx.execute("CHECKPOINT"))
    else:  # what autovacuum does on a running server: visibility map and planner statistics
        import psycopg

        with psycopg.connect(str(cfg.dsn), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    result["queries"] = latency(store, args.repeat)
    store.close()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--pg-flows", type=int, default=None, help="flows for PostgreSQL (default --flows)")
    ap.add_argument("--backend", choices=("duckdb", "postgresql", "both"), default="both")
    ap.add_argument("--batch", type=int, default=20_000)
    ap.add_argument("--hours", type=float, default=24.0, help="time span of the stored flows")
    ap.add_argument("--hosts", type=int, default=10)
    ap.add_argument("--remotes", type=int, default=20_000)
    ap.add_argument("--corpus", choices=("mixed", "churn"), default="mixed")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--dsn", default=None, help="PostgreSQL DSN (default: a throwaway cluster)")
    ap.add_argument("--dir", default=None, help="directory of the temporary DuckDB file")
    ap.add_argument(
        "--db", default=None, help="DuckDB file to fill and keep (reused as is when it has flows)"
    )
    ap.add_argument("--threads", type=int, default=1, help="DuckDB worker threads (default 1: one core)")
    ap.add_argument(
        "--checkpoint-mb",
        type=int,
        default=StoreConfig().checkpoint_mb,
        help="DuckDB [store] checkpoint_mb (default: the configuration's default)",
    )
    ap.add_argument("--json", default=None, help="result file (default bench/results/store-DATE.json)")
    args = ap.parse_args()
    args.server_cpu = None

    t = time.perf_counter()
    templates = corpus_templates(args.corpus)
    print(f"{len(templates)} corpus flows as templates ({time.perf_counter() - t:.1f} s)", file=sys.stderr)
    report: dict[str, Any] = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "args": dict(vars(args)),
        "templates": len(templates),
        "load_avg_start": os.getloadavg(),
    }
    if args.backend in ("duckdb", "both"):
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            path = Path(args.db) if args.db else Path(tmp) / "bench.duckdb"
            cfg = StoreConfig(path=str(path), threads=args.threads, checkpoint_mb=args.checkpoint_mb)
            report["duckdb"] = run_backend(cfg, args, templates, args.flows)
            report["duckdb"]["file_mb"] = round(path.stat().st_size / 1e6, 1)
    if args.backend in ("postgresql", "both"):
        cluster = None
        dsn = args.dsn
        if dsn is None:
            from tests.store.pgcluster import PgCluster

            cluster = PgCluster()
            cluster.start()
            dsn = cluster.create_database("bench")
            args.server_cpu = cluster_cpu(cluster.data)
        try:
            cfg = StoreConfig(backend="postgresql", dsn=dsn)
            report["postgresql"] = run_backend(cfg, args, templates, args.pg_flows or args.flows)
        finally:
            if cluster is not None:
                cluster.stop()
    report["load_avg_end"] = os.getloadavg()
    now = datetime.datetime.now()
    out = Path(args.json) if args.json else RESULTS / f"store-{now:%Y-%m-%d}.json"
    if not args.json and out.exists():  # a second run the same day keeps the first one's file
        out = RESULTS / f"store-{now:%Y-%m-%d-%H%M%S}.json"
    RESULTS.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: report[k].get("ingest") for k in ("duckdb", "postgresql") if k in report}, indent=1))
    print(f"written {out}")


if __name__ == "__main__":
    main()
