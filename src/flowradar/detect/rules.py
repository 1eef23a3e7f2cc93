"""Custom rules from a TOML file: conditions on flow fields, a window and a threshold give an alert.

```toml
[[rule]]
name = "telnet-out"                 # required, unique
description = "telnet to the internet"
severity = "medium"                 # info, low, medium, high, critical (default medium)
when = ["dst_port == 23", "transport == tcp", "dst_ip not in 10.0.0.0/8"]
group_by = ["src_ip"]               # fields the count is kept per (default src_ip)
count = "flows"                     # flows, packets, bytes, or "distinct FIELD"
window_s = 60                       # sliding window (default 60)
threshold = 3                       # alert when the count reaches this (default 1)
```

A condition is ``FIELD OP VALUE``; OP is one of ``== != < <= > >= in, not in, contains, startswith,
endswith, matches`` (a regular expression). Address fields take CIDRs with ``in``. Flow fields are
evaluated on the flow rows in bulk; L7 fields (see :data:`L7_FIELDS`) on the flows that have them.
An invalid rule is refused when the file is loaded, with the file, the line and the reason.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowradar.detect.rule_eval import COUNTS, FIELDS_ALL, OPS, Condition, RuleDetector
from flowradar.model.alert import SEVERITIES

__all__ = ["Rule", "RuleDetector", "RuleError", "load_rules", "parse_rules"]

_COND = re.compile(
    r"^\s*([a-z_0-9]+)\s*(==|!=|<=|>=|<|>|not\s+in|in|contains|startswith|endswith|matches)\s*(.+?)\s*$"
)
_KEYS = {"name", "description", "severity", "when", "group_by", "count", "window_s", "threshold"}


class RuleError(ValueError):
    """An invalid rule file: ``file:line: reason``."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One parsed custom rule."""

    name: str
    description: str
    severity: str
    conditions: tuple[Condition, ...]
    group_by: tuple[str, ...]
    count: str
    window_s: float
    threshold: float
    line: int


class _Lines:
    """Where each rule and key sits in the file text (tomllib keeps no positions)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers = [i + 1 for i, ln in enumerate(self.lines) if re.match(r"^\s*\[\[\s*rule\s*\]\]", ln)]

    def of_rule(self, index: int) -> int:
        return self.headers[index] if index < len(self.headers) else 1

    def of(self, index: int, needle: str) -> int:
        start = self.of_rule(index)
        end = self.headers[index + 1] if index + 1 < len(self.headers) else len(self.lines) + 1
        for n in range(start, end):
            if needle in self.lines[n - 1]:
                return n
        return start


def load_rules(path: str | Path) -> list[Rule]:
    """Read and check a rule file; RuleError names the file, the line and the reason."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise RuleError(f"{p}:0: cannot read rules: {exc.strerror or exc}") from None
    if p.suffix.lower() in (".yaml", ".yml"):
        raise RuleError(f"{p}:1: rules are written in TOML (see flowradar.detect.rules)")
    return parse_rules(text, str(p))


def parse_rules(text: str, origin: str = "<rules>") -> list[Rule]:
    """Parse rule file text (``origin`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise RuleError(f"{origin}:{m.group(1) if m else 1}: invalid TOML: {exc}") from None
    where = _Lines(text)
    unknown = [k for k in data if k != "rule"]
    if unknown:
        raise RuleError(
            f"{origin}:{where.of(0, unknown[0]) if where.headers else 1}: unknown table '{unknown[0]}'"
        )
    items = data.get("rule", [])
    if not isinstance(items, list):
        raise RuleError(f"{origin}:1: 'rule' must be an array of tables ([[rule]])")
    rules: list[Rule] = []
    for i, item in enumerate(items):
        rules.append(_rule(item, i, where, origin))
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise RuleError(f"{origin}:{r.line}: duplicate rule name '{r.name}'")
        seen.add(r.name)
    return rules


def _rule(item: dict[str, Any], i: int, where: _Lines, origin: str) -> Rule:
    def fail(key: str, reason: str) -> RuleError:
        return RuleError(f"{origin}:{where.of(i, key) if key else where.of_rule(i)}: rule {i + 1}: {reason}")

    for key in item:
        if key not in _KEYS:
            return _raise(fail(key, f"unknown key '{key}' (known: {', '.join(sorted(_KEYS))})"))
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("name", "'name' is required (a non-empty string)")
    severity = item.get("severity", "medium")
    if severity not in SEVERITIES:
        raise fail("severity", f"severity '{severity}' is not one of {', '.join(SEVERITIES)}")
    when = item.get("when", [])
    if isinstance(when, str):
        when = [when]
    if not isinstance(when, list) or not when or not all(isinstance(c, str) for c in when):
        raise fail("when", "'when' must be a non-empty list of conditions like \"dst_port == 23\"")
    conds = tuple(_condition(c, lambda reason, c=c: fail(c, reason)) for c in when)
    group = item.get("group_by", ["src_ip"])
    group = [group] if isinstance(group, str) else group
    if not isinstance(group, list) or not all(g in FIELDS_ALL for g in group):
        raise fail("group_by", f"'group_by' must list flow fields (known: {', '.join(sorted(FIELDS_ALL))})")
    count = item.get("count", "flows")
    distinct = count.split()[1] if isinstance(count, str) and count.startswith("distinct ") else None
    if count not in COUNTS and (distinct is None or distinct not in FIELDS_ALL):
        raise fail("count", f"'count' must be one of {', '.join(COUNTS)} or 'distinct FIELD'")
    window, threshold = item.get("window_s", 60), item.get("threshold", 1)
    for key, value in (("window_s", window), ("threshold", threshold)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise fail(key, f"'{key}' must be a positive number, not {value!r}")
    return Rule(
        name.strip(),
        str(item.get("description", "")),
        severity,
        conds,
        tuple(group),
        str(count),
        float(window),
        float(threshold),
        where.of_rule(i),
    )


def _raise(exc: RuleError) -> Rule:
    raise exc


def _condition(text: str, fail: Any) -> Condition:
    m = _COND.match(text)
    if not m:
        raise fail(f"cannot read condition '{text}' (expected FIELD OP VALUE, OP one of {', '.join(OPS)})")
    field, op, raw = m.group(1), " ".join(m.group(2).split()), m.group(3)
    if field not in FIELDS_ALL:
        raise fail(f"unknown field '{field}' in '{text}'")
    try:
        return Condition.build(field, op, raw)
    except ValueError as exc:
        raise fail(f"{exc} in '{text}'") from None
