"""Shipping: what leaves the spool on which answer, exponential backoff, TLS verification on."""

from __future__ import annotations

import random
import ssl
import threading
from pathlib import Path

import httpx
import pytest

from flowradar.agent.settings import AgentConfig
from flowradar.agent.shipper import Backoff, Shipper, tls_verify
from flowradar.agent.spool import Spool

CFG = AgentConfig(server="https://radar.test:8470", token="fri_x", backoff_initial_s=0.01, backoff_max_s=0.05)


def _shipper(tmp_path: Path, answers: list[int]) -> tuple[Shipper, Spool, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = answers.pop(0) if answers else 200
        return httpx.Response(status, json={"duplicate": False, "detail": "x"})

    spool = Spool(tmp_path, 1 << 20)
    client = httpx.Client(base_url=CFG.server or "", transport=httpx.MockTransport(handle))
    return Shipper(CFG, spool, client), spool, seen


def test_a_batch_leaves_the_spool_only_when_the_server_has_it(tmp_path: Path) -> None:
    shipper, spool, seen = _shipper(tmp_path, [503, 500, 429, 401, 200])
    spool.put("b1", b"body")
    shipper.drain(threading.Event())
    assert len(spool) == 0 and shipper.stats.sent == 1 and shipper.stats.failures == 4
    assert [r.headers["X-Batch-Id"] for r in seen] == ["b1"] * 5
    assert seen[0].headers["Authorization"] == "Bearer fri_x" and seen[0].content == b"body"


def test_a_batch_refused_for_good_is_dropped_and_counted(tmp_path: Path) -> None:
    shipper, spool, _ = _shipper(tmp_path, [422, 200])
    spool.put("bad", b"x")
    spool.put("good", b"y")
    shipper.drain(threading.Event())
    assert len(spool) == 0 and shipper.stats.rejected == 1 and shipper.stats.sent == 1


def test_network_errors_keep_the_batch(tmp_path: Path) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    spool = Spool(tmp_path, 1 << 20)
    shipper = Shipper(CFG, spool, httpx.Client(base_url="https://x", transport=httpx.MockTransport(fail)))
    spool.put("b1", b"x")
    item = spool.oldest()
    assert item is not None and shipper.send(item) is False
    assert len(spool) == 1 and "ConnectError" in (shipper.stats.last_error or "")


def test_backoff_doubles_up_to_the_cap_and_resets() -> None:
    backoff = Backoff(0.5, 8.0, random.Random(1))
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1, 2, 4, 8, 8, 8, 8]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 0.5


def test_tls_is_verified_unless_insecure_is_explicit(tmp_path: Path) -> None:
    assert tls_verify(AgentConfig()) is True
    assert tls_verify(AgentConfig(insecure=True)) is False
    pytest.importorskip("cryptography")
    from tests.tlscert import write_ca

    ca = write_ca(tmp_path)
    context = tls_verify(AgentConfig(ca_file=str(ca)))
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_the_agent_needs_a_server_and_a_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Shipper(AgentConfig(server="https://x"), Spool(tmp_path, 10))
