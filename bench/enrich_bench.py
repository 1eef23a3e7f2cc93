"""Enrichment benchmark: flows/s through every enricher, lookups/s for geography and threat intel.

A benchmark, not a test: it measures and never fails on a number. Rates are per CPU second of
this process (``time.process_time``), so that other load on the machine does not skew them.
Targets (one core): enrichment >= 100k flows/s, geo >= 100k lookups/s with the cache, intel
>= 200k lookups/s.

Flows are synthetic FlowRecords shaped like real traffic: clients in 192.168.0.0/16 talking to a
pool of public addresses (Zipf-like popularity, so caches see realistic reuse), a third with a TLS
server name, a tenth plain HTTP, some DNS flows whose answers name the rest. Record
materialisation by the engine is not counted (it is the engine's cost, timed separately).

    .venv/bin/python bench/enrich_bench.py [--flows N] [--remotes N] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import random
import socket
import struct
import sys
import time
from pathlib import Path

import numpy as np

from flowradar.config import EnrichConfig
from flowradar.enrich import datafiles
from flowradar.enrich.geo import GeoLookup
from flowradar.enrich.intel import IntelEnricher, load_intel
from flowradar.enrich.pipeline import EnrichmentPipeline
from flowradar.model.flow import DnsAnswer, FlowRecord, L7Facts

RESULTS = Path(__file__).resolve().parent / "results"
NAMES = [
    "www.google.com", "fonts.gstatic.com", "googleads.g.doubleclick.net", "www.google-analytics.com",
    "connect.facebook.net", "static.xx.fbcdn.net", "api.github.com", "deb.debian.org",
    "cdn.jsdelivr.net", "www.wikipedia.org", "script.hotjar.com", "b.scorecardresearch.com",
]  # fmt: skip


def _public_ip(rng: random.Random) -> str:
    while True:
        a = rng.randrange(1, 224)
        if a not in (10, 100, 127, 169, 172, 192):
            return f"{a}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def make_flows(n: int, remotes: int, seed: int = 1) -> list[FlowRecord]:
    """n records over `remotes` public addresses with Zipf-like popularity."""
    rng = random.Random(seed)
    pool = [_public_ip(rng) for _ in range(remotes)]
    names = {ip: f"h{i % 997}.{NAMES[i % len(NAMES)]}" for i, ip in enumerate(pool)}
    weights = [1.0 / (i + 1) ** 0.8 for i in range(remotes)]
    picks = rng.choices(pool, weights, k=n)
    t0 = 1_700_000_000.0
    out = []
    for i, ip in enumerate(picks):
        client = f"192.168.{i % 8}.{10 + i % 40}"
        ts = t0 + i * 0.01
        kind = i % 30
        l7 = L7Facts()
        dport, transport = 443, "tcp"
        if kind < 10:
            l7 = L7Facts(app_proto="tls", tls_sni=names[ip], tls_version="TLSv1.3")
        elif kind < 13:
            l7 = L7Facts(app_proto="http", http_host=names[ip])
            dport = 80
        elif kind == 13:
            answers = [DnsAnswer(names[p], "A", p, 300, names[p]) for p in rng.sample(pool, 4)]
            l7 = L7Facts(app_proto="dns", dns_answers=answers)
            ip, dport, transport = "192.168.0.1", 53, "udp"
        out.append(
            FlowRecord(
                uid=f"C{i}", community_id="1:x", ts_first=ts, ts_last=ts + 2.0, transport=transport,
                ip_version=4, src_ip=client, src_port=40000 + i % 20000, dst_ip=ip, dst_port=dport,
                src_packets=8, dst_packets=9, src_bytes=900 + i % 5000, dst_bytes=4000 + i % 90000,
                src_payload=500, dst_payload=3000, tcp_flags="SAF/SAF", history="ShADadFf",
                end_reason="fin", l7=l7,
            )
        )  # fmt: skip
    return out


def rate(count: int, seconds: float) -> float:
    """Operations per second."""
    return count / seconds if seconds > 0 else float("inf")


def bench_pipeline(n: int, remotes: int) -> dict[str, float]:
    """Flows/s through the whole pipeline (cold caches: first pass; warm: second pass)."""
    t = time.process_time()
    pipeline = EnrichmentPipeline.from_config(EnrichConfig(dns_hold_s=0))
    build = time.process_time() - t
    out: dict[str, float] = {"build_s": build}
    for label in ("cold", "warm"):  # the same traffic twice: caches empty, then filled
        flows = make_flows(n, remotes)
        t = time.process_time()
        for i in range(0, len(flows), 4096):
            pipeline.enrich(flows[i : i + 4096])
        out[f"flows_per_s_{label}"] = rate(len(flows), time.process_time() - t)
    out.update({f"s_{k}": round(v, 3) for k, v in pipeline.stats.seconds.items()})
    pipeline.close()
    return out


def bench_geo(remotes: int) -> dict[str, float]:
    """Geo lookups/s: uncached (distinct addresses) and with the cache (Zipf reuse)."""
    base = datafiles.data_dir()
    geo = GeoLookup(datafiles.geo_database("city", None, base), datafiles.geo_database("asn", None, base))
    rng = random.Random(3)
    distinct = [_public_ip(rng) for _ in range(50_000)]
    t = time.process_time()
    for ip in distinct:
        geo.lookup(ip)
    cold = rate(len(distinct), time.process_time() - t)
    pool = distinct[:remotes]
    picks = rng.choices(pool, [1.0 / (i + 1) ** 0.8 for i in range(len(pool))], k=500_000)
    t = time.process_time()
    for ip in picks:
        geo.lookup(ip)
    return {
        "geo_lookups_per_s_uncached": cold,
        "geo_lookups_per_s_cached": rate(len(picks), time.process_time() - t),
    }


def bench_intel(remotes: int) -> dict[str, float]:
    """Intel lookups/s: one address at a time (bisect), cached enricher, numpy arrays."""
    cfg = EnrichConfig()
    db = load_intel(datafiles.data_dir(), True, (), cfg.misp_lists)
    rng = random.Random(5)
    ips = [_public_ip(rng) for _ in range(200_000)]
    t = time.process_time()
    hits = sum(1 for ip in ips if db.match_ip(ip))
    scalar = rate(len(ips), time.process_time() - t)
    enricher = IntelEnricher(db)
    pool = ips[:remotes]
    picks = rng.choices(pool, k=500_000)
    t = time.process_time()
    for ip in picks:
        enricher.lookup(ip, None)
    cached = rate(len(picks), time.process_time() - t)
    arr = np.array([struct.unpack("!I", socket.inet_aton(ip))[0] for ip in ips] * 5, dtype=np.uint64)
    t = time.process_time()
    db.v4.find_array(arr)
    vector = rate(len(arr), time.process_time() - t)
    return {
        "intel_lists": len(db.lists),
        "intel_v4_intervals": len(db.v4),
        "intel_v6_intervals": len(db.v6),
        "intel_domains": len(db.domains),
        "intel_hit_ratio": hits / len(ips),
        "intel_lookups_per_s_uncached": scalar,
        "intel_lookups_per_s_cached": cached,
        "intel_lookups_per_s_numpy": vector,
    }


def main() -> int:
    """Run every benchmark, print a table, write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--flows", type=int, default=200_000)
    ap.add_argument("--remotes", type=int, default=5_000)
    ap.add_argument("--json", type=Path, help="write results here (default bench/results/enrich-<date>.json)")
    ap.add_argument("--cpu", type=int, default=1, help="pin to this core (-1: no pinning)")
    args = ap.parse_args()
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.cpu})
    results: dict[str, object] = {"date": datetime.datetime.now().isoformat(timespec="seconds")}
    results["flows"], results["remotes"] = args.flows, args.remotes
    results.update(bench_pipeline(args.flows, args.remotes))
    results.update(bench_geo(args.remotes))
    results.update(bench_intel(args.remotes))
    width = max(map(len, results))
    for k, v in results.items():
        print(f"{k:<{width}}  {v:,.0f}" if isinstance(v, float) and v > 100 else f"{k:<{width}}  {v}")
    target = args.json or RESULTS / f"enrich-{datetime.date.today()}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(results, indent=1) + "\n")
    print(f"written to {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
