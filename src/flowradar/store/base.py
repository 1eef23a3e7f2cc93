"""The storage contract: what every backend (DuckDB, PostgreSQL) writes and answers.

Conventions shared by every method:

- Times are seconds since the epoch (float), as in the records. A :class:`TimeRange` is half-open,
  ``[start, end)``. A flow is in a range when it overlaps it (``ts_last >= start and ts_first < end``).
- ``host`` is the name of the host that observed a record (the agent's host, or this host in
  single-host mode); every stored row carries it.
- Writes are atomic: a call either stores every row it was given or none (a bad record raises
  :class:`StoreInputError` and leaves nothing half-written). A write with a ``batch_id`` is idempotent:
  a (host, kind, batch_id) already stored is skipped and the call returns 0 (batch ids are scoped per
  host, so two agents may number their batches alike).
- Aggregate queries read the rollup tables (one row per minute or hour, host, application, remote
  endpoint and process, kept current by every write): ranges up to 6 hours use 1-minute buckets,
  longer ranges 1-hour buckets; a bucket counts when it overlaps the range. Bytes and packets of
  a flow spanning several buckets are spread over them in proportion to time; the flow itself is
  counted once, in the bucket of its first packet.
- Query results are plain dataclasses or JSON-ready dicts; nothing returned holds a database handle.
- A store may be used from several threads (calls are serialised inside the store).
- The PostgreSQL backend reconnects when the server goes away and retries the interrupted call
  (for up to ``[store] reconnect_timeout_s``); an unrecoverable outage raises :class:`StoreUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from flowradar.model.alert import Alert
from flowradar.model.connection import Connection
from flowradar.model.flow import FlowRecord
from flowradar.model.host import HostMetrics

TokenKind = Literal["api", "ingest"]
"""'api': a user's API token (carries a role); 'ingest': an agent's token (carries a host name)."""
SeriesBy = Literal["host", "process", "remote", "app"]
"""Dimension that splits a bandwidth time series."""
TalkerBy = Literal["remote", "host"]
"""What top talkers ranks: remote endpoints (addresses) or observing hosts."""
FLOW_SORTS = ("ts_first", "ts_last", "bytes", "packets", "duration")
"""Sort keys of :meth:`Store.flows`; prefix '-' for descending."""


class StoreError(Exception):
    """A storage operation failed (the message is one readable line)."""


class StoreInputError(StoreError, ValueError):
    """A record, filter or argument is invalid; nothing was written (maps to HTTP 400/422)."""


class StoreConflict(StoreError):
    """The row already exists (a user name, a token hash)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (after reconnect attempts); retry later (HTTP 503)."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Half-open time interval ``[start, end)``, seconds since the epoch."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class FlowQuery:
    """Filters, sort and page of :meth:`Store.flows`; every filter set must match (AND).

    ``ip`` matches either endpoint; ``port`` either port; ``app`` the application protocol
    (``app_proto``); ``domain`` the registrable domain or the remote name; ``process`` the process
    name; ``text`` is a case-insensitive substring of the remote name, SNI, HTTP host, process, AS
    organisation, either address or the uid. ``sort`` is one of :data:`FLOW_SORTS`, '-' prefixed for
    descending. ``cursor`` is the ``next_cursor`` of the previous page (same filters and sort).
    """

    start: float | None = None
    end: float | None = None
    host: str | None = None
    ip: str | None = None
    port: int | None = None
    transport: str | None = None
    app: str | None = None
    country: str | None = None
    domain: str | None = None
    process: str | None = None
    text: str | None = None
    limit: int = 100
    cursor: str | None = None
    sort: str = "-ts_first"


@dataclass(frozen=True, slots=True)
class AlertQuery:
    """Filters and page of :meth:`Store.alerts` (newest ``last_seen`` first).

    ``start``/``end`` bound ``last_seen``; ``min_severity`` keeps that severity and above.
    """

    start: float | None = None
    end: float | None = None
    host: str | None = None
    status: str | None = None
    kind: str | None = None
    min_severity: str | None = None
    subject_ip: str | None = None
    limit: int = 100
    cursor: str | None = None


@dataclass(slots=True)
class Page:
    """One page of results: JSON-ready dicts, and the cursor of the next page (None at the end).

    Flow items hold every :func:`~flowradar.model.schema.columns_of` ``FlowRecord`` column plus
    ``host`` (``dns_answers`` as a list of dicts). Alert items hold ``Alert.to_dict()`` plus ``host``.
    """

    items: list[dict[str, Any]]
    next_cursor: str | None = None


@dataclass(slots=True)
class Aggregate:
    """Traffic of one key over a range (top talkers, protocols, countries, ASNs, domains, processes).

    ``key`` is the address, application, country code, ASN (as text), domain or process name;
    ``label`` a readable name when there is one (remote name, AS organisation); ``host`` the host for
    per-host keys (processes). ``bytes_out`` flows from the local side to the remote endpoint.
    """

    key: str
    flows: int
    bytes: int
    packets: int
    bytes_in: int = 0
    bytes_out: int = 0
    label: str | None = None
    host: str | None = None


@dataclass(slots=True)
class GeoPoint:
    """Traffic to one city (or one country when the city is unknown) with its location."""

    country: str
    city: str | None
    latitude: float | None
    longitude: float | None
    flows: int
    bytes: int
    packets: int


@dataclass(slots=True)
class SeriesPoint:
    """One bucket of a bandwidth series: ``ts`` is the bucket start; key as in ``by`` ('other' for
    everything past the top keys)."""

    ts: float
    key: str
    bytes_in: int
    bytes_out: int
    packets: int
    flows: int


@dataclass(slots=True)
class HostRow:
    """A host that reported (or this host): agent, first and last report, and its latest metrics
    sample (from the day before its last report; None when there is none)."""

    name: str
    agent_id: str | None
    first_seen: float
    last_seen: float
    metrics: HostMetrics | None = None


@dataclass(slots=True)
class User:
    """A dashboard/API user; ``role`` is 'viewer' or 'admin'; the password is stored hashed only."""

    name: str
    password_hash: str
    role: str
    created: float


@dataclass(slots=True)
class Token:
    """An API or ingest token as stored (only its hash). API tokens carry ``role``, ingest ``host``."""

    id: int
    kind: str
    name: str
    token_hash: str
    role: str | None
    host: str | None
    created: float
    revoked: float | None = None


@dataclass(slots=True)
class BatchCounts:
    """Rows written by :meth:`Store.write_batch` per kind (0 for a kind whose batch was stored)."""

    flows: int = 0
    connections: int = 0
    metrics: int = 0
    alerts: int = 0
    skipped: list[str] = field(default_factory=list)
    """Kinds skipped because this batch id was already stored for them."""


class Store(Protocol):
    """Writes batches of records and answers the dashboard's typed queries."""

    # -- lifecycle ---------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Bring the schema to the latest version (idempotent); returns the version now in place."""
        ...

    def close(self) -> None:
        """Release the database connection (the store is unusable afterwards)."""
        ...

    # -- writes ------------------------------------------------------------------------------------
    def write_flows(self, records: Sequence[FlowRecord], host: str, batch_id: str | None = None) -> int:
        """Store flow records seen by ``host`` and update the rollups; returns rows written.

        With ``batch_id``, a batch already stored is skipped (returns 0). Atomic: a record with a bad
        field raises :class:`StoreInputError` and nothing of the call is kept.
        """
        ...

    def write_connections(self, conns: Sequence[Connection], host: str, batch_id: str | None = None) -> int:
        """Store socket samples of one or more polls of ``host`` (``Connection.ts`` is the poll time)."""
        ...

    def write_host_metrics(
        self, samples: Sequence[HostMetrics], host: str, batch_id: str | None = None
    ) -> int:
        """Store host metrics samples of ``host`` (nested lists kept as JSON)."""
        ...

    def write_alerts(self, alerts: Sequence[Alert], host: str, batch_id: str | None = None) -> int:
        """Insert or update alerts by ``uid`` (an update replaces every field but keeps the status a
        person set unless the new alert is resolved); an alert without uid gets a random one."""
        ...

    def write_batch(
        self,
        host: str,
        batch_id: str,
        flows: Sequence[FlowRecord] = (),
        connections: Sequence[Connection] = (),
        metrics: Sequence[HostMetrics] = (),
        alerts: Sequence[Alert] = (),
    ) -> BatchCounts:
        """Store one agent batch of mixed records in a single transaction, idempotent per batch_id."""
        ...

    def update_alert_status(self, uid: str, status: str) -> bool:
        """Set an alert's status ('open', 'acknowledged', 'resolved'); False when no such alert.

        Raises :class:`StoreInputError` for an unknown status.
        """
        ...

    def upsert_host(self, name: str, agent_id: str | None, last_seen: float) -> None:
        """Record that ``name`` reported at ``last_seen`` (first_seen is kept from the first call)."""
        ...

    # -- users and tokens --------------------------------------------------------------------------
    def create_user(self, name: str, password_hash: str, role: str) -> None:
        """Add a user; :class:`StoreConflict` when the name exists, :class:`StoreInputError` for a
        role other than 'viewer' or 'admin'."""
        ...

    def get_user(self, name: str) -> User | None:
        """The user of that name, or None."""
        ...

    def list_users(self) -> list[User]:
        """Every user, by name (empty on first start: the server then creates the first admin)."""
        ...

    def set_password(self, name: str, password_hash: str) -> bool:
        """Replace a user's password hash; False when no such user."""
        ...

    def create_token(
        self,
        kind: TokenKind,
        name: str,
        token_hash: str,
        role: str | None = None,
        host: str | None = None,
    ) -> int:
        """Store a token hash and return its id; ``role`` for 'api' tokens, ``host`` for 'ingest'.

        :class:`StoreConflict` when the hash exists; :class:`StoreInputError` for an unknown kind.
        """
        ...

    def find_token(self, token_hash: str) -> Token | None:
        """The live (not revoked) token with that hash, or None."""
        ...

    def revoke_token(self, token_id: int) -> bool:
        """Revoke a token (kept, marked revoked); False when no such live token."""
        ...

    def list_tokens(self) -> list[Token]:
        """Every token, revoked ones included, by id."""
        ...

    # -- queries -----------------------------------------------------------------------------------
    def flows(self, query: FlowQuery) -> Page:
        """Flow records matching the filters, sorted, one page at a time (keyset pagination).

        :class:`StoreInputError` for an unknown sort, a limit outside 1..10000 or a bad cursor.
        """
        ...

    def top_talkers(
        self, range: TimeRange, n: int = 10, host: str | None = None, by: TalkerBy = "remote"
    ) -> list[Aggregate]:
        """The ``n`` remote endpoints (or hosts) with most bytes; label is the remote name."""
        ...

    def protocols(self, range: TimeRange, host: str | None = None) -> list[Aggregate]:
        """Traffic by application protocol (transport name when no application was found)."""
        ...

    def countries(self, range: TimeRange, host: str | None = None) -> list[Aggregate]:
        """Traffic by remote country code (flows without a country are left out)."""
        ...

    def asns(self, range: TimeRange, host: str | None = None, n: int = 50) -> list[Aggregate]:
        """The ``n`` remote ASNs with most bytes; label is the AS organisation."""
        ...

    def domains(self, range: TimeRange, host: str | None = None, n: int = 50) -> list[Aggregate]:
        """The ``n`` registrable domains with most bytes."""
        ...

    def processes(self, range: TimeRange, host: str | None = None, n: int = 50) -> list[Aggregate]:
        """The ``n`` (host, process) pairs with most bytes; flows without a process are left out."""
        ...

    def geo(self, range: TimeRange, host: str | None = None) -> list[GeoPoint]:
        """Traffic by remote country and city, with an average location per city."""
        ...

    def bandwidth(
        self,
        range: TimeRange,
        step: float = 60.0,
        by: SeriesBy = "host",
        host: str | None = None,
        n: int = 10,
    ) -> list[SeriesPoint]:
        """Time series from the rollups: ``step`` seconds per point (a multiple of 60; multiples of
        3600 over ranges past 6 hours read the hourly rollup), split by ``by`` into the ``n`` keys
        with most bytes plus 'other'. Points are sorted by time, then key; empty buckets are absent.
        """
        ...

    def alerts(self, query: AlertQuery) -> Page:
        """Alerts matching the filters, newest ``last_seen`` first, one page at a time."""
        ...

    def hosts(self) -> list[HostRow]:
        """Every host that reported, by name, with its latest metrics sample."""
        ...

    def host_metrics(self, host: str, range: TimeRange, limit: int = 1000) -> list[HostMetrics]:
        """Metrics samples of ``host`` in the range, oldest first (the last ``limit`` of them)."""
        ...

    def connections(self, host: str) -> list[Connection]:
        """The sockets of ``host``'s latest poll."""
        ...

    def listening_ports(self, host: str) -> list[Connection]:
        """Listening TCP and unconnected UDP sockets of ``host``'s latest poll (risk rating is the
        caller's: :mod:`flowradar.host.ports`)."""
        ...

    def stats(self) -> dict[str, int]:
        """Row count per table (flows, connections, host_metrics, alerts, hosts, users, tokens,
        batches, rollup_1m, rollup_1h): for /metrics and tests."""
        ...

    # -- maintenance -------------------------------------------------------------------------------
    def rollup(self, now: float) -> int:
        """Compact the rollups: merge the partial rows written with each batch (late ones included)
        into one row per key for buckets that ended before ``now``; returns rows merged away. Safe
        to call any time (the server calls it every minute); queries answer the same before and
        after."""
        ...

    def retain(self, now: float) -> dict[str, int]:
        """Delete rows older than each table's retention (``[store] retain_*_days``); returns rows
        deleted per table."""
        ...
