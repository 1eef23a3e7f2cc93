"""Property-based API testing against the OpenAPI spec: no request, however odd, gets a 5xx."""

from __future__ import annotations

import time
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from tests.server.conftest import Api, flows
from tests.store.records import alert

from flowradar.agent.wire import Batch

EXAMPLES = 25
"""Generated requests per operation (bounded so the suite stays fast)."""


def test_no_operation_answers_with_a_server_error(api: Api) -> None:
    api.send(Batch("agent1", flows=flows(30), alerts=[alert("a1", time.time() - 5)]))
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", api.app, headers=api.admin)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures: list[str] = []
    seen: dict[int, int] = {}
    for operation in operations:
        headers = api.ingest if operation.path.endswith("/ingest") else api.admin
        _exercise(operation, headers, failures, seen)
    assert not failures, "\n".join(failures[:10])
    assert seen.get(200, 0) > len(operations) and sum(seen.values()) > 5 * len(operations), seen


def _exercise(operation: Any, headers: dict[str, str], failures: list[str], seen: dict[int, int]) -> None:
    """Send EXAMPLES generated requests to one operation; note every 5xx."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
            )

    check()
