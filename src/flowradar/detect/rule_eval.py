"""Evaluation of custom rules (see :mod:`flowradar.detect.rules` for the file format).

Conditions on flow fields run over the rows in bulk; conditions on L7 fields run on the flows that
have L7 facts. Rules look at flows that ended (whole counters), so a rule on bytes sees the total.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from flowradar.detect import rows as R
from flowradar.detect.base import batch_now, completed, cumulative
from flowradar.detect.window import WindowedDistinct, WindowedSum
from flowradar.engine.records import END_REASONS, FlowBatch, transport_name
from flowradar.model.alert import Alert

if TYPE_CHECKING:
    from flowradar.detect.rules import Rule

IP_FIELDS = ("src_ip", "dst_ip")
NUMBER_FIELDS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "src_port": lambda r: r["sport"],
    "dst_port": lambda r: r["dport"],
    "ip_version": lambda r: r["ver"],
    "src_packets": lambda r: r["pkts"][:, 0],
    "dst_packets": lambda r: r["pkts"][:, 1],
    "src_bytes": lambda r: r["bytes"][:, 0],
    "dst_bytes": lambda r: r["bytes"][:, 1],
    "src_payload": lambda r: r["payload"][:, 0],
    "dst_payload": lambda r: r["payload"][:, 1],
    "duration": lambda r: R.seconds(r["last"] - r["first"]),
}
TEXT_ROW_FIELDS = ("transport", "history", "end_reason")
L7_FIELDS = (
    "app_proto",
    "tls_sni",
    "tls_ja3",
    "tls_ja4",
    "http_method",
    "http_host",
    "http_path",
    "http_user_agent",
    "http_status",
    "dns_query",
    "dns_rcode",
    "ssh_client",
    "ssh_server",
)
FIELDS_ALL = frozenset((*IP_FIELDS, *NUMBER_FIELDS, *TEXT_ROW_FIELDS, *L7_FIELDS))
OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains", "startswith", "endswith", "matches")
COUNTS = ("flows", "packets", "bytes")
_NUMERIC_OPS = ("==", "!=", "<", "<=", ">", ">=", "in", "not in")
_TEXT_OPS = ("==", "!=", "in", "not in", "contains", "startswith", "endswith", "matches")


def _values(raw: str) -> list[str]:
    raw = raw.strip()
    items = raw[1:-1].split(",") if raw.startswith("[") and raw.endswith("]") else [raw]
    return [x.strip().strip("'\"") for x in items if x.strip()]


@dataclass(frozen=True, slots=True)
class Condition:
    """One parsed ``FIELD OP VALUE``."""

    field: str
    op: str
    values: tuple[Any, ...]

    @classmethod
    def build(cls, field: str, op: str, raw: str) -> Condition:
        """Check the operator and the value against the field's type (ValueError with the reason)."""
        vals = _values(raw)
        if not vals:
            raise ValueError("missing value")
        if field in IP_FIELDS:
            if op not in ("==", "!=", "in", "not in"):
                raise ValueError(f"operator '{op}' does not apply to an address")
            try:
                return cls(field, op, (R.Networks(vals),))
            except ValueError:
                raise ValueError(f"invalid address or network '{raw}'") from None
        if field in NUMBER_FIELDS or field == "http_status":
            if op not in _NUMERIC_OPS:
                raise ValueError(f"operator '{op}' does not apply to a number")
            try:
                return cls(field, op, tuple(float(v) for v in vals))
            except ValueError:
                raise ValueError(f"'{raw}' is not a number") from None
        if op not in _TEXT_OPS:
            raise ValueError(f"operator '{op}' does not apply to text")
        if op == "matches":
            try:
                return cls(field, op, (re.compile(vals[0]),))
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return cls(field, op, tuple(v.lower() for v in vals))

    def row_mask(self, rows: np.ndarray) -> np.ndarray | None:
        """Bulk evaluation over rows; None for an L7 field."""
        if self.field in IP_FIELDS:
            col = rows["src" if self.field == "src_ip" else "dst"]
            hit = self.values[0].contains(col, rows["ver"])
            return np.asarray(~hit if self.op in ("!=", "not in") else hit)
        if self.field in NUMBER_FIELDS:
            return _compare(
                np.asarray(NUMBER_FIELDS[self.field](rows), dtype=np.float64), self.op, self.values
            )
        if self.field in TEXT_ROW_FIELDS:
            texts = _row_texts(rows, self.field)
            uniq, inv = np.unique(texts, return_inverse=True)
            ok = np.array([self.test(str(u)) for u in uniq.tolist()], dtype=bool)
            return ok[inv.ravel()] if len(uniq) else np.zeros(len(rows), dtype=bool)
        return None

    def test(self, value: Any) -> bool:
        """Evaluate on one value (None never matches, except with != and not in)."""
        if value is None:
            return self.op in ("!=", "not in")
        if isinstance(value, int | float) and not isinstance(value, bool) and self.op in _NUMERIC_OPS:
            return bool(_compare(np.array([float(value)]), self.op, self.values)[0])
        v = str(value).lower()
        op, vals = self.op, self.values
        if op == "matches":
            return bool(vals[0].search(str(value)))
        checks: dict[str, Callable[[], bool]] = {
            "==": lambda: v == vals[0],
            "!=": lambda: v != vals[0],
            "in": lambda: v in vals,
            "not in": lambda: v not in vals,
            "contains": lambda: vals[0] in v,
            "startswith": lambda: v.startswith(vals[0]),
            "endswith": lambda: v.endswith(vals[0]),
        }
        return checks[op]()


def _compare(x: np.ndarray, op: str, vals: tuple[Any, ...]) -> np.ndarray:
    v = vals[0]
    table = {"==": x == v, "!=": x != v, "<": x < v, "<=": x <= v, ">": x > v, ">=": x >= v}
    if op in table:
        return np.asarray(table[op])
    hit = np.isin(x, np.array(vals, dtype=np.float64))
    return np.asarray(hit if op == "in" else ~hit)


def _row_texts(rows: np.ndarray, field: str) -> np.ndarray:
    if field == "transport":
        return np.array([transport_name(int(p)) for p in rows["proto"].tolist()])
    if field == "end_reason":
        return np.array(
            [END_REASONS[e] if e < len(END_REASONS) else "end" for e in rows["end_reason"].tolist()]
        )
    return np.char.decode(rows["hist"].astype("S16"), "ascii", "replace")


def l7_value(facts: Any, field: str) -> Any:
    """An L7 field of a flow's facts (dns_query: the first question)."""
    if facts is None:
        return None
    if field == "dns_query":
        return facts.dns_queries[0] if facts.dns_queries else None
    return getattr(facts, field, None)


def _hash_text(values: list[str]) -> np.ndarray:
    return np.array(
        [int.from_bytes(hashlib.blake2b(v.encode(), digest_size=8).digest(), "little") for v in values],
        dtype=np.uint64,
    )


class RuleDetector:
    """Runs the custom rules over ended flows."""

    name = "rules"

    def __init__(self, rules: list[Rule]) -> None:
        """One windowed counter per rule."""
        self.rules = rules
        self._sums = {r.name: WindowedSum(r.window_s) for r in rules if not r.count.startswith("distinct ")}
        self._distinct = {
            r.name: WindowedDistinct(r.window_s) for r in rules if r.count.startswith("distinct ")
        }
        self._alerted: dict[tuple[str, int], float] = {}

    def observe(self, batch: FlowBatch) -> list[Alert]:
        """Evaluate every rule on the batch's ended flows."""
        rows = cumulative(batch)
        if not len(rows):
            return []
        done = completed(batch)
        rows = rows[done]
        out: list[Alert] = []
        for rule in self.rules:
            out.extend(self._apply(rule, rows, batch))
        return out

    def _mask(self, rule: Rule, rows: np.ndarray, batch: FlowBatch) -> np.ndarray:
        m = np.ones(len(rows), dtype=bool)
        l7 = []
        for c in rule.conditions:
            cm = c.row_mask(rows)
            if cm is None:
                l7.append(c)
            else:
                m &= cm
        for i in np.flatnonzero(m).tolist() if l7 else []:
            facts = batch.facts.get(int(rows["id"][i]))
            m[i] = all(c.test(l7_value(facts, c.field)) for c in l7)
        return m

    def _column(self, field: str, rows: np.ndarray, batch: FlowBatch) -> np.ndarray:
        if field in IP_FIELDS:
            return R.addr_hash(rows["src" if field == "src_ip" else "dst"])
        if field in NUMBER_FIELDS:
            return np.asarray(NUMBER_FIELDS[field](rows)).astype(np.uint64)
        if field in TEXT_ROW_FIELDS:
            return _hash_text(_row_texts(rows, field).tolist())
        return _hash_text([str(l7_value(batch.facts.get(int(i)), field)) for i in rows["id"].tolist()])

    def _apply(self, rule: Rule, rows: np.ndarray, batch: FlowBatch) -> list[Alert]:
        m = self._mask(rule, rows, batch)
        if not m.any():
            return []
        sel = rows[m]
        key = R.mix(*[self._column(g, sel, batch) for g in rule.group_by])
        t = R.seconds(sel["last"])
        if rule.count.startswith("distinct "):
            item = self._column(rule.count.split()[1], sel, batch)
            win = self._distinct[rule.name]
            cr = win.crossing(win.add(key, item, np.zeros(len(sel), dtype=np.uint64), t), int(rule.threshold))
        else:
            amount = {
                "flows": np.ones(len(sel)),
                "packets": sel["pkts"].sum(axis=1),
                "bytes": sel["bytes"].sum(axis=1),
            }
            s = self._sums[rule.name]
            cr = s.crossing(s.add(key, t, t, amount[rule.count].astype(np.float64)), rule.threshold)
        now = batch_now(batch)
        out = []
        for k, value, when in zip(cr.keys.tolist(), cr.values.tolist(), cr.times.tolist(), strict=True):
            last = self._alerted.get((rule.name, k))
            if last is not None and now - last < rule.window_s:
                continue
            self._alerted[(rule.name, k)] = now
            out.append(self._alert(rule, sel[key == np.uint64(k)], batch, float(value), float(when)))
        return out

    def _alert(self, rule: Rule, rows: np.ndarray, batch: FlowBatch, value: float, when: float) -> Alert:
        group = []
        for g in rule.group_by:
            if g in IP_FIELDS:
                group.append(R.text_of(rows["src" if g == "src_ip" else "dst"], rows["ver"], 0))
            elif g in NUMBER_FIELDS:
                group.append(str(NUMBER_FIELDS[g](rows[:1])[0]))
            elif g in TEXT_ROW_FIELDS:
                group.append(str(_row_texts(rows[:1], g)[0]))
            else:
                group.append(str(l7_value(batch.facts.get(int(rows["id"][0])), g)))
        subject = (
            group[rule.group_by.index("src_ip")]
            if "src_ip" in rule.group_by
            else (group[rule.group_by.index("dst_ip")] if "dst_ip" in rule.group_by else None)
        )
        label = ", ".join(f"{g}={v}" for g, v in zip(rule.group_by, group, strict=True))
        return Alert(
            kind="rule",
            type=rule.name,
            severity=rule.severity,
            score=50,
            subject_ip=subject,
            identifier=f"rule:{rule.name}:{label}",
            message=f"{rule.description or rule.name}: {value:g} {rule.count} "
            f"in {rule.window_s:g} s ({label})",
            evidence=R.uids(rows),
            first_seen=float(rows["first"].min()) / 1e9,
            last_seen=float(rows["last"].max()) / 1e9,
            trigger_ts=when,
            raised_at=time.time(),
            details={"rule": rule.name, "value": value, "threshold": rule.threshold, "group": label},
        )

    def tick(self, now: float) -> list[Alert]:
        """Expire the windows."""
        for s in self._sums.values():
            s.expire(now)
        for d in self._distinct.values():
            d.expire(now)
        self._alerted = {k: t for k, t in self._alerted.items() if now - t < 86400}
        return []
