"""Email sink: one mail per delivery over SMTP (implicit TLS on port 465, or STARTTLS; verified)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import EmailMessage

from flowradar.alert.base import SinkError, headline
from flowradar.model.alert import Alert


def render_mail(alerts: Sequence[Alert], sender: str, recipients: Sequence[str]) -> EmailMessage:
    """Subject: the first alert's headline (and how many more); body: every alert, field by field."""
    msg = EmailMessage()
    more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
    msg["Subject"] = f"[flowradar] {headline(alerts[0])}"[:200] + more
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    lines = []
    for a in alerts:
        when = datetime.fromtimestamp(a.first_seen or a.raised_at, UTC).isoformat()
        lines += [
            headline(a),
            f"  subject: {a.subject_ip or a.subject_host or '-'}  peer: {a.peer_ip or '-'}",
        ]
        lines += [
            f"  first seen: {when}  count: {a.count}  score: {a.score}",
            f"  id: {a.uid or a.identifier}",
        ]
        lines += [f"  evidence: {', '.join(a.evidence[:10]) or '-'}", ""]
    msg.set_content("\n".join(lines))
    return msg


class EmailSink:
    """Mails alerts through an SMTP server."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        recipients: Sequence[str],
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        """ValueError without recipients, or with a login over an unencrypted connection."""
        if not recipients:
            raise ValueError("the email sink needs at least one recipient")
        if username and not (starttls or port == 465):
            raise ValueError("an SMTP login needs TLS (smtp_starttls or port 465)")
        self.host, self.port, self.sender, self.recipients = host, port, sender, list(recipients)
        self._starttls, self._user, self._password, self._timeout = starttls, username, password, timeout_s

    def send(self, alerts: Sequence[Alert]) -> None:
        """Send one mail with every alert; SinkError on any SMTP or network failure."""
        if not alerts:
            return
        msg = render_mail(alerts, self.sender, self.recipients)
        ctx = ssl.create_default_context()
        try:
            if self.port == 465:
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self._timeout, context=ctx
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self._timeout)
            with smtp:
                if self._starttls:
                    smtp.starttls(context=ctx)
                if self._user:
                    smtp.login(self._user, self._password or "")
                smtp.send_message(msg)
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            raise SinkError(f"smtp {self.host}:{self.port}: {exc}") from None

    def close(self) -> None:
        """No connection is kept between deliveries."""
