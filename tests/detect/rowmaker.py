"""Synthetic flow rows (EXPORT_DTYPE) for detector tests."""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

import numpy as np

from flowradar.engine.records import EXPORT_DTYPE, FlowBatch
from flowradar.model.flow import L7Facts

_IDS = itertools.count(1)
FLAGS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, "A": 0x10}


def _addr(ip: str) -> bytes:
    a = ipaddress.ip_address(ip)
    return a.packed.ljust(16, b"\0")


def flow(
    src: str,
    dst: str,
    dport: int = 80,
    sport: int = 40000,
    proto: int = 6,
    hist: str = "ShADadFf",
    pkts: tuple[int, int] = (4, 4),
    nbytes: tuple[int, int] = (300, 500),
    payload: tuple[int, int] | None = None,
    first: float = 1000.0,
    last: float | None = None,
    flags0: str | None = None,
    state: int = 0,
    end_reason: int = 0,
    fid: int | None = None,
) -> dict[str, Any]:
    """Field values of one row; defaults: a finished HTTP connection."""
    if payload is None:
        payload = (100 if "D" in hist else 0, 200 if "d" in hist else 0)
    if flags0 is None:
        flags0 = "".join(c for c in "SAFR" if c in hist) + ("A" if "D" in hist else "")
    return {
        "id": fid if fid is not None else next(_IDS),
        "first": int(first * 1e9),
        "last": int((last if last is not None else first + 0.01) * 1e9),
        "src": _addr(src),
        "dst": _addr(dst),
        "pkts": pkts,
        "bytes": nbytes,
        "payload": payload,
        "sport": sport,
        "dport": dport,
        "proto": proto,
        "ver": ipaddress.ip_address(src).version,
        "flags0": sum(FLAGS[c] for c in set(flags0)),
        "flags1": 0x12 if "h" in hist else (0x14 if "r" in hist else 0),
        "end_reason": end_reason,
        "state": state,
        "hist": hist.encode(),
    }


def rows(*flows: dict[str, Any]) -> np.ndarray:
    """An EXPORT_DTYPE array of the given flows."""
    out = np.zeros(len(flows), dtype=EXPORT_DTYPE)
    for i, f in enumerate(flows):
        for k, v in f.items():
            out[i][k] = v
    return out


def batch(*flows: dict[str, Any], facts: dict[int, L7Facts] | None = None) -> FlowBatch:
    """A FlowBatch of the given flows (and L7 facts by flow id)."""
    return FlowBatch(rows(*flows), facts or {})
