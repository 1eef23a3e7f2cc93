"""Fuzzing open_capture: random bytes and damaged real capture heads raise SourceError or nothing, and
every index entry stays inside its buffer."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.capture.test_files import synthetic_pcapng
from tests.conftest import CORPUS

from flowradar.capture.base import INDEX_ENTRY, INDEX_SIZE, SourceError
from flowradar.capture.files import open_capture

MAGICS = [
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
]
SEED_NAMES = ["dns.pcap", "quic-v2.pcapng", "fuzz-2021-10-13.pcap", "http-vlan-0.pcap", "tls_ech.pcapng"]


def _seeds() -> list[bytes]:
    """Heads of real captures (when the corpus is there) and of a synthetic pcapng."""
    seeds = [synthetic_pcapng()[0]]
    for name in SEED_NAMES:
        path = CORPUS / "pcaps" / name
        if path.is_file():
            seeds.append(path.read_bytes()[:3000])
    return seeds


SEEDS = _seeds()
_DIR = Path(tempfile.mkdtemp(prefix="flowradar-fuzz-"))
_NAMES = (_DIR / f"case{i}.pcap" for i in itertools.count())


def _read(data: bytes, batch_bytes: int) -> None:
    """Open and read ``data`` as a capture file; check each batch and the warnings."""
    path = next(_NAMES)
    path.write_bytes(data)
    try:
        try:
            source = open_capture(path, batch_bytes)
        except SourceError as exc:
            assert str(exc) and "\n" not in str(exc)
            return
        packets = 0
        with source:
            for batch in source.batches():
                assert len(batch.index) == batch.count * INDEX_SIZE
                for i in range(batch.count):
                    off, _ts, caplen, _wire, _lt, _pad = INDEX_ENTRY.unpack_from(batch.index, i * INDEX_SIZE)
                    assert off >= 0 and off + caplen <= len(batch.data)
                packets += batch.count
        assert source.stats.packets == packets
        stops = [w for w in source.stats.warnings if w.startswith("capture ")]
        assert len(stops) <= 1
    finally:
        path.unlink()


@st.composite
def damaged(draw: st.DrawFn) -> bytes:
    """A real capture head, cut short and with a few bytes overwritten."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    data = data[: draw(st.integers(0, len(data)))]
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return bytes(data)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=2000), batch_bytes=st.integers(1, 4096))
def test_random_bytes(data: bytes, batch_bytes: int) -> None:
    _read(data, batch_bytes)


@FUZZ
@given(magic=st.sampled_from(MAGICS), rest=st.binary(max_size=2000), batch_bytes=st.integers(1, 4096))
def test_random_bytes_after_a_magic_number(magic: bytes, rest: bytes, batch_bytes: int) -> None:
    _read(magic + rest, batch_bytes)


@FUZZ
@given(data=damaged(), batch_bytes=st.sampled_from([1, 7, 64, 1000, 4 << 20]))
def test_damaged_real_captures(data: bytes, batch_bytes: int) -> None:
    _read(data, batch_bytes)
