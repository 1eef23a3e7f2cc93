"""A slow HTTP download for live tests (run inside a namespace): GET /slow answers 24 chunks of 4 KiB
a quarter of a second apart (about six seconds, the connection open meanwhile); any other path a
small page. Writes READY on stdout once listening.

usage: python slowhttp.py ADDRESS PORT   (stops after 120 s)
"""

from __future__ import annotations

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHUNKS, CHUNK, PAUSE_S = 24, 4096, 0.25


class Slow(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        slow = self.path.startswith("/slow")
        size = CHUNKS * CHUNK if slow else 5
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        if not slow:
            self.wfile.write(b"hello")
            return
        for _ in range(CHUNKS):
            self.wfile.write(b"s" * CHUNK)
            self.wfile.flush()
            time.sleep(PAUSE_S)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    server = ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), Slow)
    threading.Timer(120, server.shutdown).start()
    print("READY", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
