"""Replay of real captures into dissectors: tshark extracts each stream's payloads, a fresh
dissector is fed them in capture order, as the engine would."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from tests.conftest import tshark_fields

from flowradar.engine.dissect.base import ORIG, RESP, DissectError, Dissector, L7Packet
from flowradar.model.flow import L7Facts

Flows = dict[int, list[L7Packet]]


def flows(pcap: Path, transport: str, display_filter: str) -> Flows:
    """Payload-carrying packets per tshark stream, in capture order; the originator is the sender
    of the stream's first packet (payload or not)."""
    fields = [f"{transport}.stream", "ip.src", "ipv6.src", f"{transport}.srcport", f"{transport}.dstport"]
    fields += ["frame.time_epoch", f"{transport}.payload"]
    fields += ["tcp.seq_raw", "tcp.flags"] if transport == "tcp" else []
    out: Flows = {}
    origins: dict[int, tuple[str, int, int]] = {}
    for row in tshark_fields(pcap, display_filter, fields):
        if not row[0]:
            continue
        stream, sport, dport = int(row[0]), int(row[3]), int(row[4])
        src = (row[1] or row[2]).split(",")[-1]
        orig = origins.setdefault(stream, (src, sport, dport))
        out.setdefault(stream, [])
        if len(row) < 7 or not row[6]:
            continue
        seq, flags = (int(row[7]), int(row[8], 16)) if transport == "tcp" else (0, 0)
        direction = ORIG if (src, sport) == orig[:2] else RESP
        payload = bytes.fromhex(row[6])
        out[stream].append(
            L7Packet(direction, float(row[5]), transport, orig[1], orig[2], payload, seq, flags)
        )
    return out


def udp_flows(pcap: Path, display_filter: str = "udp") -> Flows:
    """UDP payloads per stream (an IP-fragmented datagram appears once, reassembled)."""
    return flows(pcap, "udp", display_filter)


def tcp_flows(pcap: Path, display_filter: str = "tcp") -> Flows:
    """TCP segments with payload per stream, with their raw sequence numbers."""
    return flows(pcap, "tcp", display_filter)


def replay(packets: Iterable[L7Packet], factory: Callable[[], Dissector]) -> tuple[L7Facts, str | None]:
    """Feed packets to a fresh dissector until it loses interest; the facts and any DissectError."""
    facts, dissector = L7Facts(), factory()
    try:
        for pkt in packets:
            if not dissector.feed(pkt, facts):
                break
    except DissectError as exc:
        return facts, str(exc)
    return facts, None


def replay_all(flows: Flows, factory: Callable[[], Dissector]) -> list[tuple[L7Facts, str | None]]:
    """:func:`replay` on every flow."""
    return [replay(packets, factory) for packets in flows.values()]
