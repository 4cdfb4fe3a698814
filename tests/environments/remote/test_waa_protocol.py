"""WindowsAgentArena's routes between our client and our server over real HTTP, and WAA's own client
reading our server: live when WAA's checkout is given (KIMI_AGENT_WAA_CHECKOUT and
.ci/setup-waa-client), else against the recording of it (tests/environments/remote/waa_readings.py)."""

from __future__ import annotations

import io
import json
import os
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from PIL import Image

from environments.remote.client import VMClient, VMProtocolError, VMUnsupported
from environments.remote.machine import RemoteMachine
from environments.tasks.getters.basic import get_rule_relative_time
from environments.tasks.parameters import RelativeTimeParams
from environments.vm_server.http import Routes, RouteServer
from environments.vm_server.routes import GET_ROUTES, POST_ROUTES
from tests.environments.remote import waa_readings
from tests.environments.remote.conftest import VM

OSWORLD_ROUTES = {
    "GET": {"/accessibility", "/cursor_position", "/platform", "/screenshot", "/terminal"},
    "POST": {"/desktop_path", "/end_recording", "/execute", "/execute_with_verification", "/file",
             "/list_directory", "/run_bash_script", "/run_python", "/screen_size", "/setup/activate_window",
             "/setup/change_wallpaper", "/setup/close_window", "/setup/download_file", "/setup/execute",
             "/setup/execute_with_verification", "/setup/launch", "/setup/open_file", "/setup/upload",
             "/start_recording", "/wallpaper", "/window_size"},
}
"""The routes of OSWorld's server (desktop_env/server/main.py)."""
WAA_ROUTES = {
    "GET": {"/accessibility", "/cursor_position", "/obs_winagent", "/platform", "/probe", "/screenshot",
            "/terminal"},
    "POST": {"/are_all_images_tagged", "/are_files_sorted_by_modified_time", "/check_if_timer_started",
             "/check_if_world_clock_exists", "/desktop_path", "/documents_path", "/end_recording",
             "/execute", "/execute_windows", "/file", "/file_exists", "/folder_exists", "/is_details_view",
             "/is_directory_read_only_for_user", "/library_folders", "/list_directory",
             "/revert_to_snapshot", "/run_server_agent", "/save_state", "/screen_size",
             "/setup/activate_window", "/setup/change_wallpaper", "/setup/clear_task_files",
             "/setup/close_all", "/setup/close_window", "/setup/create_file", "/setup/create_folder",
             "/setup/download_file", "/setup/execute", "/setup/launch", "/setup/open_file", "/setup/recycle",
             "/setup/upload", "/shutdown", "/start_recording", "/update_computer", "/wallpaper",
             "/window_size"},
}
"""The routes of WAA's server (vm/setup/server/main.py)."""
NOT_SERVED = {"/shutdown", "/run_server_agent"}
"""WAA's routes our server leaves out: powering the VM off (the provider's job) and running an agent
inside the guest (WAA's server-side agents), neither used by a task or by WAA's harness loop."""


@pytest.fixture(scope="module")
def prepared(vm: VM) -> VM:
    """The module's server with the state `waa_readings.CALLS` read: files and an active window."""
    waa_readings.prepare(vm.client(), vm.root, vm.desktop.launch, vm.desktop.wait_for_window)
    return vm


def served(get: dict, post: dict, root: Path) -> Iterator[str]:
    """An in-process server with only the given routes of ours (standing in for a server that lacks some)."""
    server = RouteServer(("127.0.0.1", 0), None, [root], Routes(get, post))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def waa_like(tmp_path: Path) -> Iterator[str]:
    """Our routes minus those WAA's server lacks (OSWorld's /run_python, /run_bash_script, …)."""
    lacking = OSWORLD_ROUTES["POST"] - WAA_ROUTES["POST"]
    yield from served(GET_ROUTES, {k: v for k, v in POST_ROUTES.items() if k not in lacking}, tmp_path)


@pytest.fixture
def osworld_like(tmp_path: Path) -> Iterator[str]:
    """Our routes minus those OSWorld's server lacks (WAA's)."""
    yield from served({k: v for k, v in GET_ROUTES.items() if k in OSWORLD_ROUTES["GET"]},
                      {k: v for k, v in POST_ROUTES.items() if k in OSWORLD_ROUTES["POST"]}, tmp_path)


def test_our_server_serves_every_route_of_both_reference_servers() -> None:
    assert OSWORLD_ROUTES["GET"] | WAA_ROUTES["GET"] <= set(GET_ROUTES)
    assert (OSWORLD_ROUTES["POST"] | WAA_ROUTES["POST"]) - NOT_SERVED <= set(POST_ROUTES)


@pytest.mark.desktop
def test_obs_winagent_without_a_window_is_the_desktop(vm: VM) -> None:
    """Runs before `prepared` opens a window: with none active, WAA's server answers "Desktop" and the
    whole screen."""
    seen = vm.client().obs_winagent()
    assert (seen.window_title, seen.rect) == ("Desktop", (0, 0, 1280, 800))
    assert Image.open(io.BytesIO(seen.image)).size == (1280, 800)


@pytest.mark.desktop
def test_file_and_folder_exist_answer_by_status_code(prepared: VM) -> None:
    client, root = prepared.client(), str(prepared.root)
    assert client.file_exists("present.txt", root) and not client.file_exists("absent.txt", root)
    assert client.folder_exists("folder", root) and not client.folder_exists("present.txt", root)
    assert not client.file_exists("folder", root)
    with httpx.Client(base_url=prepared.url) as http:  # WAA's request shape, and its statuses and fields
        found = http.post("/file_exists", json={"file_name": "present.txt", "path": root})
        missing = http.post("/folder_exists", json={"folder_name": "absent", "path": root})
        assert (found.status_code, found.json()["status"]) == (200, "success")
        assert (missing.status_code, missing.json()["status"]) == (400, "error")
        assert http.post("/file_exists", json={"file_name": "x"}).status_code == 400  # no path, as WAA
        escape = {"file_name": "../../etc/passwd", "path": root}
        assert http.post("/file_exists", json=escape).status_code == 403
    with pytest.raises(VMProtocolError) as refused:  # outside the served folders: an error, not "missing"
        client.file_exists("passwd", "/etc")
    assert refused.value.status == 403


@pytest.mark.desktop
def test_accessibility_takes_waas_backend_and_gives_the_atspi_tree(prepared: VM) -> None:
    client = prepared.client()
    assert client.accessibility("uia").startswith("<desktop-frame")
    with httpx.Client(base_url=prepared.url, timeout=60) as http:
        assert http.get("/accessibility", params={"backend": "win32"}).status_code == 200
        refused = http.get("/accessibility", params={"backend": "atspi"})
        assert refused.status_code == 400 and "uia, win32" in refused.json()["message"]


@pytest.mark.desktop
def test_obs_winagent_describes_the_active_window(prepared: VM) -> None:
    client = prepared.client()
    client.window("activate", waa_readings.WINDOW)
    seen = client.obs_winagent()
    x0, y0, x1, y1 = seen.rect
    assert seen.window_title == waa_readings.WINDOW and 0 < x1 - x0 < 1280 and 0 < y1 - y0 < 800
    assert Image.open(io.BytesIO(seen.image)).size == (x1 - x0, y1 - y0)
    assert waa_readings.WINDOW in seen.window_names_str.split("\n")
    assert seen.computer_clipboard is None and seen.human_input.startswith("Question:")


@pytest.mark.desktop
def test_windows_only_routes_are_a_precise_501_and_a_typed_error(prepared: VM) -> None:
    client = prepared.client()
    calls = {
        "/execute_windows": lambda: client.execute_windows("print('hello')"),
        "/update_computer": lambda: client.update_computer([[0, 0, 2, 2]], [0, 0, 4, 4], b"\x89PNG", (1, 1)),
        "/save_state": lambda: client.save_state("s"),
        "/revert_to_snapshot": lambda: client.revert_to_snapshot("s"),
        "/is_details_view": lambda: client.is_details_view("/"),
        "/are_files_sorted_by_modified_time": lambda: client.are_files_sorted_by_modified_time("/"),
        "/is_directory_read_only_for_user": lambda: client.is_directory_read_only_for_user("/", "user"),
        "/are_all_images_tagged": lambda: client.are_all_images_tagged("/", "tag"),
        "/library_folders": lambda: client.library_folders("Documents"),
        "/check_if_timer_started": lambda: client.check_if_timer_started(0, 5, 0),
        "/check_if_world_clock_exists": lambda: client.check_if_world_clock_exists("Paris", "France"),
    }
    for route, call in calls.items():
        with pytest.raises(VMUnsupported, match="only on WAA's Windows server") as refused:
            call()
        assert refused.value.status == 501 and route in str(refused.value)


def test_a_route_only_the_other_server_has_is_unsupported(osworld_like: str, waa_like: str,
                                                          tmp_path: Path) -> None:
    osworld = VMClient(osworld_like, timeout=10, retries=0)
    with pytest.raises(VMUnsupported) as missing:
        osworld.file_exists("a.txt", str(tmp_path))
    assert missing.value.status == 404
    with pytest.raises(VMUnsupported):
        VMClient(waa_like, timeout=10, retries=0).run_python("print(1)")
    with pytest.raises(VMProtocolError) as other:  # a 404 on a route both servers have keeps its own meaning
        osworld.list_directory(str(tmp_path / "none"))
    assert other.value.status == 404 and not isinstance(other.value, VMUnsupported)


def test_now_reads_the_guest_clock_through_execute_which_waas_server_has(waa_like: str,
                                                                         tmp_path: Path) -> None:
    machine = RemoteMachine(VMClient(waa_like, timeout=30, retries=0), tmp_path / "cache", (1280, 800))
    now = machine.now()
    assert now.tzinfo is not None and abs(now - datetime.now().astimezone()) < timedelta(seconds=30)
    rules = RelativeTimeParams.model_validate({"rules": {
        "relativeTime": {"from": "tomorrow"}, "expected": {"time": "{Year}-{Month0D}-{Day0D}"}}})
    tomorrow = (datetime.now().astimezone() + timedelta(days=1)).strftime("%Y-%m-%d")
    assert get_rule_relative_time(SimpleNamespace(machine=machine), rules)["expected"]["time"] == tomorrow


def test_now_on_the_host_clock_asks_the_guest_nothing(tmp_path: Path) -> None:
    """WAA's harness reads today from the host; OSWorld's falls back to the host when the guest fails."""
    nowhere = VMClient("http://127.0.0.1:9", timeout=2, retries=0)
    host = RemoteMachine(nowhere, tmp_path / "cache", (1280, 800), clock="host")
    assert abs(host.now() - datetime.now().astimezone()) < timedelta(seconds=5)
    fallback = RemoteMachine(nowhere, tmp_path / "cache", (1280, 800))
    assert abs(fallback.now() - datetime.now().astimezone()) < timedelta(seconds=5)


def _recording() -> list[dict]:
    return json.loads(waa_readings.RECORDING.read_text())


@pytest.mark.desktop
def test_our_server_still_answers_what_waas_client_was_recorded_reading(prepared: VM) -> None:
    """Each request WAA's client sent when recorded gets the same status and answer fields now, so
    WAA's client reads what the recording says it read (see the live test below)."""
    root = str(prepared.root)
    with httpx.Client(base_url=prepared.url, timeout=60) as http:
        for entry in _recording():
            for sent in entry["exchanges"]:
                body = sent["body"].replace("{root}", root).encode() if sent["body"] is not None else None
                headers = {"content-type": sent["content_type"]} if sent["content_type"] else {}
                answer = http.request(sent["method"], sent["route"], content=body, headers=headers)
                assert answer.status_code == sent["status"], (entry["call"], answer.text[:200])
                assert sorted(answer.json()) == sent["answer_keys"], entry["call"]


@pytest.mark.desktop
@pytest.mark.skipif(not os.environ.get(waa_readings.CHECKOUT_VARIABLE),
                    reason="needs KIMI_AGENT_WAA_CHECKOUT (a checkout of WAA's src/win-arena-container)")
@pytest.mark.skipif(not waa_readings.CLIENT_PYTHON.exists(),
                    reason="needs .venv-waa-client: run .ci/setup-waa-client")
def test_waas_own_client_reads_our_server_as_recorded(prepared: VM) -> None:
    checkout = os.environ[waa_readings.CHECKOUT_VARIABLE]
    readings = waa_readings.waa_client_readings(prepared.url, prepared.root, checkout)
    assert readings == _recording()
