"""HostMetrics: plausible values, rates after two samples, a bounded history; documented records."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from flowradar.config import HostConfig
from flowradar.host.metrics import HostMonitor, HostSampler, cpu_percents, read_diskstats, read_net_dev
from flowradar.model.connection import Connection, ListeningPort
from flowradar.model.host import DiskIO, DiskUsage, HostMetrics, InterfaceMetrics, ProcessMetrics
from flowradar.model.schema import columns_of


def loopback_traffic(total: int) -> list[socket.socket]:
    """Send ``total`` bytes over a loopback TCP connection; returns its sockets, still open."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    chunk, sent, got = b"x" * 65536, 0, 0
    while sent < total:
        sent += client.send(chunk)
        while got < sent:
            got += len(server.recv(1 << 20))
    return [client, server, listener]


def burn_cpu(loops: int) -> int:
    """Busy work in this process (the value is returned so it is not optimised away)."""
    acc = 0
    for i in range(loops):
        acc ^= i * 2654435761 % 97
    return acc


def test_two_samples_give_plausible_values_and_rates() -> None:
    sampler = HostSampler(HostConfig(processes=100_000))
    first = sampler.sample()
    held = loopback_traffic(2_000_000)
    try:
        burn_cpu(2_000_000)
        second = sampler.sample()
    finally:
        sampler.close()
        for s in held:
            s.close()
    assert first.interval_s == 0.0 and second.interval_s > 0
    assert second.hostname == socket.gethostname()
    assert second.cpu_count == os.cpu_count()
    assert 0.0 < second.cpu_percent <= 100.0
    assert 0 < second.mem_used_bytes <= second.mem_total_bytes
    assert 0 < second.mem_percent < 100
    assert second.uptime_s > 0 and second.load1 >= 0
    lo_before = next(i for i in first.interfaces if i.name == "lo")
    lo = next(i for i in second.interfaces if i.name == "lo")
    assert lo.up
    assert lo.rx_bytes - lo_before.rx_bytes >= 2_000_000
    assert lo.rx_bytes_s > 0 and lo.tx_bytes_s > 0 and lo.rx_packets_s > 0
    assert lo_before.rx_bytes_s == 0.0  # no rate without a previous sample
    root = [d for d in second.disks if d.mount == "/"]
    assert root and root[0].total_bytes > 0 and 0 <= root[0].percent <= 100
    assert not any(d.fstype in ("proc", "sysfs", "tmpfs", "cgroup") for d in second.disks)
    assert all(
        d.read_bytes_s >= 0 and d.write_bytes_s >= 0 and 0 <= d.busy_percent <= 100 for d in second.disk_io
    )
    me = next(p for p in second.processes if p.pid == os.getpid())
    assert me.cpu_percent > 0 and me.rss_bytes > 0 and 0 < me.mem_percent < 100 and me.threads >= 1
    assert me.net_rx_bytes is not None and me.net_rx_bytes >= 2_000_000  # TCP bytes of its sockets
    assert me.net_tx_bytes is not None and me.net_tx_bytes >= 2_000_000


def test_process_list_is_bounded_and_sorted() -> None:
    sampler = HostSampler(HostConfig(processes=3), net_bytes=False)
    try:
        sampler.sample()
        burn_cpu(200_000)
        procs = sampler.sample().processes
    finally:
        sampler.close()
    assert len(procs) == 3
    assert [p.cpu_percent for p in procs] == sorted((p.cpu_percent for p in procs), reverse=True)


def test_history_is_bounded() -> None:
    monitor = HostMonitor(HostConfig(interval_s=0.01, history=3, processes=1))
    monitor.start()
    try:
        deadline = time.monotonic() + 30
        while len(monitor.history()) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        first = monitor.history()[0]
        while monitor.history()[0] is first and time.monotonic() < deadline:
            time.sleep(0.01)
        history = monitor.history()
    finally:
        monitor.stop()
    assert len(history) == 3
    assert history[0] is not first  # the oldest sample was dropped
    assert [h.ts for h in history] == sorted(h.ts for h in history)


def test_parsers_on_a_fake_proc(tmp_path: Path) -> None:
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "dev").write_text(
        "Inter-|   Receive\n face |bytes packets\n"
        "  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n"
        "  bad: x y\n"
    )
    assert read_net_dev(tmp_path) == {"eth0": [1000, 10, 1, 2, 0, 0, 0, 0, 2000, 20, 3, 4, 0, 0, 0, 0]}
    (tmp_path / "diskstats").write_text(
        "   8       0 sda 100 0 800 0 50 0 400 0 0 250 0 0 0 0 0\n"
        "   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    )
    sys_root = tmp_path / "sys"
    (sys_root / "block" / "sda").mkdir(parents=True)
    (sys_root / "block" / "loop0").mkdir(parents=True)
    assert read_diskstats(tmp_path, sys_root) == {"sda": [100, 800, 50, 400, 250]}


def test_cpu_percent_arithmetic() -> None:
    before = [100, 0, 100, 700, 100, 0, 0, 0]
    after = [150, 0, 150, 800, 100, 0, 0, 0]  # 100 busy of 200
    assert cpu_percents(after, before) == (50.0, 0.0)
    assert cpu_percents(after, None) == (0.0, 0.0)
    assert cpu_percents(before, before) == (0.0, 0.0)


@pytest.mark.parametrize(
    "record", [HostMetrics, InterfaceMetrics, DiskUsage, DiskIO, ProcessMetrics, Connection, ListeningPort]
)
def test_every_field_is_documented(record: type) -> None:
    cols = columns_of(record)
    assert cols and all(c.doc for c in cols), [c.name for c in cols if not c.doc]
