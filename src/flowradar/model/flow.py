"""FlowRecord: one bidirectional flow, its counters, the L7 facts found and what enrichers add."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowradar.model.schema import doc


@dataclass(slots=True)
class DnsAnswer:
    """One resource record of a DNS response's answer section."""

    query: str = doc("question name of the response that carried this record")
    type: str = doc("record type: A, AAAA, CNAME, PTR, MX, TXT, ...")
    value: str = doc("record data rendered as text (address, target name, text)")
    ttl: int = doc("time to live in seconds", 0)
    owner: str = doc("owner name of the record itself (differs from query in CNAME chains)", "")


@dataclass(slots=True)
class L7Facts:
    """What the dissectors read from the first payload-carrying packets of a flow."""

    app_proto: str | None = doc(
        "application protocol, by payload first and port second (tls, dns, http, ...)"
    )
    app_by: str | None = doc("how app_proto was found: 'payload' or 'port'")
    tls_sni: str | None = doc("TLS or QUIC server name (outer SNI when ECH is used)")
    tls_alpn: list[str] = doc("ALPN protocols offered by the client", factory=list)
    tls_versions_offered: list[str] = doc("TLS versions offered by the client", factory=list)
    tls_version: str | None = doc("TLS version chosen by the server")
    tls_cipher: str | None = doc("cipher suite chosen by the server (hex code)")
    tls_ja3: str | None = doc("JA3 fingerprint (MD5) of the ClientHello")
    tls_ja3s: str | None = doc("JA3S fingerprint (MD5) of the ServerHello")
    tls_ja4: str | None = doc("JA4 fingerprint of the ClientHello")
    tls_ech: bool = doc("the ClientHello carried Encrypted Client Hello or ESNI", False)
    quic_version: str | None = doc("QUIC version of the Initial packets (v1, draft-29, v2, Q0xx)")
    dns_queries: list[str] = doc(
        "DNS question names seen in the flow (lower case, no trailing dot)", factory=list
    )
    dns_qtypes: list[str] = doc("DNS question types, parallel to dns_queries", factory=list)
    dns_answers: list[DnsAnswer] = doc("answer-section records of the responses", factory=list)
    dns_rcode: str | None = doc("response code of the last response (NOERROR, NXDOMAIN, ...)")
    http_method: str | None = doc("method of the first HTTP request")
    http_host: str | None = doc("Host header of the first HTTP request")
    http_path: str | None = doc("path of the first HTTP request")
    http_user_agent: str | None = doc("User-Agent of the first HTTP request")
    http_referer: str | None = doc("Referer of the first HTTP request")
    http_status: int | None = doc("status code of the first HTTP response")
    http_content_type: str | None = doc("Content-Type of the first HTTP response")
    http_requests: int = doc("number of HTTP requests parsed in the flow", 0)
    http_hosts: list[str] = doc("every distinct Host header of the flow's requests", factory=list)
    http_user_agents: list[str] = doc("every distinct User-Agent of the flow's requests", factory=list)
    ssh_client: str | None = doc("SSH client banner")
    ssh_server: str | None = doc("SSH server banner")
    dhcp_hostname: str | None = doc("host name a DHCP client announced (option 12)")
    l7_error: str | None = doc("why a dissector gave up on malformed payload, if it did")


@dataclass(slots=True)
class Enrichment:
    """Fields added after the engine by enrichers (process, geography, reputation)."""

    pid: int | None = doc("process id owning the local socket, when the flow is local")
    process: str | None = doc("name of the owning process")
    exe: str | None = doc("executable path of the owning process")
    country: str | None = doc("ISO country code of the remote endpoint")
    asn: int | None = doc("autonomous system number of the remote endpoint")
    as_org: str | None = doc("organisation owning the remote ASN")
    domain: str | None = doc("registrable domain of the remote endpoint's name")
    remote_ip: str | None = doc(
        "the remote endpoint: the external one, else the responder (local and transit flows)"
    )
    name: str | None = doc("name of the remote endpoint (TLS/QUIC SNI, HTTP Host, DNS answer, PTR)")
    name_source: str | None = doc("where the name came from: sni, http, dns or ptr")
    city: str | None = doc("city of the remote endpoint (geolocation database)")
    latitude: float | None = doc("approximate latitude of the remote endpoint")
    longitude: float | None = doc("approximate longitude of the remote endpoint")
    src_class: str | None = doc(
        "originator address class: public, private, cgnat, loopback, link-local, ula, multicast, "
        "broadcast, own (configured network) or reserved"
    )
    dst_class: str | None = doc("responder address class (same values as src_class)")
    direction: str | None = doc(
        "outbound (internal to external), inbound, local (both internal) or transit (both external)"
    )
    service: str | None = doc("IANA service name of the server port (https, domain, ssh, ...)")
    tracker: str | None = doc("tracker organisation (or listed tracker domain) the remote name belongs to")
    tracker_category: str | None = doc("tracker category: advertising, analytics, social, ...")
    intel: list[str] = doc(
        "threat lists that list the remote address or name, as 'list:category'", factory=list
    )
    benign: list[str] = doc(
        "known-benign lists (MISP warning lists) that list the remote endpoint", factory=list
    )
    threat_level: int = doc("highest threat level of the intel hits, 0 (none) to 50", 0)
    privacy_score: int | None = doc("privacy risk of the flow, 0 to 100 (see flowradar.enrich.privacy)")
    privacy_level: str | None = doc("low (0-20), medium (21-50), high (51-80) or critical (81-100)")


@dataclass(slots=True)
class FlowRecord:
    """One bidirectional flow. The originator (src) is the endpoint that sent the first packet."""

    uid: str = doc("unique flow id, shared by every record about this flow")
    community_id: str = doc("Community ID v1 of the 5-tuple (seed 0)")
    ts_first: float = doc("time of the first packet, seconds since the epoch")
    ts_last: float = doc("time of the last packet, seconds since the epoch")
    transport: str = doc("tcp, udp, sctp, icmp, icmpv6 or ip-<IANA number>")
    ip_version: int = doc("4 or 6 (of the innermost header, which keys the flow)")
    src_ip: str = doc("originator address")
    src_port: int = doc("originator port (0 when the transport has none)")
    dst_ip: str = doc("responder address")
    dst_port: int = doc("responder port (0 when the transport has none)")
    src_packets: int = doc("packets from originator to responder")
    dst_packets: int = doc("packets from responder to originator")
    src_bytes: int = doc("IP bytes from originator to responder")
    dst_bytes: int = doc("IP bytes from responder to originator")
    src_payload: int = doc("transport payload bytes from originator to responder")
    dst_payload: int = doc("transport payload bytes from responder to originator")
    tcp_flags: str = doc("TCP flags seen, originator then responder, as 'SA/SAF'")
    history: str = doc("Zeek-style history: upper case for the originator, lower case for the responder")
    end_reason: str = doc("why the record ended: idle, active, fin, rst, evicted or end (of input)")
    vlan: int = doc("outermost VLAN id, 0 when untagged", 0)
    l7: L7Facts = field(default_factory=L7Facts, metadata={"nested": L7Facts, "doc": "L7 facts"})
    enrich: Enrichment = field(
        default_factory=Enrichment, metadata={"nested": Enrichment, "doc": "enrichment"}
    )

    def key(self) -> str:
        """Canonical bidirectional 5-tuple, as the corpus truth writes it."""
        return canonical_key(self.transport, self.src_ip, self.src_port, self.dst_ip, self.dst_port)


def _endpoint(ip: str, port: int) -> str:
    return (f"[{ip}]" if ":" in ip else ip) + f":{port}"


def canonical_key(transport: str, ip1: str, port1: int, ip2: str, port2: int) -> str:
    """'proto a:p <-> b:q' with endpoints ordered IPv4 first, then by address, then by port."""
    import ipaddress

    a1, a2 = ipaddress.ip_address(ip1), ipaddress.ip_address(ip2)
    k1, k2 = (a1.version, int(a1), port1), (a2.version, int(a2), port2)
    if k2 < k1:
        ip1, port1, ip2, port2 = ip2, port2, ip1, port1
    return f"{transport} {_endpoint(ip1, port1)} <-> {_endpoint(ip2, port2)}"
