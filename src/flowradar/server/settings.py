"""Settings of `flowradar serve`: where it listens, ingest limits, live fan-out, and authentication."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """The HTTP server: address, TLS, limits of ingest and queries, the live feed."""

    host: str = "127.0.0.1"
    """Address to listen on. Loopback by default: set 0.0.0.0 (with TLS) to let agents report."""
    port: int = 8470
    """TCP port."""
    tls_cert: str | None = None
    """PEM certificate (chain) to serve HTTPS with; agents verify it."""
    tls_key: str | None = None
    """PEM private key of ``tls_cert``."""
    local_sources: bool = True
    """Run capture, socket polling and host metrics on this host (single-host mode)."""
    redis_url: str | None = None
    """redis://HOST:PORT/DB: several server processes share live updates through Redis pub/sub."""
    redis_channel: str = "flowradar:live"
    """Pub/sub channel of live events; the latest state lives under '<channel>:state'."""
    live_state_ttl_s: int = 30
    """Expiry of the latest-state key in Redis (seconds)."""
    live_interval_s: float = 1.0
    """How often rates are pushed to live-feed clients."""
    live_queue: int = 256
    """Events queued per live-feed client; a slower client drops the oldest (and is told so)."""
    live_flows: int = 200
    """New flows sent per live event at most (the rest are counted)."""
    ingest_max_bytes: int = 16 << 20
    """Largest ingest body accepted, compressed (413 past it)."""
    ingest_max_expanded_bytes: int = 128 << 20
    """Largest ingest body after decompression (413 past it)."""
    ingest_max_records: int = 100_000
    """Records of all kinds in one ingest batch at most (422 past it)."""
    ingest_rate_per_s: float = 50.0
    """Ingest requests per second per client (token bucket; 429 past it)."""
    ingest_burst: int = 200
    """Ingest requests a client may send at once before the rate applies."""
    query_max_rows: int = 1000
    """Rows one query may return (the ``limit`` parameter is capped to it)."""
    max_body_bytes: int = 1 << 20
    """Largest body of any request other than ingest."""


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """Users, sessions, tokens and login throttling."""

    admin_user: str = "admin"
    """Name of the first administrator, created (with a random password printed once) at first start."""
    session_ttl_s: int = 12 * 3600
    """Lifetime of a dashboard session."""
    cookie_secure: bool = False
    """Mark session cookies Secure (always on when the server has TLS)."""
    login_rate_per_min: float = 10.0
    """Login attempts per minute per client (429 past it)."""
    login_burst: int = 5
    """Login attempts a client may make at once before the rate applies."""
    password_min_length: int = 12
    """Shortest password accepted for a new user."""
