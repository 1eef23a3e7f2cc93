"""AlertConfig: the ``[alert]`` section: lifecycle, allowlists and the sinks alerts are sent to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Alert handling and delivery (the ``[alert]`` section)."""

    min_severity: str = "low"
    """Alerts below this severity (info, low, medium, high, critical) are kept but not delivered."""
    suppress_s: float = 3600.0
    """An alert with the same identifier within this time updates the open alert (count, last seen,
    evidence) instead of raising a new one."""
    resolve_after_s: float = 86400.0
    """An open alert with no new evidence for this long is resolved."""
    max_alerts: int = 10000
    """Alerts kept in memory at most (resolved ones are dropped first)."""
    max_evidence: int = 20
    """Flow uids kept as evidence per alert."""
    allow_networks: tuple[str, ...] = ()
    """Subjects in these networks never alert (CIDRs, e.g. a vulnerability scanner's address)."""
    allow_domains: tuple[str, ...] = ()
    """Alerts about these domains or their subdomains are dropped."""
    allow_processes: tuple[str, ...] = ()
    """Alerts whose subject process has one of these names are dropped."""

    jsonl_path: str | None = None
    """Append every delivered alert as one JSON line to this file."""
    webhook_url: str | None = None
    """POST alerts to this URL (https is verified against the system's CA store)."""
    webhook_format: str = "generic"
    """Payload of the webhook: generic, slack, discord or teams."""
    webhook_ca_file: str | None = None
    """Extra CA bundle (PEM) that signs the webhook server's certificate."""
    syslog_host: str | None = None
    """Send alerts to this syslog receiver."""
    syslog_port: int = 514
    """Port of the syslog receiver."""
    syslog_protocol: str = "udp"
    """udp or tcp (octet-counted framing, RFC 6587)."""
    syslog_format: str = "rfc5424"
    """rfc5424 (with structured data) or cef (ArcSight Common Event Format inside RFC 5424)."""
    smtp_host: str | None = None
    """Mail alerts through this SMTP server."""
    smtp_port: int = 25
    """Port of the SMTP server (465 for implicit TLS)."""
    smtp_starttls: bool = False
    """Upgrade the SMTP connection with STARTTLS (verified)."""
    smtp_sender: str = "flowradar@localhost"
    """From address of alert mails."""
    smtp_recipients: tuple[str, ...] = ()
    """To addresses of alert mails."""
    smtp_username: str | None = None
    """SMTP login (with ``smtp_password``), only over TLS."""
    smtp_password: str | None = None
    """SMTP password."""

    queue_size: int = 1000
    """Alerts waiting per sink; past it they are spilled to disk, never dropped."""
    retries: int = 5
    """Delivery attempts per alert before it is spilled to disk (and retried later)."""
    backoff_s: float = 0.5
    """First retry delay; doubled on every retry up to ``backoff_max_s``."""
    backoff_max_s: float = 30.0
    """Longest retry delay."""
    timeout_s: float = 5.0
    """Network timeout of one delivery."""
    spill_dir: str | None = None
    """Where undeliverable alerts wait (default: $FLOWRADAR_DATA_DIR/spool, else ~/.cache/flowradar/spool)."""
