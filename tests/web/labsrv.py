"""Web servers for the dashboard lab (run inside a namespace): HTTPS on 443 and HTTP on 80, on every
address of the namespace, answering a small page (or, under /slow, a download of about six
seconds). A self-signed certificate is made at start.

usage: python labsrv.py WORKDIR   (stops after 600 s)
"""

from __future__ import annotations

import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script: the repository's tests
from tests.tlscert import self_signed

SLOW_CHUNKS, SLOW_CHUNK, SLOW_PAUSE_S = 25, 4096, 0.25


class Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/slow"):
            self._slow()
            return
        body = b"<html><body>flowradar lab</body></html>" * (1 + len(self.path) % 50)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _slow(self) -> None:
        """A download that takes about six seconds: the connection stays open meanwhile."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(SLOW_CHUNKS * SLOW_CHUNK))
        self.end_headers()
        for _ in range(SLOW_CHUNKS):
            self.wfile.write(b"s" * SLOW_CHUNK)
            self.wfile.flush()
            time.sleep(SLOW_PAUSE_S)

    def log_message(self, format: str, *args: object) -> None:
        pass


def certificate(work: Path) -> tuple[Path, Path]:
    """The lab's certificate for every name under radar.test, and its key."""
    return self_signed(work, "radar.test", x509.DNSName("*.radar.test"))


def main() -> None:
    work = Path(sys.argv[1])
    cert, key = certificate(work)
    plain = ThreadingHTTPServer(("0.0.0.0", 80), Page)
    tls = ThreadingHTTPServer(("0.0.0.0", 443), Page)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
    for srv in (plain, tls):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    (work / "labsrv.ready").write_text("ok")
    time.sleep(600)


if __name__ == "__main__":
    main()
