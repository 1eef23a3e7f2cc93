"""Capture files: classic pcap and pcapng from a path or standard input, read in bounded chunks.

The format is recognised by its magic number, never by the file name. Each chunk of about
``batch_bytes`` becomes one :class:`~flowradar.capture.base.PacketBatch` whose index points into the
chunk; the incomplete record at the end of a chunk is carried over to the next one. A capture that is
cut short or corrupt part way through keeps every packet before the damage and gets one warning.
"""

from __future__ import annotations

import io
import os
import select
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Protocol

from flowradar.capture.base import PacketBatch, SourceError, SourceStats
from flowradar.capture.pcap import (
    PCAP_HEADER_SIZE,
    PCAP_NSEC_MAGICS,
    PCAP_USEC_MAGICS,
    Indexed,
    PcapIndexer,
)
from flowradar.capture.pcapng import BYTE_ORDER, MAX_BLOCK, SHB_MAGIC, PcapngIndexer

DEFAULT_BATCH_BYTES = 4 << 20


class _Indexer(Protocol):
    unit: str

    def index(self, buf: bytes | bytearray) -> Indexed: ...


class _Stream:
    """An unbuffered binary input: a regular file, a pipe or a terminal, with a read position."""

    def __init__(self, raw: io.FileIO) -> None:
        self._raw = raw
        info = os.fstat(raw.fileno())
        self.regular = stat.S_ISREG(info.st_mode)
        self.size: int | None = info.st_size if self.regular else None
        self.position = 0

    @classmethod
    def open(cls, path: str) -> _Stream:
        """Open ``path`` ('-' is standard input, which is never closed by :meth:`close`)."""
        if path == "-":
            try:
                raw = io.FileIO(sys.stdin.fileno(), "rb", closefd=False)
            except (AttributeError, OSError, ValueError):
                raise SourceError("cannot read a capture from standard input: there is none") from None
            if raw.isatty():
                raise SourceError("cannot read a capture from standard input: it is a terminal")
            return cls(raw)
        try:
            return cls(io.FileIO(path, "rb"))
        except OSError as exc:
            raise SourceError(f"cannot open {path}: {exc.strerror or exc}") from None

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes, b'' only at the end of input (see :meth:`read_after`)."""
        return bytes(self.read_after(b"", size))

    def read_after(self, prefix: bytes, size: int) -> bytearray:
        """``prefix`` followed by up to ``size`` bytes read into the same buffer (no copy of what
        was read); nothing added only at the end of input.

        A regular file is read until ``size``; a pipe only for as long as data is already waiting,
        so that a slow writer (tcpdump -w -) does not hold packets back.
        """
        start = len(prefix)
        buf = bytearray(start + size)
        buf[:start] = prefix
        got = 0
        with memoryview(buf) as view:
            while got < size:
                if got and not self.regular and not select.select([self._raw], [], [], 0)[0]:
                    break
                n = self._raw.readinto(view[start + got :])
                if n is None:  # non-blocking descriptor with nothing to read yet
                    select.select([self._raw], [], [])
                    continue
                if not n:
                    break
                got += n
        del buf[start + got :]
        self.position += got
        return buf

    def read_exact(self, size: int) -> bytes:
        """``size`` bytes, fewer only at the end of input."""
        data = b""
        while len(data) < size:
            piece = self.read(size - len(data))
            if not piece:
                break
            data += piece
        return data

    def close(self) -> None:
        """Close the file (standard input stays open)."""
        self._raw.close()


class FileSource:
    """A pcap or pcapng capture read in chunks; see :func:`open_capture`."""

    def __init__(self, name: str, stream: _Stream, indexer: _Indexer, start: int, batch_bytes: int) -> None:
        self.name = name
        """The path given, '-' for standard input."""
        self.format = "pcapng" if isinstance(indexer, PcapngIndexer) else "pcap"
        """'pcap' or 'pcapng'."""
        self.stats = SourceStats()
        self._stream = stream
        self._indexer = indexer
        self._start = start
        self._batch_bytes = max(1, batch_bytes)
        self._started = False

    @property
    def file_size(self) -> int | None:
        """Size of the capture file in bytes (None for standard input or a pipe)."""
        return self._stream.size

    @property
    def bytes_read(self) -> int:
        """Bytes read from the input so far (for a progress bar against :attr:`file_size`)."""
        return self._stream.position

    def batches(self) -> Iterator[PacketBatch]:
        """Yield the packets in capture order, one batch per chunk read (only once per source)."""
        if self._started:
            return
        self._started = True
        tail, base, need = b"", self._start, 0
        while True:
            buf = self._read_after(tail, max(self._batch_bytes, need - len(tail)))
            if len(buf) == len(tail):
                if tail:
                    self._stop(base, f"partial {self._indexer.unit}", "truncated")
                return
            done = self._indexer.index(buf)
            if done.count:
                self.stats.packets += done.count
                self.stats.bytes += done.payload
                yield PacketBatch(buf, done.index, done.count)
            if done.problem is not None:
                self._stop(base + done.end, done.problem, "corrupt")
                return
            tail, base, need = bytes(buf[done.end :]), base + done.end, done.need

    def close(self) -> None:
        """Release the file."""
        self._stream.close()

    def __enter__(self) -> FileSource:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _read_after(self, tail: bytes, size: int) -> bytearray:
        try:
            return self._stream.read_after(tail, size)
        except (OSError, ValueError) as exc:
            raise SourceError(f"cannot read {self.name}: {exc}") from None

    def _stop(self, offset: int, why: str, what: str) -> None:
        n = self.stats.packets
        self.stats.warnings.append(
            f"capture {what} at byte {offset} ({why}); {n} packet{'' if n == 1 else 's'} read"
        )


def open_capture(path: str | Path, batch_bytes: int = DEFAULT_BATCH_BYTES) -> FileSource:
    """Open a pcap or pcapng capture; ``path`` '-' reads standard input.

    Reading is in chunks of about ``batch_bytes``. Raises :class:`SourceError` when the input cannot
    be opened, is empty, is neither pcap nor pcapng, or its file header is unusable.
    """
    name = str(path)
    stream = _Stream.open(name)
    try:
        return _sniff(name, stream, batch_bytes)
    except SourceError:
        stream.close()
        raise
    except OSError as exc:
        stream.close()
        raise SourceError(f"cannot read {name}: {exc.strerror or exc}") from None


def _sniff(name: str, stream: _Stream, batch_bytes: int) -> FileSource:
    """Read the file header, choose the indexer by magic number and build the source."""
    magic = stream.read_exact(4)
    if not magic:
        raise SourceError(f"empty capture file: {name}")
    warnings: list[str] = []
    if magic in PCAP_USEC_MAGICS or magic in PCAP_NSEC_MAGICS:
        header = magic + stream.read_exact(PCAP_HEADER_SIZE - 4)
        if len(header) < PCAP_HEADER_SIZE:
            raise SourceError(f"capture truncated in its file header: {name}")
        try:
            indexer: _Indexer = PcapIndexer(header, warnings.append)
        except ValueError as exc:
            raise SourceError(f"{exc}: {name}") from None
        source = FileSource(name, stream, indexer, PCAP_HEADER_SIZE, batch_bytes)
    elif magic == SHB_MAGIC:
        pcapng = PcapngIndexer(warnings.append)
        length = _first_section(name, stream, pcapng, magic)
        source = FileSource(name, stream, pcapng, length, batch_bytes)
    else:
        raise SourceError(f"not a pcap or pcapng capture: {name}")
    source.stats.warnings = warnings
    return source


def _first_section(name: str, stream: _Stream, indexer: PcapngIndexer, magic: bytes) -> int:
    """Read and check the first Section Header Block; return its length."""
    head = magic + stream.read_exact(8)
    if len(head) < 12:
        raise SourceError(f"capture truncated in its file header: {name}")
    order = BYTE_ORDER.get(head[8:12])
    if order is None:
        raise SourceError(f"not a pcap or pcapng capture: {name}")
    length = int.from_bytes(head[4:8], "little" if order == "<" else "big")
    if length > MAX_BLOCK:
        raise SourceError(f"corrupt pcapng section header (bad block length {length}): {name}")
    block = head + stream.read_exact(length - len(head))
    if len(block) < length:
        raise SourceError(f"capture truncated in its file header: {name}")
    done = indexer.index(block)
    if done.problem is not None or done.end != length:
        raise SourceError(f"corrupt pcapng section header ({done.problem or 'bad length'}): {name}")
    return length
