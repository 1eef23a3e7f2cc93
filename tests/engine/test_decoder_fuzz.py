"""Fuzz the compiled decoder and flow table, the fragment reassembler and the L7 dispatch.

Random bytes and mutated real packets (bit flips, truncations, bogus lengths) under every link
type must never crash the process or raise: bad packets are counted, not fatal.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowradar.capture.base import PacketBatch, pack_index
from flowradar.capture.files import open_capture
from flowradar.config import EngineConfig
from flowradar.engine.fragments import Reassembler
from flowradar.engine.pipeline import Engine

LINKTYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276, 147]


def batch_of(packets: list[bytes], linktype: int) -> PacketBatch:
    data = b"".join(packets)
    entries, off = [], 0
    for i, p in enumerate(packets):
        entries.append((off, 1_600_000_000_000_000_000 + i * 1000, len(p), len(p), linktype))
        off += len(p)
    return PacketBatch(data, pack_index(entries), len(packets))


def real_packets(corpus: Path, names: list[str]) -> list[tuple[bytes, int]]:
    out = []
    for name in names:
        src = open_capture(corpus / "pcaps" / name)
        for b in src.batches():
            view = memoryview(b.index).cast("B")
            for i in range(b.count):
                e = view[i * 32 : (i + 1) * 32].tobytes()
                off, _ts, cap, _wire, lt, _pad = __import__("struct").unpack("<qqIIiI", e)
                out.append((b.data[off : off + cap], lt))
        src.close()
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=20), st.sampled_from(LINKTYPES))
def test_random_packets(packets: list[bytes], linktype: int) -> None:
    engine = Engine(EngineConfig(max_flows=16))
    engine.feed(batch_of(packets, linktype))
    engine.finish()
    assert engine.stats().packets == len(packets)


@pytest.fixture(scope="module")
def samples(corpus: Path) -> list[tuple[bytes, int]]:
    names = [
        "mixed-vlan-mpls.pcap",
        "dns_fragmented.pcap",
        "ipv6-fragmented-dns.pcap",
        "quic-v2.pcapng",
        "tls_ech.pcapng",
        "http-qinq-0.pcap",
        "dns.pcap",
        "ipv6.pcap",
    ]
    return real_packets(corpus, names)


def test_mutated_real_packets(samples: list[tuple[bytes, int]]) -> None:
    rng = random.Random(1234)
    engine = Engine(EngineConfig(max_flows=64))
    total = 0
    for _round in range(30):
        packets, lts = [], []
        for data, lt in rng.sample(samples, min(200, len(samples))):
            buf = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                if buf:
                    buf[rng.randrange(len(buf))] = rng.randrange(256)
            if rng.random() < 0.3:
                buf = buf[: rng.randrange(len(buf) + 1)]
            packets.append(bytes(buf))
            lts.append(lt)
        for lt in set(lts):
            group = [p for p, x in zip(packets, lts, strict=True) if x == lt]
            engine.feed(batch_of(group, lt))
            total += len(group)
    engine.finish()
    assert engine.stats().packets == total


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=120), min_size=1, max_size=30))
def test_reassembler_garbage(fragments: list[bytes]) -> None:
    r = Reassembler(max_datagrams=8)
    for i, frag in enumerate(fragments):
        r.add(i, b"\x45" + frag if i % 2 else b"\x60" + frag, len(frag) + 1, 0)
