"""Test helper process: small HTTP servers that misbehave in one chosen way.

    python -m tests.agent.backends.fake_servers MODE    (prints `listening on http://127.0.0.1:PORT`)
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REPLY = {"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
         "usage": {"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": {"cached_tokens": 7}}}


class Handler(BaseHTTPRequestHandler):
    mode = "ok"
    count = 0

    def log_message(self, *_: object) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        Handler.count += 1
        mode = Handler.mode
        if mode == "slow":
            time.sleep(5)
            self._send(200, REPLY)
        elif mode == "bad_request":
            self._send(400, {"error": {"message": "max_tokens is too large"}})
        elif mode == "garbage":
            self._send(200, "<html>not json</html>")
        elif mode == "no_choices":
            self._send(200, {"choices": []})
        elif mode == "cut_off":
            self._send(200, {"choices": [{"message": {"content": "◁think▷long"}, "finish_reason": "length"}]})
        elif mode == "rate_limited" and Handler.count == 1:
            self._send(429, {"error": {"message": "slow down"}}, {"retry-after": "1"})
        elif mode == "flaky" and Handler.count <= 2:
            self._send(502, {"error": {"message": "bad gateway"}})
        elif mode == "reasoning":
            self._send(200, {"choices": [{"message": {"content": "answer", "reasoning_content": "thought"}, "finish_reason": "stop"}]})
        else:
            self._send(200, REPLY)

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    Handler.mode = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
