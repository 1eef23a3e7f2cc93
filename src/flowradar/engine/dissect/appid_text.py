"""Text-protocol signatures for appid: HTTP, SIP, RTSP, syslog, SMTP, FTP, POP3, IMAP, proxies.

Like :mod:`.appid_binary`, the specification of the C kernel ``_appidc.c`` (which writes each regular
expression out as the scan it amounts to): change a signature here first, then port it.
"""

from __future__ import annotations

import re

from flowradar.engine.dissect.appid_ports import by_port_hint

_HTTP_METHODS = frozenset(b"GET POST HEAD PUT DELETE OPTIONS TRACE PATCH CONNECT PROPFIND MKCOL".split())
_SIP_METHODS = frozenset(
    b"INVITE REGISTER OPTIONS ACK BYE CANCEL SUBSCRIBE NOTIFY PUBLISH INFO REFER MESSAGE UPDATE PRACK".split()
)
_RTSP_METHODS = frozenset(
    b"OPTIONS DESCRIBE SETUP PLAY PAUSE TEARDOWN ANNOUNCE RECORD GET_PARAMETER SET_PARAMETER".split()
)
_TOKEN = re.compile(rb"[A-Z][A-Z_-]{1,19}")
_HEADER = re.compile(rb"[A-Za-z-]{2,40}: ")
_STATUS = re.compile(rb"(HTTP/1\.[01]|RTSP/[12]\.0|SIP/2\.0) [1-6][0-9][0-9]")
_PRI = rb"<(?:19[01]|1[0-8][0-9]|[1-9]?[0-9])>"
_SYSLOG = re.compile(rb"(?:[1-9][0-9]{0,5} )?" + _PRI + rb"(?:1 [0-9-]|[A-Z][a-z][a-z] [ 0-3][0-9] )")
"""RFC 5424 (version 1) or RFC 3164 (BSD timestamp) header, RFC 6587 octet counting on TCP."""
_SYSLOG_BARE = re.compile(_PRI + rb"[\x20-\x7e]")
"""Only a priority and text, as many senders (Python's SysLogHandler) write to port 514."""
_IMAP = re.compile(  # a tag with a digit in it, then a command that opens a session, as a whole word
    rb"(?=[A-Za-z.]*[0-9])[A-Za-z0-9.]{1,16} "
    rb"(?:(?:CAPABILITY|STARTTLS|LOGOUT|NOOP)$|(?:LOGIN|AUTHENTICATE|ID) )",
    re.IGNORECASE,
)
_COMMANDS = (  # whole first lines that only one of SMTP, FTP and POP3 sends (RFC 5321, RFC 959, RFC 1939)
    ("smtp", re.compile(rb"(?:EHLO|HELO) [!-~]+$|MAIL FROM: ?<|STARTTLS$", re.IGNORECASE)),
    (
        "ftp",
        re.compile(rb"(?:AUTH (?:TLS|SSL)|FEAT|SYST|PASV|EPSV)$|PORT [0-9]+(?:,[0-9]+){5}$", re.IGNORECASE),
    ),
    ("pop3", re.compile(rb"(?:CAPA|STLS)$|APOP [!-~]+ [0-9a-f]{32}$", re.IGNORECASE)),
)


def _request_line(line: bytes, after: bytes | None, udp: bool, orig: int, resp: int) -> str | None:
    """'METHOD target VERSION' of HTTP (with SSDP, proxy and tracker forms), RTSP or SIP."""
    method, _, rest = line.partition(b" ")
    target, _, version = rest.rpartition(b" ")
    http = version.startswith(b"HTTP/") or line.endswith((b"HTTP/1.1", b"HTTP/1.0"))
    bare = rest == b"" and after is not None and _HEADER.match(after) is not None  # 'OPTIONS', 'Host: ..'
    cut_short = rest[:1] == b"/" and (after is None or b" " not in rest)  # cut by the snap length; HTTP/0.9
    if http or (method in _HTTP_METHODS and (cut_short or bare)):
        if (
            method == b"M-SEARCH"
            or (method == b"NOTIFY" and target == b"*")
            or (udp and 1900 in (orig, resp))
        ):
            return "ssdp"
        if method == b"BT-SEARCH" or (b"/announce?" in target and b"info_hash=" in target):
            return "bittorrent"
        if (method == b"CONNECT" and rest[:1] != b"/") or target.startswith((b"http://", b"https://")):
            return "http-proxy"
        return "http" if _TOKEN.fullmatch(method) else None
    if version in (b"RTSP/1.0", b"RTSP/2.0") and method in _RTSP_METHODS:
        return "rtsp"
    sip_uri = target.startswith((b"sip:", b"sips:", b"tel:"))
    return "sip" if version == b"SIP/2.0" and method in _SIP_METHODS and sip_uri else None


def _mail_ftp(line: bytes, orig: int, resp: int) -> str | None:
    """SMTP/FTP/POP3/IMAP greetings and first commands; words they share are told apart by port."""
    hint = by_port_hint(orig, resp)
    if line[:4] in (b"220 ", b"220-"):
        text = line.upper()
        if b"SMTP" in text or b"MAIL" in text:
            return "smtp"
        return "ftp" if b"FTP" in text else hint if hint in ("ftp", "smtp") else None
    if line.startswith(b"+OK"):  # also a Redis reply, which has no text after it
        return "pop3" if (line[3:4] == b" " and 6379 not in (orig, resp)) or hint == "pop3" else None
    if line.startswith((b"* OK", b"* PREAUTH")):
        return "imap"
    for name, commands in _COMMANDS:
        if commands.match(line):
            return name
    if line[:5].upper() in (b"USER ", b"PASS ", b"AUTH ", b"QUIT"):
        return hint
    return "imap" if _IMAP.match(line) else None


def _text(p: bytes, orig: int, resp: int, udp: bool) -> str | None:
    """Line-oriented protocols, recognised by their first line."""
    if len(p) < 4 or not 0x20 < p[0] < 0x7F:
        return None
    if p.startswith(b"SSH-") and p[4:5].isdigit():
        return "ssh"
    end = p.find(b"\n", 0, 1024)
    line = p[:end].rstrip(b"\r") if end >= 0 else p[:1024]
    status = _STATUS.match(line)
    if status:
        kind = status.group(1)[:3]
        return "ssdp" if kind == b"HTT" and udp else {b"HTT": "http", b"RTS": "rtsp", b"SIP": "sip"}[kind]
    if _SYSLOG.match(p) or (514 in (orig, resp) and _SYSLOG_BARE.match(p)):
        return "syslog"
    found = _request_line(line, p[end + 1 :] if end >= 0 else None, udp, orig, resp)
    return found if found or udp or end < 0 else _mail_ftp(line, orig, resp)
