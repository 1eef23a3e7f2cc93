"""One typed configuration, built once (defaults < file < environment < flags) and passed down."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from flowradar.agent.settings import AgentConfig
from flowradar.alert.settings import AlertConfig
from flowradar.detect.settings import DetectConfig
from flowradar.server.settings import AuthConfig, ServerConfig
from flowradar.store.settings import StoreConfig


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Flow table and dissection settings."""

    max_flows: int = 2_000_000
    """Flows tracked at once; when full the least recently seen flow is evicted (and counted)."""
    idle_timeout_s: float = 120.0
    """A flow with no packet for this long is exported (reason 'idle')."""
    tcp_close_timeout_s: float = 5.0
    """A TCP connection ended by RST, or by FIN both ways, is exported this long after its last packet."""
    active_timeout_s: float = 1800.0
    """A flow older than this is exported (reason 'active') and continues as a new record."""
    l7_packets: int = 10
    """Payload packets per flow handed to dissectors before a dissector asks for more."""
    dissect_all_ports: tuple[int, ...] = (53, 5353, 5355)
    """Flows on these ports hand every payload packet to the dissectors (DNS: every question counts)."""
    dissect: bool = True
    """Run the L7 dissectors at all."""
    max_fragments: int = 4096
    """IP datagrams being reassembled at once."""


@dataclass(frozen=True, slots=True)
class CaptureConfig:
    """Live capture settings."""

    interface: str | None = None
    """Interface to capture on; None means the interface of the default route."""
    bpf: str | None = None
    """Optional BPF capture filter (tcpdump syntax)."""
    snaplen: int = 65535
    """Bytes kept per packet."""


@dataclass(frozen=True, slots=True)
class ProcessConfig:
    """Process attribution of flows: socket polling and (as root) kernel tracepoints."""

    enabled: bool = True
    """Attribute live flows of this host to their processes (not used for capture files)."""
    poll_interval_s: float = 0.1
    """How often the socket table is polled for owners (sock_diag dump, /proc/net as fallback)."""
    cache_ttl_s: float = 120.0
    """How long a 5-tuple keeps its owner after its socket was last seen (short connections end
    long before their flow is exported)."""
    cache_size: int = 65536
    """5-tuples remembered at most (least recently seen dropped first)."""
    tracer: bool = True
    """Use eBPF tracepoints (needs root or CAP_BPF + CAP_PERFMON) to name the owner of connections
    that live less than one poll; without them attribution falls back to polling alone."""
    mount_tracefs: bool = True
    """Mount tracefs at /sys/kernel/tracing when it is not mounted (the tracer needs it)."""
    traced_poll_interval_s: float = 1.0
    """Polling interval while the tracer runs: it names short connections itself, so polling only
    has to find long-lived and accepted sockets."""


@dataclass(frozen=True, slots=True)
class HostConfig:
    """Host metrics (interfaces, CPU, memory, disks, processes)."""

    interval_s: float = 1.0
    """Seconds between samples."""
    history: int = 300
    """Samples kept in the rolling history (300 at 1 s: five minutes)."""
    processes: int = 25
    """Processes listed per sample (busiest first)."""


@dataclass(frozen=True, slots=True)
class PortsConfig:
    """Risk rules of `flowradar ports` (first matching rule wins).

    A port bound to a non-loopback address ('all' or 'specific' scope) is exposed. Rules, in order:
    ``risky_ports`` and ``database_ports`` exposed -> high; ``database_ports`` on loopback -> medium;
    ``medium_ports`` exposed -> medium (on loopback: low); ``low_ports`` -> low; any other port ->
    ``unknown_exposed`` when exposed, ``unknown_loopback`` otherwise.
    """

    risky_ports: tuple[int, ...] = (
        21,
        23,
        69,
        111,
        135,
        137,
        138,
        139,
        445,
        512,
        513,
        514,
        2049,
        3389,
        5800,
        5900,
        5901,
        5902,
        5903,
        6000,
    )
    """Cleartext or remote-control services: FTP, telnet, TFTP, rpcbind, MS-RPC, NetBIOS, SMB,
    r-services, NFS, RDP, VNC, X11."""
    database_ports: tuple[int, ...] = (
        1433,
        1521,
        2379,
        3306,
        5432,
        5984,
        6379,
        7000,
        8086,
        9042,
        9200,
        9300,
        11211,
        27017,
        27018,
        28017,
    )
    """Databases and caches: MSSQL, Oracle, etcd, MySQL, PostgreSQL, CouchDB, Redis, Cassandra,
    InfluxDB, Elasticsearch, memcached, MongoDB."""
    medium_ports: tuple[int, ...] = (22, 25, 110, 143, 465, 587, 993, 995, 161, 389, 636, 1883, 5672)
    """Remote login, mail, SNMP, LDAP, message brokers."""
    low_ports: tuple[int, ...] = (53, 67, 68, 80, 123, 443, 546, 547, 853, 5353, 8080, 8443)
    """Web, DNS, DHCP, NTP, mDNS."""
    unknown_exposed: str = "medium"
    """Risk of an unlisted port open beyond loopback."""
    unknown_loopback: str = "low"
    """Risk of an unlisted port on loopback only."""
    services_file: str | None = None
    """Service-name registry to read instead of /usr/share/wireshark/services (the IANA registry,
    from Debian's wireshark-common) or /etc/services."""


@dataclass(frozen=True, slots=True)
class EnrichConfig:
    """Enrichment after the engine: names, geography, classification, trackers, threat intel, privacy.

    Every source is offline: the defaults come with the installed packages (see ``flowradar data
    info``); ``*_files`` settings add the user's own lists or databases.
    """

    enabled: bool = True
    """Run the enrichers at all."""
    data_dir: str | None = None
    """Where extracted and updated data lives; default $FLOWRADAR_DATA_DIR, else ~/.cache/flowradar."""
    cache_size: int = 65536
    """Entries per enricher lookup cache (least recently used entries are dropped first)."""
    own_networks: tuple[str, ...] = ()
    """Extra CIDRs counted as internal (besides RFC 1918, CGNAT, link-local, ULA, loopback, ...)."""
    dns_grace_s: float = 300.0
    """A name learnt from a DNS answer still names its address this long after the TTL ran out."""
    dns_max_hosts: int = 4096
    """Clients whose DNS answers are remembered (least recently active dropped first)."""
    dns_max_names: int = 20000
    """Address-to-name entries remembered per client (least recently used dropped first)."""
    dns_hold_s: float = 125.0
    """Flows wait this long (capture time) for a DNS answer exported after them (0: no waiting)."""
    dns_hold_max: int = 50000
    """At most this many flows wait; past it the oldest are released unnamed."""
    reverse_dns: bool = False
    """Ask the system resolver for PTR names of unnamed public addresses (network access)."""
    geo: bool = True
    """Look up country, city, location and ASN of public addresses."""
    geo_city_db: str | None = None
    """A GeoLite2-City or DB-IP City MMDB file to use instead of the bundled DB-IP City Lite."""
    geo_asn_db: str | None = None
    """A GeoLite2-ASN or DB-IP ASN MMDB file to use instead of the bundled DB-IP ASN Lite."""
    services_file: str | None = None
    """IANA services file for port names; default Wireshark's copy, else /etc/services."""
    trackers: bool = True
    """Match remote names against tracker lists."""
    tracker_files: tuple[str, ...] = ()
    """Extra tracker lists: flowradar JSON, Disconnect services.json, adblock or hosts files."""
    intel: bool = True
    """Match remote addresses and names against threat-intel and known-benign lists."""
    intel_defaults: bool = True
    """Load the lists installed with flowradar (FireHOL level 1, Spamhaus DROP, ET, URLhaus filter)."""
    intel_files: tuple[str, ...] = ()
    """Extra threat lists, each 'PATH' or 'CATEGORY=PATH' (netset, DROP, Feodo, URLhaus, plain, ...)."""
    misp_lists: tuple[str, ...] = (
        "public-dns-v4",
        "public-dns-v6",
        "public-dns-hostname",
        "sinkholes",
        "amazon-aws",
        "microsoft-azure",
        "google-gcp",
        "cloudflare",
        "akamai",
        "fastly",
        "ovh-cluster",
        "whats-my-ip",
        "url-shortener",
        "dynamic-dns",
        "shodan-scanning",
        "censys-scanning",
    )
    """MISP warning lists loaded as known-benign context (names of pymispwarninglists lists)."""
    privacy_weights: tuple[str, ...] = ()
    """Overrides of privacy score weights as 'NAME=POINTS' (see flowradar.enrich.privacy)."""


@dataclass(frozen=True, slots=True)
class Config:
    """The whole configuration of one flowradar process."""

    engine: EngineConfig = field(default_factory=EngineConfig)
    capture: CaptureConfig = field(default_factory=CaptureConfig)
    enrich: EnrichConfig = field(default_factory=EnrichConfig)
    process: ProcessConfig = field(default_factory=ProcessConfig)
    host: HostConfig = field(default_factory=HostConfig)
    ports: PortsConfig = field(default_factory=PortsConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    alert: AlertConfig = field(default_factory=AlertConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    agent: AgentConfig = field(default_factory=AgentConfig)
    store: StoreConfig = field(default_factory=StoreConfig)


class ConfigError(ValueError):
    """The configuration file or an override is invalid (one line, shown as is)."""


def _coerce(section: Any, values: dict[str, Any], origin: str) -> Any:
    known = {f.name: f for f in fields(section)}
    changes: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in known:
            raise ConfigError(f"{origin}: unknown setting '{key}'")
        current = getattr(section, key)
        try:
            if isinstance(current, bool):
                value: Any = raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
            elif isinstance(current, tuple):
                if isinstance(raw, dict):  # a TOML table of NAME = value
                    raw = [f"{k}={v}" for k, v in raw.items()]
                items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
                texts = [str(x).strip() for x in items if str(x).strip()]
                value = tuple(texts) if "str" in str(known[key].type) else tuple(int(x) for x in texts)
            elif isinstance(current, int):
                value = int(raw)
            elif isinstance(current, float):
                value = float(raw)
            else:
                value = None if raw in (None, "") else str(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"{origin}: invalid value {raw!r} for '{key}'") from None
        changes[key] = value
    return replace(section, **changes)


def load_config(path: Path | None = None, env: dict[str, str] | None = None, **overrides: Any) -> Config:
    """Build the configuration: defaults, then a TOML file, then FLOWRADAR_<SECTION>_<KEY>, then flags.

    ``overrides`` use ``section__key`` names (``engine__idle_timeout_s=30``); None values are ignored.
    """
    cfg = Config()
    sections: dict[str, dict[str, Any]] = {
        name: {}
        for name in (
            "engine",
            "capture",
            "process",
            "host",
            "ports",
            "enrich",
            "detect",
            "alert",
            "server",
            "auth",
            "agent",
            "store",
        )
    }
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read configuration {path}: {exc}") from None
        for name, values in data.items():
            if name not in sections or not isinstance(values, dict):
                raise ConfigError(f"{path}: unknown section [{name}]")
            sections[name].update(values)
    for key, value in (env if env is not None else dict(os.environ)).items():
        parts = key.lower().split("_", 2)
        if len(parts) == 3 and parts[0] == "flowradar" and parts[1] in sections:
            sections[parts[1]][parts[2]] = value
    for key, value in overrides.items():
        name, _, setting = key.partition("__")
        if value is not None and name in sections:
            sections[name][setting] = value
    return Config(
        engine=_coerce(cfg.engine, sections["engine"], "engine"),
        capture=_coerce(cfg.capture, sections["capture"], "capture"),
        process=_coerce(cfg.process, sections["process"], "process"),
        host=_coerce(cfg.host, sections["host"], "host"),
        ports=_coerce(cfg.ports, sections["ports"], "ports"),
        enrich=_coerce(cfg.enrich, sections["enrich"], "enrich"),
        detect=_coerce(cfg.detect, sections["detect"], "detect"),
        alert=_coerce(cfg.alert, sections["alert"], "alert"),
        server=_coerce(cfg.server, sections["server"], "server"),
        auth=_coerce(cfg.auth, sections["auth"], "auth"),
        agent=_coerce(cfg.agent, sections["agent"], "agent"),
        store=_coerce(cfg.store, sections["store"], "store"),
    )
