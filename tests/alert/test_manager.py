"""Alert lifecycle: de-duplication, suppression, escalation, allowlists, acknowledgement, resolution."""

from __future__ import annotations

import dataclasses

import pytest

from flowradar.alert.manager import AlertManager
from flowradar.alert.settings import AlertConfig
from flowradar.model.alert import Alert, raise_severity, severity_rank
from flowradar.model.schema import columns_of


def alert(ip: str = "10.0.0.9", t: float = 1000.0, severity: str = "medium", **kw: object) -> Alert:
    base = Alert(kind="scan", type="port_scan", severity=severity, subject_ip=ip, identifier=f"scan:{ip}",
                 first_seen=t, last_seen=t, trigger_ts=t, evidence=[f"C{t}"])  # fmt: skip
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_repeats_merge_and_are_not_delivered_twice() -> None:
    sent: list[Alert] = []
    m = AlertManager(AlertConfig(), sent.append)
    assert len(m.submit([alert(t=1000)])) == 1
    assert m.submit([alert(t=1100), alert(t=1200)]) == []
    [kept] = m.alerts
    assert kept.count == 3 and kept.last_seen == 1200 and len(kept.evidence) == 3 and kept.uid
    assert len(sent) == 1


def test_escalation_is_delivered_again() -> None:
    sent: list[Alert] = []
    m = AlertManager(AlertConfig(), sent.append)
    m.submit([alert()])
    m.submit([alert(t=1010, severity="critical")])
    assert [a.severity for a in sent] == ["medium", "critical"] and len(m.alerts) == 1


def test_after_the_suppression_window_a_new_alert_starts() -> None:
    m = AlertManager(AlertConfig(suppress_s=3600))
    m.submit([alert(t=1000)])
    m.submit([alert(t=1000 + 7200)])
    assert len(m.alerts) == 2


@pytest.mark.parametrize(
    ("cfg", "incoming"),
    [
        (AlertConfig(allow_networks=("10.0.0.0/24",)), alert()),
        (AlertConfig(allow_domains=("example.test",)), alert(subject_host="cdn.example.test")),
        (AlertConfig(allow_processes=("backupd",)), alert(subject_process="backupd")),
    ],
)
def test_allowlists_drop(cfg: AlertConfig, incoming: Alert) -> None:
    m = AlertManager(cfg)
    assert m.submit([incoming]) == [] and m.alerts == []


def test_lifecycle() -> None:
    m = AlertManager(AlertConfig(resolve_after_s=60))
    [a] = m.submit([alert()])
    assert m.acknowledge(a.uid).status == "acknowledged"
    m.submit([alert(t=1010)])
    assert m.alerts[0].count == 2  # an acknowledged alert still takes repeats
    assert [x.uid for x in m.resolve_idle(2000)] == [a.uid] and m.alerts[0].status == "resolved"
    m.submit([alert(t=2100)])
    assert [x.status for x in m.alerts] == ["resolved", "open"]
    with pytest.raises(ValueError):
        m.set_status(a.uid, "bogus")


def test_bounded_and_min_severity() -> None:
    sent: list[Alert] = []
    m = AlertManager(AlertConfig(max_alerts=3, min_severity="high"), sent.append)
    for n in range(5):
        m.submit([alert(ip=f"10.9.0.{n}", severity="high" if n % 2 else "low")])
    assert len(m.alerts) == 3 and all(a.severity == "high" for a in sent) and len(sent) == 2


def test_alert_record_is_documented() -> None:
    cols = columns_of(Alert)
    assert {c.name for c in cols} >= {"kind", "severity", "score", "identifier", "evidence", "status"}
    assert all(c.doc for c in cols)
    assert raise_severity("low") == "medium" and raise_severity("critical") == "critical"
    assert severity_rank("high") > severity_rank("medium")
