"""Peer for the engine benchmark: count the flows nfstream finds in a capture.

Usage: python bench/peer_nfstream.py CAPTURE [--n-dissections N]

Runs NFStreamer over the file with nDPI dissection on (n_dissections=20, nfstream's default),
statistical analysis off and one meter process, iterates every flow, and prints one JSON line:
{"flows": ..., "seconds": ...} where seconds covers the streaming loop only (no interpreter start-up).
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture")
    parser.add_argument("--n-dissections", type=int, default=20)
    args = parser.parse_args(argv)

    from nfstream import NFStreamer  # imported here so --help works without nfstream

    start = time.perf_counter()
    streamer = NFStreamer(
        source=args.capture,
        n_dissections=args.n_dissections,
        statistical_analysis=False,
        n_meters=1,
    )
    flows = sum(1 for _ in streamer)
    seconds = time.perf_counter() - start
    print(json.dumps({"flows": flows, "seconds": round(seconds, 6)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
