"""A SCRIPTED stand-in for the model (no model is used): an OpenAI-compatible chat server that
answers each grounding request with the scripted Kimi-VL-format reply for the instruction
it finds in the request, and records what it was sent.

It runs in a thread of the test process on a free port (port 0) and speaks real HTTP, so
the project's OpenAICompatBackend, its retries and its error handling are all exercised.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image


@dataclass(frozen=True)
class Scripted:
    """What to answer: reply text (with a finish reason), or an HTTP error status."""

    text: str = ""
    finish_reason: str = "stop"
    status: int = 200


@dataclass
class Request:
    """One chat request as received: its text parts, image sizes and part order."""

    texts: list[str]
    image_sizes: list[tuple[int, int]]
    kinds: list[str]
    roles: list[str]
    temperature: float | None


@dataclass
class ReplayModel:
    script: dict[str, Scripted]
    delay: float = 0.0
    """Seconds each answer takes, so concurrent requests overlap measurably."""
    requests: list[Request] = field(default_factory=list)
    max_in_flight: int = 0
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> ReplayModel:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: object) -> None:
                return

            def do_GET(self) -> None:
                self._send(200, {"data": [{"id": "replay"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                status, answer = model.answer(body)
                self._send(status, answer)

            def _send(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("x-model-stand-in", "grounding replay")  # answers whatever --model names
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def answer(self, body: dict) -> tuple[int, dict]:
        request = _read(body)
        with self._lock:
            self.requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(self.delay)
            text = "\n".join(request.texts)
            found = [key for key in self.script if key in text]
            if not found:
                return 404, {"error": {"message": "no scripted reply for this instruction"}}
            scripted = self.script[max(found, key=len)]
            if scripted.status != 200:
                return scripted.status, {"error": {"message": f"scripted failure {scripted.status}"}}
            choice = {"message": {"role": "assistant", "content": scripted.text}, "finish_reason": scripted.finish_reason}
            return 200, {"choices": [choice], "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
        finally:
            with self._lock:
                self._in_flight -= 1

    def asked(self, instruction: str) -> int:
        """How many requests carried `instruction`."""
        return sum(any(instruction in t for t in r.texts) for r in self.requests)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _read(body: dict) -> Request:
    texts, sizes, kinds, roles = [], [], [], []
    for message in body["messages"]:
        roles.append(message["role"])
        content = message["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for part in parts:
            kinds.append(part["type"])
            if part["type"] == "text":
                texts.append(part["text"])
            else:
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                sizes.append(Image.open(io.BytesIO(data)).size)
    return Request(texts, sizes, kinds, roles, body.get("temperature"))


def agent_reply(intent: str, code: str, thinking: bool = True) -> str:
    """A reply in Kimi-VL's agent format (thinking or instruct variant)."""
    head = f"◁think▷The target is visible; {intent.lower()}◁/think▷" if thinking else f"## Thought:\n{intent}\n\n"
    return f"{head}## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


def click(x: float, y: float) -> str:
    return f"pyautogui.click(x={x:.4f}, y={y:.4f})"
