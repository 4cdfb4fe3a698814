"""A SCRIPTED stand-in for the model server: an OpenAI-compatible HTTP server answering recorded replies.

    python -m agent.backends.scripted_server --script FILE [--port 0] [--log-requests FILE]
    python -m agent.backends.scripted_server --solutions DIR    (one recorded solution per task)
    python -m agent.backends.scripted_server --always REPLY     (the same reply to every request)

Fault injection (a test and benchmark feature, not model behaviour): `--faults PLAN` answers
the next chat requests with the faults of PLAN, one per request, before replying normally;
`--fault TEXT=PLAN` does the same only for requests whose user text contains TEXT (one task
of a suite). PLAN is comma-separated, `xN` repeats: e.g. `503x2,429,malformed,ok,hang`.
A fault never consumes a recorded reply. Faults:
    500 502 503 504 400 ...   that HTTP status with an OpenAI-style error body
    429                       Too Many Requests with `Retry-After: 1`
    malformed                 200 with a body that is not JSON
    truncated                 200 announcing a longer body than is sent, then the connection closes
    close                     the connection closes before any answer
    hang                      no answer for --hang-seconds (the client's timeout fires first)
    length                    200 with a half reply and finish_reason "length" (cut off at max_tokens)
    ok                        a normal answer

A reply recorded with separate thinking (a script entry {"content", "reasoning_content"})
is answered with the thinking in the message's `reasoning_content`, as vLLM does with a
reasoning parser (Kimi-K2.5); a plain reply carries its thinking inline, if any. A request
with `"stream": true` is answered as server-sent events: role, thinking and text deltas,
the finish reason, usage when `stream_options.include_usage` asks for it, then `[DONE]`.

No model is used. Every answer carries the header `x-model-stand-in: replay` and the
system_fingerprint "replay". The first line on stdout is `listening on http://HOST:PORT`.
The request log keeps each image's data-URL header (`data:image/webp;base64,`), not its bytes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from actions.errors import first_error
from agent.backends.base import ScriptExhausted
from agent.backends.chat import Sampling
from agent.backends.scripted import ScriptedBackend, ScriptedReply, SolutionBook, load_replies, reply_parts

MAX_BODY = 64 * 1024 * 1024
STREAM_PIECE = 24
"""Characters per streamed delta: several deltas per reply, as a real server sends."""
FAULT = re.compile(r"^(ok|malformed|truncated|close|hang|length|[1-5][0-9][0-9])(?:x([0-9]+))?$")


def parse_plan(plan: str) -> list[str]:
    """`503x2,ok,hang` → ["503", "503", "ok", "hang"]; raises ValueError naming a bad entry."""
    faults: list[str] = []
    for entry in filter(None, (e.strip() for e in plan.split(","))):
        match = FAULT.match(entry)
        if match is None:
            raise ValueError(
                f"unknown fault {entry!r}: use a status code, ok, malformed, truncated, close, hang or "
                "length (xN repeats)"
            )
        faults.extend([match.group(1)] * int(match.group(2) or 1))
    return faults


def parse_scoped(spec: str) -> tuple[str, list[str]]:
    """`TEXT=PLAN` → (TEXT, faults)."""
    text, sep, plan = spec.rpartition("=")
    if not sep or not text:
        raise ValueError(f"--fault wants TEXT=PLAN, got {spec!r}")
    return text, parse_plan(plan)


class ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], backend: ScriptedBackend | SolutionBook | str, model: str,
                 request_log: Path | None, fail_first: int, latency: float = 0.0,
                 faults: list[str] | None = None, scoped: dict[str, list[str]] | None = None,
                 hang_seconds: float = 600.0) -> None:
        super().__init__(address, _Handler)
        self.latency = latency
        self.faults = list(faults or [])
        self.scoped = {text: list(plan) for text, plan in (scoped or {}).items()}
        self.hang_seconds = hang_seconds
        self.backend = backend
        self.model = model
        self.request_log = request_log
        self.fail_first = fail_first
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: tests read stdout
        return

    def do_GET(self) -> None:
        if self.path.rstrip("/") in ("/v1/models", "/models"):
            model = {"id": self.server.model, "object": "model", "owned_by": "replay"}
            self._json(HTTPStatus.OK, {"object": "list", "data": [model]})
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
            fault = self._next_fault(messages)
            reply = ScriptedReply(content="")
            if fault == "ok":
                try:
                    reply = self._reply(messages)
                except ScriptExhausted as err:
                    self._error(HTTPStatus.GONE, str(err))
                    return
        if fault != "ok":
            self._inject(fault)  # outside the lock: a hanging answer must not block the others
            return
        time.sleep(self.server.latency)  # outside the lock: concurrent requests wait side by side
        if body.get("stream") is True:
            options = body.get("stream_options")
            usage = isinstance(options, dict) and options.get("include_usage") is True
            self._raw(HTTPStatus.OK, self._events(reply, "stop", usage), content_type="text/event-stream")
        else:
            self._json(HTTPStatus.OK, self._completion(reply.content, "stop", reply.reasoning_content))

    def _next_fault(self, messages: list) -> str:
        """The fault planned for this request ("ok" when none); called under the server's lock."""
        text = _user_text(messages)
        for needle, plan in self.server.scoped.items():
            if needle in text and plan:
                return plan.pop(0)
        return self.server.faults.pop(0) if self.server.faults else "ok"

    def _inject(self, fault: str) -> None:
        if fault.isdigit():
            status = HTTPStatus(int(fault))
            error = {"message": f"injected fault {fault}", "type": status.phrase, "code": status.value}
            self._json(status, {"error": error},
                       {"retry-after": "1"} if status == HTTPStatus.TOO_MANY_REQUESTS else {})
        elif fault == "malformed":
            self._raw(HTTPStatus.OK, b"<html>injected fault: not JSON</html>")
        elif fault == "truncated":
            data = json.dumps(self._completion("the rest of this reply never arrives", "stop")).encode()
            self._raw(HTTPStatus.OK, data[: len(data) // 2], length=len(data))
            self.close_connection = True
        elif fault == "close":
            self.close_connection = True
        elif fault == "hang":
            time.sleep(self.server.hang_seconds)
            self.close_connection = True
        elif fault == "length":
            self._json(HTTPStatus.OK, self._completion("◁think▷The reply was cut off at max_to", "length"))

    def _completion(self, text: str, finish_reason: str, reasoning: str = "") -> dict:
        message = {"role": "assistant", "content": text}
        if reasoning:
            message["reasoning_content"] = reasoning
        return {
            **self._header("chat.completion"),
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": _usage(text + reasoning),
        }

    def _events(self, reply: ScriptedReply, finish_reason: str, usage: bool) -> bytes:
        """The reply as server-sent events: thinking deltas, then text deltas, then the finish reason."""
        header = self._header("chat.completion.chunk")
        deltas = [{"role": "assistant", "content": ""}]
        for field, text in (("reasoning_content", reply.reasoning_content), ("content", reply.content)):
            deltas += [{field: text[i:i + STREAM_PIECE]} for i in range(0, len(text), STREAM_PIECE)]
        chunks = [
            {**header, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]} for delta in deltas
        ]
        chunks.append({**header, "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]})
        if usage:
            chunks.append({**header, "choices": [], "usage": _usage(reply.content + reply.reasoning_content)})
        return "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks).encode() + b"data: [DONE]\n\n"

    def _header(self, kind: str) -> dict:
        return {
            "id": f"replay-{time.time_ns()}", "object": kind, "created": int(time.time()),
            "model": self.server.model, "system_fingerprint": "replay",
        }

    def _reply(self, messages: list) -> ScriptedReply:
        backend = self.server.backend
        if isinstance(backend, str):
            return ScriptedReply(content=backend)
        if isinstance(backend, SolutionBook):
            return reply_parts(backend.reply_for(messages))
        completion = backend.complete([], Sampling())
        return ScriptedReply(content=completion.text, reasoning_content=completion.reasoning)

    def _log(self, body: dict) -> None:
        if self.server.request_log is None:
            return
        for message in body.get("messages", []):
            content = message.get("content")
            if isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and part.get("type") == "image_url":
                        url = part.get("image_url", {}).get("url", "")
                        media = url.split(",", 1)[0] + "," if url.startswith("data:") else ""
                        part["image_url"] = {"url": f"{media}<{len(url)} characters>"}
        with open(self.server.request_log, "a", encoding="utf-8") as f:
            f.write(json.dumps(body) + "\n")

    def _json(self, status: HTTPStatus, payload: dict, headers: dict[str, str] | None = None) -> None:
        self._raw(status, json.dumps(payload).encode(), headers=headers)

    def _raw(
        self, status: HTTPStatus, data: bytes, length: int | None = None,
        headers: dict[str, str] | None = None, content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data) if length is None else length))
        self.send_header("x-model-stand-in", "replay")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": status.phrase, "code": status.value}})


def _usage(text: str) -> dict:
    return {"prompt_tokens": 0, "completion_tokens": len(text) // 4, "total_tokens": len(text) // 4}


def _user_text(messages: list) -> str:
    """All text of the request's user messages (where a task's instruction is)."""
    parts: list[str] = []
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(
                p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
            )
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="SCRIPTED stand-in for a Kimi model server: answers recorded replies; no model is used."
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--script", type=Path,
        help="a JSON file {\"replies\": [...]}; a reply is a string, or "
        "{\"content\": ..., \"reasoning_content\": ...} to answer with the thinking apart",
    )
    source.add_argument("--trajectory", type=Path, help="a recorded episode folder")
    source.add_argument("--solutions", type=Path, help="a folder of solution scripts, one per instruction")
    source.add_argument("--always", help="answer every request with this reply")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--model", default="replay", help="the model id to report")
    parser.add_argument("--log-requests", type=Path,
                        help="append each request (image data elided) to this JSONL file")
    parser.add_argument("--fail-first", type=int, default=0, help="answer 503 to the first N chat requests")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds to wait before each answer (a model's think time)")
    parser.add_argument("--faults", default="",
                        help="fault injection (tests): answer the next requests with PLAN, "
                        "e.g. 503x2,malformed,hang")
    parser.add_argument("--fault", action="append", default=[], metavar="TEXT=PLAN",
                        help="fault injection (tests): PLAN only for requests whose user text contains TEXT "
                        "(repeatable)")
    parser.add_argument("--hang-seconds", type=float, default=600.0,
                        help="how long a `hang` fault withholds its answer")
    args = parser.parse_args(argv)
    try:
        faults = parse_plan(args.faults)
        scoped = dict(parse_scoped(spec) for spec in args.fault)
    except ValueError as err:
        parser.error(str(err))
    backend: ScriptedBackend | SolutionBook | str
    try:
        if args.solutions:
            backend = SolutionBook.from_folder(args.solutions)
            what = f"recorded solutions of {len(backend.scripts)} tasks"
        elif args.always is not None:
            backend, what = args.always, "one fixed reply"
        else:
            backend = ScriptedBackend(load_replies(args.script or args.trajectory))
            what = f"{len(backend.replies)} recorded replies"
    except (OSError, ValueError) as err:  # missing file, bad JSON, wrong shape
        parser.exit(2, f"cannot read the replies: {first_error(err)}\n")
    try:
        server = ScriptedServer((args.host, args.port), backend, args.model, args.log_requests, args.fail_first,
                                args.latency, faults, scoped, args.hang_seconds)
    except OSError as err:  # the port is taken, or the host is not an address of this machine
        parser.exit(2, f"cannot listen on {args.host}:{args.port}: {err.strerror or err}\n")
    host, port = server.server_address[:2]
    print(f"listening on http://{host}:{port}", flush=True)
    print(f"REPLAY server: answers {what}; no model is used", file=sys.stderr, flush=True)
    if faults or scoped:
        print(f"REPLAY server: FAULT INJECTION on ({len(faults)} planned, {len(scoped)} scoped)",
              file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
