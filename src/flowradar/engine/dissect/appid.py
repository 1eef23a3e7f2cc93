"""Application protocol of a flow: by payload signature first, by well-known port second.

:func:`guess_by_payload` looks at one packet's transport payload and answers only when a signature
matches: magic numbers, header fields that must agree with the payload length, keywords at fixed
places. It runs on the first few payload packets of each flow, so every check is a handful of byte
comparisons, and it never raises. :func:`guess_by_port` (from :mod:`.appid_ports`) is the fallback
and :func:`classify` combines the two the way nDPI and nfstream do. Names are in :data:`PROTOCOLS`.

"webrtc" is an ICE connectivity check (a STUN Binding with ICE-CONTROLLING, ICE-CONTROLLED,
USE-CANDIDATE or PRIORITY, RFC 8445 7.1) or a DTLS hello negotiating SRTP keys (use_srtp, RFC 5764):
both travel on the media path of a WebRTC peer connection. A Binding to a STUN server stays "stun".

What runs is the C kernel :mod:`._appidc`: one call per packet runs the whole TCP or UDP check chain
(and one more the port lookup). The Python checks in :mod:`.appid_binary` and :mod:`.appid_text`, run
by :func:`reference_guess_by_payload` in the order of ``_TCP_CHECKS``/``_UDP_CHECKS``, are its
specification: readable, and the oracle that tests/engine/dissect/test_appid_kernel.py holds the kernel
to (identical answers on random, real and mutated payloads). A signature is changed in Python first,
then ported. Arguments the kernel does not take (a payload that is not exactly bytes, say) go to the
Python reference, so both public functions answer for any input.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowradar.engine.dissect._appidc import guess_by_payload as _kernel_guess_by_payload
from flowradar.engine.dissect._appidc import guess_by_port as _kernel_guess_by_port
from flowradar.engine.dissect.appid_binary import (
    Check,
    _dhcpv6,
    _dns,
    _dtls,
    _ipsec,
    _kerberos,
    _ldap,
    _magic,
    _mysql,
    _ntp,
    _openvpn,
    _postgresql,
    _quic,
    _rdp,
    _snmp,
    _socks,
    _stun,
    _tls,
    _wireguard,
)
from flowradar.engine.dissect.appid_ports import PORT_PROTOCOLS
from flowradar.engine.dissect.appid_ports import guess_by_port as reference_guess_by_port
from flowradar.engine.dissect.appid_text import _text

__all__ = ["PROTOCOLS", "classify", "guess_by_payload", "guess_by_port", "reference_guess_by_payload"]

# --- dispatch -------------------------------------------------------------------------------------

_TCP_CHECKS: tuple[Check, ...] = (
    _tls, _text, _magic, _rdp, _postgresql, _mysql, _kerberos, _ldap, _snmp, _dns, _openvpn, _stun, _socks,
)  # fmt: skip
_UDP_CHECKS: tuple[Check, ...] = (
    _quic, _dtls, _stun, _dns, _magic, _dhcpv6, _ntp, _ipsec, _snmp, _ldap, _kerberos, _text, _openvpn,
    _wireguard,
)  # fmt: skip

PAYLOAD_PROTOCOLS: frozenset[str] = frozenset({
    "tls", "dtls", "webrtc", "quic", "dns", "mdns", "llmnr", "netbios", "dhcp", "dhcpv6", "ntp", "snmp",
    "ldap", "kerberos", "ipsec", "wireguard", "openvpn", "smb", "rdp", "postgresql", "mysql", "mqtt",
    "redis", "telnet", "bittorrent", "stun", "socks", "ssh", "http", "http-proxy", "ssdp", "rtsp", "sip",
    "syslog", "smtp", "ftp", "pop3", "imap",
})  # fmt: skip
"""Every name :func:`guess_by_payload` can return."""

PROTOCOLS: frozenset[str] = PAYLOAD_PROTOCOLS | PORT_PROTOCOLS
"""Every name :func:`guess_by_payload` or :func:`guess_by_port` can return."""


def _guess(transport: str, orig_port: int, resp_port: int, payload: bytes) -> str | None:
    """Run the transport's signature checks in order; the first match wins."""
    udp = transport == "udp"
    for check in _UDP_CHECKS if udp else _TCP_CHECKS if transport == "tcp" else ():
        found = check(payload, orig_port, resp_port, udp)
        if found is not None:
            return found
    return None


def reference_guess_by_payload(transport: str, orig_port: int, resp_port: int, payload: bytes) -> str | None:
    """:func:`guess_by_payload` in Python: the specification of the C kernel, and its fallback."""
    if not payload:
        return None
    try:
        return _guess(transport, orig_port, resp_port, bytes(payload))
    except Exception:  # a check that trips on hostile bytes must not take the flow down
        return None


def guess_by_payload(
    transport: str, orig_port: int, resp_port: int, direction: int, payload: bytes
) -> str | None:
    """The application protocol one packet's payload proves, or None when no signature matches.

    ``transport`` is 'tcp' or 'udp' (anything else gives None). ``direction`` (ORIG 0 / RESP 1) is
    part of the dissector seam but not relied on: a capture can start in the middle of a flow, so
    every signature holds either way. Ports only break ties between protocols that share a format
    (DNS/mDNS/LLMNR, the FTP/POP3 'USER') or gate weak signatures (ESP on 4500, SOCKS). Never raises.
    """
    try:
        return _kernel_guess_by_payload(transport, orig_port, resp_port, payload)
    except TypeError:  # not the exact types the kernel takes (bytes, int, str): the reference answers
        return reference_guess_by_payload(transport, orig_port, resp_port, payload)


def guess_by_port(transport: str, orig_port: int, resp_port: int) -> str | None:
    """The protocol of the flow's well-known port, or None when neither port is in the table.

    When both ports are known, the well-known one (below 1024) wins, then the lower one (the tables
    and the rule are :func:`.appid_ports.guess_by_port`'s, here looked up in C).
    """
    try:
        return _kernel_guess_by_port(transport, orig_port, resp_port)
    except TypeError:
        return reference_guess_by_port(transport, orig_port, resp_port)


def classify(
    transport: str, orig_port: int, resp_port: int, packets: Iterable[tuple[int, bytes]]
) -> tuple[str | None, str | None]:
    """(app_proto, app_by) of a flow from its first payload packets, given as (direction, payload).

    The first packet whose payload matches a signature decides ('payload'); otherwise the
    well-known port does ('port'); otherwise (None, None). These fill ``L7Facts.app_proto/app_by``.
    """
    for direction, payload in packets:
        found = guess_by_payload(transport, orig_port, resp_port, direction, payload)
        if found is not None:
            return found, "payload"
    by_port = guess_by_port(transport, orig_port, resp_port)
    return (by_port, "port") if by_port is not None else (None, None)
