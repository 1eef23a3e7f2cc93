"""Webhook sink: POSTs alerts as JSON in the generic, Slack, Discord or Microsoft Teams format.

HTTPS certificates are always verified (against the system CA store, plus ``ca_file`` when given).
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from flowradar import __version__
from flowradar.alert.base import SinkError, headline
from flowradar.model.alert import Alert

_COLORS = {"info": 0x95A5A6, "low": 0x3498DB, "medium": 0xF1C40F, "high": 0xE67E22, "critical": 0xE74C3C}


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts or 0, UTC).isoformat().replace("+00:00", "Z")


def _facts(a: Alert) -> list[tuple[str, str]]:
    pairs = [
        ("severity", a.severity),
        ("score", str(a.score)),
        ("subject", a.subject_ip or a.subject_host or "-"),
    ]
    if a.peer_ip:
        pairs.append(("peer", a.peer_ip))
    pairs += [("first seen", _iso(a.first_seen)), ("count", str(a.count)), ("id", a.uid or a.identifier)]
    return pairs


def generic_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """{"source": "flowradar", "version": ..., "alerts": [every field of each alert]}."""
    return {"source": "flowradar", "version": __version__, "alerts": [a.to_dict() for a in alerts]}


def slack_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """Slack incoming-webhook message: a text fallback and one section block per alert."""
    blocks: list[dict[str, Any]] = []
    for a in alerts[:45]:
        facts = " | ".join(f"*{k}*: {v}" for k, v in _facts(a))
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline(a)}*\n{facts}"}})
    return {"text": "\n".join(headline(a) for a in alerts), "blocks": blocks}


def discord_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """Discord webhook message: one embed per alert (Discord takes at most 10)."""
    embeds = [
        {
            "title": f"{a.severity.upper()} {a.kind}: {a.type}"[:256],
            "description": a.message[:4096],
            "color": _COLORS.get(a.severity, 0),
            "timestamp": _iso(a.last_seen or a.raised_at),
            "fields": [{"name": k, "value": v[:1024], "inline": True} for k, v in _facts(a)],
        }
        for a in alerts[:10]
    ]
    return {"username": "flowradar", "content": f"{len(alerts)} alert(s)", "embeds": embeds}


def teams_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """Microsoft Teams (Workflows) message carrying an Adaptive Card per alert."""
    cards = [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": headline(a), "weight": "Bolder", "wrap": True},
                    {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(a)]},
                ],
            },
        }
        for a in alerts
    ]
    return {"type": "message", "attachments": cards}


FORMATS: dict[str, Callable[[Sequence[Alert]], dict[str, Any]]] = {
    "generic": generic_payload,
    "slack": slack_payload,
    "discord": discord_payload,
    "teams": teams_payload,
}
"""Payload builders by format name."""


class WebhookSink:
    """POSTs each delivery as one JSON request; any non-2xx answer is a failure."""

    name = "webhook"

    def __init__(
        self, url: str, fmt: str = "generic", timeout_s: float = 5.0, ca_file: str | None = None
    ) -> None:
        """``fmt`` is generic, slack, discord or teams (ValueError otherwise)."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown webhook format {fmt!r} (one of {', '.join(FORMATS)})")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook URL must be http:// or https://, not {url!r}")
        self.url, self.format, self._timeout = url, fmt, timeout_s
        self._ctx = ssl.create_default_context(cafile=ca_file)

    def send(self, alerts: Sequence[Alert]) -> None:
        """POST the payload; SinkError on a network error or a non-2xx answer."""
        body = json.dumps(FORMATS[self.format](alerts)).encode()
        req = urllib.request.Request(self.url, data=body, method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("User-Agent", f"flowradar/{__version__}")
        try:
            with urllib.request.urlopen(req, timeout=self._timeout, context=self._ctx) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            raise SinkError(f"webhook answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SinkError(f"webhook {self.url}: {getattr(exc, 'reason', exc)}") from None
        if not 200 <= status < 300:
            raise SinkError(f"webhook answered {status}")

    def close(self) -> None:
        """No connection is kept between deliveries."""
