"""Kernel tracepoints that name the process behind every new connection, even one that lives 1 ms.

Four small eBPF programs (assembled by :mod:`flowradar.enrich.bpf`, no compiler needed):

- ``sock:inet_sock_set_state``: a TCP socket entering SYN_SENT is in the connecting process's
  context (``connect()``), but its source port is not chosen yet; the owner is kept by socket
  address and written under the full 5-tuple when the socket leaves SYN_SENT.
- ``fib:fib_table_lookup`` and ``fib6:fib6_table_lookup``: a UDP socket's route lookup (in
  ``connect()`` or ``sendmsg()``, after the source port is bound) carries the 5-tuple and runs in the
  sending process's context. Input-route lookups (forwarded or received packets) are skipped.
- ``sched:sched_process_exec``: the executable and name of every program started, so that a process
  that has already exited (curl, dig) still gets its executable and its main name rather than the
  name of the thread that connected.

Tuples are stored in LRU hash maps that user space drains every poll. Addresses are 16 bytes (IPv4
as ::ffff:a.b.c.d); ports in host order. Tracepoints are not per network namespace: a tuple seen in
another namespace can collide with a local one; the enricher uses event times to pick the right one.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from flowradar.enrich import bpf
from flowradar.enrich.bpf import Asm, Bpf, BpfMap, TracepointFormat

KEY_SIZE = 40
"""proto u8, pad u8, sport u16, dport u16, pad u16, src[16], dst[16]."""
OWNER_SIZE = 32
"""tid u32, tgid u32, ktime u64, comm[16]."""
EXEC_SIZE = 280
"""ktime u64, comm[16], filename[256]."""
_KEY = struct.Struct("<BxHH2x16s16s")
_OWNER = struct.Struct("<IIQ16s")
_EXEC = struct.Struct("<Q16s256s")

# Stack layout shared by the programs (offsets from r10, the frame pointer).
_OWNER_AT, _KEY_AT, _SK_AT = -32, -72, -80
_TCP_SYN_SENT = 2
_IPPROTO_TCP, _IPPROTO_UDP = 6, 17

TupleKey = tuple[int, bytes, int, bytes, int]
"""(IP protocol, local address (16 bytes), local port, remote address (16 bytes), remote port)."""


@dataclass(frozen=True, slots=True)
class TraceOwner:
    """The process in whose context a connection's tuple was first seen."""

    pid: int
    """Process id (thread group id)."""
    tid: int
    """Thread id."""
    comm: str
    """Name of the thread at that moment (may be a worker thread's name)."""
    ts: float
    """Wall-clock time of the event, seconds since the epoch."""


@dataclass(frozen=True, slots=True)
class ExecInfo:
    """A program start: the process id, its name and the executable path as passed to execve."""

    pid: int
    comm: str
    exe: str
    ts: float


def _fill_owner(a: Asm) -> None:
    """Write tid/tgid, ktime and comm at _OWNER_AT; jump to 'out' for kernel threads (tgid 0)."""
    a.call(bpf.GET_CURRENT_PID_TGID)
    a.stx(8, 10, _OWNER_AT, 0)
    a.mov(1, 0)
    a.rshi(1, 32)
    a.jump("eq", 1, 0, "out")
    a.call(bpf.KTIME_GET_NS)
    a.stx(8, 10, _OWNER_AT + 8, 0)
    a.mov(1, 10)
    a.addi(1, _OWNER_AT + 16)
    a.movi(2, 16)
    a.call(bpf.GET_CURRENT_COMM)


def _copy_ctx(a: Asm, ctx_off: int, stack_off: int, size: int) -> None:
    """Copy size bytes of the tracepoint record (r6) to the stack (loads and stores must be aligned)."""
    done = 0
    while done < size:
        width = next(
            w
            for w in (8, 4, 2, 1)
            if (ctx_off + done) % w == 0 and (stack_off + done) % w == 0 and size - done >= w
        )
        a.ldx(width, 1, 6, ctx_off + done)
        a.stx(width, 10, stack_off + done, 1)
        done += width


def _key_head(a: Asm, tp: TracepointFormat, proto: int) -> None:
    """Zero the key, then write protocol and ports."""
    a.zero_stack(_KEY_AT, KEY_SIZE)
    a.st(1, 10, _KEY_AT, proto)
    _copy_ctx(a, tp.offsets["sport"], _KEY_AT + 2, 2)
    _copy_ctx(a, tp.offsets["dport"], _KEY_AT + 4, 2)


def _epilogue(a: Asm) -> bytes:
    a.label("out")
    a.movi(0, 0)
    a.exit()
    return a.assemble()


def tcp_program(tp: TracepointFormat, pending: BpfMap, flows: BpfMap) -> bytes:
    """sock:inet_sock_set_state: owner at SYN_SENT by socket, tuple when it leaves SYN_SENT."""
    a, o = Asm(), tp.offsets
    a.mov(6, 1)
    a.ldx(2, 2, 6, o["protocol"])
    a.jump("ne", 2, _IPPROTO_TCP, "out")
    a.ldx(4, 7, 6, o["newstate"])
    a.ldx(4, 8, 6, o["oldstate"])
    _copy_ctx(a, o["skaddr"], _SK_AT, 8)
    a.jump("ne", 7, _TCP_SYN_SENT, "moved")
    _fill_owner(a)
    a.ld_map(1, pending.fd)
    a.mov(2, 10)
    a.addi(2, _SK_AT)
    a.mov(3, 10)
    a.addi(3, _OWNER_AT)
    a.movi(4, bpf.BPF_ANY)
    a.call(bpf.MAP_UPDATE_ELEM)
    a.goto("out")
    a.label("moved")
    a.jump("ne", 8, _TCP_SYN_SENT, "out")
    a.ldx(2, 1, 6, o["sport"])
    a.jump("eq", 1, 0, "out")
    a.ld_map(1, pending.fd)
    a.mov(2, 10)
    a.addi(2, _SK_AT)
    a.call(bpf.MAP_LOOKUP_ELEM)
    a.jump("eq", 0, 0, "out")
    a.mov(7, 0)
    _key_head(a, tp, _IPPROTO_TCP)
    _copy_ctx(a, o["saddr_v6"], _KEY_AT + 8, 16)
    _copy_ctx(a, o["daddr_v6"], _KEY_AT + 24, 16)
    a.ld_map(1, flows.fd)
    a.mov(2, 10)
    a.addi(2, _KEY_AT)
    a.mov(3, 7)
    a.movi(4, bpf.BPF_ANY)
    a.call(bpf.MAP_UPDATE_ELEM)
    a.ld_map(1, pending.fd)
    a.mov(2, 10)
    a.addi(2, _SK_AT)
    a.call(bpf.MAP_DELETE_ELEM)
    return _epilogue(a)


def udp_program(tp: TracepointFormat, flows: BpfMap, ipv6: bool) -> bytes:
    """fib(6)_table_lookup: the first output-route lookup of each UDP tuple, with its process."""
    a, o = Asm(), tp.offsets
    a.mov(6, 1)
    a.ldx(1, 2, 6, o["proto"])
    a.jump("ne", 2, _IPPROTO_UDP, "out")
    a.ldx(4, 2, 6, o["iif"])
    a.jump("sgt", 2, 1, "out")  # input route of a received or forwarded packet
    for port in ("sport", "dport"):
        a.ldx(2, 2, 6, o[port])
        a.jump("eq", 2, 0, "out")
    _fill_owner(a)
    _key_head(a, tp, _IPPROTO_UDP)
    for name, at in (("src", _KEY_AT + 8), ("dst", _KEY_AT + 24)):
        if ipv6:
            _copy_ctx(a, o[name], at, 16)
        else:
            a.st(2, 10, at + 10, 0xFFFF)
            _copy_ctx(a, o[name], at + 12, 4)
    a.ld_map(1, flows.fd)
    a.mov(2, 10)
    a.addi(2, _KEY_AT)
    a.mov(3, 10)
    a.addi(3, _OWNER_AT)
    a.movi(4, bpf.BPF_NOEXIST)
    a.call(bpf.MAP_UPDATE_ELEM)
    return _epilogue(a)


def exec_program(tp: TracepointFormat, execs: BpfMap) -> bytes:
    """sched:sched_process_exec: tgid -> (ktime, comm, executable path)."""
    a, value = Asm(), -8 - EXEC_SIZE
    a.mov(6, 1)
    a.call(bpf.GET_CURRENT_PID_TGID)
    a.rshi(0, 32)
    a.stx(4, 10, -4, 0)
    a.zero_stack(value, EXEC_SIZE)
    a.call(bpf.KTIME_GET_NS)
    a.stx(8, 10, value, 0)
    a.mov(1, 10)
    a.addi(1, value + 8)
    a.movi(2, 16)
    a.call(bpf.GET_CURRENT_COMM)
    a.ldx(4, 3, 6, tp.offsets["filename"])  # __data_loc: low 16 bits are the offset in the record
    a.andi(3, 0xFFFF)
    a.add(3, 6)
    a.mov(1, 10)
    a.addi(1, value + 24)
    a.movi(2, 256)
    a.call(bpf.PROBE_READ_KERNEL_STR)
    a.ld_map(1, execs.fd)
    a.mov(2, 10)
    a.addi(2, -4)
    a.mov(3, 10)
    a.addi(3, value)
    a.movi(4, bpf.BPF_ANY)
    a.call(bpf.MAP_UPDATE_ELEM)
    return _epilogue(a)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


class ConnectTracer:
    """Loads and attaches the programs; :meth:`drain` returns what they saw since the last call.

    Raises :class:`~flowradar.enrich.bpf.BpfError` when eBPF cannot be used (no privilege, no
    tracefs, a kernel without these tracepoints); the caller degrades to socket polling.
    """

    def __init__(self, entries: int = 65536, mount_tracefs: bool = True) -> None:
        self._bpf = Bpf()
        try:
            self._setup(entries, mount_tracefs)
        except BaseException:
            self._bpf.close()
            raise

    def _setup(self, entries: int, mount_tracefs: bool) -> None:
        root = bpf.tracefs(mount_tracefs)
        fmt = bpf.tracepoint_format
        b = self._bpf
        self._flows = b.new_map(bpf.BPF_MAP_TYPE_LRU_HASH, KEY_SIZE, OWNER_SIZE, entries)
        pending = b.new_map(bpf.BPF_MAP_TYPE_LRU_HASH, 8, OWNER_SIZE, entries)
        self._execs = b.new_map(bpf.BPF_MAP_TYPE_LRU_HASH, 4, EXEC_SIZE, max(1024, entries // 4))
        tcp = fmt(root, "sock", "inet_sock_set_state")
        udp4 = fmt(root, "fib", "fib_table_lookup")
        udp6 = fmt(root, "fib6", "fib6_table_lookup")
        execs = fmt(root, "sched", "sched_process_exec")
        # Exec first, so that a process seen connecting has had its start recorded.
        b.attach(b.load(exec_program(execs, self._execs), "fr_exec"), execs)
        b.attach(b.load(tcp_program(tcp, pending, self._flows), "fr_tcp"), tcp)
        b.attach(b.load(udp_program(udp4, self._flows, ipv6=False), "fr_udp4"), udp4)
        b.attach(b.load(udp_program(udp6, self._flows, ipv6=True), "fr_udp6"), udp6)

    def drain(self, limit: int = 100_000) -> tuple[list[tuple[TupleKey, TraceOwner]], list[ExecInfo]]:
        """Connections and program starts seen since the last call (oldest first)."""
        offset = time.time() - time.monotonic()
        execs = [
            ExecInfo(struct.unpack("<I", k)[0], _text(comm), _text(exe), ktime / 1e9 + offset)
            for k, (ktime, comm, exe) in ((k, _EXEC.unpack(v)) for k, v in self._execs.drain(limit))
        ]
        flows: list[tuple[TupleKey, TraceOwner]] = []
        for k, v in self._flows.drain(limit):
            proto, sport, dport, src, dst = _KEY.unpack(k)
            tid, tgid, ktime, comm = _OWNER.unpack(v)
            flows.append(
                ((proto, src, sport, dst, dport), TraceOwner(tgid, tid, _text(comm), ktime / 1e9 + offset))
            )
        execs.sort(key=lambda e: e.ts)
        flows.sort(key=lambda f: f[1].ts)
        return flows, execs

    def close(self) -> None:
        """Detach the programs and free the maps."""
        self._bpf.close()
