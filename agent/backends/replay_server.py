"""A REPLAY stand-in for the model server: an OpenAI-compatible HTTP server answering recorded replies.

    python -m agent.backends.replay_server --script FILE [--port 0] [--log-requests FILE]
    python -m agent.backends.replay_server --solutions DIR    (one recorded solution per task)
    python -m agent.backends.replay_server --always REPLY     (the same reply to every request)

No model is used. Every answer carries the header `x-model-stand-in: replay` and the
system_fingerprint "replay". The first line on stdout is `listening on http://HOST:PORT`.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from agent.backends.base import ReplayExhausted
from agent.backends.replay import ReplayBackend, SolutionBook, load_replies
from agent.chat import Sampling

MAX_BODY = 64 * 1024 * 1024


class ReplayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: ReplayBackend | SolutionBook | str, model: str,
                 request_log: Path | None, fail_first: int, latency: float = 0.0) -> None:
        super().__init__(address, _Handler)
        self.latency = latency
        self.backend = backend
        self.model = model
        self.request_log = request_log
        self.fail_first = fail_first
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: ReplayServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: tests read stdout
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            self._json(HTTPStatus.OK, {"object": "list", "data": [{"id": self.server.model, "object": "model", "owned_by": "replay"}]})
        elif self.path == "/health":
            self._json(HTTPStatus.OK, {"status": "ok", "stand_in": "replay"})
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}")

    def do_POST(self) -> None:
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._error(HTTPStatus.NOT_FOUND, f"no route {self.path}")
            return
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_BODY:
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request too large")
            return
        try:
            body = json.loads(self.rfile.read(length))
            messages = body["messages"]
            if not isinstance(messages, list) or not messages:
                raise ValueError("messages must be a non-empty list")
        except (ValueError, KeyError, TypeError) as err:
            self._error(HTTPStatus.BAD_REQUEST, f"malformed request: {err}")
            return
        with self.server.lock:
            self._log(body)
            if self.server.fail_first > 0:
                self.server.fail_first -= 1
                self._error(HTTPStatus.SERVICE_UNAVAILABLE, "injected failure (--fail-first)")
                return
            try:
                text = self._reply(messages)
            except ReplayExhausted as err:
                self._error(HTTPStatus.GONE, str(err))
                return
        time.sleep(self.server.latency)  # outside the lock: concurrent requests wait side by side
        self._json(HTTPStatus.OK, {
            "id": f"replay-{time.time_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.server.model,
            "system_fingerprint": "replay",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": len(text) // 4, "total_tokens": len(text) // 4},
        })

    def _reply(self, messages: list) -> str:
        backend = self.server.backend
        if isinstance(backend, str):
            return backend
        if isinstance(backend, SolutionBook):
            return backend.reply_for(messages)
        return backend.complete([], Sampling()).text

    def _log(self, body: dict) -> None:
        if self.server.request_log is None:
            return
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and part.get("type") == "image_url":
                        url = part.get("image_url", {}).get("url", "")
                        part["image_url"] = {"url": f"<{len(url)} characters>"}
        with open(self.server.request_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(body) + "\n")

    def _json(self, status: HTTPStatus, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-model-stand-in", "replay")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": status.phrase, "code": status.value}})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="REPLAY stand-in for a Kimi-VL server: answers recorded replies; no model is used.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--script", type=Path, help="a JSON file {\"replies\": [...]}")
    source.add_argument("--trajectory", type=Path, help="a recorded episode folder")
    source.add_argument("--solutions", type=Path, help="a folder of solution scripts, one per task instruction")
    source.add_argument("--always", help="answer every request with this reply")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--model", default="replay", help="the model id to report")
    parser.add_argument("--log-requests", type=Path, help="append each request (image data elided) to this JSONL file")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 503 to the first N chat requests")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to wait before each answer (a model's think time)")
    args = parser.parse_args(argv)
    backend: ReplayBackend | SolutionBook | str
    if args.solutions:
        backend = SolutionBook.from_folder(args.solutions)
        what = f"recorded solutions of {len(backend.scripts)} tasks"
    elif args.always is not None:
        backend, what = args.always, "one fixed reply"
    else:
        backend = ReplayBackend(load_replies(args.script or args.trajectory))
        what = f"{len(backend.replies)} recorded replies"
    server = ReplayServer((args.host, args.port), backend, args.model, args.log_requests, args.fail_first, args.latency)
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    print(f"REPLAY server: answers {what}; no model is used", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
