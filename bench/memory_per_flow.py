"""Bytes per tracked flow of the compiled flow table (flowradar.engine._fastpath.FlowTable).

Feeds the churn capture (every flow kept: idle and active timeouts set far beyond the capture) to one
FlowTable and reports two figures:

* table bytes per flow: ``stats()['table_bytes'] / stats()['active_flows']``, the engine's own
  accounting of its slot array and hash buckets (slack of the last doubling included);
* RSS bytes per flow: growth of the process's anonymous resident memory (RssAnon, so the mapped
  capture file does not count) from before the table was made to after the last batch, over the
  flows it holds. This also sees whatever the table allocates outside its own accounting.

Packets come from ``flowradar.capture.files.open_capture`` when that exists, else the file is mapped
and indexed with ``_fastpath.index_pcap``. IP fragments are counted, not reassembled; L7 payload
items are dropped (this measures the table, not the dissectors). Target: at most 300 bytes per flow.

Usage: python bench/memory_per_flow.py [--capture FILE] [--max-flows N] [--batch N] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import importlib
import json
import mmap
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import TARGET_BYTES_PER_FLOW, ensure_capture

NEVER_NS = 10**18  # ~31 years: no flow idles or ages out during the capture
PCAP_MAGIC = {  # first four bytes -> (file is big endian, nanosecond timestamps)
    b"\xd4\xc3\xb2\xa1": (False, False),
    b"\xa1\xb2\xc3\xd4": (True, False),
    b"\x4d\x3c\xb2\xa1": (False, True),
    b"\xa1\xb2\x3c\x4d": (True, True),
}


def rss_anon_bytes() -> int:
    """Anonymous resident memory of this process (Linux /proc/self/status RssAnon), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("RssAnon not in /proc/self/status")


def trim_heap() -> None:
    """Collect garbage and hand freed heap back to the OS so RSS shows what is really held."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


class DirectReader:
    """The file mapped and indexed once with index_pcap; batches are slices of that index.

    Made before the memory baseline is taken, so neither the index nor the mapping counts as growth.
    """

    def __init__(self, path: Path, batch: int, fastpath: Any) -> None:
        self._file = path.open("rb")
        self.buf = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        head = bytes(self.buf[:24])
        if head[:4] not in PCAP_MAGIC:
            raise SystemExit(f"{path}: not a classic pcap file")
        big_endian, nsec = PCAP_MAGIC[head[:4]]
        swapped = big_endian != (sys.byteorder == "big")
        linktype = struct.unpack((">" if big_endian else "<") + "I", head[20:24])[0] & 0x0FFFFFFF
        self.index, count, _end, bad = fastpath.index_pcap(self.buf, 24, swapped, nsec, linktype)
        if bad:
            print(f"warning: {path}: bad record header after {count} packets", file=sys.stderr)
        self.step = 32 * batch

    def batches(self) -> Iterator[tuple[Any, Any]]:
        view = memoryview(self.index)
        try:
            for off in range(0, len(self.index), self.step):
                yield self.buf, view[off : off + self.step]
        finally:
            view.release()

    def close(self) -> None:
        self.buf.close()
        self._file.close()


def batches_source(path: Path, opener: Any) -> Iterator[tuple[Any, Any]]:
    """Batches from the project's own capture reader (flowradar.capture.files.open_capture)."""
    source = opener(str(path))
    try:
        it = source.batches() if hasattr(source, "batches") else iter(source)
        for b in it:
            yield b.data, b.index
    finally:
        close = getattr(source, "close", None)
        if callable(close):
            close()


def feed(table: Any, batches: Iterator[tuple[Any, Any]]) -> int:
    """Account every batch; return the number of IP fragments seen (not reassembled here)."""
    fragments = 0
    for data, index in batches:
        frags = table.process(data, index)
        fragments += len(frags)
        table.drain()  # flows ended by FIN/RST leave the table; their export records are dropped
    return fragments


def measure(capture: Path, max_flows: int, batch: int, reader: str) -> dict[str, Any]:
    _fastpath: Any = importlib.import_module("flowradar.engine._fastpath")
    opener: Any = None
    if reader in ("auto", "source"):
        try:
            opener = importlib.import_module("flowradar.capture.files").open_capture
        except (ImportError, AttributeError):
            if reader == "source":
                raise
    direct = None if opener is not None else DirectReader(capture, batch, _fastpath)
    trim_heap()
    rss_before = rss_anon_bytes()
    table = _fastpath.FlowTable(max_flows=max_flows, idle_timeout_ns=NEVER_NS, active_timeout_ns=NEVER_NS)
    start = time.perf_counter()
    if direct is not None:
        used = "_fastpath.index_pcap (direct)"
        fragments = feed(table, direct.batches())
    else:
        used = "flowradar.capture.files.open_capture"
        fragments = feed(table, batches_source(capture, opener))
    seconds = time.perf_counter() - start
    trim_heap()
    rss_after = rss_anon_bytes()
    stats: dict[str, Any] = dict(table.stats())
    flows = int(stats["active_flows"])
    table_bytes = int(stats["table_bytes"])
    growth = rss_after - rss_before
    result: dict[str, Any] = {
        "capture": str(capture),
        "reader": used,
        "max_flows": max_flows,
        "packets": int(stats["packets"]),
        "seconds": round(seconds, 4),
        "flows_created": int(stats["flows_created"]),
        "exported": int(stats["exported"]),
        "evicted": int(stats["evicted"]),
        "fragments_skipped": fragments,
        "active_flows": flows,
        "capacity": int(stats["capacity"]),
        "flow_slot_bytes": int(_fastpath.flow_size()),
        "table_bytes": table_bytes,
        "table_bytes_per_flow": round(table_bytes / flows, 1) if flows else None,
        "table_bytes_per_slot": round(table_bytes / stats["capacity"], 1) if stats["capacity"] else None,
        "rss_growth_bytes": growth,
        "rss_bytes_per_flow": round(growth / flows, 1) if flows else None,
        "target_bytes_per_flow": TARGET_BYTES_PER_FLOW,
    }
    del table
    if direct is not None:
        direct.close()
    return result


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--capture", type=Path, help="pcap to feed (default: the churn benchmark capture)")
    parser.add_argument(
        "--max-flows", type=int, default=4_000_000, help="table limit, above the flows expected (4000000)"
    )
    parser.add_argument("--batch", type=int, default=65536, help="packets per process() call (65536)")
    parser.add_argument(
        "--reader", choices=("auto", "source", "direct"), default="auto", help="where batches come from"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON line instead of text")
    args = parser.parse_args(argv)

    capture = args.capture or ensure_capture("churn")
    res = measure(capture, args.max_flows, args.batch, args.reader)
    if args.json:
        print(json.dumps(res))
        return 0
    print(f"capture        {res['capture']} ({res['packets']} packets, read by {res['reader']})")
    print(
        f"flows          {res['active_flows']} held ({res['flows_created']} created, "
        f"{res['exported']} ended by FIN/RST, {res['evicted']} evicted)"
    )
    print(
        f"table          {res['table_bytes']} bytes, {res['capacity']} slots of {res['flow_slot_bytes']} B "
        f"({res['table_bytes_per_slot']} B per slot with buckets)"
    )
    verdict = (
        "met"
        if res["table_bytes_per_flow"] is not None and res["table_bytes_per_flow"] <= TARGET_BYTES_PER_FLOW
        else "NOT met"
    )
    print(
        f"bytes per flow {res['table_bytes_per_flow']} (table accounting), "
        f"{res['rss_bytes_per_flow']} (RssAnon growth {res['rss_growth_bytes']} B); "
        f"target <= {TARGET_BYTES_PER_FLOW}: {verdict}"
    )
    print(f"time           {res['seconds']} s in process()")
    return 0


if __name__ == "__main__":
    sys.exit(main())
