"""Custom rules: parsing, refusal with file, line and reason, and evaluation."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.detect.rowmaker import batch, flow

from flowradar.detect.rules import RuleDetector, RuleError, load_rules, parse_rules
from flowradar.model.flow import L7Facts

GOOD = """
# telnet leaving the network
[[rule]]
name = "telnet-out"
description = "telnet to the internet"
severity = "high"
when = ["dst_port == 23", "transport == tcp", "dst_ip not in 10.0.0.0/8"]
group_by = ["src_ip"]
window_s = 60
threshold = 3

[[rule]]
name = "odd-agent"
when = ["http_user_agent matches '(?i)curl|python'", "dst_port in [80, 8080]"]
count = "distinct dst_ip"
threshold = 2
"""


def test_parse_good_rules() -> None:
    rules = parse_rules(GOOD, "rules.toml")
    assert [r.name for r in rules] == ["telnet-out", "odd-agent"]
    assert rules[0].severity == "high" and rules[0].line == 3 and rules[1].count == "distinct dst_ip"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('[[rule]]\nname = "x"\nwhen = ["dst_prt == 23"]\n', 3, "unknown field 'dst_prt'"),
        ('[[rule]]\nname = "x"\nwhen = ["dst_port ~ 23"]\n', 3, "cannot read condition"),
        ('[[rule]]\nname = "x"\nwhen = ["dst_port == telnet"]\n', 3, "not a number"),
        ('[[rule]]\nname = "x"\nwhen = ["src_ip in 10.0.0.0/33"]\n', 3, "invalid address"),
        ('[[rule]]\nname = "x"\nwhen = ["tls_sni matches \'(\'"]\n', 3, "invalid regular expression"),
        ('[[rule]]\nname = "x"\n\nseverity = "urgent"\nwhen = ["dst_port == 1"]\n', 4, "severity 'urgent'"),
        (
            '[[rule]]\nname = "x"\nwhen = ["dst_port == 1"]\nthreshold = -1\n',
            4,
            "'threshold' must be a positive",
        ),
        ('[[rule]]\nname = "x"\nwhen = ["dst_port == 1"]\ncolour = 1\n', 4, "unknown key 'colour'"),
        ('[[rule]]\nwhen = ["dst_port == 1"]\n', 1, "'name' is required"),
        ('[[rule]]\nname = "x"\nwhen = "dst_port == 1"\ngroup_by = ["nope"]\n', 4, "'group_by'"),
        ('[[rule]\nname = "x"\n', 1, "invalid TOML"),
        (
            '[[rule]]\nname = "a"\nwhen = ["dst_port == 1"]\n[[rule]]\nname = "a"\nwhen = "dst_port == 2"\n',
            4,
            "duplicate",
        ),
    ],
)
def test_invalid_rules_are_refused_with_file_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(RuleError) as err:
        parse_rules(text, "my-rules.toml")
    msg = str(err.value)
    assert msg.startswith(f"my-rules.toml:{line}: "), msg
    assert reason in msg


def test_load_rules_from_file(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(GOOD)
    assert len(load_rules(path)) == 2
    with pytest.raises(RuleError, match="cannot read rules"):
        load_rules(tmp_path / "missing.toml")


def test_threshold_in_window_per_group() -> None:
    d = RuleDetector(parse_rules(GOOD))
    telnet = [flow("10.0.0.5", "198.51.100.23", dport=23, sport=40000 + i, first=1000 + i) for i in range(3)]
    inside = [flow("10.0.0.5", "10.0.0.23", dport=23, sport=41000 + i, first=1000 + i) for i in range(5)]
    alerts = d.observe(batch(*telnet[:2], *inside))
    assert alerts == []
    alerts = d.observe(batch(telnet[2]))
    assert [(a.kind, a.type, a.severity, a.subject_ip) for a in alerts] == [
        ("rule", "telnet-out", "high", "10.0.0.5")
    ]


def test_l7_conditions_and_distinct_counts() -> None:
    d = RuleDetector(parse_rules(GOOD))
    flows = [flow("10.0.0.5", f"10.0.1.{i}", dport=80, fid=88000 + i, first=1000 + i) for i in range(2)]
    facts = {88000 + i: L7Facts(app_proto="http", http_user_agent="curl/8.0") for i in range(2)}
    alerts = d.observe(batch(*flows, facts=facts))
    assert [a.type for a in alerts] == ["odd-agent"]
    browsers = {88000 + i: L7Facts(app_proto="http", http_user_agent="Mozilla/5.0") for i in range(2)}
    assert RuleDetector(parse_rules(GOOD)).observe(batch(*flows, facts=browsers)) == []
