"""Syslog sink: RFC 5424 messages with structured data, or ArcSight CEF inside RFC 5424, over UDP or
TCP (octet-counted framing, RFC 6587)."""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from datetime import UTC, datetime

from flowradar import __version__
from flowradar.alert.base import SinkError
from flowradar.model.alert import Alert

FACILITY = 4
"""security/authorization messages."""
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
CEF_SEVERITY = {"critical": 10, "high": 8, "medium": 5, "low": 3, "info": 1}
SD_ID = "flowradar@32473"
"""Structured-data id (32473 is the example enterprise number of RFC 5612)."""


def _sd_value(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _header(alert: Alert, hostname: str) -> str:
    pri = FACILITY * 8 + SYSLOG_SEVERITY.get(alert.severity, 5)
    ts = datetime.fromtimestamp(alert.raised_at or alert.last_seen or 0, UTC).isoformat(
        timespec="microseconds"
    )
    msgid = "".join(c for c in alert.kind if 33 <= ord(c) <= 126)[:32] or "-"
    return f"<{pri}>1 {ts.replace('+00:00', 'Z')} {hostname or '-'} flowradar {os.getpid()} {msgid}"


def rfc5424(alert: Alert, hostname: str) -> str:
    """One RFC 5424 message: header, [flowradar@32473 ...] structured data, then the message text."""
    params = {
        "uid": alert.uid,
        "kind": alert.kind,
        "type": alert.type,
        "severity": alert.severity,
        "score": str(alert.score),
        "subject": alert.subject_ip or alert.subject_host or "",
        "peer": alert.peer_ip or "",
        "identifier": alert.identifier,
        "count": str(alert.count),
    }
    sd = " ".join(f'{k}="{_sd_value(v)}"' for k, v in params.items() if v)
    return f"{_header(alert, hostname)} [{SD_ID} {sd}] {alert.message}"


def _cef_header(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|")


def _cef_ext(text: str) -> str:
    return text.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def cef(alert: Alert) -> str:
    """The CEF:0 record of an alert (header fields escaped for '|', extensions for '=')."""
    ext = {
        "rt": str(int((alert.raised_at or alert.last_seen) * 1000)),
        "src": alert.subject_ip or "",
        "dst": alert.peer_ip or "",
        "dhost": alert.subject_host or "",
        "cnt": str(alert.count),
        "start": str(int(alert.first_seen * 1000)),
        "end": str(int(alert.last_seen * 1000)),
        "cs1Label": "identifier",
        "cs1": alert.identifier,
        "cs2Label": "uid",
        "cs2": alert.uid,
        "cn1Label": "score",
        "cn1": str(alert.score),
        "msg": alert.message,
    }
    head = "|".join(
        _cef_header(x)
        for x in ("flowradar", "flowradar", __version__, f"{alert.kind}:{alert.type}", alert.message[:512])
    )
    body = " ".join(f"{k}={_cef_ext(v)}" for k, v in ext.items() if v)
    return f"CEF:0|{head}|{CEF_SEVERITY.get(alert.severity, 3)}|{body}"


class SyslogSink:
    """Sends each alert as one syslog message (``fmt`` rfc5424 or cef) over ``protocol`` udp or tcp."""

    name = "syslog"

    def __init__(
        self, host: str, port: int = 514, protocol: str = "udp", fmt: str = "rfc5424", timeout_s: float = 5.0
    ) -> None:
        """ValueError on an unknown protocol or format."""
        if protocol not in ("udp", "tcp"):
            raise ValueError(f"syslog protocol must be udp or tcp, not {protocol!r}")
        if fmt not in ("rfc5424", "cef"):
            raise ValueError(f"syslog format must be rfc5424 or cef, not {fmt!r}")
        self.host, self.port, self.protocol, self.format = host, port, protocol, fmt
        self._timeout = timeout_s
        self._hostname = socket.gethostname()
        self._sock: socket.socket | None = None

    def render(self, alert: Alert) -> bytes:
        """The message of one alert, as sent (without TCP framing)."""
        if self.format == "cef":
            return f"{_header(alert, self._hostname)} - {cef(alert)}".encode()
        return rfc5424(alert, self._hostname).encode()

    def send(self, alerts: Sequence[Alert]) -> None:
        """Send every alert; SinkError (and a fresh connection next time) on failure."""
        try:
            sock = self._connect()
            for a in alerts:
                msg = self.render(a)
                if self.protocol == "tcp":
                    sock.sendall(str(len(msg)).encode() + b" " + msg)
                else:
                    sock.sendto(msg, (self.host, self.port))
        except OSError as exc:
            self.close()
            raise SinkError(f"syslog {self.host}:{self.port}: {exc.strerror or exc}") from None

    def _connect(self) -> socket.socket:
        if self._sock is None:
            if self.protocol == "tcp":
                self._sock = socket.create_connection((self.host, self.port), timeout=self._timeout)
            else:
                family = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)[0][0]
                self._sock = socket.socket(family, socket.SOCK_DGRAM)
                self._sock.settimeout(self._timeout)
        return self._sock

    def close(self) -> None:
        """Close the socket (a new one is opened on the next send)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
