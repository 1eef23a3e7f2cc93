"""Local receivers for sink tests, on 127.0.0.1 only: HTTP(S), syslog over UDP and TCP, and SMTP."""

from __future__ import annotations

import ipaddress
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from tests.tlscert import self_signed as tls_cert


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (a trust anchor of its own) and its key (PEM files)."""
    return tls_cert(folder, "127.0.0.1", x509.IPAddress(ipaddress.ip_address("127.0.0.1")), ca=True)


class Received:
    """What a receiver got, thread-safe."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.cond = threading.Condition()
        self.status = 200
        self.delay_s = 0.0

    def add(self, item: Any) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait(self, n: int, timeout_s: float = 10) -> list[Any]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.items) >= n, timeout_s)
            return list(self.items)


@contextmanager
def http_server(tls: tuple[Path, Path] | None = None) -> Iterator[tuple[str, Received]]:
    """A server that records POST bodies; yields its URL and what it received."""
    got = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if got.delay_s:
                threading.Event().wait(got.delay_s)
            if got.status < 300:
                got.add((self.path, self.headers.get("Content-Type"), body))
            self.send_response(got.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    scheme = "https" if tls else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/hook", got
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def syslog_server(protocol: str) -> Iterator[tuple[int, Received]]:
    """A UDP or TCP syslog receiver (TCP: octet-counted frames); yields its port and the messages."""
    got = Received()
    if protocol == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(0.2)
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    got.add(sock.recv(65535).decode())
                except TimeoutError:
                    continue

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        try:
            yield sock.getsockname()[1], got
        finally:
            stop.set()
            t.join(2)
            sock.close()
        return

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            data = b""
            while chunk := self.request.recv(65535):
                data += chunk
                while b" " in data:
                    size, rest = data.split(b" ", 1)
                    if len(rest) < int(size):
                        break
                    got.add(rest[: int(size)].decode())
                    data = rest[int(size) :]

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], got
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def smtp_server() -> Iterator[tuple[int, Received]]:
    """A minimal SMTP server (EHLO, MAIL, RCPT, DATA, QUIT); yields its port and (from, to, data)."""
    got = Received()

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            self.wfile.write(b"220 localhost test SMTP\r\n")
            sender, rcpts = "", []
            while line := self.rfile.readline():
                cmd = line.decode().strip()
                verb = cmd.split(" ")[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.wfile.write(b"250 localhost\r\n")
                elif verb == "MAIL":
                    sender = cmd.split(":", 1)[1].strip(" <>")
                    self.wfile.write(b"250 OK\r\n")
                elif verb == "RCPT":
                    rcpts.append(cmd.split(":", 1)[1].strip(" <>"))
                    self.wfile.write(b"250 OK\r\n")
                elif verb == "DATA":
                    self.wfile.write(b"354 go ahead\r\n")
                    body = b""
                    while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                        body += chunk
                    got.add((sender, rcpts, body.decode()))
                    self.wfile.write(b"250 queued\r\n")
                elif verb == "QUIT":
                    self.wfile.write(b"221 bye\r\n")
                    return
                else:
                    self.wfile.write(b"250 OK\r\n")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1], got
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    """A local port nobody listens on (for dead-sink tests)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port
