"""Web servers for the dashboard lab (run inside a namespace): HTTPS on 443 and HTTP on 80, on every
address of the namespace, answering a small page (or, under /slow, a download of about six
seconds). A self-signed certificate is made at start.

usage: python labsrv.py WORKDIR   (stops after 600 s)
"""

from __future__ import annotations

import datetime
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "radar.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("*.radar.test")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = work / "lab.crt", work / "lab.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


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
