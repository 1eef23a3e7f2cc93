"""Application-protocol classifier: real payloads from the corpus, from real clients on loopback,
and, where neither is to be had here, the example messages of the protocol's specification."""

from __future__ import annotations

import binascii
import collections
import contextlib
import ftplib
import hashlib
import hmac
import imaplib
import logging.handlers
import os
import poplib
import shutil
import smtplib
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import CORPUS, tshark_fields

from flowradar.engine.dissect import appid
from flowradar.engine.dissect.appid import PROTOCOLS, classify, guess_by_payload, guess_by_port

# --- helpers --------------------------------------------------------------------------------------


def guess(transport: str, payload: bytes, orig: int = 50000, resp: int = 40000) -> str | None:
    """guess_by_payload with unremarkable ports unless the case needs real ones."""
    return guess_by_payload(transport, orig, resp, 0, payload)


def corpus_payloads(pcap: Path, display_filter: str) -> list[tuple[str, int, int, bytes]]:
    """(transport, src port, dst port, payload) of each packet tshark matches, ICMP quotes left out."""
    fields = ["frame.protocols", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]
    rows = tshark_fields(pcap, display_filter, [*fields, "tcp.payload", "udp.payload"])
    out = []
    for protos, tsp, tdp, usp, udp_, tpay, upay in (r + [""] * (7 - len(r)) for r in rows):
        if ":icmp" in protos or not (tpay or upay):
            continue
        transport, sport, dport = ("tcp", tsp, tdp) if tpay else ("udp", usp, udp_)
        out.append(
            (transport, int(sport.split(",")[0]), int(dport.split(",")[0]), bytes.fromhex(tpay or upay))
        )
    return out


def tcp_client_bytes(client: Callable[[int], object], greeting: bytes = b"") -> bytes:
    """What a real client sends first to a one-shot loopback TCP server that may greet it first."""
    got: list[bytes] = []
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.settimeout(20)

        def serve() -> None:
            with contextlib.suppress(OSError):
                while not got:  # a connection that says nothing (a stray probe) is not the client
                    conn, _ = srv.accept()
                    with conn:
                        conn.settimeout(20)
                        conn.sendall(greeting)
                        data = conn.recv(65536)
                        if data:
                            got.append(data)

        thread = threading.Thread(target=serve)
        thread.start()
        with contextlib.suppress(Exception):  # the server hangs up after the first read
            client(srv.getsockname()[1])
        thread.join(30)
    return got[0] if got else b""


def run_until_served(argv: list[str], env: dict[str, str] | None = None) -> Callable[[int], object]:
    """A client for tcp_client_bytes that runs a program and gives it 20 s to say something."""

    def client(port: int) -> None:
        cmd = [a.replace("PORT", str(port)) for a in argv]
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(cmd, env=env, capture_output=True, timeout=20, stdin=subprocess.DEVNULL)

    return client


def udp_client_bytes(argv: list[str], env: dict[str, str] | None = None) -> bytes:
    """The first datagram a real client program sends to a loopback UDP socket ('PORT' in argv)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(20)
        port = str(sock.getsockname()[1])
        cmd = [a.replace("PORT", port) for a in argv]
        proc = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            return sock.recv(65536)
        finally:
            proc.kill()
            proc.wait()


def need(tool: str) -> None:
    """Skip unless the real client program is installed."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")


def der(tag: int, *parts: bytes) -> bytes:
    """A DER TLV whose value is the concatenated parts (definite length, up to 65535 bytes)."""
    body = b"".join(parts)
    n = len(body)
    length = (
        bytes([n]) if n < 0x80 else bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big")
    )
    return bytes([tag]) + length + body


# --- 1. real payloads from the corpus -------------------------------------------------------------

CORPUS_CASES = [
    # (capture, tshark display filter, expected, ports as (orig, resp) when not the packet's own)
    ("tls1.2.pcap", "tls.handshake.type == 1", "tls"),
    ("tls1.2.pcap", "tls.handshake.type == 2", "tls"),
    ("tls_ech.pcapng", "tls.handshake.type == 1", "tls"),  # TLS 1.3 with ECH, IPv6
    ("tls_port_80.pcapng", "tcp.dstport == 80 && tcp.len > 0", "tls"),  # tshark: data
    ("chromium-115.0.5790.110-api-cirrus-com.pcap", "quic.header_form == 1", "quic"),  # QUIC v1
    ("quicv2-http3-443.pcap", "quic.header_form == 1", "quic"),  # QUIC v2, greased fixed bit
    ("quic-v2.pcapng", "quic.header_form == 1", "quic"),  # QUIC v2 on port 4443
    ("quic_0RTT.pcap", "quic.header_form == 1", "quic"),  # draft-28 and v1 with 0-RTT
    ("quic.pcap", 'gquic.tag == "CHLO"', "quic"),  # gQUIC Q024
    ("youtube_quic.pcap", 'gquic.tag == "CHLO"', "quic"),  # gQUIC Q035
    ("android.pcap", "dns", "dns"),
    ("dns-tunnel-iodine.pcap", "dns", "dns"),
    ("dns_fragmented.pcap", "dns && tcp", "dns"),  # DNS over TCP
    ("udp_0_1000_20190821.pcap", "dns", "dns"),  # masscan's version.bind CHAOS TXT probe
    ("wikipedia.pcap", "mdns", "mdns"),
    ("1kxun.pcap", "llmnr", "llmnr"),
    ("1kxun.pcap", "nbns", "netbios"),
    ("1kxun.pcap", "nbdgm", "netbios"),
    ("udp_0_1000_20190821.pcap", "nbns", "netbios"),  # NBSTAT query
    ("android.pcap", "dhcp", "dhcp"),
    ("1kxun.pcap", "dhcpv6", "dhcpv6"),
    ("android.pcap", "ntp", "ntp"),  # SNTP client and server, 48 bytes
    ("udp_0_1000_20190821.pcap", "ntp", "ntp"),  # mode 7 (monlist) probe
    ("1kxun.pcap", "ssdp", "ssdp"),
    ("methods.pcap", "http.request", "http"),  # also "OPTIONS", "CCM_POST /HTTP/1.1"
    ("methods.pcap", 'http.response && tcp.payload[0:5] == "HTTP/"', "http"),
    ("WebattackSQLinj.pcap", "http.request", "http"),
    ("ssh.pcap", "tcp.payload[0:4] == 53:53:48:2d", "ssh"),  # also on port 8000, tshark: data
    ("single-conn.pcap", "ssh.protocol", "ssh"),  # SSH-1.99 banner
    ("ipv6.pcap", "ftp.response.code == 220", "ftp"),
    ("mixed-vlan-mpls.pcap", "telnet && tcp.payload[0] == 0xff", "telnet"),  # IAC, SB ... SE
    ("udp_0_1000_20190821.pcap", "snmp", "snmp"),  # v1 get-request
    ("amp.TCP.reflection.SYNACK.pcap", "snmp", "snmp"),  # v2c responses
    ("amp.UDP.isakmp.pcap", "isakmp && frame.number < 50", "ipsec"),  # IKEv1 behind the non-ESP marker
    ("fuzz-2006-06-26-2594.pcap", 'sip.Method == "REGISTER"', "sip"),
    ("fuzz-2006-06-26-2594.pcap", "sip.Status-Code", "sip"),
]


@pytest.mark.corpus
@pytest.mark.parametrize(("pcap", "display_filter", "expected"), CORPUS_CASES)
def test_corpus_payload(corpus: Path, pcap: str, display_filter: str, expected: str) -> None:
    rows = corpus_payloads(corpus / "pcaps" / pcap, display_filter)
    assert rows, "the case selects no packet"
    for transport, sport, dport, payload in rows:
        assert guess_by_payload(transport, sport, dport, 0, payload) == expected, payload[:60]


@pytest.mark.corpus
def test_ftp_user_needs_port(corpus: Path) -> None:
    """'USER' is FTP and POP3 alike: the real FTP command is named by port 21, not without it."""
    [(transport, sport, dport, payload)] = corpus_payloads(
        corpus / "pcaps/ipv6.pcap", 'ftp.request.command == "USER"'
    )
    assert guess_by_payload(transport, sport, dport, 0, payload) == "ftp"
    assert guess(transport, payload) is None
    assert guess(transport, payload, resp=110) == "pop3"


@pytest.mark.corpus
def test_ntp_off_port(corpus: Path) -> None:
    """Off port 123 only a server reply that makes sense is NTP; a bare SNTP request is not."""
    rows = corpus_payloads(corpus / "pcaps/android.pcap", "ntp")
    replies = [p for _, sport, _, p in rows if sport == 123]
    requests = [p for _, sport, _, p in rows if sport != 123]
    assert replies and requests
    assert all(guess("udp", p) == "ntp" for p in replies)
    assert all(guess("udp", p) is None for p in requests)


# --- 2. real clients on loopback ------------------------------------------------------------------

SMTP_GREETING = b"220 foo.com Simple Mail Transfer Service Ready\r\n"  # RFC 5321 appendix D.1
POP3_GREETING = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"  # RFC 1939 section 10
IMAP_GREETING = b"* OK IMAP4rev1 Service Ready\r\n"  # RFC 3501 section 8
FTP_GREETING = b"220 ftp.NetBSD.org FTP server (NetBSD-ftpd 20100320) ready.\r\n"  # ipv6.pcap


@pytest.mark.parametrize(
    ("greeting", "expected"),
    [(SMTP_GREETING, "smtp"), (POP3_GREETING, "pop3"), (IMAP_GREETING, "imap"), (FTP_GREETING, "ftp")],
)
def test_server_greetings(greeting: bytes, expected: str) -> None:
    assert guess("tcp", greeting) == expected


def _smtp(port: int) -> None:
    smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.org", timeout=20).ehlo()


def _ftp(port: int) -> None:
    ftp = ftplib.FTP(timeout=20)
    ftp.connect("127.0.0.1", port)
    ftp.login()


def _pop3(port: int) -> None:
    poplib.POP3("127.0.0.1", port, timeout=20).capa()


def _imap(port: int) -> None:
    imaplib.IMAP4("127.0.0.1", port, timeout=20)


@pytest.mark.parametrize(
    ("client", "greeting", "expected", "resp_port"),
    [
        (_smtp, SMTP_GREETING, "smtp", 40000),  # 'ehlo <host>'
        (_ftp, FTP_GREETING, "ftp", 21),  # 'USER anonymous': FTP by its port
        (_pop3, POP3_GREETING, "pop3", 40000),  # 'CAPA'
        (_imap, IMAP_GREETING, "imap", 40000),  # '<tag> CAPABILITY'
    ],
)
def test_stdlib_mail_clients(
    client: Callable[[int], None], greeting: bytes, expected: str, resp_port: int
) -> None:
    sent = tcp_client_bytes(client, greeting)
    assert sent
    assert guess("tcp", sent, resp=resp_port) == expected


CURL_CASES = [
    (["mqtt://127.0.0.1:PORT/flowradar"], b"", "mqtt", 40000),
    (["ldap://127.0.0.1:PORT/dc=example,dc=org"], b"", "ldap", 40000),  # BindRequest
    (["-u", "guest:", "smb://127.0.0.1:PORT/share/file"], b"", "smb", 40000),  # SMB1 NEGOTIATE
    (["rtsp://127.0.0.1:PORT/media"], b"", "rtsp", 40000),  # OPTIONS * RTSP/1.0
    (["telnet://127.0.0.1:PORT"], b"\xff\xfd\x18", "telnet", 40000),  # IAC WONT TERMINAL-TYPE
    (["-x", "http://127.0.0.1:PORT", "http://example.org/"], b"", "http-proxy", 40000),  # absolute-form
    (["-x", "http://127.0.0.1:PORT", "https://example.org/"], b"", "http-proxy", 40000),  # CONNECT
    (["--socks5-hostname", "127.0.0.1:PORT", "http://example.org/"], b"", "socks", 1080),  # no local lookup
    (["--socks4", "127.0.0.1:PORT", "http://127.0.0.2/"], b"", "socks", 1080),
    (["http://127.0.0.1:PORT/index.html"], b"", "http", 40000),
]


@pytest.mark.parametrize(("args", "greeting", "expected", "resp_port"), CURL_CASES)
def test_curl_clients(args: list[str], greeting: bytes, expected: str, resp_port: int) -> None:
    need("curl")
    sent = tcp_client_bytes(run_until_served(["curl", "-s", "-m", "5", *args]), greeting)
    assert guess("tcp", sent, resp=resp_port) == expected, sent[:80]


@pytest.mark.parametrize("sslmode", ["prefer", "disable"])
def test_psql_client(sslmode: str) -> None:
    """SSLRequest first with sslmode=prefer; the StartupMessage itself with sslmode=disable."""
    need("psql")
    conninfo = f"host=127.0.0.1 port=PORT user=alice dbname=db sslmode={sslmode} gssencmode=disable"
    sent = tcp_client_bytes(run_until_served(["psql", conninfo, "-c", "select 1"]))
    assert guess("tcp", sent) == "postgresql", sent[:60]


@pytest.mark.parametrize(
    ("srtp", "expected"), [([], "dtls"), (["-use_srtp", "SRTP_AES128_CM_SHA1_80"], "webrtc")]
)
def test_openssl_dtls_client(srtp: list[str], expected: str) -> None:
    """A DTLS 1.2 ClientHello; offering SRTP keys (RFC 5764) is what a WebRTC peer does."""
    need("openssl")
    sent = udp_client_bytes(["openssl", "s_client", "-dtls1_2", *srtp, "-connect", "127.0.0.1:PORT"])
    assert guess("udp", sent) == expected, sent[:80]


@pytest.mark.parametrize("rfc", ["--rfc5424", "--rfc3164"])
def test_logger_syslog_client(rfc: str) -> None:
    need("logger")
    sent = udp_client_bytes(["logger", "-d", "-n", "127.0.0.1", "-P", "PORT", rfc, "flowradar test"])
    assert guess("udp", sent) == "syslog", sent


def test_python_syslog_handler() -> None:
    """SysLogHandler sends only '<PRI>message': syslog on port 514, nothing elsewhere."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        handler = logging.handlers.SysLogHandler(address=sock.getsockname())
        handler.emit(logging.LogRecord("flowradar", logging.WARNING, __file__, 1, "disk full", None, None))
        handler.close()
        sent = sock.recv(65536)
    assert guess("udp", sent, resp=514) == "syslog"
    assert guess("udp", sent) is None


@pytest.mark.parametrize("tcp", [False, True])
def test_dig_client(tcp: bool) -> None:
    need("dig")
    argv = [
        "dig",
        "+tries=1",
        "+time=5",
        *(["+tcp"] if tcp else []),
        "-p",
        "PORT",
        "@127.0.0.1",
        "example.org",
    ]
    sent = tcp_client_bytes(run_until_served(argv)) if tcp else udp_client_bytes(argv)
    assert guess("tcp" if tcp else "udp", sent) == "dns"
    assert guess("tcp" if tcp else "udp", sent, resp=5353) == "mdns"


# Recorded from OpenVPN 2.6.14 ('openvpn --client --dev null --proto udp|tcp-client ...' with the extra
# options named) and MIT kinit 1.20.1 ('kinit alice@EXAMPLE.ORG' against a loopback KDC) on this
# project's machines; the live tests below regenerate them where those clients are installed.
RECORDED = [
    ("udp", "382bde2872601b982c0000000000", "openvpn"),  # hard reset v2, no tls-auth
    ("tcp", "000e382bb143f529186e550000000000", "openvpn"),
    (
        "udp",
        "389d2dba65517a72a0296cf897b0321d6d355e342876e30989fbb7474a000000016b02368a0000000000",
        "openvpn",
    ),
    (
        "tcp",
        "002a38ff03c37221a0786539a009eb058bcff3da66200b280041691fee5592000000016b02368a0000000000",
        "openvpn",
    ),
    ("udp", "38d8fac56447644ecf03f30e5b55c7e7a2f59a5c2704381b5a000000016b02368a0000000000", "openvpn"),  # MD5
    (
        "udp",  # tls-crypt
        "384ce89ead3f770eb4000000016b02368a3c7ec297d4cc675ae272b3f5c135210d6bd5d7c9461da2b88c8efadb130a2906"
        "70383d63dc",
        "openvpn",
    ),
    (
        "udp",  # AS-REQ
        "6a81b43081b1a103020105a20302010aa31a3018300aa10402020096a2020400300aa10402020095a2020400a48188308185"
        "a00703050000000010a1123010a003020101a10930071b05616c696365a20d1b0b4558414d504c452e4f5247a320301ea003"
        "020102a11730151b066b72627467741b0b4558414d504c452e4f5247a511180f32303236313132333030323534365aa70602"
        "0439fe5fa8a81a301802011202011102011402011302011002011702011902011a",
        "kerberos",
    ),
]


@pytest.mark.parametrize(("transport", "hexdata", "expected"), RECORDED)
def test_recorded_real_clients(transport: str, hexdata: str, expected: str) -> None:
    payload = bytes.fromhex(hexdata)
    assert guess(transport, payload) == expected
    if transport == "udp" and expected == "kerberos":
        framed = len(payload).to_bytes(4, "big") + payload  # RFC 4120 7.2.2
        assert guess("tcp", framed) == "kerberos"


@pytest.mark.parametrize("tls_options", [[], ["--tls-auth", "ta.key", "1"], ["--tls-crypt", "ta.key"]])
@pytest.mark.parametrize("proto", ["udp", "tcp-client"])
def test_openvpn_client(tmp_path: Path, tls_options: list[str], proto: str) -> None:
    need("openvpn")
    need("openssl")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t",
         "-keyout", "key.pem", "-out", "cert.pem"],
        cwd=tmp_path, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run(["openvpn", "--genkey", "secret", "ta.key"], cwd=tmp_path, check=True, capture_output=True)
    argv = ["openvpn", "--client", "--dev", "null", "--proto", proto, "--remote", "127.0.0.1", "PORT"]
    argv += ["--ca", "cert.pem", "--cert", "cert.pem", "--key", "key.pem", "--connect-retry-max", "1"]
    argv += [str(tmp_path / a) if a == "ta.key" else a for a in tls_options]
    argv = [str(tmp_path / a) if a.endswith(".pem") else a for a in argv]
    if proto == "udp":
        sent, transport = udp_client_bytes(argv), "udp"
    else:
        sent, transport = tcp_client_bytes(run_until_served(argv)), "tcp"
    assert guess(transport, sent) == "openvpn", sent.hex()


@pytest.mark.parametrize("tcp", [False, True])
def test_kinit_client(tmp_path: Path, tcp: bool) -> None:
    need("kinit")
    conf = tmp_path / "krb5.conf"
    env = dict(os.environ, KRB5_CONFIG=str(conf), KRB5CCNAME="MEMORY:flowradar")

    def kinit(port: int) -> list[str]:
        conf.write_text(
            "[libdefaults]\n default_realm = EXAMPLE.ORG\n dns_lookup_kdc = false\n"
            " dns_lookup_realm = false\n rdns = false\n dns_canonicalize_hostname = false\n"
            f" udp_preference_limit = {1 if tcp else 65535}\n"
            f"[realms]\n EXAMPLE.ORG = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
        )
        return ["kinit", "alice@EXAMPLE.ORG"]

    if tcp:
        sent = tcp_client_bytes(lambda port: run_until_served(kinit(port), env)(port))
    else:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(20)
            proc = subprocess.Popen(kinit(sock.getsockname()[1]), env=env, stdin=subprocess.PIPE)
            try:
                sent = sock.recv(65536)
            finally:
                proc.kill()
                proc.wait()
    assert guess("tcp" if tcp else "udp", sent) == "kerberos", sent.hex()


# --- 3. messages documented by the protocol's specification ---------------------------------------

RFC5769_REQUEST = bytes.fromhex(  # RFC 5769 2.1: Binding request with ICE attributes
    "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e20746573742063"
    "6c69656e74002400046e0001ff80290008932ff9b151263b36000600096576746a3a68"
    "36765920202000080014 9aeaa70cbfd8cb56781ef2b5b2d3f249c1b571a2 80280004e57a3bcf"
)
RFC5769_RESPONSE = bytes.fromhex(  # RFC 5769 2.2: Binding success response, IPv4 address
    "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f72"
    "20002000080001a147e112a64300080014 2b91f599fd9e90c38c7489f92af9ba53f06be7d7 80280004c07d4c96"
)


@pytest.mark.parametrize(("message", "expected"), [(RFC5769_REQUEST, "webrtc"), (RFC5769_RESPONSE, "stun")])
def test_stun_rfc5769_vectors(message: bytes, expected: str) -> None:
    """The vectors are exact: their FINGERPRINT and MESSAGE-INTEGRITY (RFC 8489 14.5, 14.7) verify."""
    assert binascii.crc32(message[:-8]) ^ 0x5354554E == int.from_bytes(message[-4:], "big")
    mi = message.index(b"\x00\x08\x00\x14", 20)
    signed = message[:2] + struct.pack(">H", mi + 24 - 20) + message[4:mi]
    assert hmac.new(b"VOkJxbRl1RmTxUk/WvJxBt", signed, hashlib.sha1).digest() == message[mi + 4 : mi + 24]
    assert guess("udp", message) == expected
    assert guess("tcp", message) == expected


def nb_name(name: bytes) -> bytes:
    """A NetBIOS name in first-level encoding (RFC 1001 14.1, RFC 1002 4.1), as one label."""
    padded = name.ljust(16, b" ")
    return b"\x20" + bytes(c for b in padded for c in (0x41 + (b >> 4), 0x41 + (b & 0x0F))) + b"\x00"


def wg(kind: int, size: int) -> bytes:
    """A WireGuard message of the given type and size: type, 3 reserved zero bytes, then the fields
    (random, but for the little-endian counter of transport data, here packet 7)."""
    fields = hashlib.shake_256(bytes([kind, size])).digest(size - 4)
    return bytes([kind, 0, 0, 0]) + (
        fields[:4] + (7).to_bytes(8, "little") + fields[12:] if kind == 4 else fields
    )


def ike(exchange: int) -> bytes:
    """IKEv2 header (RFC 7296 3.1): SPIi, zero SPIr, then a 20-byte Nonce payload (RFC 7296 3.9)."""
    header = b"\x11" * 8 + bytes(8) + bytes([40, 0x20, exchange, 0x08]) + bytes(4) + (48).to_bytes(4, "big")
    return header + bytes([0, 0, 0, 20]) + b"N" * 16


def mysql_greeting(version: bytes) -> bytes:
    """Protocol::HandshakeV10 as documented by MySQL (Connection Phase, Initial Handshake Packet)."""
    body = b"\x0a" + version + b"\x00" + struct.pack("<I", 8) + b"abcdefgh\x00"
    body += struct.pack("<HBHHB", 0xFFFF, 255, 2, 0xDFFF, 21) + bytes(10)
    body += b"ijklmnopqrst\x00caching_sha2_password\x00"
    return len(body).to_bytes(3, "little") + b"\x00" + body


def smb2_negotiate() -> bytes:
    """SMB2 NEGOTIATE ([MS-SMB2] 2.2.1.2, 2.2.3) after the Direct TCP 4-byte header (2.1)."""
    header = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0, 0xFEFF, 0, 0, bytes(16))
    message = header + struct.pack("<HHHHI16sQHH", 36, 2, 1, 0, 0, b"\x11" * 16, 0, 0x0202, 0x0210)
    return b"\x00" + len(message).to_bytes(3, "big") + message


def krb_error() -> bytes:
    """KRB-ERROR KDC_ERR_PREAUTH_REQUIRED (RFC 4120 5.9.1)."""
    sname = der(0x30, der(0xA0, der(0x02, b"\x02")), der(0xA1, der(0x30, der(0x1B, b"krbtgt"))))
    fields = [(0, der(0x02, b"\x05")), (1, der(0x02, b"\x1e")), (4, der(0x18, b"20240101000000Z"))]
    fields += [(5, der(0x02, b"\x00")), (6, der(0x02, b"\x19")), (9, der(0x1B, b"EXAMPLE.ORG")), (10, sname)]
    return der(0x7E, der(0x30, *(der(0xA0 + n, value) for n, value in fields)))


def case(
    source: str, transport: str, payload: bytes, expected: str | None, orig: int = 50000, resp: int = 40000
) -> Any:
    """One specification example: where it comes from, what it is, and the ports it is seen on."""
    return pytest.param(transport, payload, expected, orig, resp, id=source)


RDP_CR = "0300002c27e00000000000436f6f6b69653a206d737473686173683d656c746f6e730d0a0100080000000000"
RDP_CC = "030000130ed000001234000200080001000000"
SIP_INVITE = (
    b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\nVia: SIP/2.0/UDP client.atlanta.example.com:5060;"
    b"branch=z9hG4bK74bf9\r\nMax-Forwards: 70\r\n"
    b"From: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
)
STUN_3489 = bytes.fromhex("0001000011223344556677889900aabbccddeeff")
ESP = b"\x00\x00\x10\x00\x00\x00\x00\x01" + b"E" * 40
BT_HANDSHAKE = b"\x13BitTorrent protocol" + bytes(8) + b"H" * 20 + b"-FR0001-123456789012"
TRACKER = b"GET /announce?info_hash=%124Vx&peer_id=-FR0001-&port=6881 HTTP/1.1\r\n"
QUIC_VN = b"\x80" + bytes(4) + b"\x08" + b"D" * 8 + b"\x08" + b"S" * 8 + bytes.fromhex("000000016b3343cf")
SSL2_HELLO = bytes([0x80, 9 + 6 + 16, 1, 3, 1, 0, 6, 0, 0, 0, 16]) + bytes.fromhex("00002f000035") + b"C" * 16
LLMNR_A000 = bytes.fromhex("a00000000001000000000000" + "06524f5f583143" + "00" + "00ff0001")

SPEC_CASES = [
    case("RFC 3489 11.1 on 3478", "udp", STUN_3489, "stun", resp=3478),
    case("RFC 3489 11.1 elsewhere", "udp", STUN_3489, None),
    case("MS-RDPBCGR 4.1.1", "tcp", bytes.fromhex(RDP_CR), "rdp"),
    case("MS-RDPBCGR 4.1.2 on 3389", "tcp", bytes.fromhex(RDP_CC), "rdp", 3389, 50000),
    case("X.224 CC elsewhere", "tcp", bytes.fromhex(RDP_CC), None, 102, 50000),
    case("MS-SMB2 2.2.3", "tcp", smb2_negotiate(), "smb", resp=445),
    case(
        "RFC 1002 4.3.2", "tcp", b"\x81\x00\x00\x44" + nb_name(b"*SMBSERVER") + nb_name(b"CLIENT"), "netbios"
    ),
    case("WireGuard 5.4.2", "udp", wg(1, 148), "wireguard"),
    case("WireGuard 5.4.3", "udp", wg(2, 92), "wireguard"),
    case("WireGuard 5.4.7", "udp", wg(3, 64), "wireguard"),
    case("WireGuard 5.4.6", "udp", wg(4, 32 + 16 * 5), "wireguard"),
    case("WireGuard initiation cut short", "udp", wg(1, 147), None),
    case("RFC 7296 3.1 IKE_SA_INIT", "udp", ike(34), "ipsec", 500, 500),
    case("RFC 3948 2.2 non-ESP marker", "udp", bytes(4) + ike(35), "ipsec", 4500, 4500),
    case("RFC 3948 2.1 ESP-in-UDP", "udp", ESP, "ipsec", resp=4500),
    case("ESP needs 4500", "udp", ESP, None),
    case("RFC 3948 2.3 NAT keepalive", "udp", b"\xff", "ipsec", 4500, 4500),
    case("MySQL HandshakeV10", "tcp", mysql_greeting(b"8.0.36"), "mysql", 3306, 50000),
    case("MariaDB HandshakeV10", "tcp", mysql_greeting(b"5.5.5-10.11.6-MariaDB-0+deb12u1"), "mysql"),
    case("RESP sending commands", "tcp", b"*2\r\n$4\r\nLLEN\r\n$6\r\nmylist\r\n", "redis"),
    case("Redis +OK is not POP3", "tcp", b"+OK\r\n", None),
    case("RFC 4120 5.9.1", "udp", krb_error(), "kerberos", 88, 50000),
    case("RFC 4120 7.2.2", "tcp", len(krb_error()).to_bytes(4, "big") + krb_error(), "kerberos", 88, 50000),
    case("RFC 3261 24.2 F1", "udp", SIP_INVITE, "sip", 5060, 5060),
    case("RFC 3261 24.2 F1 over TCP", "tcp", SIP_INVITE, "sip"),
    case("RFC 3261 24.2 F8", "udp", b"SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP a.example.com\r\n", "sip"),
    case("RFC 2326 10.1", "tcp", b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: DESCRIBE, SETUP\r\n\r\n", "rtsp"),
    case("BEP 3 handshake", "tcp", BT_HANDSHAKE, "bittorrent"),
    case("BEP 3 tracker", "tcp", TRACKER, "bittorrent", resp=80),
    case("BEP 5 ping", "udp", b"d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe", "bittorrent"),
    case("BEP 5 response", "udp", b"d1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re", "bittorrent"),
    case("BEP 15 connect", "udp", struct.pack(">QII", 0x41727101980, 0, 0x1234), "bittorrent"),
    case(
        "UPnP 1.1 1.3.2",
        "udp",
        b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"',
        "ssdp",
    ),
    case("HTTP/0.9 request", "tcp", b"GET /\r\n\r\n", "http", resp=80),
    case("CONNECT without authority", "tcp", b"CONNECT /HTTP/1.1\nHost: www.google.com\n\n", "http", resp=80),
    case("RFC 3501 6.2.3", "tcp", b"a001 LOGIN SMITH SESAME\r\n", "imap"),
    case("RFC 4954 on 587", "tcp", b"AUTH LOGIN\r\n", "smtp", resp=587),
    case("RFC 4954 elsewhere", "tcp", b"AUTH LOGIN\r\n", None),
    case("RFC 9000 17.2.1", "udp", QUIC_VN, "quic", 443, 50000),
    case("LLMNR id 0xa000, not QUIC", "udp", LLMNR_A000, "llmnr", 61603, 5355),
    case("RFC 5246 E.2 SSLv2-format hello", "tcp", SSL2_HELLO, "tls"),
    case("SSLv2 hello lengths disagree", "tcp", SSL2_HELLO[:10] + b"\x0f" + SSL2_HELLO[11:], None),
    case("WireGuard-sized zeros", "udp", bytes([1, 0, 0, 0]) + bytes(144), None),
    case("SOCKS5 greeting", "tcp", b"\x05\x01\x00", "socks", resp=1080),
    case("SOCKS5 count disagrees", "tcp", b"\x05\x02\x00", None, resp=1080),
]


@pytest.mark.parametrize(("transport", "payload", "expected", "orig", "resp"), SPEC_CASES)
def test_spec_messages(transport: str, payload: bytes, expected: str | None, orig: int, resp: int) -> None:
    assert guess_by_payload(transport, orig, resp, 0, payload) == expected


NOTHING = [
    b"",
    b"hello world\r\n",
    bytes(48),
    bytes(200),
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",  # JPEG
    b"\xff\xfb\x90\x64" + bytes(100),  # an MP3 frame: IAC WILL, but no Telnet option
    b"\x16\x03\x01\x00\x05\x0b\x00\x00\x01\x00",  # a TLS handshake record that is not a hello
    b'{"version": [2, 0], "port": 17500}',
    b"\x80" * 64,
    b"PATCH @MACRO_DEC@(__FCC_patchlev",  # text cut short that starts with an HTTP method
    b"port shared libs\nset_property(GLOBAL",  # FTP and POP3 words in ordinary text
    b'p id="pick">\n',
]


@pytest.mark.parametrize("payload", NOTHING)
def test_nothing_to_see(payload: bytes) -> None:
    assert guess("tcp", payload) is None
    assert guess("udp", payload) is None


def test_unknown_transport() -> None:
    assert guess_by_payload("icmp", 0, 0, 0, bytes.fromhex("16030100050100000103")) is None


def test_every_payload_protocol_has_a_positive_case() -> None:
    seen = {c[2] for c in CORPUS_CASES} | {c[2] for c in CURL_CASES} | {c[2] for c in RECORDED}
    seen |= {c.values[2] for c in SPEC_CASES} | {
        "smtp",
        "pop3",
        "imap",
        "ftp",
        "postgresql",
        "dtls",
        "webrtc",
    }
    assert seen | {"syslog"} >= appid.PAYLOAD_PROTOCOLS
    assert appid.PAYLOAD_PROTOCOLS <= PROTOCOLS


# --- 4. ports and the flow verdict ------------------------------------------------------------------

PORT_CASES = [
    ("tcp", 51514, 443, "tls"),
    ("udp", 51514, 443, "quic"),
    ("udp", 5353, 53, "dns"),  # the well-known port wins
    ("udp", 5353, 5353, "mdns"),
    ("udp", 51820, 123, "ntp"),
    ("udp", 50000, 51820, "wireguard"),
    ("udp", 68, 67, "dhcp"),
    ("udp", 546, 547, "dhcpv6"),
    ("tcp", 40000, 3306, "mysql"),
    ("tcp", 5432, 40000, "postgresql"),
    ("tcp", 6379, 5432, "postgresql"),  # the lower one
    ("udp", 40000, 4500, "ipsec"),
    ("tcp", 40000, 3128, "http-proxy"),
    ("tcp", 40000, 40001, None),
    ("icmp", 0, 0, None),
    ("sctp", 40000, 443, None),
]


@pytest.mark.parametrize(("transport", "orig", "resp", "expected"), PORT_CASES)
def test_guess_by_port(transport: str, orig: int, resp: int, expected: str | None) -> None:
    assert guess_by_port(transport, orig, resp) == expected


def test_classify_payload_first_then_port() -> None:
    hello = bytes.fromhex("16030100050100000103")
    assert classify("tcp", 50000, 80, [(0, b"\x00"), (0, hello)]) == ("tls", "payload")
    assert classify("tcp", 50000, 443, [(0, b"\x00\x01")]) == ("tls", "port")
    assert classify("udp", 50000, 40000, [(1, b"nothing here")]) == (None, None)
    assert classify("tcp", 50000, 22, []) == ("ssh", "port")


# --- 5. robustness ---------------------------------------------------------------------------------

SEEDS = [c.values[1] for c in SPEC_CASES] + [bytes.fromhex(c[1]) for c in RECORDED] + [RFC5769_REQUEST]
SEEDED = st.builds(bytes.__add__, st.sampled_from(SEEDS), st.binary(max_size=64))


@settings(max_examples=3000, deadline=None)
@given(
    st.sampled_from(["tcp", "udp", "icmp"]),
    st.integers(0, 65535),
    st.integers(0, 65535),
    st.binary(max_size=1600) | SEEDED,
)
def test_random_bytes_never_raise(transport: str, orig: int, resp: int, payload: bytes) -> None:
    found = appid._guess(transport, orig, resp, payload)  # unguarded, so a latent exception shows
    assert found is None or found in PROTOCOLS
    assert guess_by_payload(transport, orig, resp, 1, payload) == found


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(SEEDS), st.integers(0, 2000), st.integers(0, 2000), st.integers(0, 255), st.booleans())
def test_cut_and_flipped_messages_never_raise(seed: bytes, cut: int, at: int, value: int, udp: bool) -> None:
    mutated = bytearray(seed[: cut % (len(seed) + 1)])
    if mutated:
        mutated[at % len(mutated)] = value
    found = appid._guess("udp" if udp else "tcp", 53, 443, bytes(mutated))
    assert found is None or found in PROTOCOLS


# --- 6. agreement with tshark over every corpus flow ------------------------------------------------

TSHARK_TO_OURS = {
    **{
        n: n
        for n in (
            "tls",
            "quic",
            "dns",
            "mdns",
            "llmnr",
            "smb",
            "dhcp",
            "dhcpv6",
            "ntp",
            "ssdp",
            "http",
            "ssh",
        )
    },
    **{n: n for n in ("ftp", "telnet", "snmp", "sip", "rtsp", "openvpn", "ldap", "kerberos", "stun", "dtls")},
    **{n: n for n in ("mqtt", "mysql", "rdp", "bittorrent", "syslog", "imap", "smtp", "socks")},
    **{"gquic": "quic", "nbns": "netbios", "nbdgm": "netbios", "nbss": "netbios", "smb2": "smb"},
    **{"isakmp": "ipsec", "udpencap": "ipsec", "esp": "ipsec", "cldap": "ldap", "pgsql": "postgresql"},
    **{"wg": "wireguard", "pop": "pop3", "resp": "redis"},
}
TSHARK_UNKNOWN = {"data", "tcp.segments", "_ws.short", "_ws.malformed", "_ws.unreassembled", "ftp-data"}
TRUTH_CAPTURES = sorted(p.name.removesuffix(".json") for p in (CORPUS / "truth").glob("*.json"))
FlowPackets = list[tuple[str | None, int, int, bytes]]


def tshark_flows(pcap: Path) -> dict[tuple[str, str], FlowPackets]:
    """Payload packets per flow with tshark's protocol in our names ('?x': not ours, None: unknown)."""
    ports = ["tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]
    fields = ["frame.protocols", "tcp.stream", "udp.stream", *ports, "tcp.payload", "udp.payload"]
    flows: dict[tuple[str, str], FlowPackets] = collections.defaultdict(list)
    for row in tshark_fields(pcap, "tcp.len > 0 || udp.length > 8", fields):
        protos, tstream, ustream, tsp, tdp, usp, udp_, tpay, upay = row + [""] * (9 - len(row))
        chain = protos.split(":")
        if "icmp" in chain or "icmpv6" in chain or not (tpay or upay):
            continue
        transport, sport, dport = ("tcp", tsp, tdp) if tpay else ("udp", usp, udp_)
        after = chain[chain.index(transport) + 1 :] if transport in chain else []
        name = after[0] if after else "data"
        label = None if name in TSHARK_UNKNOWN else TSHARK_TO_OURS.get(name, "?" + name)
        packet = (label, int(sport.split(",")[0]), int(dport.split(",")[0]), bytes.fromhex(tpay or upay))
        flows[(transport, tstream or ustream)].append(packet)
    return flows


@pytest.mark.corpus
@pytest.mark.parametrize("capture", TRUTH_CAPTURES)
def test_agrees_with_tshark(corpus: Path, capture: str) -> None:
    """Where tshark names a flow's protocol, each packet's guess is that protocol or None (no DNS for
    QUIC, no TLS for SSH...), a protocol tshark knows and we do not is never named, and classify()
    finds the flow's protocol from its first four payload packets, by payload or by port."""
    wrong, missed = [], []
    for (transport, stream), packets in tshark_flows(corpus / "pcaps" / capture).items():
        labels = collections.Counter(p[0] for p in packets if p[0] is not None)
        if not labels:
            continue  # tshark does not know either (SSH on port 8000, TLS on port 80...)
        label = labels.most_common(1)[0][0]
        orig, resp = packets[0][1], packets[0][2]
        for _, sport, _, payload in packets:
            found = guess_by_payload(transport, orig, resp, 0 if sport == orig else 1, payload)
            if found is not None and found != label:
                wrong.append((transport, stream, label, found, payload[:40]))
        proto, _ = classify(transport, orig, resp, [(0, p[3]) for p in packets[:4]])
        if not label.startswith("?") and proto != label:
            missed.append((transport, stream, label, proto, packets[0][3][:40]))
    assert not wrong, wrong[:5]
    assert not missed, missed[:5]
