"""The Store contract on both backends: alerts, hosts and their metrics, users and tokens."""

from __future__ import annotations

import pytest
from tests.store.records import T0, alert, metrics

from flowradar.store.base import AlertQuery, StoreConflict, StoreInputError, TimeRange
from flowradar.store.sqlstore import SqlStore


def test_alerts_round_trip_and_upsert(store: SqlStore) -> None:
    assert store.write_alerts([alert("a1", T0), alert("a2", T0 + 10, "low")], "h1", "al-1") == 2
    assert store.write_alerts([alert("a1", T0)], "h1", "al-1") == 0  # same batch
    page = store.alerts(AlertQuery())
    assert [i["uid"] for i in page.items] == ["a2", "a1"]
    first = page.items[1]
    assert first["details"] == {"ports": 120, "window_s": 60} and first["evidence"] == ["Cflow000001"]
    assert first["host"] == "h1" and first["severity"] == "high"
    assert store.write_alerts([alert("a1", T0 + 20, count=3)], "h1") == 1  # a repeat updates the alert
    updated = store.alerts(AlertQuery(kind="scan", limit=1)).items[0]
    assert (updated["uid"], updated["count"], updated["last_seen"]) == ("a1", 3, T0 + 20)
    assert store.stats()["alerts"] == 2
    fresh = alert("", T0 + 30)
    assert store.write_alerts([fresh], "h2") == 1 and fresh.uid == ""  # the caller's alert is not changed
    assert len(store.alerts(AlertQuery(host="h2")).items[0]["uid"]) == 32


def test_alert_status_lifecycle(store: SqlStore) -> None:
    store.write_alerts([alert("a1", T0)], "h1")
    assert store.update_alert_status("a1", "acknowledged") is True
    assert store.update_alert_status("nope", "resolved") is False
    with pytest.raises(StoreInputError):
        store.update_alert_status("a1", "closed")
    store.write_alerts([alert("a1", T0 + 5, count=2)], "h1")  # a repeat keeps what a person set
    assert store.alerts(AlertQuery()).items[0]["status"] == "acknowledged"
    store.write_alerts([alert("a1", T0 + 9, status="resolved")], "h1")  # but resolving wins
    assert store.alerts(AlertQuery(status="resolved")).items[0]["uid"] == "a1"
    assert store.alerts(AlertQuery(status="open")).items == []


def test_alert_filters_and_pages(store: SqlStore) -> None:
    sev = ("info", "low", "medium", "high", "critical")
    batch = [alert(f"a{i:02d}", T0 + i, sev[i % 5], subject_ip=f"198.51.100.{i % 3}") for i in range(23)]
    store.write_alerts(batch, "h1")
    seen: list[str] = []
    cursor = None
    while True:
        page = store.alerts(AlertQuery(limit=5, cursor=cursor))
        seen += [i["uid"] for i in page.items]
        if (cursor := page.next_cursor) is None:
            break
    assert seen == [f"a{i:02d}" for i in reversed(range(23))]
    high = store.alerts(AlertQuery(min_severity="high", limit=100)).items
    assert {i["severity"] for i in high} == {"high", "critical"} and len(high) == 8
    assert len(store.alerts(AlertQuery(subject_ip="198.51.100.1", limit=100)).items) == 8
    assert len(store.alerts(AlertQuery(start=T0 + 20, limit=100)).items) == 3
    assert len(store.alerts(AlertQuery(end=T0 + 2, limit=100)).items) == 2
    with pytest.raises(StoreInputError):
        store.alerts(AlertQuery(min_severity="dire"))
    with pytest.raises(StoreInputError):
        store.alerts(AlertQuery(cursor="eyJhIjogMX0="))


def test_hosts_and_metrics(store: SqlStore) -> None:
    assert store.hosts() == []
    store.upsert_host("h1", "agent-1", T0)
    store.write_host_metrics([metrics(T0 + 1, cpu=10.0), metrics(T0 + 2, cpu=20.0)], "h1", "m1")
    store.upsert_host("h1", None, T0 - 100)  # an older report moves first_seen back, keeps the agent
    store.write_host_metrics([metrics(T0 + 5, "h2")], "h2")
    hosts = store.hosts()
    assert [h.name for h in hosts] == ["h1", "h2"]
    h1 = hosts[0]
    assert (h1.agent_id, h1.first_seen, h1.last_seen) == ("agent-1", T0 - 100, T0 + 2)
    assert h1.metrics == metrics(T0 + 2, cpu=20.0)
    series = store.host_metrics("h1", TimeRange(T0, T0 + 10))
    assert [m.cpu_percent for m in series] == [10.0, 20.0]
    assert series[0].interfaces[0].rx_bytes_s == 10.5 and series[0].processes[0].read_bytes is None
    assert [m.ts for m in store.host_metrics("h1", TimeRange(T0, T0 + 10), limit=1)] == [T0 + 2]
    with pytest.raises(StoreInputError):
        store.upsert_host("", None, T0)


def test_users(store: SqlStore) -> None:
    assert store.list_users() == []
    store.create_user("admin", "$argon2id$hash", "admin")
    store.create_user("bob", "$argon2id$other", "viewer")
    with pytest.raises(StoreConflict):
        store.create_user("admin", "x", "viewer")
    with pytest.raises(StoreInputError):
        store.create_user("eve", "x", "root")
    user = store.get_user("admin")
    assert user is not None and (user.name, user.password_hash, user.role) == (
        "admin",
        "$argon2id$hash",
        "admin",
    )
    assert store.get_user("nobody") is None
    assert [u.name for u in store.list_users()] == ["admin", "bob"]
    assert store.set_password("bob", "$new") is True and store.set_password("nobody", "$x") is False
    bob = store.get_user("bob")
    assert bob is not None and bob.password_hash == "$new"


def test_tokens(store: SqlStore) -> None:
    api = store.create_token("api", "ci", "hash-api", role="viewer")
    ingest = store.create_token("ingest", "web-01", "hash-ingest", host="web-01")
    assert ingest != api
    with pytest.raises(StoreConflict):
        store.create_token("api", "dup", "hash-api", role="admin")
    with pytest.raises(StoreInputError):
        store.create_token("magic", "x", "h")  # type: ignore[arg-type]
    found = store.find_token("hash-ingest")
    assert found is not None and (found.id, found.kind, found.host, found.revoked) == (
        ingest,
        "ingest",
        "web-01",
        None,
    )
    assert store.find_token("unknown") is None
    assert store.revoke_token(ingest) is True
    assert store.revoke_token(ingest) is False and store.revoke_token(9999) is False
    assert store.find_token("hash-ingest") is None
    tokens = store.list_tokens()
    assert [(t.id, t.name, t.revoked is not None) for t in tokens] == [
        (api, "ci", False),
        (ingest, "web-01", True),
    ]
    assert store.create_token("api", "next", "hash-3", role="admin") > ingest
