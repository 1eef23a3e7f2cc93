"""The live terminal view of `flowradar live`: totals, rates and the busiest active flows."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from rich.console import Group
from rich.table import Table

from flowradar.engine.pipeline import Engine
from flowradar.engine.records import FlowBatch, ip_text, to_record, transport_name
from flowradar.model.flow import L7Facts
from flowradar.ui.tables import human_bytes


class LiveView:
    """Accumulates what the engine exports and renders a snapshot of the busiest flows."""

    def __init__(self, interface: str, top: int, owners: Any = None) -> None:
        self.interface = interface
        self.owners = owners
        """Process attribution (flowradar.enrich.process.ProcessEnricher) or None."""
        self.top = top
        self.packets = 0
        self.finished = 0
        self._started = time.monotonic()
        self._last = (self._started, 0)
        self._rate = 0.0

    def add(self, flows: FlowBatch, packets: int) -> None:
        """Count one batch of packets and the flows that ended with it."""
        self.packets += packets
        self.finished += len(flows)

    def render(self, engine: Engine) -> Group:
        """Header line plus the table of the busiest active flows."""
        now = time.monotonic()
        t0, p0 = self._last
        if now - t0 >= 1.0:
            self._rate = (self.packets - p0) / (now - t0)
            self._last = (now, self.packets)
        snap = engine.snapshot()
        head = Table.grid(padding=(0, 2))
        head.add_row(
            f"[bold]flowradar[/] on [cyan]{self.interface}[/]",
            f"packets {self.packets:,}",
            f"{self._rate:,.0f} pkt/s",
            f"active flows {len(snap):,}",
            f"finished {self.finished:,}",
            f"up {now - self._started:,.0f} s",
        )
        table = Table(expand=True)
        columns = ("proto", "app", "process", "source", "destination", "name", "packets", "bytes", "history")
        for col in columns:
            table.add_column(col, justify="right" if col in ("packets", "bytes") else "left")
        if len(snap):
            order = np.argsort(-snap["bytes"].sum(axis=1))[: self.top]
            for row in snap[order]:
                ver, proto = int(row["ver"]), int(row["proto"])
                ported = proto in (6, 17, 132)
                src = ip_text(bytes(row["src"]), ver) + (f":{row['sport']}" if ported else "")
                dst = ip_text(bytes(row["dst"]), ver) + (f":{row['dport']}" if ported else "")
                facts = engine.facts_of(int(row["id"]))
                table.add_row(
                    transport_name(proto),
                    (facts.app_proto or "") if facts else "",
                    self._process(row, facts),
                    src,
                    dst,
                    _name(facts),
                    f"{int(row['pkts'].sum()):,}",
                    human_bytes(int(row["bytes"].sum())),
                    bytes(row["hist"]).decode("ascii", "replace"),
                )
        return Group(head, table)

    def _process(self, row: np.void, facts: L7Facts | None) -> str:
        if self.owners is None:
            return ""
        record = to_record(row, facts)
        self.owners.enrich(record)
        pid, name = record.enrich.pid, record.enrich.process
        return f"{name} ({pid})" if name else ""


def _name(facts: L7Facts | None) -> str:
    """The most telling name a flow carried: server name, HTTP host or first DNS question."""
    if facts is None:
        return ""
    return facts.tls_sni or facts.http_host or (facts.dns_queries[0] if facts.dns_queries else "") or ""
