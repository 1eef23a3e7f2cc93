"""DHCP (BOOTP with the magic cookie, UDP 67/68): the host name a client announces.

The name comes from option 12 (Host Name) of a client's message (BOOTREQUEST), or when that is
absent, from option 81 (Client FQDN, RFC 4702), in ASCII or in DNS wire format. The option scan is
bounded to the first 2 KiB of options; option overload (52) is not followed.
"""

from __future__ import annotations

import re

from flowradar.engine.dissect.base import L7Packet
from flowradar.model.flow import L7Facts

MAGIC = b"\x63\x82\x53\x63"
"""The DHCP magic cookie that follows the 236-byte BOOTP header."""
MAX_MESSAGES = 16
"""A dissector gives up after this many datagrams without a host name."""
_OPTIONS = 240  # offset of the first option
_SCAN = 2048  # option bytes looked at
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def looks_like_dhcp(payload: bytes) -> bool:
    """True for a BOOTP message of plausible opcode and hardware address length with the cookie."""
    return (
        len(payload) >= _OPTIONS
        and payload[0] in (1, 2)
        and payload[2] <= 16
        and payload[236:_OPTIONS] == MAGIC
    )


def options(payload: bytes) -> dict[int, bytes]:
    """The options of a DHCP message, first occurrence of each code (empty when not DHCP)."""
    out: dict[int, bytes] = {}
    if not looks_like_dhcp(payload):
        return out
    pos, end = _OPTIONS, min(len(payload), _OPTIONS + _SCAN)
    while pos < end:
        code = payload[pos]
        if code == 0:
            pos += 1
            continue
        if code == 255 or pos + 1 >= end:
            break
        length = payload[pos + 1]
        value = payload[pos + 2 : pos + 2 + length]
        if len(value) < length:
            break
        out.setdefault(code, value)
        pos += 2 + length
    return out


def _clean(raw: bytes) -> str | None:
    text = _CONTROL.sub("", raw.rstrip(b"\x00").decode("utf-8", "replace")).strip().rstrip(".")
    return text or None


def _fqdn_name(value: bytes) -> str | None:
    """The domain name of a Client FQDN option: flags, two rcodes, then ASCII or wire format."""
    if len(value) < 4:
        return None
    name = value[3:]
    if not value[0] & 0x04:  # E bit clear: deprecated ASCII encoding
        return _clean(name)
    labels: list[bytes] = []
    pos = 0
    while pos < len(name) and name[pos] != 0:
        length = name[pos]
        if length > 63:
            return None
        labels.append(name[pos + 1 : pos + 1 + length])
        pos += 1 + length
    return _clean(b".".join(labels))


def hostname(payload: bytes) -> str | None:
    """Host name announced in a client's DHCP message (option 12, else option 81), or None."""
    if len(payload) < _OPTIONS or payload[0] != 1:
        return None
    opts = options(payload)
    if 12 in opts:
        return _clean(opts[12])
    if 81 in opts:
        return _fqdn_name(opts[81])
    return None


class DhcpDissector:
    """Sets dhcp_hostname from the first client message of the flow that announces one."""

    __slots__ = ("_messages",)

    def __init__(self) -> None:
        self._messages = 0

    def feed(self, pkt: L7Packet, facts: L7Facts) -> bool:
        """Read one datagram; True until a host name is found or too many came without one."""
        if pkt.transport != "udp":
            return False
        self._messages += 1
        name = hostname(pkt.payload)
        if name is not None:
            facts.dhcp_hostname = name
            return False
        return self._messages < MAX_MESSAGES


def create() -> DhcpDissector:
    """A fresh DHCP dissector for one flow (the engine's DissectorFactory)."""
    return DhcpDissector()
