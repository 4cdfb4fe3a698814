"""Each class of hostile request to our VM server, sent for real over a socket: path traversal,
oversized and lying bodies, bad JSON, wrong content types, missing or wrong tokens on every
route, browsers (cross-site requests, DNS rebinding), and binding beyond loopback without a
token. Each gets a clear status and message, and nothing outside the served root changes."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest

from environments.vm_server.http import MAX_JSON, MAX_UPLOAD
from environments.vm_server.routes import GET_ROUTES, POST_ROUTES
from environments.vm_server.server import VMServer

TOKEN = "kimi-security-token-5b1e0c7d"
SECRET = "kimi-outside-secret-20f4"


class Served:
    """A VMServer on a free loopback port in a thread of this process, stopped by `close`."""

    def __init__(self, root: Path, token: str | None = None, body_timeout: float = 30.0) -> None:
        self.server = VMServer(("127.0.0.1", 0), token, [root], body_timeout=body_timeout)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def raw(self, request: bytes, shut_write: bool = False, timeout: float = 20.0) -> bytes:
        """Send bytes as they are; the first response, head and body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as conn, conn.makefile("rb") as answers:
            conn.sendall(request)
            if shut_write:
                conn.shutdown(socket.SHUT_WR)
            return _one_response(answers)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _one_response(answers: BinaryIO) -> bytes:
    """One response read from the connection's stream, leaving any following one unread."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = answers.readline()
        if not line:
            return head
        head += line
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0)
    return head + answers.read(length)


def status_and_message(answer: bytes) -> tuple[int, str]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)["message"]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "served", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    return root, outside


@pytest.fixture
def open_server(folders: tuple[Path, Path]) -> Iterator[Served]:
    served = Served(folders[0], body_timeout=1.5)
    yield served
    served.close()


@pytest.fixture
def token_server(folders: tuple[Path, Path]) -> Iterator[Served]:
    served = Served(folders[0], token=TOKEN)
    yield served
    served.close()


def test_path_traversal_in_every_form_is_refused(open_server: Served, folders: tuple[Path, Path]) -> None:
    root, outside = folders
    (root / "link-out").symlink_to(outside)
    (root / "file-link").symlink_to(outside / "secret.txt")
    escapes = [
        str(root / ".." / "outside" / "secret.txt"),  # ..
        str(outside / "secret.txt"),  # absolute
        str(root / "link-out" / "secret.txt"),  # a symlinked folder leading out of --root
        str(root / "file-link"),  # a symlinked file leading out of --root
        "/etc/passwd",
    ]
    with httpx.Client(base_url=open_server.url, timeout=20) as http:
        for path in escapes:
            read = http.post("/file", data={"file_path": path})
            assert read.status_code == 403 and "outside the folders this server serves" in read.json()["message"], path
            assert SECRET not in read.text
            write = http.post("/setup/upload", data={"file_path": path}, files={"file_data": ("f", b"overwritten")})
            assert write.status_code == 403, path
            for route in ("/list_directory", "/setup/create_file", "/setup/recycle", "/file_exists"):
                answer = http.post(route, json={"path": path, "content": "overwritten"})
                assert answer.status_code == 403, (route, path)
        # URL-encoded: a form field is decoded once (../ then refused); the request path is never decoded into a route
        encoded = "file_path=" + str(root).replace("/", "%2F") + "%2F%2E%2E%2Foutside%2Fsecret.txt"
        read = http.post("/file", content=encoded, headers={"content-type": "application/x-www-form-urlencoded"})
        assert read.status_code == 403 and SECRET not in read.text
        assert http.post("/%66ile", data={"file_path": str(outside / "secret.txt")}).status_code == 404
        form = f"file_path={outside / 'secret.txt'}".encode()
        dotted = (b"POST /setup/../file HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  + f"Content-Length: {len(form)}\r\n\r\n".encode() + form)  # sent raw: httpx would remove the ..
        assert status_and_message(open_server.raw(dotted))[0] == 404
        # a percent-encoded name in a JSON path is a literal file name inside the root, not a way out
        literal = root / "%2e%2e"
        assert http.post("/setup/create_file", json={"path": str(literal), "content": "x"}).status_code == 200
        assert literal.read_text() == "x"
        for bad in ("", 5, ["a"], "a\x00b"):
            answer = http.post("/file_exists", json={"path": bad})
            assert answer.status_code == 400, bad
    assert {p.name for p in outside.iterdir()} == {"secret.txt"}
    assert (outside / "secret.txt").read_text() == SECRET


def test_oversized_bodies_are_refused_before_they_are_read(open_server: Served) -> None:
    started = time.monotonic()
    head = f"POST /setup/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {MAX_JSON + 1}\r\n\r\n"
    status, message = status_and_message(open_server.raw(head.encode()))
    assert status == 413 and f"over {MAX_JSON} bytes" in message
    upload = (f"POST /setup/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=b\r\n"
              f"Content-Length: {MAX_UPLOAD + 1}\r\n\r\n")
    status, message = status_and_message(open_server.raw(upload.encode()))
    assert status == 413 and f"over {MAX_UPLOAD} bytes" in message
    assert time.monotonic() - started < 10  # refused from the header, not after reading a gigabyte


def test_lying_and_chunked_bodies_get_a_clear_answer(open_server: Served, folders: tuple[Path, Path]) -> None:
    root = folders[0]
    target = root / "made.txt"
    body = json.dumps({"path": str(target), "content": "x"}).encode()
    head = b"POST /setup/create_file HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    # declares more than it sends and then ends the stream
    status, message = status_and_message(open_server.raw(head + f"Content-Length: {len(body) + 50}\r\n\r\n".encode() + body, shut_write=True))
    assert status == 400 and f"ended after {len(body)} of its {len(body) + 50}" in message
    # declares more than it sends and keeps the connection open: the server stops waiting
    started = time.monotonic()
    status, message = status_and_message(open_server.raw(head + f"Content-Length: {len(body) + 50}\r\n\r\n".encode() + body))
    assert status == 408 and "did not arrive" in message
    assert time.monotonic() - started < 15
    # chunked: refused, not read as an empty body
    chunked = head + b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    status, message = status_and_message(open_server.raw(chunked))
    assert status == 411 and "Content-Length" in message
    # two different lengths, or lengths other parsers read differently
    for lengths in (b"Content-Length: 5\r\nContent-Length: 7\r\n", b"Content-Length: +2\r\n", b"Content-Length: 0_2\r\n",
                    b"Content-Length: -1\r\n", b"Content-Length: 0x2\r\n"):
        status, message = status_and_message(open_server.raw(head + lengths + b"\r\n{}"))
        assert status == 400 and "content-length" in message, lengths
    assert not target.exists()


def test_a_smuggled_second_request_is_checked_like_any_other(token_server: Served, folders: tuple[Path, Path]) -> None:
    root = folders[0]
    hidden = json.dumps({"path": str(root / "smuggled.txt"), "content": "x"}).encode()
    second = (b"POST /setup/create_file HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
              + f"Content-Length: {len(hidden)}\r\nConnection: close\r\n\r\n".encode() + hidden)
    first = (f"POST /file_exists HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
             f"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{{}}").encode()
    with socket.create_connection(("127.0.0.1", token_server.port), timeout=20) as conn, conn.makefile("rb") as answers:
        conn.sendall(first + second)
        assert _one_response(answers).startswith(b"HTTP/1.1 400")  # no path in {}
        assert status_and_message(_one_response(answers)) == (401, "a bearer token is required")
    assert not (root / "smuggled.txt").exists()


@pytest.mark.parametrize("body", [
    b"{not json", b'{"command": "tr', b"\xff\xfe\xfa", b"[" * 100_000, b'{"n": ' + b"9" * 5000 + b"}",
    b"[1, 2]", b'"text"', b"null",
])
def test_bad_json_is_a_400_naming_the_problem(open_server: Served, body: bytes) -> None:
    answer = httpx.post(open_server.url + "/setup/create_folder", content=body,
                        headers={"content-type": "application/json"}, timeout=20)
    assert answer.status_code == 400
    message = answer.json()["message"]
    assert message.startswith("malformed JSON") or message == "the body must be a JSON object"


def test_wrong_content_types_are_415(open_server: Served, folders: tuple[Path, Path]) -> None:
    root = folders[0]
    body = json.dumps({"path": str(root / "by-text-plain")})
    with httpx.Client(base_url=open_server.url, timeout=20) as http:
        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
            headers = {"content-type": ctype} if ctype else {}
            answer = http.post("/setup/create_folder", content=body, headers=headers)
            assert answer.status_code == 415 and "takes application/json" in answer.json()["message"], ctype
        assert http.post("/setup/create_folder", content=body, headers={"content-type": "application/json; charset=utf-8"}).status_code == 200
        answer = http.post("/file", json={"file_path": str(root)})
        assert answer.status_code == 415 and "takes a form body" in answer.json()["message"]
        answer = http.post("/file", content=b"--x\r\n\r\n", headers={"content-type": "multipart/form-data; boundary=zz"})
        assert answer.status_code == 400
    assert (root / "by-text-plain").is_dir() and len(list(root.iterdir())) == 1


def test_every_route_needs_the_token(token_server: Served, folders: tuple[Path, Path]) -> None:
    marker = folders[1] / "ran"
    body = {"command": ["touch", str(marker)], "code": f"open({str(marker)!r}, 'w')", "script": f"touch {marker}",
            "path": str(folders[0] / "made"), "url": "http://127.0.0.1:9/x", "window_name": "x"}
    with httpx.Client(base_url=token_server.url, timeout=20) as http:
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": TOKEN}, {"authorization": f"Basic {TOKEN}"},
                        {"authorization": f"Bearer {TOKEN}x"}):
            for route in GET_ROUTES:
                answer = http.get(route, headers=headers)
                assert (answer.status_code, answer.json()["message"]) == (401, "a bearer token is required"), route
            for route in [*POST_ROUTES, "/no/such/route"]:
                answer = http.post(route, json=body, headers=headers)
                assert (answer.status_code, answer.json()["message"]) == (401, "a bearer token is required"), route
        assert not marker.exists() and not (folders[0] / "made").exists()
        good = {"authorization": f"Bearer {TOKEN}"}
        assert http.get("/probe", headers=good).status_code == 200
        assert http.post("/setup/create_folder", json={"path": str(folders[0] / "made")}, headers=good).status_code == 200


def test_browsers_are_refused(open_server: Served, token_server: Served, folders: tuple[Path, Path]) -> None:
    root = folders[0]
    folder = {"path": str(root / "from-a-page")}
    for served, auth in ((open_server, {}), (token_server, {"authorization": f"Bearer {TOKEN}"})):
        with httpx.Client(base_url=served.url, timeout=20, headers=auth) as http:
            for headers in ({"origin": "https://evil.example"}, {"origin": "null"}, {"sec-fetch-site": "cross-site"}):
                answer = http.post("/setup/create_folder", json=folder, headers=headers)
                assert answer.status_code == 403 and "web pages are refused" in answer.json()["message"]
                assert http.get("/probe", headers=headers).status_code == 403
    # DNS rebinding: a page's own name resolved to 127.0.0.1; without a token only loopback names are answered
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.nip.io"):
        status, message = status_and_message(open_server.raw(f"GET /probe HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()))
        assert status == 403 and "not a loopback name" in message
    for host in ("localhost", f"localhost:{open_server.port}", f"127.0.0.1:{open_server.port}", "[::1]:80"):
        answer = open_server.raw(f"GET /probe HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        assert answer.startswith(b"HTTP/1.1 200"), host
    with_token = token_server.raw(f"GET /probe HTTP/1.1\r\nHost: vm.lan\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
    assert with_token.startswith(b"HTTP/1.1 200")  # the token is what guards a server reached by name
    assert not (root / "from-a-page").exists()


def test_binding_beyond_loopback_needs_a_real_token(tmp_path: Path) -> None:
    for token in (None, "", "   "):
        with pytest.raises(ValueError, match="without a token"):
            VMServer(("0.0.0.0", 0), token, [tmp_path])
    server = VMServer(("0.0.0.0", 0), TOKEN, [tmp_path])
    server.server_close()


def test_request_timings_are_validated(open_server: Served, folders: tuple[Path, Path]) -> None:
    marker = folders[1] / "started"
    with httpx.Client(base_url=open_server.url, timeout=20) as http:
        for field, value in (("max_wait_time", "soon"), ("max_wait_time", -1), ("check_interval", 1e9), ("max_wait_time", True)):
            answer = http.post("/execute_with_verification", json={"command": ["touch", str(marker)], field: value})
            assert answer.status_code == 400 and field in answer.json()["message"]
        answer = http.post("/execute_with_verification", json={"command": ["touch", str(marker)], "verification": "x"})
        assert answer.status_code == 400 and "verification must be an object" in answer.json()["message"]
        answer = http.post("/run_bash_script", json={"script": f"touch {marker}", "timeout": "forever", "working_dir": str(folders[0])})
        assert answer.status_code == 400
        document = folders[0] / "doc.txt"
        document.write_text("x")
        answer = http.post("/setup/open_file", json={"path": str(document), "window_name": 3})
        assert answer.status_code == 400 and "'window_name' must be a string" in answer.json()["message"]
    assert not marker.exists() and os.listdir(folders[1]) == ["secret.txt"]
