"""Binary signature checks for :mod:`.appid`: TLS/DTLS/QUIC, name services, ASN.1, VPNs, magic numbers.

Each check takes (payload, orig_port, resp_port, is_udp) and returns a protocol name when its
signature holds, else None. Every check is a handful of byte comparisons; :mod:`.appid` runs them in
order and guards against a check tripping on hostile bytes.

These checks are the specification of the C kernel ``_appidc.c``, which is what runs: a change to a
signature is made here first, then ported there (tests/engine/dissect/test_appid_kernel.py compares
the two).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable

from flowradar.engine.dissect.appid_ports import dns_family

Check = Callable[[bytes, int, int, bool], str | None]
"""A signature check: (payload, orig_port, resp_port, is_udp) -> protocol name or None."""


def _u16(p: bytes, o: int) -> int:
    return int.from_bytes(p[o : o + 2], "big")


def _u32(p: bytes, o: int) -> int:
    return int.from_bytes(p[o : o + 4], "big")


def _looks_random(b: bytes) -> bool:
    """Whether bytes look like key material or ciphertext: varied, not zeros and not text.

    Not text means a byte with the high bit set; for fields under 16 bytes, where random data lacks
    one too often (1 time in 256 for an 8-byte id), any byte outside printable ASCII will do.
    """
    if len(set(b)) * 2 <= len(b):
        return False
    if len(b) >= 16:
        return max(b) >= 0x80
    return any(c >= 0x7F or c < 0x20 for c in b)


def _varint(p: bytes, o: int) -> tuple[int, int]:
    """(value, next offset) of the QUIC variable-length integer at ``o`` (RFC 9000 16); -1 if cut."""
    n = 1 << (p[o] >> 6) if o < len(p) else 9
    if o + n > len(p):
        return -1, o
    return int.from_bytes(p[o : o + n], "big") & ((1 << (8 * n - 2)) - 1), o + n


def _ber_len(p: bytes, o: int) -> tuple[int, int] | None:
    """(length, offset of the value) of the BER/DER length octets at ``o``; None if malformed."""
    first = p[o] if o < len(p) else 0x80
    if first < 0x80:
        return first, o + 1
    n = first & 0x7F
    if not 1 <= n <= 4 or o + 1 + n > len(p):
        return None
    return int.from_bytes(p[o + 1 : o + 1 + n], "big"), o + 1 + n


# --- TLS, DTLS, QUIC ----------------------------------------------------------------------------


def _tls(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """TLS record header (RFC 8446 5.1) with a plausible type, version and length; or an SSLv2-format
    ClientHello whose lengths add up (RFC 6101 E.1)."""
    if len(p) >= 6 and p[1] == 3 and p[2] <= 4 and 0 < _u16(p, 3) <= 18432:
        if p[0] == 0x16:  # handshake: only a ClientHello (client_version 3.x) or a ServerHello
            return "tls" if p[5] == 2 or (p[5] == 1 and (len(p) < 10 or p[9] == 3)) else None
        if p[0] == 0x14:
            return "tls" if _u16(p, 3) == 1 and p[5] == 1 else None
        return "tls" if p[0] in (0x15, 0x17) else None
    if len(p) >= 11 and p[0] & 0x80 and p[2] == 1 and p[3:5] in (b"\x00\x02", b"\x03\x00", b"\x03\x01"):
        specs, session, challenge = _u16(p, 5), _u16(p, 7), _u16(p, 9)  # SSLv2-compatible ClientHello
        ok = specs and specs % 3 == 0 and session in (0, 16) and 16 <= challenge <= 32
        return "tls" if ok and (p[0] & 0x7F) << 8 | p[1] == 9 + specs + session + challenge else None
    return None


def _hello_has_srtp(p: bytes, body: int, client: bool) -> bool:
    """Whether the DTLS hello whose body starts at ``body`` carries use_srtp (extension 14)."""
    o = body + 34  # version, random
    o += 1 + (p[o] if o < len(p) else 0)  # session id
    if client:
        o += 1 + (p[o] if o < len(p) else 0)  # cookie
        o += 2 + _u16(p, o)  # cipher suites
        o += 1 + (p[o] if o < len(p) else 0)  # compression methods
    else:
        o += 3  # cipher suite, compression method
    end = min(len(p), o + 2 + _u16(p, o))
    o += 2
    while o + 4 <= end:
        if _u16(p, o) == 14:
            return True
        o += 4 + _u16(p, o + 2)
    return False


def _dtls(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """DTLS 1.0/1.2 record header (RFC 6347 4.1); a hello with use_srtp is WebRTC media."""
    if len(p) < 13 or p[1] != 0xFE or p[2] not in (0xFF, 0xFD, 0xFC) or not 20 <= p[0] <= 25:
        return None
    if not 0 < _u16(p, 11) <= len(p) - 13:
        return None
    if p[0] == 22 and len(p) >= 25 and p[13] in (1, 2) and _hello_has_srtp(p, 25, p[13] == 1):
        return "webrtc"
    return "dtls"


_QUIC_VERSIONS = frozenset(
    {0x00000001, 0x6B3343CF, 0x709A50C4, 0xFACEB001, 0xFACEB002, 0xFACEB00E, *range(0xFF00000D, 0xFF000023)}
)
"""v1, v2, v2 draft, mvfst and IETF drafts 13-34."""


def _quic_long_header(p: bytes) -> int | None:
    """Offset after the long header's two connection ids when each is at most 20 bytes, else None."""
    o = 6 + p[5]
    if p[5] > 20 or o >= len(p) or p[o] > 20 or o + 1 + p[o] > len(p):
        return None
    return o + 1 + p[o]


def _quic_packet_fits(p: bytes, o: int, version: int) -> bool:
    """Whether a v1/v2 long-header packet's token and Length fields (RFC 9000 17.2) fit the datagram."""
    kind = (p[0] >> 4) & 3
    kind = (kind - 1) % 4 if version == 0x6B3343CF else kind  # RFC 9369 3.2 renumbers the types
    if kind == 3:  # Retry: token and a 16-byte integrity tag
        return len(p) >= o + 16
    if kind == 0:  # Initial: token length and token
        token, o = _varint(p, o)
        o += token if token >= 0 else len(p)
    length, o = _varint(p, o)
    return 20 <= length <= len(p) - o


def _quic(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """QUIC long header with a known version (RFC 9000 17.2), or a gQUIC Q0xx/T0xx header."""
    if len(p) < 14:
        return None
    if p[0] & 0x80:  # long header; the fixed bit may be greased (RFC 9287), so it is not checked
        version, end = _u32(p, 1), _quic_long_header(p)
        if p[1:3] in (b"Q0", b"T0") and p[3:5].isdigit():
            return "quic"
        if version in _QUIC_VERSIONS:
            return "quic" if end is not None and _quic_packet_fits(p, end, version) else None
        if version == 0 and end is not None and (len(p) - end) % 4 == 0:  # version negotiation
            offered = {_u32(p, o) for o in range(end, len(p), 4)}
            return "quic" if offered & _QUIC_VERSIONS else None
        return None
    o = 9 if p[0] & 0x08 else 1  # gQUIC public header: flags, optional 8-byte CID, version
    if p[0] & 0x01 and not p[0] & 0x40 and p[o : o + 2] in (b"Q0", b"T0") and p[o + 2 : o + 4].isdigit():
        return "quic"
    return "quic" if p[0] & 0x08 and not p[0] & 0x41 and b"CHLO" in p[9:80] else None  # a later CHLO


# --- name services, address configuration, time -------------------------------------------------

_NB_NAME = re.compile(rb"\x20[A-P]{32}\x00\x00[\x20\x21]\x00\x01")
"""A NetBIOS name (RFC 1002 4.1: 32 letters A-P) asked or answered as NB or NBSTAT, class IN."""


def _dns_message(p: bytes) -> bool:
    """DNS header sanity (RFC 1035 4.1.1) and a well-formed first question or answer record."""
    if len(p) < 17:
        return False
    flags, qd, an, ns, ar = struct.unpack_from(">5H", p, 2)
    if (flags >> 11) & 0xF not in (0, 1, 2, 4, 5) or flags & 0x40 or qd > 64 or max(an, ns, ar) > 512:
        return False
    if qd == 0 and (an == 0 or not flags & 0x8000):  # only a response may skip the question
        return False
    o = 12  # the name's last byte: the root label, or the second byte of a compression pointer
    for _ in range(128):
        if o >= len(p) or 63 < p[o] < 0xC0:
            return False
        if p[o] == 0 or p[o] >= 0xC0:
            o += 1 if p[o] else 0
            break
        o += 1 + p[o]
    return o + 5 <= len(p) and _u16(p, o + 1) != 0 and _u16(p, o + 3) & 0x7FFF in (1, 3, 4, 254, 255)


def _dns(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """DNS, mDNS, LLMNR (one format, told apart by port), NBNS; over TCP after a 2-byte length."""
    if not udp:
        n = _u16(p, 0)
        if n != len(p) - 2 and not (53 in (orig, resp) and n > len(p) - 2):
            return None
        p = p[2:]
    if _NB_NAME.match(p, 12):
        return "netbios"
    return dns_family(orig, resp) if _dns_message(p) else None


def _dhcpv6(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """DHCPv6 message type 1-13 on 546/547 whose options parse to the end (RFC 8415 8, 9, 21.1)."""
    if not {546, 547} & {orig, resp} or len(p) < 4 or not 1 <= p[0] <= 13:
        return None
    o = 34 if p[0] in (12, 13) else 4  # relay messages: hop count, link and peer addresses
    while o + 4 <= len(p):
        o += 4 + _u16(p, o + 2)
    return "dhcpv6" if o == len(p) else None


def _ntp(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """NTP (RFC 5905 7.3) on port 123: version 1-4, a mode, and for modes 1-5 a 48-byte header with a
    stratum and poll interval in range, plus a MAC or extension fields. Elsewhere only a 48-byte
    v3/v4 server reply whose stratum, poll, precision and transmit time all make sense."""
    if len(p) < 8:
        return None
    version, mode = (p[0] >> 3) & 7, p[0] & 7
    if 123 in (orig, resp):
        sized = len(p) in (48, 68, 72) or (len(p) > 72 and len(p) % 4 == 0)
        header = mode >= 6 or (sized and p[1] <= 16 and p[2] <= 17)
        return "ntp" if 1 <= version <= 4 and mode != 0 and header else None
    ok = len(p) == 48 and version in (3, 4) and mode == 4 and 1 <= p[1] <= 15 and p[2] <= 17 and p[3] >= 0xE0
    return "ntp" if ok and p[40:44] != b"\x00\x00\x00\x00" else None


# --- ASN.1/BER protocols --------------------------------------------------------------------------


def _ber_seq(p: bytes) -> tuple[int, int] | None:
    """(content offset, end) of an outer SEQUENCE that fills the payload or is followed by another."""
    hdr = _ber_len(p, 1) if len(p) >= 7 and p[0] == 0x30 else None
    if hdr is None:
        return None
    end = hdr[1] + hdr[0]
    return None if end > len(p) or (end < len(p) and p[end] != 0x30) else (hdr[1], end)


def _snmp(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """SNMP message (RFC 3416 3, RFC 3412 6): v1/v2c with community and PDU, or v3."""
    seq = _ber_seq(p)
    if seq is None or p[seq[0] : seq[0] + 2] != b"\x02\x01" or seq[0] + 4 > len(p):
        return None
    o, version = seq[0] + 3, p[seq[0] + 2]
    if version == 3:
        return "snmp" if p[o] == 0x30 else None
    community = _ber_len(p, o + 1) if version <= 1 and p[o] == 0x04 else None
    pdu = community[0] + community[1] if community else len(p)
    return "snmp" if pdu < len(p) and 0xA0 <= p[pdu] <= 0xA8 else None


_LDAP_OPS = frozenset({0x42, 0x4A, 0x50, 0x73, 0x77, 0x78, 0x79, *range(0x60, 0x70)})


def _ldap(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """LDAPMessage (RFC 4511 4.1.1): SEQUENCE { messageID INTEGER, protocolOp [APPLICATION n] }."""
    seq = _ber_seq(p)
    # the messageID's tag and length octets may lie past the end (a SEQUENCE that ends the payload
    # right after its own length): checked, so that the check cannot raise and the next ones run
    if seq is None or seq[0] + 2 > len(p) or p[seq[0]] != 0x02 or not 1 <= p[seq[0] + 1] <= 4:
        return None
    o = seq[0] + 2 + p[seq[0] + 1]
    return "ldap" if o < seq[1] and p[o] in _LDAP_OPS else None


_KRB_TAGS = {0x6A: 10, 0x6B: 11, 0x6C: 12, 0x6D: 13, 0x6E: 14, 0x6F: 15, 0x7E: 30}


def _kerberos(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """[APPLICATION n] SEQUENCE that opens with pvno 5 and msg-type n (RFC 4120 5.4.1, 5.9.1);
    alone in a datagram, after a 4-byte length over TCP (RFC 4120 7.2)."""
    if not udp:
        p = p[4:] if len(p) > 4 and _u32(p, 0) >= len(p) - 4 else b""
    msg_type = _KRB_TAGS.get(p[0]) if p else None
    hdr = _ber_len(p, 1)
    inner = _ber_len(p, hdr[1] + 1) if hdr and p[hdr[1] : hdr[1] + 1] == b"\x30" else None
    if msg_type is None or inner is None:
        return None
    o, tag = inner[1], 0xA1 if msg_type in (10, 12) else 0xA0
    return "kerberos" if p[o : o + 10] == bytes((tag, 3, 2, 1, 5, tag + 1, 3, 2, 1, msg_type)) else None


# --- VPNs and tunnels -----------------------------------------------------------------------------

_IKE_EXCHANGES = frozenset({1, 2, 3, 4, 5, 6, 32, 33, 34, 35, 36, 37, 43, 44})


def _ipsec(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """IKEv1/v2 header (RFC 2408 3.1, RFC 7296 3.1); on 4500 also ESP-in-UDP (RFC 3948 2)."""
    natt = 4500 in (orig, resp)
    o = 4 if natt and p[:4] == b"\x00\x00\x00\x00" else 0  # non-ESP marker
    h = p[o : o + 28]
    if len(h) == 28 and h[17] in (0x10, 0x20) and h[18] in _IKE_EXCHANGES and _u32(h, 24) == len(p) - o:
        return "ipsec" if h[:8] != bytes(8) else None
    esp = o == 0 and (p == b"\xff" or (len(p) >= 16 and _u32(p, 0) >= 256 and _u32(p, 4) != 0))
    return "ipsec" if natt and esp else None  # NAT keepalive, or SPI and sequence number


_WG_LAYOUT = {1: (148, 8), 2: (92, 12), 3: (64, 8)}
"""Message type -> (exact size, offset of the 32 random bytes: ephemeral key or nonce and cookie)."""


def _wireguard(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """WireGuard handshake messages (types 1-3) of their exact sizes, or type 4 transport data padded
    to 16 bytes with a 64-bit little-endian counter still below 2**32, each with a random 32-bit
    index and random-looking keys or ciphertext where the whitepaper (5.4) puts them."""
    if len(p) < 32 or p[1:4] != b"\x00\x00\x00" or not 1 <= p[0] <= 4 or p[4:8].count(0) > 1:
        return None
    if p[0] == 4 and p[12:16] != b"\x00\x00\x00\x00":
        return None
    size, key = _WG_LAYOUT.get(p[0], (len(p) if len(p) % 16 == 0 else -1, 16))
    return "wireguard" if size == len(p) and _looks_random(p[key : key + 32]) else None


def _openvpn(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """OpenVPN hard reset (opcodes 1, 2, 7, 8, 10; key id 0), after a 2-byte length over TCP.

    Plain: session id, an ack array of 0 or 1 ids (then the peer's session id), message packet id
    0. With tls-auth or tls-crypt: replay packet id 1 and a Unix time, after an HMAC of 0, 16, 20,
    32 or 64 bytes (OpenVPN's ssl_pkt.h and its protocol overview).
    """
    if not udp:
        p = p[2:] if _u16(p, 0) == len(p) - 2 else b""
    if len(p) < 14 or p[0] not in (0x08, 0x10, 0x38, 0x40, 0x50) or not _looks_random(p[1:9]):
        return None  # session ids are random 64-bit numbers
    if any(_u32(p, 9 + h) == 1 and _u32(p, 13 + h) > 1_000_000_000 for h in (0, 16, 20, 32, 64)):
        return "openvpn"
    o = 10 + 12 * p[9] if p[9] <= 1 else len(p)
    return "openvpn" if o + 4 <= len(p) <= o + 64 and p[o : o + 4] == b"\x00\x00\x00\x00" else None


# --- magic numbers and binary openings -----------------------------------------------------------


_MAGIC_TABLE: tuple[tuple[bytes, str], ...] = (
    # SMB1/2/3 after a NetBIOS session message header (RFC 1002 4.3.1, [MS-SMB2] 2.2.1)
    (rb"\x00...[\xff\xfe\xfd]SMB", "smb"),
    # NetBIOS session request: called and calling names, 32 letters A-P each (RFC 1002 4.3.2)
    (rb"\x81\x00\x00.\x20[A-P]{32}", "netbios"),
    # NetBIOS datagram: type 0x10-0x12, flags, id, source ip and port, length, offset 0, name (4.4.1)
    (rb"[\x10-\x12][\x00-\x0f].{10}\x00\x00\x20[A-P]{32}", "netbios"),
    # DHCP: BOOTREQUEST/BOOTREPLY with the magic cookie at offset 236 (RFC 2131 3)
    (rb"[\x01\x02].{235}\x63\x82\x53\x63", "dhcp"),
    # PostgreSQL SSLRequest, GSSENCRequest, CancelRequest (PostgreSQL protocol, Message Formats)
    (rb"\x00\x00\x00\x08\x04\xd2\x16[\x2f\x30]\Z|\x00\x00\x00\x10\x04\xd2\x16\x2e", "postgresql"),
    # MQTT CONNECT: type 1, remaining length, protocol name MQTT level 3-5 or MQIsdp (MQTT 3.1.2.1)
    (rb"\x10[\x80-\xff]{0,3}[\x00-\x7f](?:\x00\x04MQTT[\x03-\x05]|\x00\x06MQIsdp)", "mqtt"),
    # Redis command in RESP: an array of bulk strings (Redis serialization protocol)
    (rb"\*[1-9][0-9]{0,6}\r\n\$[0-9]{1,9}\r\n", "redis"),
    # Telnet IAC WILL/WONT/DO/DONT option, alone or before another IAC; IAC SB ... IAC SE (RFC 854)
    (rb"\xff[\xfb-\xfe][\x00-\x31](?:\xff|\Z)|\xff\xfa[\x00-\x31].{0,64}?\xff\xf0", "telnet"),
    # BitTorrent peer handshake (BEP 3), DHT KRPC query/response (BEP 5), UDP tracker (BEP 15)
    (rb"\x13BitTorrent protocol", "bittorrent"),
    (rb"d(?:1:ad2:id20:|1:rd2:id20:|2:ip).*1:y1:[eqr]", "bittorrent"),
    (rb"\x00\x00\x04\x17\x27\x10\x19\x80\x00\x00\x00\x00.{4}\Z", "bittorrent"),
)
"""Signatures that are a fixed pattern at the start of the payload: (regular expression, protocol)."""
_MAGIC = re.compile(b"|".join(b"(?P<m%d>%s)" % (i, rx) for i, (rx, _) in enumerate(_MAGIC_TABLE)), re.DOTALL)
"""The table as one expression (one pass over the payload); group m<i> names the matching row."""


def _magic(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """The protocol of the first fixed-pattern signature that matches at the start of the payload."""
    found = _MAGIC.match(p)
    return _MAGIC_TABLE[int(found.lastgroup[1:])][1] if found and found.lastgroup else None


def _rdp(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """TPKT + X.224 Connection Request with an RDP cookie or RDP_NEG_REQ ([MS-RDPBCGR] 2.2.1.1)."""
    if len(p) < 11 or p[:2] != b"\x03\x00" or _u16(p, 2) != len(p) or p[4] != len(p) - 5:
        return None
    rdp_port = 3389 in (orig, resp)
    if p[5] == 0xE0:  # Connection Request; Connection Confirm (0xD0) counts only on 3389
        body = p[11:]
        rdp_port |= body.startswith((b"Cookie: mstshash=", b"Cookie: msts=")) or body[:2] == b"\x01\x00"
    return "rdp" if rdp_port and p[5] in (0xE0, 0xD0) else None


def _postgresql(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """PostgreSQL v3.0 StartupMessage: length, protocol 196608, NUL-terminated name/value pairs."""
    ok = len(p) >= 9 and _u32(p, 0) == len(p) and _u32(p, 4) == 196608 and p[-1] == 0
    return "postgresql" if ok else None


_MYSQL_VERSION = re.compile(rb"[0-9][0-9A-Za-z.\-_+~]{0,60}\x00")


def _mysql(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """MySQL/MariaDB Protocol::HandshakeV10: protocol 10, version, thread id, salt, zero filler."""
    if len(p) < 40 or p[3] != 0 or int.from_bytes(p[:3], "little") != len(p) - 4 or p[4] != 10:
        return None
    version = _MYSQL_VERSION.match(p, 5)
    filler = version.end() + 12 if version else len(p)
    return "mysql" if filler < len(p) and p[filler] == 0 else None


def _stun(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """STUN header with the magic cookie (RFC 8489 5); ICE checks (RFC 8445 7.1) are WebRTC."""
    if len(p) < 20 or p[0] & 0xC0 or _u16(p, 2) != len(p) - 20 or len(p) % 4:
        return None
    if p[4:8] != b"\x21\x12\xa4\x42":  # RFC 3489 STUN had no cookie: only on its port
        return "stun" if _u16(p, 0) in (0x0001, 0x0101, 0x0111) and 3478 in (orig, resp) else None
    o = 20
    while o + 4 <= len(p):
        if _u16(p, o) in (0x0024, 0x0025, 0x8029, 0x802A):
            return "webrtc"
        o += 4 + (_u16(p, o + 2) + 3) // 4 * 4
    return "stun"


def _socks(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """SOCKS5 greeting (RFC 1928 3: version, method count, methods) or a SOCKS4 CONNECT/BIND request
    ending in its NUL-terminated user id; only on a SOCKS port."""
    if len(p) < 3 or not {1080, 9050, 9150} & {orig, resp}:
        return None
    if p[0] == 5:
        ok = p[1] == len(p) - 2 and all(m <= 3 or 0x80 <= m <= 0xFE for m in p[2:])
    else:
        ok = p[0] == 4 and p[1] in (1, 2) and len(p) >= 9 and p[-1] == 0
    return "socks" if ok else None
