"""Process attribution: the pid, name and executable of the local end of each flow.

Sources, most exact first:

1. **Socket polling** (sock_diag every ``[process] poll_interval_s``, /proc/net without it): every
   socket that lives at least one poll is placed, with its owner, under its 5-tuple; entries live
   ``cache_ttl_s`` after the socket was last seen, so a flow exported after its socket closed still
   finds it. A connection shorter than one poll is invisible to polling alone.
2. **Kernel tracepoints** (root, see :mod:`flowradar.enrich.process_trace`): the connecting process
   of every new TCP connection and every UDP tuple, caught in the process's own context, plus the
   executable of every program started, so that a 3 ms curl or dig is named after it has exited.
3. **Exact sock_diag lookup** of the flow's 5-tuple, for a socket still open but not yet polled.
4. **Listening sockets**: a flow towards a local listening (or bound UDP) socket belongs to the
   process holding that socket (accepted connections shorter than a poll).

Without privileges this degrades, with one message in :attr:`ProcessEnricher.message`: without
root only this user's processes can be named; without the tracer, short connections may stay
unattributed. It never raises on a record.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from flowradar.capture.sockets import SocketPoller
from flowradar.capture.sockets_netlink import ALL_STATES, RawSocket, address16
from flowradar.config import ProcessConfig
from flowradar.enrich.bpf import BpfError
from flowradar.enrich.cache import TtlLru
from flowradar.enrich.lru import CacheInfo
from flowradar.enrich.process_events import TraceEvents
from flowradar.enrich.process_trace import ConnectTracer, TupleKey
from flowradar.model.flow import FlowRecord

DRAIN_ON_DEMAND_S = 0.01
"""Shortest time between two drains of the tracer triggered by a lookup that found nothing."""
REFRESH_S = 10.0
"""How often the owners of still-open sockets are re-stamped in the cache (so they never expire)."""
_WILDCARD = {4: b"\0" * 10 + b"\xff\xff" + b"\0" * 4, 6: b"\0" * 16}
_PROTOS = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}
_UNCONNECTED = (7, 10)  # UDP not connected (CLOSE), TCP LISTEN
_OWNED_STATES = ALL_STATES & ~(1 << 3 | 1 << 6 | 1 << 12)
"""Every state but SYN_RECV, TIME_WAIT and NEW_SYN_RECV: sockets that no process holds."""


@dataclass(frozen=True, slots=True)
class Owner:
    """The process found for a flow, and how."""

    pid: int
    process: str | None
    exe: str | None
    via: str
    """'socket' (seen open by a poll), 'tracer' (kernel event at connect time), 'listener' (local
    listening or bound socket on the flow's port) or 'lookup' (exact sock_diag query)."""


def _version(addr: bytes) -> int:
    return 4 if addr[:12] == _WILDCARD[4][:12] else 6


class ProcessEnricher:
    """Attributes flows to local processes; :meth:`start` begins polling (and tracing, as root)."""

    name = "process"

    def __init__(
        self,
        cfg: ProcessConfig,
        proc: Path = Path("/proc"),
        netlink: bool = True,
        tracer_factory: Callable[[ProcessConfig], ConnectTracer] | None = None,
    ) -> None:
        self.cfg = cfg
        self.message: str | None = None
        """Why attribution is partial (no root, no tracer), or None when every mechanism runs."""
        self.error: str | None = None
        """The last error of the background poll, if any (polling goes on)."""
        self.stats = {"polls": 0, "attributed": 0, "unattributed": 0}
        self._lock = threading.Lock()
        self._poller = SocketPoller(proc, netlink)
        self._lookups = SocketPoller(proc, netlink)
        self._sockets: TtlLru[TupleKey, Owner] = TtlLru(cfg.cache_size, cfg.cache_ttl_s)
        self._live: dict[int, tuple[TupleKey, Owner]] = {}
        self._listeners: dict[tuple[int, int], list[tuple[bytes, Owner]]] = {}
        self._events = TraceEvents(cfg.cache_size, cfg.cache_ttl_s, self._lookups.processes)
        self._factory = tracer_factory or (lambda c: ConnectTracer(c.cache_size, c.mount_tracefs))
        self._tracer: ConnectTracer | None = None
        self._refreshed = 0.0
        self._alive: set[int] = set()
        self._drain_lock = threading.Lock()
        self._drained = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, background: bool = True) -> None:
        """Start the tracer (when configured and permitted), poll once, then poll in the background."""
        problems: list[str] = []
        if self.cfg.tracer:
            try:
                self._tracer = self._factory(self.cfg)
            except (BpfError, OSError) as exc:
                problems.append(f"no eBPF tracer ({exc.strerror or exc})")
        else:
            problems.append("eBPF tracer disabled by configuration")
        if os.geteuid() != 0:
            problems.append("not root, so only this user's processes are visible")
        problems += self._poller.warnings
        if problems:
            self.message = (
                "process attribution is partial: "
                + "; ".join(problems)
                + (
                    f"; connections shorter than {self.cfg.poll_interval_s:g} s may show no process"
                    if self._tracer is None
                    else ""
                )
            )
        self.poll_once()
        if background:
            self._thread = threading.Thread(target=self._run, name="flowradar-process", daemon=True)
            self._thread.start()

    @property
    def interval_s(self) -> float:
        """Seconds between polls (longer while the tracer runs)."""
        if self._tracer is None:
            return self.cfg.poll_interval_s
        return max(self.cfg.poll_interval_s, self.cfg.traced_poll_interval_s)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.poll_once()
            except Exception as exc:  # never let the thread die: record and go on
                self.error = f"process attribution poll failed: {type(exc).__name__}: {exc}"

    def close(self) -> None:
        """Stop polling, detach the tracer, release sockets."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._tracer is not None:
            self._tracer.close()
            self._tracer = None
        self._poller.close()
        self._lookups.close()

    def __enter__(self) -> ProcessEnricher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def tracing(self) -> bool:
        """Whether the eBPF tracer runs."""
        return self._tracer is not None

    # ------------------------------------------------------------------ polling

    def _poll_sockets(
        self,
    ) -> tuple[list[tuple[TupleKey, Owner]], dict[tuple[int, int], list[tuple[bytes, Owner]]]]:
        """New sockets with their owners since the last poll, and the listeners now."""
        raws = self._poller.raw(_OWNED_STATES)
        fresh = [r for r in raws if r.inode and (r.cookie or r.inode) not in self._live]
        owners = self._poller.owners_of(fresh, prune=False)
        live: dict[int, tuple[TupleKey, Owner]] = {}
        listeners: dict[tuple[int, int], list[tuple[bytes, Owner]]] = {}
        updates: list[tuple[TupleKey, Owner]] = []
        for r in raws:
            ident, key = r.cookie or r.inode, (r.proto, r.src, r.sport, r.dst, r.dport)
            known = self._live.get(ident)
            if known is None:
                info = owners.get(r.inode)
                if info is None:
                    continue
                known = (key, Owner(info.pid, info.name, info.exe, "socket"))
                updates.append(known)
            elif known[0] != key:  # a UDP socket connected (or re-connected) since the last poll
                known = (key, known[1])
                updates.append(known)
            live[ident] = known
            if r.dport == 0 and r.state in _UNCONNECTED:
                listeners.setdefault((r.proto, r.sport), []).append((r.src, known[1]))
        self._live = live
        self._alive = {r.inode for r in raws if r.inode}
        self._poller.owners.retain(self._alive)  # the caches only keep what is still open
        self._poller.processes.retain({owner.pid for _, owner in live.values()})
        return updates, listeners

    def poll_once(self) -> None:
        """Poll the socket table and drain the tracer once (the background thread calls this)."""
        updates, listeners = self._poll_sockets()
        now = time.monotonic()
        if now - self._refreshed >= REFRESH_S:
            updates = list(self._live.values())
            self._refreshed = now
        self._drain_tracer()
        with self._lock:
            for key, owner in updates:
                self._sockets.put(key, owner)
            self._listeners = listeners
            self._lookups.owners.retain(self._alive)
            self._sockets.expire()
            self._events.expire()
            self.stats["polls"] += 1

    def _drain_tracer(self) -> None:
        """Move what the tracer saw into the event history (from the poll, or on demand)."""
        tracer = self._tracer
        if tracer is None:
            return
        with self._drain_lock:
            self._drained = time.monotonic()
            traced = tracer.drain()
        with self._lock:
            self._events.add(*traced)

    # ------------------------------------------------------------------ lookups

    def _listener(self, proto: int, addr: bytes, port: int) -> Owner | None:
        candidates = self._listeners.get((proto, port))
        if not candidates:
            return None
        for bound, owner in candidates:
            if bound == addr:
                return Owner(owner.pid, owner.process, owner.exe, "listener")
        for bound, owner in candidates:  # a wildcard IPv6 socket also takes IPv4 (dual stack)
            if bound == _WILDCARD[6] or (bound == _WILDCARD[4] and _version(addr) == 4):
                return Owner(owner.pid, owner.process, owner.exe, "listener")
        return None

    def _known(self, key: TupleKey, ts: float | None) -> Owner | None:
        """From polled sockets (either end local), else from the tracer (originator local)."""
        proto, src, sport, dst, dport = key
        with self._lock:
            for k in (key, (proto, dst, dport, src, sport)):
                hit = self._sockets.get(k)
                if hit is not None:
                    return hit
            if self._tracer is None:
                return None
            event = self._events.event(key, ts) or self._events.event(
                (proto, _WILDCARD[_version(src)], sport, dst, dport), ts
            )
            if event is None:
                return None
            name, exe = self._events.program(event)
            return Owner(event.pid, name, exe, "tracer")

    def _by_listener(self, key: TupleKey) -> Owner | None:
        """A flow towards a local listening socket (or, for UDP, from a local bound socket)."""
        proto, src, sport, dst, dport = key
        with self._lock:
            inbound = self._listener(proto, dst, dport)
            if inbound is not None or proto != socket.IPPROTO_UDP:
                return inbound
            return self._listener(proto, src, sport)

    def _lookup(self, key: TupleKey) -> Owner | None:
        proto, src, sport, dst, dport = key
        found: RawSocket | None = None
        with self._lock:
            for a, ap, b, bp in ((src, sport, dst, dport), (dst, dport, src, sport)):
                found = self._lookups.lookup(proto, a, ap, b, bp)
                if found is not None and found.inode:
                    break
            if found is None or not found.inode:
                return None
            info = self._lookups.owners_of([found], prune=False).get(found.inode)
        return Owner(info.pid, info.name, info.exe, "lookup") if info is not None else None

    def attribute(self, key: TupleKey, ts: float | None = None) -> Owner | None:
        """The owner of a flow given as (protocol, src 16 bytes, sport, dst 16 bytes, dport).

        ``ts`` is the flow's first packet time (None: the flow starts now). When nothing is known
        yet, the tracer is drained at once (at most every DRAIN_ON_DEMAND_S) rather than waiting for
        the next poll: a short flow can be exported before that poll.
        """
        found = self._known(key, ts)
        if (
            found is None
            and self._tracer is not None
            and time.monotonic() - self._drained >= DRAIN_ON_DEMAND_S
        ):
            self._drain_tracer()
            found = self._known(key, ts)
        return found or self._lookup(key) or self._by_listener(key)

    def enrich(self, record: FlowRecord) -> bool:
        """Set ``record.enrich.pid/process/exe`` when the owner is found."""
        proto = _PROTOS.get(record.transport)
        if proto is None:
            return False
        try:
            key = (
                proto,
                address16(record.src_ip),
                record.src_port,
                address16(record.dst_ip),
                record.dst_port,
            )
        except (OSError, ValueError):
            return False
        owner = self.attribute(key, record.ts_first)
        if owner is None:
            self.stats["unattributed"] += 1
            return False
        self.stats["attributed"] += 1
        record.enrich.pid, record.enrich.process, record.enrich.exe = owner.pid, owner.process, owner.exe
        return True

    def enrich_many(self, records: Iterable[FlowRecord]) -> None:
        """Enrich every record of a batch."""
        for r in records:
            self.enrich(r)

    def cache_info(self) -> CacheInfo:
        """The 5-tuple -> owner cache of polled sockets."""
        c = self._sockets
        return CacheInfo(len(c), c.max_size, c.hits, c.misses, c.evicted)
