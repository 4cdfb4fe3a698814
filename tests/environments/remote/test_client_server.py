"""Our VM client against our VM server on a real X display: every route, and the server's
secure defaults (loopback, tokens, confined file routes, size limits, clear refusals)."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from actions.models import Click, Point, Press, TypeText
from environments.remote.client import VMClient, VMProtocolError, VMUnreachable
from tests.environments.remote.conftest import ROOT, VM

pytestmark = pytest.mark.desktop


def test_screenshot_size_platform_and_pointer(vm: VM) -> None:
    client = vm.client()
    image = Image.open(io.BytesIO(client.screenshot()))
    assert image.size == (1280, 800)
    size = client.screen_size()
    assert (size.width, size.height) == (1280, 800)
    assert client.platform() == "Linux"
    subprocess.run(["xdotool", "mousemove", "--sync", "300", "200"], env=vm.desktop.env, check=True)
    assert client.cursor_position() == (300, 200)
    pixel = Image.open(io.BytesIO(client.screenshot())).convert("RGB").getpixel((301, 205))
    assert pixel == (255, 255, 255)  # the pointer is drawn in, as OSWorld's screenshots show it


def test_execute_returns_output_and_exit_status(vm: VM) -> None:
    client = vm.client()
    assert client.execute(["echo", "hi"]).output == "hi\n"
    failed = client.execute("exit 3", shell=True)
    assert (failed.status, failed.returncode) == ("success", 3)  # a non-zero exit is still an answer
    with pytest.raises(VMProtocolError, match="not found"):
        client.execute(["no-such-program-kimi"])
    assert "3" in client.run_python("print(1 + 2)")["output"]


def test_files_upload_read_and_list_inside_the_root(vm: VM) -> None:
    client = vm.client()
    target = vm.root / "sub" / "data.bin"
    client.upload(str(target), b"\x00\x01payload")
    assert target.read_bytes() == b"\x00\x01payload"
    assert client.file(str(target)) == b"\x00\x01payload"
    assert client.file(str(vm.root / "missing.txt")) is None
    tree = client.list_directory(str(vm.root))
    assert {"type": "directory", "name": "sub", "children": [{"type": "file", "name": "data.bin"}]} in tree["children"]


def test_file_routes_are_confined_to_the_roots(vm: VM) -> None:
    client = vm.client()
    for path in ("/etc/passwd", str(vm.root / ".." / "escape.txt")):
        with pytest.raises(VMProtocolError) as refused:
            client.file(path)
        assert refused.value.status == 403
    with pytest.raises(VMProtocolError, match="outside"):
        client.upload("/tmp/kimi-escape.txt", b"x")


def test_windows_launch_open_activate_close(vm: VM) -> None:
    client = vm.client()
    client.launch(["xterm", "-T", "vm-launched"])
    vm.desktop.wait_for_window("vm-launched")
    client.window("activate", "vm-launched")
    client.window("close", "vm-launched")
    deadline = time.monotonic() + 5
    while "vm-launched" in subprocess.run(["wmctrl", "-l"], env=vm.desktop.env, capture_output=True, text=True).stdout:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    client.window("activate", "no-such-window-kimi")  # 200 all the same, as OSWorld's server answers
    note = vm.root / "note.txt"
    note.write_text("hello")
    client.open_file(str(note))  # waits for the editor's window
    client.window("close", "note.txt")


def test_act_performs_typed_actions_and_refuses_anything_else(vm: VM) -> None:
    client = vm.client()
    vm.desktop.launch(["xterm", "-geometry", "80x24+0+0", "-T", "act-term"], cwd=vm.root)
    vm.desktop.wait_for_window("act-term")
    out = vm.root / "acted.txt"
    try:
        for action in (Click(at=Point(x=100, y=100, space="screen")), TypeText(text=f"echo 'typed <ok>' > {out}"),
                       Press(keys=("enter",))):
            client.act(action)
        deadline = time.monotonic() + 10
        while not (out.exists() and out.read_text().endswith("\n")):
            assert time.monotonic() < deadline, "the typed actions had no effect"
            time.sleep(0.05)
        assert out.read_text() == "typed <ok>\n"
    finally:
        subprocess.run(["wmctrl", "-c", "act-term"], env=vm.desktop.env, check=False)
    with httpx.Client(base_url=vm.url) as http:
        for body, says in (
            ({}, 'missing "action"'),
            ({"action": {"type": "shell", "command": "rm -rf /"}}, "not an action"),
            ({"action": {"type": "type", "text": "x" * 20_000}}, "not an action: type.text"),
            ({"action": {"type": "click", "at": {"x": 0.5, "y": 0.5, "space": "relative"}}}, "relative space"),
        ):
            refused = http.post("/act", json=body)
            assert refused.status_code == 400 and says in refused.json()["message"], (body, refused.text)


def test_malformed_unknown_and_oversized_requests_are_refused(vm: VM) -> None:
    with httpx.Client(base_url=vm.url) as http:
        bad = http.post("/setup/execute", content=b"{not json", headers={"content-type": "application/json"})
        assert bad.status_code == 400 and "malformed JSON" in bad.json()["message"]
        assert http.post("/setup/execute", json=["a list"]).status_code == 400
        assert http.post("/setup/execute", json={"command": 5}).status_code == 400
        assert http.get("/no/such/route").status_code == 404
        tree = http.get("/accessibility", timeout=60)  # AT-SPI: see tasks/test_accessibility.py
        assert tree.status_code == 200 and tree.json()["AT"].startswith("<desktop-frame")
        huge = http.post("/setup/launch", content=b"x" * (2 << 20), headers={"content-type": "application/json"})
        assert huge.status_code == 413


def test_a_token_is_checked_on_every_request(vm_desktop, tmp_path) -> None:
    server = VM(vm_desktop, tmp_path, "--token", "s3cret")
    try:
        with pytest.raises(VMProtocolError) as refused:
            server.client().screen_size()
        assert refused.value.status == 401
        with pytest.raises(VMProtocolError):
            server.client("wrong").execute(["true"])
        assert server.client("s3cret").screen_size().width == 1280
    finally:
        server.stop()


def test_the_server_refuses_to_listen_beyond_loopback_without_a_token(vm_desktop) -> None:
    env = {k: v for k, v in vm_desktop.env.items() if k != "KIMI_VM_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "environments.vm_server.server", "--host", "0.0.0.0", "--port", "0"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "without a token" in done.stderr


def test_an_unreachable_vm_is_a_clear_error_after_bounded_retries() -> None:
    client = VMClient("http://127.0.0.1:9", retries=1)
    started = time.monotonic()
    with pytest.raises(VMUnreachable, match="no answer after 2 attempts"):
        client.screenshot()
    assert time.monotonic() - started < 10


def test_windows_agent_arena_routes(vm: VM) -> None:
    """WAA's setup routes; its checks and observation are in test_waa_protocol.py."""
    client = vm.client()
    assert client.probe()
    folder = vm.root / "waa" / "nested"
    client.create_folder(str(folder))
    assert client.folder_exists("nested", str(folder.parent))
    assert not client.file_exists("nested", str(folder.parent))
    client.create_file(str(folder / "a.txt"), "content")
    assert (folder / "a.txt").read_text() == "content" and client.file_exists("a.txt", str(folder))
    client.recycle(str(folder / "a.txt"))
    assert not (folder / "a.txt").exists()
    documents = Path(vm.desktop.env["HOME"]) / "Documents"
    if not documents.is_dir():  # WAA's server answers 400 for a missing Documents folder, and so does ours
        with pytest.raises(VMProtocolError) as missing:
            client.documents_path()
        assert missing.value.status == 400
        documents.mkdir()
    assert client.documents_path() == str(documents)


def test_execute_with_verification_and_window_size(vm: VM) -> None:
    client = vm.client()
    answer = client.execute_with_verification(["xterm", "-T", "verified-term"], {"window_exists": "verified-term"})
    assert answer["verification"] == "passed" and answer["wait_time"] < 10
    size = client.window_size("xterm")
    assert size.width > 100 and size.height > 100
    with pytest.raises(VMProtocolError):
        client.execute_with_verification(["true"], {"window_exists": "never-kimi"}, max_wait_time=0.5, check_interval=0.1)
    client.close_all()
    assert "verified-term" not in subprocess.run(["wmctrl", "-l"], env=vm.desktop.env, capture_output=True, text=True).stdout


def test_bodies_a_route_ignores_do_not_corrupt_the_next_request(vm: VM) -> None:
    with httpx.Client(base_url=vm.url) as http:  # one keep-alive connection
        for _ in range(3):
            assert http.post("/setup/clear_task_files", json={"ignored": "x" * 1000}).status_code == 200
            assert http.post("/screen_size", json={}).json() == {"width": 1280, "height": 800}
    host, port = vm.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"POST /setup/execute HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: zz\r\nConnection: close\r\n\r\n{}")
        assert raw.recv(200).startswith(b"HTTP/1.1 400")
