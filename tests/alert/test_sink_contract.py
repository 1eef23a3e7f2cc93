"""One contract for every AlertSink: it delivers what it is given, a dead endpoint is a SinkError
(never another exception, never a hang), and close is idempotent. Each sink runs against a local
receiver on 127.0.0.1 that the test starts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from tests.alert.servers import free_port, http_server, self_signed, smtp_server, syslog_server

from flowradar.alert.base import AlertSink, SinkError
from flowradar.alert.jsonl import JsonlSink
from flowradar.alert.smtp import EmailSink
from flowradar.alert.syslog import SyslogSink
from flowradar.alert.webhook import WebhookSink
from flowradar.model.alert import Alert

Reader = Callable[[int], list[str]]
Factory = Callable[[Path], AbstractContextManager[tuple[AlertSink, Reader]]]


def make_alert(n: int) -> Alert:
    return Alert(
        kind="scan",
        type="port_scan",
        severity="high",
        score=70,
        subject_ip=f"10.0.0.{n}",
        identifier=f"scan:10.0.0.{n}",
        message=f'port scan number {n} | with = odd "chars" ]',
        evidence=["Cabc"],
        first_seen=1700000000.0 + n,
        last_seen=1700000001.0 + n,
        raised_at=1700000002.0 + n,
        uid=f"Auid{n}",
    )


@contextmanager
def jsonl(tmp: Path) -> Iterator[tuple[AlertSink, Reader]]:
    path = tmp / "out" / "alerts.jsonl"

    def read(n: int) -> list[str]:
        return path.read_text().splitlines() if path.exists() else []

    yield JsonlSink(path), read


def _webhook(fmt: str, tls: bool = False) -> Factory:
    @contextmanager
    def factory(tmp: Path) -> Iterator[tuple[AlertSink, Reader]]:
        cert = self_signed(tmp) if tls else None
        with http_server(cert) as (url, got):
            sink = WebhookSink(url, fmt, timeout_s=5, ca_file=str(cert[0]) if cert else None)
            yield sink, lambda n: [body.decode() for _, _, body in got.wait(1)]

    return factory


def _syslog(protocol: str, fmt: str) -> Factory:
    @contextmanager
    def factory(tmp: Path) -> Iterator[tuple[AlertSink, Reader]]:
        with syslog_server(protocol) as (port, got):
            yield SyslogSink("127.0.0.1", port, protocol, fmt, timeout_s=5), lambda n: got.wait(n)

    return factory


@contextmanager
def email(tmp: Path) -> Iterator[tuple[AlertSink, Reader]]:
    with smtp_server() as (port, got):
        sink = EmailSink("127.0.0.1", port, "radar@example.test", ["soc@example.test"], timeout_s=5)
        yield sink, lambda n: [data for _, _, data in got.wait(1)]


SINKS: dict[str, Factory] = {
    "jsonl": jsonl,
    "webhook-generic": _webhook("generic"),
    "webhook-slack": _webhook("slack"),
    "webhook-discord": _webhook("discord"),
    "webhook-teams": _webhook("teams"),
    "webhook-https": _webhook("generic", tls=True),
    "syslog-udp-rfc5424": _syslog("udp", "rfc5424"),
    "syslog-tcp-rfc5424": _syslog("tcp", "rfc5424"),
    "syslog-tcp-cef": _syslog("tcp", "cef"),
    "email": email,
}

DEAD: dict[str, Callable[[Path], AlertSink]] = {
    "jsonl": lambda tmp: JsonlSink(_file_as_folder(tmp) / "alerts.jsonl"),
    "webhook": lambda tmp: WebhookSink(f"http://127.0.0.1:{free_port()}/hook", timeout_s=2),
    "syslog-udp": lambda tmp: SyslogSink("127.0.0.1", 0, "udp"),
    "syslog-tcp": lambda tmp: SyslogSink("127.0.0.1", free_port(), "tcp", timeout_s=2),
    "email": lambda tmp: EmailSink(
        "127.0.0.1", free_port(), "a@example.test", ["b@example.test"], timeout_s=2
    ),
}


def _file_as_folder(tmp: Path) -> Path:
    blocker = tmp / "not-a-folder"
    blocker.write_text("")
    return blocker


@pytest.mark.parametrize("name", list(SINKS))
def test_delivers_every_alert(name: str, tmp_path: Path) -> None:
    with SINKS[name](tmp_path) as (sink, read):
        sink.send([make_alert(1), make_alert(2)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not all(
            any(f"10.0.0.{n}" in x for x in read(2)) for n in (1, 2)
        ):
            time.sleep(0.05)
        got = read(2)
        for n in (1, 2):
            assert any(f"10.0.0.{n}" in x for x in got), f"{name}: alert {n} missing from {got}"
        sink.close()
        sink.close()


@pytest.mark.parametrize("name", list(DEAD))
def test_a_dead_endpoint_is_a_sink_error(name: str, tmp_path: Path) -> None:
    sink = DEAD[name](tmp_path)
    start = time.monotonic()
    with pytest.raises(SinkError):
        sink.send([make_alert(1)])
    assert time.monotonic() - start < 10
    sink.close()


def test_https_certificates_are_verified(tmp_path: Path) -> None:
    cert = self_signed(tmp_path)
    with http_server(cert) as (url, got):
        with pytest.raises(SinkError):
            WebhookSink(url, timeout_s=5).send([make_alert(1)])  # self-signed, not trusted
        assert not got.items


def test_non_2xx_answers_fail(tmp_path: Path) -> None:
    with http_server() as (url, got):
        got.status = 500
        with pytest.raises(SinkError, match="500"):
            WebhookSink(url).send([make_alert(1)])


def test_jsonl_lines_rebuild_the_alerts(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    JsonlSink(path).send([make_alert(1), make_alert(2)])
    back = [Alert.from_dict(json.loads(x)) for x in path.read_text().splitlines()]
    assert back == [make_alert(1), make_alert(2)]
