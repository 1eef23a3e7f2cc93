"""Flow records as they leave the compiled flow table: a numpy view, then FlowRecord on demand.

The table exports fixed-size C records (``export_t`` in _fastpath.c); :data:`EXPORT_DTYPE` is their
numpy layout. A :class:`FlowBatch` keeps them as one array plus the L7 facts of the flows that had
any, so that aggregate views (top talkers, protocol mix) never build one Python object per flow.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import flowradar.engine._fastpath as _fastpath
from flowradar.model.flow import FlowRecord, L7Facts

EXPORT_DTYPE = np.dtype(
    [
        ("id", "<u8"),
        ("first", "<i8"),
        ("last", "<i8"),
        ("src", "V16"),
        ("dst", "V16"),
        ("pkts", "<u8", (2,)),
        ("bytes", "<u8", (2,)),
        ("payload", "<u8", (2,)),
        ("sport", "<u2"),
        ("dport", "<u2"),
        ("vlan", "<u2"),
        ("proto", "u1"),
        ("ver", "u1"),
        ("flags0", "u1"),
        ("flags1", "u1"),
        ("end_reason", "u1"),
        ("state", "u1"),
        ("hist", "S16"),
    ],
    align=True,
)
assert EXPORT_DTYPE.itemsize == _fastpath.export_size(), "export_t and EXPORT_DTYPE disagree"

END_REASONS = ("idle", "active", "fin", "rst", "evicted", "end")
TRANSPORTS = {6: "tcp", 17: "udp", 132: "sctp", 1: "icmp", 58: "icmpv6"}
PORTED = frozenset((6, 17, 132))
_FLAG_CHARS = "FSRPAUEC"


def transport_name(proto: int) -> str:
    """tcp, udp, sctp, icmp, icmpv6, or ip-<number> for every other IP protocol."""
    return TRANSPORTS.get(proto, f"ip-{proto}")


def ip_text(raw: bytes, version: int) -> str:
    """Text form of a 16-byte address field (IPv4 uses the first 4 bytes)."""
    if version == 4:
        return socket.inet_ntop(socket.AF_INET, raw[:4])
    return socket.inet_ntop(socket.AF_INET6, raw)


def flags_text(flags: int) -> str:
    """TCP flags byte as letters in the order F S R P A U E C."""
    return _FLAG_TEXTS[flags & 0xFF]


_FLAG_TEXTS = tuple("".join(c for i, c in enumerate(_FLAG_CHARS) if f & (1 << i)) for f in range(256))


def community_id(
    proto: int, version: int, src: bytes, dst: bytes, sport: int, dport: int, seed: int = 0
) -> str:
    """Community ID v1 (https://github.com/corelight/community-id-spec) of one flow."""
    n = 4 if version == 4 else 16
    a, b = src[:n], dst[:n]
    if proto in (1, 58):
        sport, dport, one_way = _icmp_ports(proto, sport, dport)
        ordered = one_way or (a, sport) <= (b, dport)
    else:
        ordered = (a, sport) <= (b, dport)
    if not ordered:
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", seed) + a + b + struct.pack("!BB", proto, 0)
    if proto in PORTED or proto in (1, 58):
        data += struct.pack("!HH", sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


_ICMP4_PAIRS = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
_ICMP6_PAIRS = {
    128: 129,
    129: 128,
    133: 134,
    134: 133,
    135: 136,
    136: 135,
    130: 131,
    131: 130,
    144: 145,
    145: 144,
}


def _icmp_ports(proto: int, itype: int, code: int) -> tuple[int, int, bool]:
    pairs = _ICMP4_PAIRS if proto == 1 else _ICMP6_PAIRS
    if itype in pairs:
        return itype, pairs[itype], False
    return itype, code, True


@dataclass(slots=True)
class FlowBatch:
    """Flows exported together: their counters as a numpy array, their L7 facts by flow id."""

    rows: np.ndarray
    facts: dict[int, L7Facts] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> Iterator[FlowRecord]:
        """Materialise every flow as a FlowRecord (one Python object per flow: use for output)."""
        facts = self.facts
        for values in self.rows.view(FLAT_DTYPE).tolist():
            yield _record(values, facts.get(values[0]))


_EXPORT_FIELDS: Any = EXPORT_DTYPE.fields
_FLAT_SPEC: Any = {
        "names": [
            "id", "first", "last", "src", "dst", "pkts0", "pkts1", "bytes0", "bytes1", "payload0", "payload1",
            "sport", "dport", "vlan", "proto", "ver", "flags0", "flags1", "end_reason", "hist",
        ],
        "formats": [
            "<u8", "<i8", "<i8", "V16", "V16", "<u8", "<u8", "<u8", "<u8", "<u8", "<u8",
            "<u2", "<u2", "<u2", "u1", "u1", "u1", "u1", "u1", "S16",
        ],
        "offsets": [
            _EXPORT_FIELDS[n][1] + extra
            for n, extra in (
                ("id", 0), ("first", 0), ("last", 0), ("src", 0), ("dst", 0), ("pkts", 0), ("pkts", 8),
                ("bytes", 0), ("bytes", 8), ("payload", 0), ("payload", 8), ("sport", 0), ("dport", 0),
                ("vlan", 0), ("proto", 0), ("ver", 0), ("flags0", 0), ("flags1", 0), ("end_reason", 0),
                ("hist", 0),
            )
        ],
        "itemsize": EXPORT_DTYPE.itemsize,
    }  # fmt: skip
FLAT_DTYPE = np.dtype(_FLAT_SPEC)
"""The export layout with every field scalar, so ``tolist()`` yields plain Python values."""


def flow_uid(flow_id: int, first_ns: int, proto: int, src: bytes, dst: bytes) -> str:
    """The uid every record about this flow carries (stable for the same input)."""
    digest = hashlib.blake2b(
        struct.pack("<QqB", flow_id, first_ns, proto) + src + dst, digest_size=10
    ).digest()
    return "C" + base64.b32encode(digest).decode().lower()


def row_uid(row: np.void) -> str:
    """The uid of one exported row, without building its FlowRecord."""
    return flow_uid(
        int(row["id"]), int(row["first"]), int(row["proto"]), bytes(row["src"]), bytes(row["dst"])
    )


def to_record(row: np.void, facts: L7Facts | None) -> FlowRecord:
    """Build the FlowRecord of one exported row."""
    values: tuple[Any, ...] = np.asarray(row).reshape(1).view(FLAT_DTYPE).tolist()[0]
    return _record(values, facts)


def _record(v: tuple[Any, ...], facts: L7Facts | None) -> FlowRecord:
    (
        fid,
        first,
        last,
        src,
        dst,
        p0,
        p1,
        b0,
        b1,
        y0,
        y1,
        sport,
        dport,
        vlan,
        proto,
        ver,
        f0,
        f1,
        end,
        hist,
    ) = v
    uid = flow_uid(fid, first, proto, src, dst)
    ported = proto in PORTED
    return FlowRecord(
        uid=uid,
        community_id=community_id(proto, ver, src, dst, sport, dport),
        ts_first=first / 1e9,
        ts_last=last / 1e9,
        transport=transport_name(proto),
        ip_version=ver,
        src_ip=ip_text(src, ver),
        src_port=sport if ported else 0,
        dst_ip=ip_text(dst, ver),
        dst_port=dport if ported else 0,
        src_packets=p0,
        dst_packets=p1,
        src_bytes=b0,
        dst_bytes=b1,
        src_payload=y0,
        dst_payload=y1,
        tcp_flags=f"{flags_text(f0)}/{flags_text(f1)}" if proto == 6 else "",
        history=hist.decode("ascii", "replace"),
        end_reason=END_REASONS[end] if end < len(END_REASONS) else "end",
        vlan=vlan,
        l7=facts if facts is not None else L7Facts(),
    )


def _addr_words(col: np.ndarray) -> np.ndarray:
    return np.frombuffer(np.ascontiguousarray(col).tobytes(), dtype=">u8").reshape(-1, 2)


def canonical_key_rows(rows: np.ndarray) -> list[str]:
    """Canonical 'proto a:p <-> b:q' strings of the distinct 5-tuples among rows."""
    if not len(rows):
        return []
    s, d = _addr_words(rows["src"]), _addr_words(rows["dst"])
    ported = np.isin(rows["proto"], list(PORTED))
    sport = np.where(ported, rows["sport"], 0).astype(np.uint16)
    dport = np.where(ported, rows["dport"], 0).astype(np.uint16)
    sp, dp = sport.astype(np.uint64), dport.astype(np.uint64)
    swap = (s[:, 0] > d[:, 0]) | (
        (s[:, 0] == d[:, 0]) & ((s[:, 1] > d[:, 1]) | ((s[:, 1] == d[:, 1]) & (sp > dp)))
    )
    keys = np.zeros(
        len(rows), dtype=[("p", "u1"), ("v", "u1"), ("a", "V16"), ("pa", "<u2"), ("b", "V16"), ("pb", "<u2")]
    )
    keys["p"], keys["v"] = rows["proto"], rows["ver"]
    keys["a"] = np.where(swap, rows["dst"], rows["src"])
    keys["b"] = np.where(swap, rows["src"], rows["dst"])
    keys["pa"] = np.where(swap, dport, sport)
    keys["pb"] = np.where(swap, sport, dport)
    cache: dict[tuple[bytes, int], str] = {}

    def ep(raw: bytes, ver: int, port: int) -> str:
        text = cache.get((raw, ver))
        if text is None:
            text = cache[(raw, ver)] = ip_text(raw, ver)
            if ver == 6:
                text = cache[(raw, ver)] = f"[{text}]"
        return f"{text}:{port}"

    out = []
    for k in np.unique(keys).tolist():
        p, v, a, pa, b, pb = k
        out.append(f"{transport_name(p)} {ep(bytes(a), v, pa)} <-> {ep(bytes(b), v, pb)}")
    return out
