"""Names of remote endpoints: the flow's own TLS/QUIC SNI or HTTP Host, else the DNS answers seen.

Every DNS response the engine dissected teaches the table "this client asked for NAME and got
ADDRESS" (through CNAME chains, the name kept is the one that was asked). The entry names flows of
that client to that address until the record's TTL plus a grace window (default five minutes) has
passed. Each client has its own bounded LRU table; a bounded global table answers for clients
whose own resolver traffic was not seen (a router's view). Server names (SNI, Host) are learnt too,
so a later flow to the same address without a name of its own (QUIC after TLS) is named.
Reverse (PTR) lookups go to the system resolver only when enabled.
"""

from __future__ import annotations

import re
import socket
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures

from flowradar.enrich.classify import DomainNames
from flowradar.enrich.lru import CacheInfo, Lru
from flowradar.model.flow import FlowRecord

DNS_PORTS = frozenset((53, 5353, 5355))
_BAD_CHARS = re.compile(r"[\s/\\\"'<>]")
_ADDRESS_TYPES = frozenset(("A", "AAAA"))


def clean_name(name: str | None) -> str | None:
    """Lower case, no trailing dot, no port; None when empty or not a plausible host name."""
    if not name:
        return None
    host = name.strip().lower()
    if host.startswith("["):
        return None
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.rstrip(".")
    if not host or len(host) > 253 or _BAD_CHARS.search(host):
        return None
    return host


class NameTable:
    """Address -> (name, valid until, source), per client and global, all bounded."""

    def __init__(self, grace_s: float = 300.0, max_hosts: int = 4096, max_names: int = 20000) -> None:
        self.grace_s = grace_s
        self._max_names = max_names
        self._clients: Lru[str, Lru[str, tuple[str, float, str]]] = Lru(max_hosts)
        self._global: Lru[str, tuple[str, float, str]] = Lru(max_names * 4)
        self.learnt = 0

    def _table(self, client: str) -> Lru[str, tuple[str, float, str]]:
        table = self._clients.get(client)
        if table is None:
            table = Lru(self._max_names)
            self._clients.put(client, table)
        return table

    def put(self, client: str, ip: str, name: str, until: float, source: str) -> None:
        """Remember that ``client`` knows ``ip`` as ``name`` until ``until``."""
        entry = (name, until, source)
        self._table(client).put(ip, entry)
        self._global.put(ip, entry)
        self.learnt += 1

    def learn(self, rec: FlowRecord) -> None:
        """Learn from one flow: its DNS answers, or its own server name."""
        l7 = rec.l7
        if l7.dns_answers:
            swap = rec.src_port in DNS_PORTS and rec.dst_port not in DNS_PORTS
            client = rec.dst_ip if swap else rec.src_ip
            for a in l7.dns_answers:
                if a.type.upper() in _ADDRESS_TYPES:
                    name = clean_name(a.query or a.owner)
                    if name:
                        self.put(client, a.value, name, rec.ts_first + max(a.ttl, 0) + self.grace_s, "dns")
            return
        name = clean_name(l7.tls_sni)
        source = "sni"
        if name is None:
            name, source = clean_name(l7.http_host), "http"
        if name is not None:
            self.put(rec.src_ip, rec.dst_ip, name, rec.ts_last + self.grace_s, source)

    def lookup(self, client: str, ip: str, ts: float) -> tuple[str, str] | None:
        """(name, source) that ``client`` had for ``ip`` at time ``ts``, else what any client had."""
        table = self._clients.get(client)
        hit = table.get(ip) if table is not None else None
        if hit is None or ts > hit[1]:
            hit = self._global.get(ip)
            if hit is None or ts > hit[1]:
                return None
        return hit[0], hit[2]

    def cache_info(self) -> CacheInfo:
        """The global table (per-client tables are bounded the same way)."""
        return self._global.info()


class ReverseResolver:
    """PTR names through the system resolver, in a small thread pool, cached (bounded)."""

    def __init__(self, cache_size: int = 65536, workers: int = 8, budget_s: float = 2.0) -> None:
        self._cache: Lru[str, str] = Lru(cache_size)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flowradar-ptr")
        self._budget = budget_s

    @staticmethod
    def _ptr(ip: str) -> str:
        try:
            return socket.gethostbyaddr(ip)[0].lower().rstrip(".")
        except (OSError, UnicodeError):
            return ""

    def resolve(self, ips: set[str]) -> dict[str, str]:
        """PTR names of these addresses (those answered within the time budget)."""
        out: dict[str, str] = {}
        pending: dict[Future[str], str] = {}
        for ip in ips:
            hit = self._cache.get(ip)
            if hit is not None:
                if hit:
                    out[ip] = hit
            else:
                pending[self._pool.submit(self._ptr, ip)] = ip
        done, _ = wait_futures(pending, timeout=self._budget)
        for fut in done:
            name = fut.result()
            self._cache.put(pending[fut], name)
            if name:
                out[pending[fut]] = name
        return out

    def close(self) -> None:
        """Stop the pool (pending lookups are abandoned)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class NameEnricher:
    """Fills name, name_source and domain (registrable domain through the Public Suffix List).

    Call :meth:`learn` on every record as it arrives (before it is enriched) so that answers
    exported in the same batch or later within the hold window name it.
    """

    name = "names"

    def __init__(
        self, table: NameTable, domains: DomainNames, reverse: ReverseResolver | None = None
    ) -> None:
        self.table = table
        self.domains = domains
        self.reverse = reverse
        self.auto_learn = True
        """enrich_many learns from its records first (the pipeline learns on arrival instead)."""

    def learn(self, records: list[FlowRecord]) -> None:
        """Learn names from these records (a client's server name for an address once per batch)."""
        learn = self.table.learn
        latest: dict[tuple[str, str, str | None, str | None], FlowRecord] = {}
        for rec in records:
            l7 = rec.l7
            if l7.dns_answers:
                learn(rec)
            elif l7.tls_sni or l7.http_host:
                key = (rec.src_ip, rec.dst_ip, l7.tls_sni, l7.http_host)
                had = latest.get(key)
                if had is None or rec.ts_last > had.ts_last:
                    latest[key] = rec
        for rec in latest.values():
            learn(rec)

    def enrich(self, record: FlowRecord) -> bool:
        """Name the remote endpoint of one flow."""
        return self._enrich(record, {})

    def _enrich(self, record: FlowRecord, memo: dict[str | None, str | None]) -> bool:
        e, l7 = record.enrich, record.l7
        remote = e.remote_ip or record.dst_ip
        name = source = None
        if remote == record.dst_ip:
            raw = l7.tls_sni
            source = "sni"
            if raw is None:
                raw, source = l7.http_host, "http"
            if raw is not None:
                name = memo[raw] if raw in memo else memo.setdefault(raw, clean_name(raw))
        if name is None:
            local = record.src_ip if remote == record.dst_ip else record.dst_ip
            hit = self.table.lookup(local, remote, record.ts_first)
            if hit is None:
                return False
            name, source = hit
        e.name, e.name_source = name, source
        key = "." + name  # registrable domains share the memo, under a key no host name has
        e.domain = memo[key] if key in memo else memo.setdefault(key, self.domains.registrable(name))
        return True

    def enrich_many(self, records: list[FlowRecord]) -> None:
        """Name every flow; then, when enabled, ask PTR names for the public ones left unnamed."""
        if self.auto_learn:
            self.learn(records)
        memo: dict[str | None, str | None] = {}
        enrich = self._enrich
        unnamed = [rec for rec in records if not enrich(rec, memo)]
        if self.reverse is None or not unnamed:
            return
        public = [r for r in unnamed if _is_public(r)]
        names = self.reverse.resolve({r.enrich.remote_ip or r.dst_ip for r in public})
        for rec in public:
            ptr = names.get(rec.enrich.remote_ip or rec.dst_ip)
            if ptr:
                rec.enrich.name, rec.enrich.name_source = ptr, "ptr"
                rec.enrich.domain = self.domains.registrable(ptr)

    def cache_info(self) -> CacheInfo:
        """The global name table."""
        return self.table.cache_info()

    def close(self) -> None:
        """Stop reverse lookups."""
        if self.reverse is not None:
            self.reverse.close()


def _is_public(rec: FlowRecord) -> bool:
    e = rec.enrich
    remote_class = e.dst_class if (e.remote_ip or rec.dst_ip) == rec.dst_ip else e.src_class
    return remote_class in (None, "public")
