"""Server benchmark: ingest through the HTTP API (requests/s, flows/s) and dashboard query latency
(p50/p95) through the API, against a real `flowradar serve` process on 127.0.0.1.

A benchmark, not a test: it measures and never fails on a number. The server runs with
``--no-local`` on a fresh DuckDB file (or ``--dsn`` for PostgreSQL); agents are simulated by
``--clients`` threads sending pre-encoded zstd batches of ``--batch`` flows with ingest tokens.
Each query is then timed ``--repeat`` times over the last hour of the data just ingested.

    .venv/bin/python bench/server_bench.py [--batches N] [--batch N] [--clients N] [--dsn DSN] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from flowradar.agent.wire import Batch, encode
from flowradar.config import load_config
from flowradar.model.flow import Enrichment, FlowRecord, L7Facts
from flowradar.server.auth import create_token
from flowradar.store import open_store

ROOT = Path(__file__).resolve().parents[1]
APPS = ("tls", "dns", "http", "quic", None)
COUNTRIES = ("US", "DE", "FR", "JP", None)
QUERIES: dict[str, dict[str, Any]] = {
    "flows (page of 100)": {"path": "/api/v1/flows", "params": {"limit": 100}},
    "flows filtered (app=tls)": {"path": "/api/v1/flows", "params": {"limit": 100, "app": "tls"}},
    "top-talkers": {"path": "/api/v1/top-talkers"},
    "protocols": {"path": "/api/v1/protocols"},
    "countries": {"path": "/api/v1/countries"},
    "asns": {"path": "/api/v1/asns"},
    "domains": {"path": "/api/v1/domains"},
    "processes": {"path": "/api/v1/processes"},
    "geo": {"path": "/api/v1/geo"},
    "bandwidth (by host)": {"path": "/api/v1/bandwidth"},
    "bandwidth (by app)": {"path": "/api/v1/bandwidth", "params": {"by": "app"}},
    "alerts": {"path": "/api/v1/alerts"},
    "hosts": {"path": "/api/v1/hosts"},
}


def _flow(i: int, host: int, now: float) -> FlowRecord:
    app = APPS[i % len(APPS)]
    country = COUNTRIES[i % len(COUNTRIES)]
    start = now - 3000 + (i % 2900)
    return FlowRecord(
        uid=f"B{host}x{i:09d}",
        community_id=f"1:{i}",
        ts_first=start,
        ts_last=start + 2.0,
        transport="udp" if app in ("dns", "quic") else "tcp",
        ip_version=4,
        src_ip=f"10.{host}.{(i >> 8) & 255}.{i & 255}",
        src_port=1024 + i % 60000,
        dst_ip=f"203.0.{(i // 7) % 256}.{i % 97}",
        dst_port=443,
        src_packets=5,
        dst_packets=7,
        src_bytes=600 + i % 1000,
        dst_bytes=4000 + i % 7000,
        src_payload=300,
        dst_payload=3500,
        tcp_flags="SA/SA",
        history="ShADadFf",
        end_reason="fin",
        l7=L7Facts(app_proto=app, tls_sni=f"svc{i % 300}.example.com" if app == "tls" else None),
        enrich=Enrichment(
            process=("curl", "firefox", "sshd", None)[i % 4],
            pid=100 + i % 4,
            country=country,
            asn=64500 + i % 40 if country else None,
            as_org=f"AS org {i % 40}" if country else None,
            domain=f"example{i % 50}.com",
            name=f"svc{i % 300}.example.com",
            remote_ip=f"203.0.{(i // 7) % 256}.{i % 97}",
            city="Somewhere" if country else None,
            latitude=10.0 if country else None,
            longitude=20.0 if country else None,
        ),
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flowradar", "serve", "--no-local", "--port", str(port)],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def _ingest(url: str, tokens: list[str], bodies: list[list[bytes]]) -> float:
    """Send every body (one list per client thread); return the wall time."""
    errors: list[str] = []

    def client(token: str, mine: list[bytes]) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Encoding": "zstd"}
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            for body in mine:
                r = c.post("/api/v1/ingest", content=body)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:100]}")

    threads = [threading.Thread(target=client, args=(t, b)) for t, b in zip(tokens, bodies, strict=True)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"ingest failed: {errors[0]} ({len(errors)} errors)")
    return time.perf_counter() - began


def _latencies(url: str, token: str, repeat: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        for name, q in QUERIES.items():
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                r = c.get(q["path"], params=q.get("params"))
                times.append((time.perf_counter() - t0) * 1000)
                if r.status_code != 200:
                    raise SystemExit(f"{name}: {r.status_code} {r.text[:200]}")
            times.sort()
            out[name] = {
                "p50_ms": round(statistics.median(times), 2),
                "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 2),
            }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=200, help="ingest requests in all")
    ap.add_argument("--batch", type=int, default=1000, help="flows per request")
    ap.add_argument("--clients", type=int, default=4, help="simulated agents (threads), one host each")
    ap.add_argument("--repeat", type=int, default=40, help="timings per query")
    ap.add_argument("--dsn", help="PostgreSQL DSN (a fresh, empty database) instead of DuckDB")
    ap.add_argument("--json", type=Path, help="write the results to FILE")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="flowradar-bench-"))
    env = {"FLOWRADAR_DATA_DIR": str(tmp), "FLOWRADAR_SERVER_INGEST_RATE_PER_S": "100000"}
    if args.dsn:
        env |= {"FLOWRADAR_STORE_BACKEND": "postgresql", "FLOWRADAR_STORE_DSN": args.dsn}
    else:
        env["FLOWRADAR_STORE_PATH"] = str(tmp / "bench.duckdb")
    store = open_store(load_config(env=env).store)
    tokens = [create_token(store, "ingest", None, host=f"host{h}")[0] for h in range(args.clients)]
    viewer = create_token(store, "api", None, role="viewer")[0]
    store.close()
    now = time.time()
    per_client = args.batches // args.clients
    bodies = [
        [
            encode(Batch(f"host{h}", flows=[_flow(b * args.batch + i, h, now) for i in range(args.batch)]))
            for b in range(per_client)
        ]
        for h in range(args.clients)
    ]
    proc, url = _start_server(env)
    try:
        seconds = _ingest(url, tokens, bodies)
        requests = per_client * args.clients
        results: dict[str, Any] = {
            "backend": "postgresql" if args.dsn else "duckdb",
            "cpus": os.cpu_count(),
            "ingest": {
                "requests": requests,
                "flows": requests * args.batch,
                "seconds": round(seconds, 2),
                "requests_per_s": round(requests / seconds, 1),
                "flows_per_s": round(requests * args.batch / seconds),
            },
            "queries": _latencies(url, viewer, args.repeat),
        }
    finally:
        proc.terminate()
        proc.wait(30)
    print(json.dumps(results, indent=1))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
