"""Capture files: every corpus capture, stdin, timestamps against tshark, format conversions, chunk
boundaries, pcapng features and damaged input."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CORPUS, ROOT, truth, tshark_fields

from flowradar.capture.base import INDEX_ENTRY, INDEX_SIZE, SourceError
from flowradar.capture.files import FileSource, open_capture

Packet = tuple[int, int, int, int, bytes]
"""ts_ns, caplen, wirelen, linktype, packet bytes."""

CORPUS_FILES = sorted(p.name for p in (CORPUS / "pcaps").iterdir()) if (CORPUS / "pcaps").is_dir() else []


def read_all(source: FileSource) -> list[Packet]:
    """Every packet of a source, checking each batch's index against its buffer."""
    out: list[Packet] = []
    with source:
        for batch in source.batches():
            assert batch.count > 0
            assert len(batch.index) == batch.count * INDEX_SIZE
            for i in range(batch.count):
                off, ts, caplen, wirelen, linktype, pad = INDEX_ENTRY.unpack_from(batch.index, i * INDEX_SIZE)
                assert off >= 0 and off + caplen <= len(batch.data) and pad == 0
                out.append((ts, caplen, wirelen, linktype, batch.data[off : off + caplen]))
    assert source.stats.packets == len(out)
    assert source.stats.bytes == sum(p[1] for p in out)
    return out


def digest(packets: list[Packet]) -> str:
    h = hashlib.sha256()
    for ts, caplen, wirelen, linktype, data in packets:
        h.update(struct.pack("<qIIi", ts, caplen, wirelen, linktype) + data)
    return h.hexdigest()


def epoch_ns(text: str) -> int:
    """tshark's frame.time_epoch as integer nanoseconds (it prints an out-of-range fraction as is)."""
    sec, _, frac = text.partition(".")
    return int(sec) * 1_000_000_000 + (int(frac.ljust(9, "0")) if len(frac) <= 9 else int(frac))


# ---------------------------------------------------------------- pcapng writer for synthetic files


def _pad(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def block(order: str, btype: int, body: bytes) -> bytes:
    size = 12 + len(body)
    return struct.pack(order + "II", btype, size) + body + struct.pack(order + "I", size)


def shb(order: str) -> bytes:
    return block(order, 0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(order: str, linktype: int, snaplen: int = 0, tsresol: int | None = None, tsoffset: int = 0) -> bytes:
    opts = b""
    if tsresol is not None:
        opts += struct.pack(order + "HH", 9, 1) + _pad(bytes([tsresol]))
    if tsoffset:
        opts += struct.pack(order + "HHq", 14, 8, tsoffset)
    if opts:
        opts += struct.pack(order + "HH", 0, 0)
    return block(order, 1, struct.pack(order + "HHI", linktype, 0, snaplen) + opts)


def epb(order: str, ifid: int, ticks: int, data: bytes, wirelen: int | None = None) -> bytes:
    fields = struct.pack(
        order + "IIIII", ifid, ticks >> 32, ticks & 0xFFFFFFFF, len(data), wirelen or len(data)
    )
    return block(order, 6, fields + _pad(data))


def spb(order: str, data: bytes) -> bytes:
    return block(order, 3, struct.pack(order + "I", len(data)) + _pad(data))


def pb(order: str, ifid: int, ticks: int, data: bytes) -> bytes:
    fields = struct.pack(order + "HHIIII", ifid, 0, ticks >> 32, ticks & 0xFFFFFFFF, len(data), len(data))
    return block(order, 2, fields + _pad(data))


FRAME = bytes.fromhex("ffffffffffff02000000000108004500002e000100004011f96c0a0000010a000002") + bytes(26)


def synthetic_pcapng() -> tuple[bytes, list[tuple[int, int, int]]]:
    """Two sections (little then big endian), all packet block kinds, timestamp options, an unknown
    block and an undecoded link type; with the expected (ts_ns, caplen, linktype) of each packet."""
    le, be = "<", ">"
    data = shb(le) + idb(le, 1, tsoffset=1000) + epb(le, 0, 5_000_000, FRAME)
    data += idb(le, 1, tsresol=0x89) + epb(le, 1, 3 << 9, FRAME)  # 2**-9 s ticks
    data += spb(le, FRAME) + pb(le, 0, 7_000_000, FRAME)
    data += shb(be) + idb(be, 113, tsresol=3) + epb(be, 0, 1_234_567, FRAME) + block(be, 0xBAD, b"abcd")
    data += idb(be, 147, tsresol=12) + epb(be, 1, 5_000, FRAME[:20]) + spb(be, FRAME)
    expected = [
        (1005 * 10**9, 60, 1),
        (3 * 10**9, 60, 1),
        (3 * 10**9, 60, 1),  # a simple packet block has no timestamp: the previous one is used
        (1007 * 10**9, 60, 1),
        (1_234_567 * 10**6, 60, 113),
        (5, 20, 147),
        (5, 60, 113),
    ]
    return data, expected


def classic_pcap(records: list[tuple[int, int, bytes]], order: str = "<", nsec: bool = False) -> bytes:
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
    for sec, frac, data in records:
        out += struct.pack(order + "IIII", sec, frac, len(data), len(data)) + data
    return out


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- the corpus


@pytest.mark.corpus
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_corpus_capture_reads_like_tshark(corpus: Path, name: str) -> None:
    source = open_capture(corpus / "pcaps" / name)
    packets = read_all(source)
    assert source.bytes_read == source.file_size
    if not (corpus / "truth" / f"{name}.json").exists():
        return
    expected = truth(name)
    assert len(packets) == expected["packets"]
    if expected["capture"].get("truncated_file"):
        assert len(source.stats.warnings) == 1
        assert "truncated" in source.stats.warnings[0]
    else:
        assert source.stats.warnings == []


def _read_stdin_in_subprocess(data: bytes, batch_bytes: int) -> dict[str, Any]:
    code = (
        "import json, sys\n"
        "from flowradar.capture.files import open_capture\n"
        "from tests.capture.test_files import digest, read_all\n"
        f"s = open_capture('-', {batch_bytes})\n"
        "p = read_all(s)\n"
        "print(json.dumps({'n': len(p), 'digest': digest(p), 'warnings': s.stats.warnings,\n"
        "                  'size': s.file_size, 'read': s.bytes_read}))\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=data,
        capture_output=True,
        env=env,
        cwd=ROOT,
        check=True,
        timeout=120,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name", ["1kxun.pcap", "sites.pcapng", "quic-v2.pcapng", "ssh.pcap", "fuzz-2021-10-13.pcap"]
)
def test_stdin_pipe_gives_the_same_packets(corpus: Path, name: str) -> None:
    path = corpus / "pcaps" / name
    source = open_capture(path)
    packets = read_all(source)
    got = _read_stdin_in_subprocess(path.read_bytes(), 64 << 10)
    assert (got["n"], got["digest"]) == (len(packets), digest(packets))
    assert got["warnings"] == source.stats.warnings
    assert got["size"] is None and got["read"] == path.stat().st_size


def test_stdin_slow_writer_in_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data, expected = synthetic_pcapng()
    reference = read_all(open_capture(write(tmp_path, "s.pcapng", data)))
    read_fd, write_fd = os.pipe()

    def writer() -> None:
        with os.fdopen(write_fd, "wb", buffering=0) as fh:
            for i in range(0, len(data), 37):
                fh.write(data[i : i + 37])
                time.sleep(0.001)

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(os.fdopen(read_fd, "rb")))
    thread = threading.Thread(target=writer)
    thread.start()
    source = open_capture("-", batch_bytes=1 << 20)
    assert source.file_size is None
    packets = read_all(source)
    thread.join()
    assert packets == reference and len(packets) == len(expected)
    sys.stdin.close()


# ---------------------------------------------------------------- timestamps and conversions


@pytest.mark.corpus
@pytest.mark.parametrize(
    ("name", "linktype"),
    [("sites.pcapng", 1), ("quic-v2.pcapng", 113), ("tls_ech.pcapng", 1), ("fuzz-2021-10-13.pcap", 0)],
)
def test_timestamps_and_lengths_match_tshark(corpus: Path, name: str, linktype: int) -> None:
    path = corpus / "pcaps" / name
    packets = read_all(open_capture(path))
    rows = tshark_fields(path, "frame", ["frame.time_epoch", "frame.cap_len", "frame.len"])
    assert [(p[0], p[1], p[2]) for p in packets] == [(epoch_ns(t), int(c), int(w)) for t, c, w in rows]
    assert {p[3] for p in packets} == {linktype}


def _big_endian(pcap: bytes) -> bytes:
    """A little-endian microsecond pcap rewritten in big-endian byte order."""
    out = bytearray(struct.pack(">IHHiIII", *struct.unpack_from("<IHHiIII", pcap, 0)))
    pos = 24
    while pos + 16 <= len(pcap):
        sec, frac, caplen, wirelen = struct.unpack_from("<IIII", pcap, pos)
        out += struct.pack(">IIII", sec, frac, caplen, wirelen) + pcap[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen
    return bytes(out)


@pytest.mark.corpus
@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap is not installed")
def test_converted_captures_give_identical_index(corpus: Path, tmp_path: Path) -> None:
    original = corpus / "pcaps" / "1kxun.pcap"
    reference = read_all(open_capture(original))
    for fmt in ("pcapng", "nsecpcap"):
        out = tmp_path / f"converted.{fmt}"
        subprocess.run(["editcap", "-F", fmt, str(original), str(out)], check=True, capture_output=True)
        assert read_all(open_capture(out)) == reference, fmt
    big = write(tmp_path, "big.pcap", _big_endian(original.read_bytes()))
    assert big.read_bytes()[:4] == b"\xa1\xb2\xc3\xd4"
    assert read_all(open_capture(big)) == reference


@pytest.mark.corpus
@pytest.mark.parametrize("name", ["1kxun.pcap", "sites.pcapng", "http_ua_splitted_in_two_pkts.pcapng"])
def test_batch_boundaries_lose_and_duplicate_nothing(corpus: Path, name: str) -> None:
    path = corpus / "pcaps" / name
    reference = read_all(open_capture(path))
    for size in (1, 17, 1000, 65536):
        source = open_capture(path, batch_bytes=size)
        batches = 0
        packets: list[Packet] = []
        for batch in source.batches():
            batches += 1
            packets.extend(read_all_batch(batch))
        assert packets == reference, size
        assert batches > 1


def read_all_batch(batch: Any) -> list[Packet]:
    out: list[Packet] = []
    for i in range(batch.count):
        off, ts, caplen, wirelen, linktype, _ = INDEX_ENTRY.unpack_from(batch.index, i * INDEX_SIZE)
        out.append((ts, caplen, wirelen, linktype, batch.data[off : off + caplen]))
    return out


# ---------------------------------------------------------------- pcapng features


@pytest.mark.parametrize("batch_bytes", [1, 50, 4 << 20])
def test_synthetic_pcapng_features(tmp_path: Path, batch_bytes: int) -> None:
    data, expected = synthetic_pcapng()
    source = open_capture(write(tmp_path, "features.pcap", data), batch_bytes)
    packets = read_all(source)
    assert [(p[0], p[1], p[3]) for p in packets] == expected
    assert all(p[4] == FRAME[: p[1]] for p in packets)
    assert source.format == "pcapng"
    assert source.stats.warnings == ["link type 147 is not decoded: its packets are counted as non-IP"]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_synthetic_pcapng_timestamps_agree_with_tshark(tmp_path: Path) -> None:
    data, _ = synthetic_pcapng()
    path = write(tmp_path, "features.pcapng", data)
    packets = read_all(open_capture(path))
    rows = tshark_fields(path, "frame.cap_len > 0", ["frame.time_epoch", "frame.cap_len"])
    stamped = [(epoch_ns(t), int(c)) for t, c in rows if t]
    spb_positions = {2, 6}
    assert [(p[0], p[1]) for i, p in enumerate(packets) if i not in spb_positions] == stamped


# ---------------------------------------------------------------- damaged and foreign input


def test_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    cases = {
        "empty.pcap": (b"", "empty capture file"),
        "text.pcap": (b"hello, this is text\n", "not a pcap or pcapng capture"),
        "short.pcap": (b"\xd4\xc3\xb2\xa1\x02\x00", "capture truncated in its file header"),
        "short.pcapng": (b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00", "capture truncated in its file header"),
        "old.pcap": (struct.pack("<IHHiIII", 0xA1B2C3D4, 1, 0, 0, 0, 0, 1), "unsupported pcap version 1.0"),
        "badshb.pcapng": (shb("<")[:-4] + b"\0\0\0\0", "corrupt pcapng section header"),
    }
    for name, (data, message) in cases.items():
        path = write(tmp_path, name, data)
        with pytest.raises(SourceError, match=message):
            open_capture(path)
    with pytest.raises(SourceError, match=f"not a pcap or pcapng capture: {tmp_path / 'text.pcap'}$"):
        open_capture(tmp_path / "text.pcap")
    with pytest.raises(SourceError, match="cannot open"):
        open_capture(tmp_path / "missing.pcap")
    with pytest.raises(SourceError, match="cannot open"):
        open_capture(tmp_path)


def test_truncated_pcap_keeps_what_came_before(tmp_path: Path) -> None:
    data = classic_pcap([(1, 2, FRAME), (3, 4, FRAME), (5, 6, FRAME)])
    for cut in (len(data) - 1, len(data) - len(FRAME) - 10, len(data) - len(FRAME) - 15):
        source = open_capture(write(tmp_path, "cut.pcap", data[:cut]), batch_bytes=40)
        assert len(read_all(source)) == 2
        start = 24 + 2 * (16 + len(FRAME))
        assert source.stats.warnings == [
            f"capture truncated at byte {start} (partial packet record); 2 packets read"
        ]


def test_bogus_record_length_stops_with_one_warning(tmp_path: Path) -> None:
    data = bytearray(classic_pcap([(1, 2, FRAME), (3, 4, FRAME), (5, 6, FRAME)]))
    second = 24 + 16 + len(FRAME)
    struct.pack_into("<I", data, second + 8, 0x7FFFFFFF)
    source = open_capture(write(tmp_path, "bogus.pcap", bytes(data)))
    assert len(read_all(source)) == 1
    assert source.stats.warnings == [
        f"capture corrupt at byte {second} (bogus packet record length 2147483647); 1 packet read"
    ]


def test_pcap_oddities_that_tshark_reads(tmp_path: Path) -> None:
    # a fraction of a second out of range is kept as is
    odd = classic_pcap([(1, 1_999_999, FRAME), (2, 5, FRAME)])
    assert [p[0] for p in read_all(open_capture(write(tmp_path, "frac.pcap", odd)))] == [
        1_000_000_000 + 1_999_999_000,
        2_000_005_000,
    ]
    nsec = classic_pcap([(7, 123_456_789, FRAME)], order=">", nsec=True)
    assert read_all(open_capture(write(tmp_path, "nsec.pcap", nsec)))[0][0] == 7_123_456_789
    # version 2.2 wrote captured and original length the other way round
    legacy = bytearray(classic_pcap([(1, 0, FRAME)]))
    struct.pack_into("<HH", legacy, 4, 2, 2)
    struct.pack_into("<II", legacy, 24 + 8, 1500, len(FRAME))
    [(_, caplen, wirelen, _, _)] = read_all(open_capture(write(tmp_path, "v22.pcap", bytes(legacy))))
    assert (caplen, wirelen) == (len(FRAME), 1500)


def test_unsupported_pcap_linktype_warns_once(tmp_path: Path) -> None:
    data = bytearray(classic_pcap([(1, 0, FRAME), (2, 0, FRAME)]))
    struct.pack_into("<I", data, 20, 147)
    source = open_capture(write(tmp_path, "lt.pcap", bytes(data)))
    assert [p[3] for p in read_all(source)] == [147, 147]
    assert source.stats.warnings == ["link type 147 is not decoded: its packets are counted as non-IP"]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d, at: d[:at] + b"\x06\x00\x00\x00\x0d\x00\x00\x00" + d[at + 8 :], "bad block length 13"),
        (lambda d, at: d[: at + 4] + struct.pack("<I", 1 << 30) + d[at + 8 :], "bad block length 1073741824"),
        (lambda d, at: d[: at + 8] + b"\x05" + d[at + 9 :], "packet of undeclared interface 5"),
        (lambda d, at: d[:-4] + b"\x00\x00\x00\x00", "does not match its trailing copy"),
    ],
)
def test_corrupt_pcapng_block_stops_with_one_warning(tmp_path: Path, damage: Any, message: str) -> None:
    good = shb("<") + idb("<", 1) + epb("<", 0, 1, FRAME)
    last = epb("<", 0, 2, FRAME)
    source = open_capture(write(tmp_path, "bad.pcapng", damage(good + last, len(good))), batch_bytes=7)
    assert len(read_all(source)) == 1
    [warning] = source.stats.warnings
    assert warning.startswith(f"capture corrupt at byte {len(good)} (") and message in warning
    assert warning.endswith("; 1 packet read")


def test_partial_pcapng_block_is_a_truncation(tmp_path: Path) -> None:
    good = shb("<") + idb("<", 1) + epb("<", 0, 1, FRAME)
    source = open_capture(write(tmp_path, "cut.pcapng", good + epb("<", 0, 2, FRAME)[:30]))
    assert len(read_all(source)) == 1
    assert source.stats.warnings == [f"capture truncated at byte {len(good)} (partial block); 1 packet read"]


def test_stdin_that_is_not_a_file_is_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("not a descriptor"))
    with pytest.raises(SourceError, match="cannot read a capture from standard input"):
        open_capture("-")
