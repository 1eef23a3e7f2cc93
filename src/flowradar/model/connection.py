"""Connection: one socket seen by polling the OS, with its owner; ListeningPort: one exposed service."""

from __future__ import annotations

from dataclasses import dataclass

from flowradar.model.schema import doc


@dataclass(slots=True)
class Connection:
    """One TCP or UDP socket of this host at the time of a poll, and the process that owns it."""

    transport: str = doc("tcp or udp")
    ip_version: int = doc("4 or 6 (IPv4-mapped IPv6 sockets are reported as 4)")
    local_ip: str = doc("local address ('0.0.0.0' or '::' when bound to every interface)")
    local_port: int = doc("local port")
    remote_ip: str = doc("remote address ('0.0.0.0' or '::' when not connected)")
    remote_port: int = doc("remote port (0 when not connected)")
    state: str = doc(
        "TCP state (ESTABLISHED, LISTEN, TIME_WAIT, ...); for UDP UNCONN (not connected) or ESTABLISHED"
    )
    uid: int = doc("user id owning the socket", 0)
    user: str | None = doc("user name of uid")
    inode: int = doc("socket inode (0 when no process holds the socket any more, e.g. TIME_WAIT)", 0)
    cookie: int = doc("kernel socket cookie, unique while the socket lives (0 from the procfs fallback)", 0)
    pid: int | None = doc("process id holding the socket (one of them when several share it)")
    process: str | None = doc("process name (/proc/PID/comm)")
    exe: str | None = doc("executable path of the process")
    cgroup: str | None = doc("control group path of the process (cgroup v2, or the v1 systemd hierarchy)")
    container: str | None = doc("container id (12 hex digits) when the cgroup names one")
    rx_bytes: int | None = doc("bytes received on a TCP socket (tcp_info bytes_received), when known")
    tx_bytes: int | None = doc("bytes sent and acknowledged on a TCP socket (tcp_info bytes_acked)")
    rtt_ms: float | None = doc("smoothed round-trip time of a TCP socket, milliseconds")
    ts: float = doc("time of the poll, seconds since the epoch", 0.0)

    def local(self) -> str:
        """'address:port' of the local end (IPv6 in brackets)."""
        return endpoint(self.local_ip, self.local_port)

    def remote(self) -> str:
        """'address:port' of the remote end (IPv6 in brackets); '*' when not connected."""
        return endpoint(self.remote_ip, self.remote_port) if self.remote_port else "*"


@dataclass(slots=True)
class ListeningPort:
    """A listening TCP socket or a bound UDP socket, its service, its exposure and a risk level."""

    transport: str = doc("tcp or udp")
    ip_version: int = doc("4 or 6")
    address: str = doc("bound address")
    port: int = doc("bound port")
    scope: str = doc("bind scope: 'loopback' (this host only), 'all' (every interface) or 'specific'")
    service: str | None = doc("service name for the port (IANA registry, /etc/services as fallback)")
    risk: str = doc("risk level from the [ports] rules: high, medium or low", "low")
    risk_reason: str = doc("which rule gave the risk level", "")
    pid: int | None = doc("process id holding the socket")
    process: str | None = doc("process name")
    exe: str | None = doc("executable path of the process")
    user: str | None = doc("user owning the socket")
    container: str | None = doc("container id when the process runs in one")


def endpoint(ip: str, port: int) -> str:
    """'ip:port', with IPv6 addresses in brackets."""
    return (f"[{ip}]" if ":" in ip else ip) + f":{port}"
