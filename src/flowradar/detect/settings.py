"""DetectConfig: the ``[detect]`` section, every detector's documented defaults.

Defaults follow Zeek's scan policy and ntopng for scans and floods, RITA v5 for beaconing and DNS
command-and-control. Every threshold can be changed in the configuration file, by environment
(``FLOWRADAR_DETECT_SCAN_EXTERNAL_THRESHOLD=50``) or by flag.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DetectConfig:
    """Detector settings (the ``[detect]`` section)."""

    enabled: bool = True
    """Run the detectors at all."""
    internal_networks: tuple[str, ...] = (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
    """Networks counted as internal: a scanner inside them needs the internal threshold, traffic
    leaving them goes 'towards the internet'."""
    detectors: tuple[str, ...] = (
        "scan",
        "flood",
        "bruteforce",
        "beacon",
        "dns",
        "ports",
        "cleartext",
        "intel",
    )
    """Detectors to run (custom rules run whenever ``rules_file`` is set)."""
    rules_file: str | None = None
    """TOML file of custom rules (conditions on flow fields, a window and a threshold)."""
    live_interval_s: float = 1.0
    """Live capture: how often still-active flows are looked at (a scan or a flood is seen while its
    flows are still open, not only when they end)."""

    scan_window_s: float = 300.0
    """Scans: failed attempts are counted over this sliding window (Zeek: 5 minutes)."""
    scan_external_threshold: int = 25
    """Distinct (host, port) targets of failed attempts that make an external source a scanner."""
    scan_internal_threshold: int = 250
    """The same for a source inside ``internal_networks``."""
    scan_stealth_threshold: int = 3
    """Distinct targets of invalid-flag probes (NULL, FIN, Xmas: no SYN and no ACK) that are a scan
    on their own: no TCP stack sends them."""
    scan_synscan_per_min: int = 256
    """ntopng's SYN-scan check: SYNs sent minus SYN-ACKs received per minute above which a source is a
    scanner (counted once it has ``scan_synscan_min_targets`` distinct failed targets)."""
    scan_synscan_min_targets: int = 16
    """Distinct failed targets the SYN-scan check also needs (fewer is a flood at one service)."""
    scan_reply_wait_s: float = 2.0
    """An active probe counts as unanswered only once it is this old."""
    scan_suppress_s: float = 3600.0
    """A scanner alerted once is not alerted again for this long (its alert is updated instead)."""

    flood_window_s: float = 10.0
    """Floods: packets and half-open connections towards one victim are summed over this window."""
    flood_syn_threshold: int = 500
    """Half-open TCP connections (SYN never completed) to one victim in the window (50 per second)."""
    flood_udp_threshold: int = 2000
    """Unanswered UDP packets to one victim in the window (200 per second)."""
    flood_icmp_threshold: int = 1000
    """ICMP packets to one victim in the window (100 per second)."""
    flood_reflection_threshold: int = 500
    """Unsolicited responses (UDP from an amplification port, TCP SYN-ACKs) to one victim in the window."""
    flood_amplification_ports: tuple[int, ...] = (
        17,
        19,
        53,
        111,
        123,
        137,
        161,
        389,
        500,
        520,
        1900,
        3283,
        3702,
        4500,
        5353,
        10001,
        11211,
    )
    """UDP service ports abused for amplification (DNS, NTP, SSDP, IKE/NAT-T, memcached, ...)."""
    flood_min_sources: int = 20
    """A flood spread over many ports must come from at least this many sources (one source spread
    over many ports is a scan)."""
    flood_per_port_ratio: float = 10.0
    """Or it must hit each targeted port this many times on average."""
    rate_threshold: int = 100
    """Per-source request rate: connections from one source to one service in ``rate_window_s``."""
    rate_window_s: float = 60.0
    """Window of the per-source request rate."""
    rate_exclude_ports: tuple[int, ...] = (53, 123, 5353, 5355)
    """Services whose request rate is not watched (every DNS question is a flow)."""

    brute_ports: tuple[int, ...] = (21, 22, 23, 110, 143, 465, 587, 993, 995, 3389, 5900)
    """Login services watched for brute force: FTP, SSH, telnet, POP3, IMAP, SMTP submission, RDP, VNC."""
    brute_threshold: int = 20
    """Short connections or failed logins from one source to one login service in the window."""
    brute_window_s: float = 300.0
    """Brute-force window."""
    brute_max_duration_s: float = 30.0
    """A connection to a login service shorter than this counts as an attempt."""
    brute_max_bytes: int = 65536
    """... if the server sent less than this many payload bytes (a real session sends more)."""

    beacon_window_s: float = 86400.0
    """Beaconing: sliding window (RITA: 24 hours, in 24 histogram bins). A smaller value compresses
    time (a test uses 24 s: one bin per second)."""
    beacon_min_connections: int = 4
    """Connections a pair needs in the window to be scored (RITA: 4)."""
    beacon_min_score: float = 0.7
    """Scores from this up raise an alert: 0.7 low, 0.9 medium, 1.0 high (RITA's thresholds)."""
    beacon_internal_pairs: bool = False
    """Also score pairs whose both ends are internal (monitoring polls look like beacons)."""
    beacon_max_pairs: int = 50000
    """Pairs tracked at most (least recently active dropped first)."""

    dns_window_s: float = 3600.0
    """DNS tunnelling: unique subdomains per client and domain are counted over this window."""
    dns_subdomain_threshold: int = 100
    """Unique subdomains under one domain from one client (RITA's C2-over-DNS base): 100 low, 500
    medium, 1000 high; long or high-entropy labels, or mostly TXT/NULL questions, add one level."""
    dns_long_label: int = 40
    """Mean subdomain length from which labels count as long."""
    dns_entropy: float = 3.5
    """Mean Shannon entropy (bits per character) from which subdomains count as random."""
    dns_dga_threshold: int = 25
    """Distinct random-looking domains answered NXDOMAIN to one client in the window (DGA)."""

    suspicious_ports: tuple[int, ...] = (4444, 5555, 6667, 1337, 31337, 8888, 9999)
    """Answered connections to these ports are reported (Metasploit, IRC, 'leet' backdoors)."""
    cleartext_ports: tuple[int, ...] = (21, 23, 110, 143, 512, 513)
    """Cleartext login protocols (FTP, telnet, POP3, IMAP, rexec, rlogin) reported towards the internet."""
    exfil_factor: float = 10.0
    """Outbound transfer alert: a host's upload in one flow above this many times its own mean."""
    exfil_min_bytes: int = 50_000_000
    """... and above this many bytes."""
    baseline_s: float = 86400.0
    """First contact with a new country or ASN is reported only for hosts watched this long already."""
