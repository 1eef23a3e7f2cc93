"""Wire formats: RFC 5424, CEF, and the chat webhook payloads."""

from __future__ import annotations

import re

from tests.alert.test_sink_contract import make_alert

from flowradar.alert.syslog import SyslogSink, cef, rfc5424
from flowradar.alert.webhook import discord_payload, generic_payload, slack_payload, teams_payload

RFC5424 = re.compile(
    r'^<(\d+)>1 (\S+Z) (\S+) flowradar (\d+) scan \[flowradar@32473 ((?:\w+="(?:[^"\\\]]|\\.)*" ?)+)\] (.*)$'
)


def test_rfc5424_header_and_escaped_structured_data() -> None:
    a = make_alert(1)
    a.identifier = 'id "with] quotes'
    m = RFC5424.match(rfc5424(a, "radar"))
    assert m is not None
    assert m.group(1) == str(4 * 8 + 3)  # security facility, 'err' for high
    assert 'identifier="id \\"with\\] quotes"' in m.group(5)
    assert m.group(6) == a.message


def test_cef_escapes_header_and_extension() -> None:
    line = cef(make_alert(2))
    assert line.startswith("CEF:0|flowradar|flowradar|")
    head = re.split(r"(?<!\\)\|", line, maxsplit=7)
    assert len(head) == 8 and head[4] == "scan:port_scan" and head[6] == "8"
    assert "port scan number 2 \\| with = odd" in head[5]
    assert "msg=port scan number 2 | with \\= odd" in head[7] and "src=10.0.0.2" in head[7]
    cef_in_syslog = SyslogSink("127.0.0.1", 514, fmt="cef").render(make_alert(2)).decode()
    assert cef_in_syslog.startswith("<35>1 ") and " - CEF:0|" in cef_in_syslog


def test_chat_payloads() -> None:
    alerts = [make_alert(1), make_alert(2)]
    assert len(generic_payload(alerts)["alerts"]) == 2
    slack = slack_payload(alerts)
    assert "HIGH scan" in slack["text"] and len(slack["blocks"]) == 2
    discord = discord_payload(alerts * 6)
    assert len(discord["embeds"]) == 10 and discord["embeds"][0]["color"] == 0xE67E22
    teams = teams_payload(alerts)
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
