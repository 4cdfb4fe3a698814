"""Our VM server's /settle on a real X desktop: it waits until what an action started has finished
drawing (the rule local desktops settle by, run inside the server), refuses bad waits clearly, and
`RemoteVMEnv` settles through it, or compares screenshots where a server lacks it (OSWorld's)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from environments.remote.client import VMUnsupported
from environments.remote.env import RemoteVMEnv
from environments.virtual_desktop import VirtualDesktop
from tests.environments.remote.conftest import VM
from tests.environments.remote.test_waa_protocol import OSWORLD_ROUTES, served
from tests.environments.test_settle_idle import LATE_DRAWER

pytestmark = pytest.mark.desktop

STILL = 2.0
"""Seconds after a settle in which nothing may change on the screen any more."""


def close_windows(vm: VM, title: str) -> None:
    vm.client().execute(["wmctrl", "-c", title])


@pytest.mark.parametrize("command, title", [
    (["xterm", "-geometry", "80x24+100+100", "-T", "settle-xterm"], "settle-xterm"),
    ([sys.executable, "-c", LATE_DRAWER, "0.6", "0"], "late-drawer"),
], ids=["xterm-prompt", "computes-then-draws"])
def test_settle_returns_once_a_launched_program_has_drawn(vm: VM, command: list[str], title: str) -> None:
    """The screenshot taken right after /settle is the one taken `STILL` s later: the program's
    window, its prompt or its late drawing are all there."""
    client = vm.client()
    try:
        client.settle(3)  # the server's watcher opens at its first settle; what follows is news to it
        before = client.screenshot()
        client.launch(command)
        waited = client.settle(15)
        settled = client.screenshot()
        time.sleep(STILL)
        assert waited.idle and waited.changed and waited.looks > 1
        assert settled != before, "settled before the window appeared"
        assert settled == client.screenshot(), f"the screen changed after settling ({waited})"
    finally:
        close_windows(vm, title)


@pytest.mark.parametrize("body", [
    {"max_seconds": -1}, {"max_seconds": 20.5}, {"max_seconds": "3"}, {"max_seconds": True},
    {"max_seconds": None}, {"max_seconds": [1]}, [3], "3", 3,
])
def test_a_bad_wait_is_refused_with_a_reason(vm: VM, body: object) -> None:
    refused = httpx.post(f"{vm.url}/settle", json=body, timeout=10)
    assert refused.status_code == 400
    assert refused.json()["status"] == "error" and refused.json()["message"]


def test_no_wait_at_all_is_a_wait_at_the_cap(vm: VM) -> None:
    waited = vm.client().settle(0)
    assert waited.seconds < 1.0 and waited.looks >= 1


@pytest.fixture
def logged_vm(vm_desktop: VirtualDesktop, tmp_path: Path) -> Iterator[tuple[VM, Path]]:
    log = tmp_path / "server.log"
    server = VM(vm_desktop, tmp_path, log=log)
    yield server, log
    server.stop()


def requests_to(log: Path, route: str) -> int:
    return sum(f"POST {route} " in line for line in log.read_text().splitlines())


def moves(env: RemoteVMEnv, xs: tuple[float, ...]) -> list:
    """Step the pointer to each x (relative, mid-height); every step's result, each checked ok."""
    results = []
    for x in xs:
        _, _, _, _, info = env.step(json.dumps({"type": "move", "at": {"x": x, "y": 0.5, "space": "relative"}}))
        assert info["result"].ok, info["result"].error
        results.append(info["result"])
    return results


def test_the_env_settles_through_the_server(logged_vm: tuple[VM, Path]) -> None:
    server, log = logged_vm
    env = RemoteVMEnv(server.url, timeout=30, retries=0)
    try:
        env.reset()
        for result in moves(env, (0.2, 0.3)):
            assert result.settle.stable and result.settle.changed  # the pointer moved
    finally:
        env.close()
    assert requests_to(log, "/settle") == 3  # the env's question at its start, then one per step
    assert requests_to(log, "/act") == 2 and requests_to(log, "/execute") == 0  # typed actions, no code


@pytest.fixture
def osworld_like(x_display: VirtualDesktop, tmp_path: Path) -> Iterator[str]:
    """A server with only the routes OSWorld's has (no /settle), on the shared display."""
    from environments.vm_server.routes import GET_ROUTES, POST_ROUTES

    yield from served({k: v for k, v in GET_ROUTES.items() if k in OSWORLD_ROUTES["GET"]},
                      {k: v for k, v in POST_ROUTES.items() if k in OSWORLD_ROUTES["POST"]}, tmp_path)


def test_without_the_route_the_env_compares_screenshots(osworld_like: str, capfd: pytest.CaptureFixture) -> None:
    env = RemoteVMEnv(osworld_like, timeout=30, retries=0)
    try:
        env.reset()
        for result in moves(env, (0.4, 0.5)):
            assert result.settle.stable and result.settle.frames >= 2  # two identical screenshots in a row
        printed = capfd.readouterr().err
        assert printed.count("POST /settle ") == 1  # the env asked once, at its start
        assert printed.count("POST /act ") == 1 and printed.count("POST /execute ") == 2  # then sent code
        assert env.executor.typed is False
        with pytest.raises(VMUnsupported):
            env.client.settle(1)
    finally:
        env.close()
