"""A recording HTTP server that answers as WindowsAgentArena's VM server would, from canned rules.

Both sides of the getter differential talk to it: WAA's own getters through WAA's `PythonController`
(run by the oracle interpreter, see waa_getters_record.py) and ours through `VMClient`. It records each
request in a comparable form, so the test compares what was sent as well as what came back.
Standard library only: it runs in the oracle's interpreter as well as in the project's.

A rule is {"route", "contains"?, "status", and one of "json" | "text" | "body_b64"}: the first rule
whose route matches and whose `contains` occurs in the request body answers. Unmatched requests get
404, as a route WAA's server lacks.
"""

from __future__ import annotations

import base64
import email
import email.policy
import json
import sqlite3
import tempfile
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

CHROME_EPOCH = datetime(1601, 1, 1)
HISTORY_QUERIES = {
    "urls": "SELECT id, url, title, visit_count, typed_count, last_visit_time, hidden FROM urls ORDER BY id",
    "visits": "SELECT url, visit_time, from_visit, transition, segment_id, visit_duration FROM visits "
              "ORDER BY id",
}
TIME_COLUMNS = {"urls": 5, "visits": 1}
"""The Chrome-time column of each table, recorded as seconds before the upload arrived."""


def sqlite_summary(data: bytes, received: datetime) -> dict[str, Any]:
    """An uploaded History database as its rows, times made relative to its arrival (so two runs at
    different moments compare)."""
    now = (received - CHROME_EPOCH).total_seconds() * 1_000_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "History"
        path.write_bytes(data)
        connection = sqlite3.connect(path)
        try:
            tables = {}
            for table, query in HISTORY_QUERIES.items():
                rows = []
                for row in connection.execute(query).fetchall():
                    row = list(row)
                    column = TIME_COLUMNS[table]
                    row[column] = round((now - row[column]) / 1_000_000)
                    rows.append(row)
                tables[table] = rows
        finally:
            connection.close()
    return tables


def _form(content_type: str, body: bytes) -> dict[str, Any]:
    """Fields of a form body; an uploaded file as {"file": summary} (its client-side name left out: WAA's
    server saves the upload at `file_path`)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        return {key: values[0] for key, values in parse_qs(body.decode()).items()}
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body,
                                       policy=email.policy.HTTP)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            summary = (sqlite_summary(data, datetime.now()) if data.startswith(b"SQLite format 3")
                       else base64.b64encode(data).decode())
            fields[name] = {"file": summary}
        else:
            fields[name] = data.decode()
    return fields


def recorded(method: str, target: str, content_type: str, body: bytes) -> dict[str, Any]:
    """One request as the differential compares it: method, route, query, and the body parsed by type."""
    parts = urlsplit(target)
    entry: dict[str, Any] = {"method": method, "route": parts.path}
    if parts.query:
        entry["query"] = {key: values[0] for key, values in parse_qs(parts.query).items()}
    if not body:
        return entry
    if content_type.startswith("application/json"):
        entry["json"] = json.loads(body)
    else:
        entry["form"] = _form(content_type, body)
    return entry


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def searchable(body: bytes) -> str:
    """The text a rule's `contains` is looked for in: a JSON body's strings (unescaped), else the body
    with form encoding undone."""
    text = body.decode("utf-8", errors="replace")
    try:
        return "\n".join(_strings(json.loads(text)))
    except ValueError:
        return unquote_plus(text)


class RecordingServer:
    """Serves `rules` on 127.0.0.1 (a free port) and keeps the requests it got in `requests`."""

    def __init__(self, rules: list[dict[str, Any]]) -> None:
        self.rules = rules
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type") or ""
                server.requests.append(recorded(self.command, self.path, content_type, body))
                status, headers, payload = server.answer(urlsplit(self.path).path, body)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def answer(self, route: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        text = searchable(body)
        for rule in self.rules:
            if rule["route"] != route or rule.get("contains", "") not in text:
                continue
            if "json" in rule:
                return rule["status"], {"Content-Type": "application/json"}, json.dumps(rule["json"]).encode()
            if "text" in rule:
                return rule["status"], {"Content-Type": "text/plain; charset=utf-8"}, rule["text"].encode()
            data = base64.b64decode(rule["body_b64"])
            return rule["status"], {"Content-Type": "application/octet-stream"}, data
        return 404, {"Content-Type": "application/json"}, b'{"error": "no canned answer"}'

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
