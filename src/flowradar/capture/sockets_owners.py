"""Who holds a socket: inode -> pid by scanning /proc/PID/fd, and what that process is.

The kernel's socket tables give a socket's inode; the only way from an inode to a process is the
``socket:[INODE]`` links under ``/proc/PID/fd``. Scans are incremental: inodes already placed are
not looked for again, a scan stops as soon as every wanted inode is placed, and the index only keeps
the inodes it was last told are alive (so it is bounded by the number of open sockets).
"""

from __future__ import annotations

import os
import pwd
import re
import time
from dataclasses import dataclass
from pathlib import Path

MANY_UNKNOWN = 256
"""From this many unplaced sockets on, a scan visits the processes with the most open files first."""
_CONTAINER_ID = re.compile(r"(?:^|[/\-_:.])([0-9a-f]{64})(?:\.scope)?(?:$|/)")


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    """What /proc says about one process."""

    pid: int
    name: str | None
    exe: str | None
    uid: int | None
    user: str | None
    cgroup: str | None
    container: str | None
    start: int
    """Start time in clock ticks after boot (tells a reused pid from the old process)."""


def _read(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return None


def start_ticks(proc: Path, pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (after the parenthesised name, which may hold spaces)."""
    stat = _read(f"{proc}/{pid}/stat")
    if stat is None:
        return None
    try:
        return int(stat.rpartition(")")[2].split()[19])
    except (IndexError, ValueError):
        return None


def cgroup_of(text: str | None) -> tuple[str | None, str | None]:
    """(cgroup path, container id) from /proc/PID/cgroup: the v2 line, else the v1 systemd line."""
    if not text:
        return None, None
    paths: dict[str, str] = {}
    for line in text.splitlines():
        hid, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        paths[controllers if hid != "0" else ""] = path
    unified = paths.get("")
    chosen = unified if unified not in (None, "/") else paths.get("name=systemd", unified)
    if chosen is None:
        chosen = next(iter(paths.values()), None)
    container = None
    for candidate in [chosen, *paths.values()]:
        match = _CONTAINER_ID.search(candidate or "")
        if match:
            container = match.group(1)[:12]
            break
    return chosen, container


def user_name(uid: int, cache: dict[int, str | None]) -> str | None:
    """Name of a uid (cached in the caller's dict: one entry per user, so it stays small)."""
    if uid not in cache:
        try:
            cache[uid] = pwd.getpwuid(uid).pw_name
        except (KeyError, OverflowError):
            cache[uid] = str(uid)
    return cache[uid]


def process_info(proc: Path, pid: int, users: dict[int, str | None]) -> ProcessInfo | None:
    """Read one process; None when it has exited."""
    start = start_ticks(proc, pid)
    if start is None:
        return None
    comm = _read(f"{proc}/{pid}/comm")
    try:
        exe: str | None = os.readlink(f"{proc}/{pid}/exe").removesuffix(" (deleted)")
    except OSError:
        exe = None
    try:
        uid: int | None = os.stat(f"{proc}/{pid}").st_uid
    except OSError:
        uid = None
    cgroup, container = cgroup_of(_read(f"{proc}/{pid}/cgroup"))
    name = comm.rstrip("\n") if comm is not None else None
    return ProcessInfo(
        pid, name, exe, uid, user_name(uid, users) if uid is not None else None, cgroup, container, start
    )


def _fd_count(proc: Path, pid: int) -> int:
    """Open files of a process (the size of /proc/PID/fd since Linux 6.2; 0 before, or when gone)."""
    try:
        return os.stat(f"{proc}/{pid}/fd").st_size
    except OSError:
        return 0


def _pids(proc: Path) -> list[int]:
    try:
        return sorted(int(n) for n in os.listdir(proc) if n.isdigit())
    except OSError:
        return []


def socket_inodes(proc: Path, pid: int) -> list[int]:
    """Inodes of the sockets a process holds (empty when it exited or is not ours to read)."""
    try:
        dfd = os.open(f"{proc}/{pid}/fd", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return []
    out: list[int] = []
    try:
        readlink = os.readlink
        for name in os.listdir(dfd):
            try:
                link = readlink(name, dir_fd=dfd)
            except OSError:
                continue
            if link.startswith("socket:["):
                out.append(int(link[8:-1]))
    except OSError:
        pass
    finally:
        os.close(dfd)
    return out


class OwnerIndex:
    """inode -> pid, kept up to date by incremental scans of /proc/PID/fd."""

    def __init__(self, proc: Path = Path("/proc"), retry_s: float = 5.0) -> None:
        self.proc = proc
        self.retry_s = retry_s
        """An inode that a whole scan did not find is not looked for again before this many seconds
        (sockets of processes we may not inspect would otherwise cost a whole scan every poll)."""
        self._owner: dict[int, int] = {}
        self._missing: dict[int, float] = {}
        self.scans = 0
        """Number of /proc scans made (for tests and statistics)."""

    def resolve(self, inodes: set[int]) -> dict[int, int]:
        """Owner pid of each inode that a process holds; inodes held by nobody are left out."""
        now = time.monotonic()
        missing = self._missing
        wanted = {
            i
            for i in inodes
            if i and i not in self._owner and now - missing.get(i, -self.retry_s) >= self.retry_s
        }
        if wanted:
            self._scan(wanted)
            for inode in wanted:  # what is left was not found anywhere
                missing[inode] = now
        owner = self._owner
        return {i: owner[i] for i in inodes if i in owner}

    def _order(self, wanted: set[int]) -> list[int]:
        """Pids in the order most likely to place the wanted inodes early.

        Many unknown sockets (a first poll): processes with the most open files first. A few (new
        connections): processes already known to hold sockets, then the newest processes.
        """
        pids = _pids(self.proc)
        if len(wanted) >= MANY_UNKNOWN:
            return sorted(pids, key=lambda p: -_fd_count(self.proc, p))
        holders = set(self._owner.values())
        return sorted(pids, key=lambda p: (p not in holders, -p))

    def _scan(self, wanted: set[int]) -> None:
        """Walk processes until every wanted inode is placed (a shared socket goes to the first found)."""
        self.scans += 1
        owner = self._owner
        for pid in self._order(wanted):
            for inode in socket_inodes(self.proc, pid):
                if inode not in owner:
                    owner[inode] = pid
                wanted.discard(inode)
            if not wanted:
                return

    def retain(self, alive: set[int]) -> None:
        """Forget every inode not in ``alive`` (the sockets of the latest poll)."""
        if len(self._owner) > len(alive):
            self._owner = {i: p for i, p in self._owner.items() if i in alive}
        if self._missing:
            self._missing = {i: t for i, t in self._missing.items() if i in alive}

    def forget_pid(self, pid: int) -> None:
        """Drop what is known of one process (it exited, or its pid was reused)."""
        self._owner = {i: p for i, p in self._owner.items() if p != pid}


class ProcessCache:
    """ProcessInfo by pid, re-read when the pid's start time changes; pruned to live pids."""

    def __init__(self, proc: Path = Path("/proc"), max_entries: int = 65536) -> None:
        self.proc = proc
        self._max = max_entries
        self._info: dict[int, ProcessInfo] = {}
        self.users: dict[int, str | None] = {}

    def get(self, pid: int, verify: bool = True) -> ProcessInfo | None:
        """Process details; ``verify`` re-checks the start time so that a reused pid is noticed."""
        info = self._info.get(pid)
        if info is not None and (not verify or start_ticks(self.proc, pid) == info.start):
            return info
        info = process_info(self.proc, pid, self.users)
        if info is not None:
            if len(self._info) >= self._max:
                self._info.pop(next(iter(self._info)))
            self._info[pid] = info
        else:
            self._info.pop(pid, None)
        return info

    def retain(self, pids: set[int]) -> None:
        """Forget processes not in ``pids``."""
        if len(self._info) > len(pids):
            self._info = {p: i for p, i in self._info.items() if p in pids}
