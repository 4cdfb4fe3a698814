"""Test helper process: a pass-through proxy to a VM server that answers 500 once it gets SIGUSR1
(a VM server failing mid-episode, on cue): to everything, or to the next N requests only
(`--failures N`, a VM server that fails for a while and recovers).

    python -m tests.faults.vm_proxy UPSTREAM_URL [--failures N]   (prints `listening on http://127.0.0.1:PORT`)
"""

from __future__ import annotations

import json
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding"}


class Proxy(BaseHTTPRequestHandler):
    upstream = ""
    failing = False
    failures_left: int | None = None
    """With --failures: 500s still to send once failing; None: fail for good."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *_: object) -> None:
        return

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if Proxy.failing:
            if Proxy.failures_left is not None:
                Proxy.failures_left -= 1
                Proxy.failing = Proxy.failures_left > 0
            self._fail()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        answer = httpx.request(self.command, Proxy.upstream + self.path, headers=headers, content=body, timeout=120)
        self._send(answer.status_code, {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS},
                   answer.content)

    def _fail(self) -> None:
        self._send(500, {"Content-Type": "application/json"},
                   json.dumps({"status": "error", "message": "injected fault: internal server error"}).encode())

    def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _start_failing(*_: object) -> None:
    Proxy.failing = True


if __name__ == "__main__":
    Proxy.upstream = sys.argv[1].rstrip("/")
    if sys.argv[2:3] == ["--failures"]:
        Proxy.failures_left = int(sys.argv[3])
    signal.signal(signal.SIGUSR1, _start_failing)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
