"""Dissector benchmark: CPU per call of each compiled dissector kernel against its Python reference.

A benchmark, not a test: it measures and never fails on a number. The engine runs once over a capture
(default: the engine benchmark's ``mixed``) while every payload packet the flow table hands to Python
is recorded with the flow it belongs to and the protocol the classifier chose. Then, for the
classifier and for the DNS, HTTP and TLS dissectors, the recorded calls are replayed through the
compiled kernel (what the engine runs) and through the pure-Python reference (the kernel's
specification and fallback), alternating, ``--runs`` times each; the best CPU time
(``time.process_time``) of each is reported per call and in total, with their ratio.

    .venv/bin/python bench/dissect_bench.py [CAPTURE] [--runs 5] [--json FILE]

The figures include the loop's own cost (one Python call per packet) on both sides.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src")]

from flowradar.capture.files import open_capture  # noqa: E402
from flowradar.config import EngineConfig  # noqa: E402
from flowradar.engine import l7, pipeline  # noqa: E402
from flowradar.engine.dissect import appid, dns, http, tls  # noqa: E402
from flowradar.engine.dissect.base import L7Packet  # noqa: E402
from flowradar.engine.pipeline import Engine  # noqa: E402
from flowradar.model.flow import L7Facts  # noqa: E402

DEFAULT_CAPTURE = Path("/tmp/flowradar-bench/mixed.pcap")
Flows = dict[str, list[list[L7Packet]]]
"""Application protocol -> the packets each of its flows fed to its dissector, in order."""


def record(capture: Path) -> tuple[list[L7Packet], Flows]:
    """Run the engine over ``capture``; return the classifier's calls and each dissector's flows."""
    classified: list[L7Packet] = []
    flows: dict[int, tuple[str, list[L7Packet]]] = {}

    class Recorder(l7.L7Dispatcher):
        def _classify(self, st: Any, pkt: L7Packet) -> Any:
            classified.append(pkt)
            return super()._classify(st, pkt)

        def on_packet(self, fid: int, *rest: Any) -> int:
            answer = super().on_packet(fid, *rest)
            st = self._flows.get(fid)
            if st is not None and st.facts.app_proto in l7.DISSECTORS and (st.dissector or answer == l7.STOP):
                direction, ts_ns, proto, oport, rport, seq, flags, payload = rest
                pkt = L7Packet(
                    direction, ts_ns / 1e9, l7._TRANSPORT[proto], oport, rport, payload, seq, flags
                )
                flows.setdefault(fid, (st.facts.app_proto, []))[1].append(pkt)
            return answer

    saved = getattr(pipeline, "L7Dispatcher")  # noqa: B009
    setattr(pipeline, "L7Dispatcher", Recorder)  # noqa: B010 (the engine builds its dispatcher by this name)
    try:
        for _ in Engine(EngineConfig()).run(open_capture(capture)):
            pass
    finally:
        setattr(pipeline, "L7Dispatcher", saved)  # noqa: B010
    by_app: Flows = {}
    for app, pkts in flows.values():
        by_app.setdefault(app, []).append(pkts)
    return classified, by_app


def replay(factory: Callable[[], Any], flows: list[list[L7Packet]]) -> float:
    """CPU seconds to feed every flow's packets to a fresh dissector (stopping where it asks)."""
    t = time.process_time()
    for pkts in flows:
        d, facts = factory(), L7Facts()
        for pkt in pkts:
            try:
                if not d.feed(pkt, facts):
                    break
            except Exception:
                break
    return time.process_time() - t


def classify(guess: Callable[..., Any], calls: list[L7Packet]) -> float:
    """CPU seconds of one classifier call per recorded packet."""
    t = time.process_time()
    for p in calls:
        guess(p.transport, p.orig_port, p.resp_port, p.payload)
    return time.process_time() - t


def best_of(runs: int, a: Callable[[], float], b: Callable[[], float]) -> tuple[float, float]:
    """Best CPU seconds of ``a`` and of ``b`` over ``runs`` alternating rounds."""
    ta = tb = float("inf")
    for _ in range(runs):
        ta, tb = min(ta, a()), min(tb, b())
    return ta, tb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?", type=Path, default=DEFAULT_CAPTURE)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if not args.capture.exists():
        sys.exit(f"error: {args.capture} not found (bench/engine_bench.py builds it)")
    calls, flows = record(args.capture)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

    def kernel_guess(transport: str, orig: int, resp: int, payload: bytes) -> Any:
        return appid.guess_by_payload(transport, orig, resp, 0, payload)

    rows: list[dict[str, Any]] = []
    kc, rc = best_of(
        args.runs,
        lambda: classify(kernel_guess, calls),
        lambda: classify(appid.reference_guess_by_payload, calls),
    )
    rows.append({"what": "classify", "calls": len(calls), "kernel_s": kc, "reference_s": rc})
    pairs: dict[str, tuple[tuple[str, ...], Callable[[], Any], Callable[[], Any]]] = {
        "dns": (("dns", "mdns", "llmnr"), dns.create, dns.ReferenceDnsDissector),
        "http": (("http", "http-proxy"), http.create, http.HttpDissector),
        "tls": (("tls",), tls.create, tls.TlsDissector),
    }
    for what, (apps, kernel, reference) in pairs.items():
        group = [f for app in apps for f in flows.get(app, [])]
        n = sum(map(len, group))
        k, r = best_of(
            args.runs, functools.partial(replay, kernel, group), functools.partial(replay, reference, group)
        )
        rows.append({"what": what, "calls": n, "kernel_s": k, "reference_s": r})
    print(f"{'what':10} {'calls':>8} {'kernel µs/call':>15} {'reference µs/call':>18} {'speed-up':>9}")
    for row in rows:
        n = max(row["calls"], 1)
        print(
            f"{row['what']:10} {row['calls']:>8} {row['kernel_s'] / n * 1e6:>15.2f} "
            f"{row['reference_s'] / n * 1e6:>18.2f} {row['reference_s'] / max(row['kernel_s'], 1e-9):>8.1f}x"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"capture": str(args.capture), "runs": args.runs, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
