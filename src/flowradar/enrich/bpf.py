"""A minimal eBPF toolkit on the stdlib: the bpf() and perf_event_open() system calls through ctypes,
a tiny assembler, hash maps and tracepoint attachment.

Only what process attribution needs (tracepoint programs, LRU hash maps) and nothing that needs a C
compiler, libbpf or BTF relocations: programs read tracepoint records whose field offsets come from
tracefs (``events/<group>/<name>/format``).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# System call numbers by architecture: (bpf, perf_event_open).
_SYSCALLS = {"x86_64": (321, 298), "aarch64": (280, 241), "riscv64": (280, 241), "ppc64le": (361, 319)}

BPF_MAP_CREATE, BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM = 0, 1, 2, 3
BPF_MAP_GET_NEXT_KEY, BPF_PROG_LOAD = 4, 5
BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_LRU_HASH = 1, 9
BPF_PROG_TYPE_TRACEPOINT = 5
BPF_ANY, BPF_NOEXIST = 0, 1

# Helper function ids (include/uapi/linux/bpf.h).
MAP_LOOKUP_ELEM, MAP_UPDATE_ELEM, MAP_DELETE_ELEM = 1, 2, 3
KTIME_GET_NS, GET_CURRENT_PID_TGID, GET_CURRENT_COMM = 5, 14, 16
PROBE_READ_KERNEL_STR = 115

_PERF_TYPE_TRACEPOINT = 2
_PERF_FLAG_FD_CLOEXEC = 8
_PERF_EVENT_IOC_ENABLE = 0x2400
_PERF_EVENT_IOC_SET_BPF = 0x40042408
_ATTR_SIZE = 128

TRACEFS_DIRS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))


class BpfError(OSError):
    """eBPF is not usable here (no privilege, no tracefs, verifier refusal): one line, with the cause."""


class _Libc:
    """ctypes access to syscall(2) and ioctl(2) (created per tracer, never at import)."""

    def __init__(self) -> None:
        numbers = _SYSCALLS.get(platform.machine())
        if numbers is None:
            raise BpfError(f"eBPF tracing is not supported on {platform.machine()}")
        self.nr_bpf, self.nr_perf = numbers
        self.lib = ctypes.CDLL(None, use_errno=True)
        self.lib.syscall.restype = ctypes.c_long
        self.lib.ioctl.restype = ctypes.c_int

    def bpf(self, cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
        """bpf(2); raises BpfError on failure."""
        ret = int(self.lib.syscall(self.nr_bpf, ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr))))
        if ret < 0:
            err = ctypes.get_errno()
            raise BpfError(err, os.strerror(err))
        return ret

    def bpf_quiet(self, cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
        """Like :meth:`bpf` but returns -errno instead of raising (map iteration ends with ENOENT)."""
        ret = int(self.lib.syscall(self.nr_bpf, ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr))))
        return -ctypes.get_errno() if ret < 0 else ret

    def perf_event_open(self, attr: ctypes.Array[ctypes.c_char]) -> int:
        """perf_event_open(2) for every process on CPU 0 (a tracepoint program runs on all CPUs)."""
        args = (ctypes.c_int(-1), ctypes.c_int(0), ctypes.c_int(-1), ctypes.c_ulong(_PERF_FLAG_FD_CLOEXEC))
        ret = int(self.lib.syscall(self.nr_perf, attr, *args))
        if ret < 0:
            err = ctypes.get_errno()
            raise BpfError(err, f"perf_event_open: {os.strerror(err)}")
        return ret

    def ioctl(self, fd: int, request: int, arg: int) -> None:
        """ioctl(2) with an integer argument; raises BpfError on failure."""
        if self.lib.ioctl(ctypes.c_int(fd), ctypes.c_ulong(request), ctypes.c_ulong(arg)) < 0:
            err = ctypes.get_errno()
            raise BpfError(err, f"ioctl: {os.strerror(err)}")


def _addr(buf: ctypes.Array[ctypes.c_char]) -> int:
    return ctypes.addressof(buf)


class Asm:
    """Assembler for the few eBPF instructions the tracer programs use, with forward labels."""

    def __init__(self) -> None:
        self._code: list[tuple[int, int, int, int, int, str | None]] = []
        self._labels: dict[str, int] = {}

    def _emit(self, code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> None:
        self._code.append((code, dst, src, off, imm, None))

    def label(self, name: str) -> None:
        """Mark the next instruction as a jump target."""
        self._labels[name] = len(self._code)

    def mov(self, dst: int, src: int) -> None:
        """dst = src (64-bit registers)."""
        self._emit(0xBF, dst, src)

    def movi(self, dst: int, imm: int) -> None:
        """dst = imm."""
        self._emit(0xB7, dst, imm=imm)

    def addi(self, dst: int, imm: int) -> None:
        """dst += imm."""
        self._emit(0x07, dst, imm=imm)

    def add(self, dst: int, src: int) -> None:
        """dst += src."""
        self._emit(0x0F, dst, src)

    def rshi(self, dst: int, imm: int) -> None:
        """dst >>= imm (logical)."""
        self._emit(0x77, dst, imm=imm)

    def andi(self, dst: int, imm: int) -> None:
        """dst &= imm."""
        self._emit(0x57, dst, imm=imm)

    def ldx(self, size: int, dst: int, src: int, off: int) -> None:
        """dst = *(uSIZE *)(src + off), size in bytes (1, 2, 4, 8)."""
        self._emit(0x61 | {4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18}[size], dst, src, off)

    def stx(self, size: int, dst: int, off: int, src: int) -> None:
        """*(uSIZE *)(dst + off) = src."""
        self._emit(0x63 | {4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18}[size], dst, src, off)

    def st(self, size: int, dst: int, off: int, imm: int) -> None:
        """*(uSIZE *)(dst + off) = imm."""
        self._emit(0x62 | {4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18}[size], dst, 0, off, imm)

    def jump(self, op: str, dst: int, imm: int, target: str) -> None:
        """Conditional jump on dst against an immediate: op is one of eq, ne, sgt, gt."""
        code = {"eq": 0x15, "ne": 0x55, "gt": 0x25, "sgt": 0x65}[op]
        self._code.append((code, dst, 0, 0, imm, target))

    def goto(self, target: str) -> None:
        """Unconditional jump."""
        self._code.append((0x05, 0, 0, 0, 0, target))

    def call(self, helper: int) -> None:
        """Call a kernel helper; arguments in r1-r5, result in r0, r1-r5 clobbered."""
        self._emit(0x85, imm=helper)

    def ld_map(self, dst: int, map_fd: int) -> None:
        """dst = address of the map with this file descriptor (two instruction slots)."""
        self._emit(0x18, dst, 1, imm=map_fd)
        self._emit(0x00)

    def exit(self) -> None:
        """Return r0."""
        self._emit(0x95)

    def zero_stack(self, start: int, size: int) -> None:
        """Zero the stack from r10+start for size bytes (multiple of 8)."""
        for off in range(start, start + size, 8):
            self.st(8, 10, off, 0)

    def assemble(self) -> bytes:
        """The program as bytes, jumps resolved."""
        out = bytearray()
        for pc, (code, dst, src, off, imm, target) in enumerate(self._code):
            if target is not None:
                off = self._labels[target] - pc - 1
            out += struct.pack("<BBhi", code, (src << 4) | dst, off, imm)
        return bytes(out)


@dataclass(slots=True)
class BpfMap:
    """A kernel hash map: create, iterate, read and delete from user space."""

    libc: _Libc
    fd: int
    key_size: int
    value_size: int

    @classmethod
    def create(cls, libc: _Libc, map_type: int, key_size: int, value_size: int, entries: int) -> BpfMap:
        """Create a map (the caller closes it)."""
        attr = ctypes.create_string_buffer(
            struct.pack("<IIIII", map_type, key_size, value_size, entries, 0), 128
        )
        return cls(libc, libc.bpf(BPF_MAP_CREATE, attr), key_size, value_size)

    def _attr(
        self, key: ctypes.Array[ctypes.c_char], out: ctypes.Array[ctypes.c_char] | None
    ) -> ctypes.Array[ctypes.c_char]:
        return ctypes.create_string_buffer(
            struct.pack("<IIQQQ", self.fd, 0, _addr(key), _addr(out) if out is not None else 0, 0), 128
        )

    def keys(self, limit: int) -> list[bytes]:
        """Up to ``limit`` keys currently in the map."""
        out: list[bytes] = []
        key = ctypes.create_string_buffer(self.key_size)
        nxt = ctypes.create_string_buffer(self.key_size)
        attr = ctypes.create_string_buffer(struct.pack("<IIQQ", self.fd, 0, 0, _addr(nxt)), 128)
        while len(out) < limit and self.libc.bpf_quiet(BPF_MAP_GET_NEXT_KEY, attr) == 0:
            out.append(nxt.raw)
            ctypes.memmove(key, nxt, self.key_size)
            struct.pack_into("<Q", attr, 8, _addr(key))
        return out

    def pop(self, key: bytes) -> bytes | None:
        """Read and delete one entry (None when it vanished meanwhile)."""
        kbuf = ctypes.create_string_buffer(key, self.key_size)
        vbuf = ctypes.create_string_buffer(self.value_size)
        if self.libc.bpf_quiet(BPF_MAP_LOOKUP_ELEM, self._attr(kbuf, vbuf)) != 0:
            return None
        self.libc.bpf_quiet(BPF_MAP_DELETE_ELEM, self._attr(kbuf, None))
        return vbuf.raw

    def drain(self, limit: int) -> Iterator[tuple[bytes, bytes]]:
        """Read and delete up to ``limit`` entries."""
        for key in self.keys(limit):
            value = self.pop(key)
            if value is not None:
                yield key, value


@dataclass(slots=True)
class TracepointFormat:
    """Id and field offsets of one tracepoint, read from tracefs."""

    tp_id: int
    offsets: dict[str, int] = field(default_factory=dict)


def tracefs(mount: bool) -> Path:
    """The tracefs directory; mount it at /sys/kernel/tracing when absent and ``mount`` is allowed."""
    for path in TRACEFS_DIRS:
        if (path / "events").is_dir():
            return path
    if mount and TRACEFS_DIRS[0].is_dir():
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.mount(b"nodev", str(TRACEFS_DIRS[0]).encode(), b"tracefs", 0, None) == 0:
            return TRACEFS_DIRS[0]
    raise BpfError("tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)")


def tracepoint_format(root: Path, group: str, name: str) -> TracepointFormat:
    """Parse ``events/group/name/format`` into field offsets."""
    base = root / "events" / group / name
    try:
        text = (base / "format").read_text()
        tp_id = int((base / "id").read_text())
    except (OSError, ValueError) as exc:
        raise BpfError(f"tracepoint {group}:{name} is not available: {exc}") from None
    fmt = TracepointFormat(tp_id)
    for line in text.splitlines():
        parts = dict(p.strip().split(":", 1) for p in line.split(";") if ":" in p)
        decl, off = parts.get("field", ""), parts.get("offset")
        if decl and off is not None:
            fname = decl.split()[-1].split("[")[0]
            fmt.offsets[fname] = int(off)
    return fmt


class Bpf:
    """Owner of every kernel object the tracer creates; :meth:`close` releases them all."""

    def __init__(self) -> None:
        self.libc = _Libc()
        self._fds: list[int] = []

    def new_map(self, map_type: int, key_size: int, value_size: int, entries: int) -> BpfMap:
        """Create a map owned by this object."""
        m = BpfMap.create(self.libc, map_type, key_size, value_size, entries)
        self._fds.append(m.fd)
        return m

    def load(self, program: bytes, name: str) -> int:
        """Load a tracepoint program; a verifier refusal raises BpfError with the last log line."""
        insns = ctypes.create_string_buffer(program, len(program))
        lic = ctypes.create_string_buffer(b"GPL")
        log = ctypes.create_string_buffer(1 << 16)
        head = struct.pack(
            "<IIQQIIQII",
            BPF_PROG_TYPE_TRACEPOINT,
            len(program) // 8,
            _addr(insns),
            _addr(lic),
            1,
            len(log),
            _addr(log),
            0,
            0,
        )
        attr = ctypes.create_string_buffer(head + name.encode()[:15].ljust(16, b"\0"), 128)
        try:
            fd = self.libc.bpf(BPF_PROG_LOAD, attr)
        except BpfError as exc:
            lines = [x for x in log.value.decode(errors="replace").splitlines() if x.strip()]
            detail = f" ({lines[-1]})" if lines else ""
            raise BpfError(exc.errno, f"cannot load eBPF program {name}: {exc.strerror}{detail}") from None
        self._fds.append(fd)
        return fd

    def attach(self, prog_fd: int, tp: TracepointFormat) -> None:
        """Run the program on every hit of the tracepoint (on every CPU) until :meth:`close`."""
        attr = ctypes.create_string_buffer(
            struct.pack("<IIQQQQQI", _PERF_TYPE_TRACEPOINT, _ATTR_SIZE, tp.tp_id, 1, 0, 0, 0, 1), _ATTR_SIZE
        )
        fd = self.libc.perf_event_open(attr)
        self._fds.append(fd)
        self.libc.ioctl(fd, _PERF_EVENT_IOC_SET_BPF, prog_fd)
        self.libc.ioctl(fd, _PERF_EVENT_IOC_ENABLE, 0)

    def close(self) -> None:
        """Detach the programs and free the maps (closing the last descriptor does both)."""
        for fd in reversed(self._fds):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds.clear()
