"""The qemu provider for real under TCG: our image builds (and is cached), boots, serves, and reverts."""

from __future__ import annotations

import ipaddress
import time
from pathlib import Path
from urllib.parse import urlsplit

from environments.remote.client import VMClient
from environments.vm.boot_watch import READY_LINE
from environments.vm.guest import read_profile
from environments.vm.image import build_image, image_is_current, recipe
from environments.vm.qemu import QemuProvider


def test_the_image_is_cached_by_its_recipe(small_image: Path) -> None:
    build_image(small_image, "small")  # current again if someone edited the project meanwhile
    stamp = small_image.stat().st_mtime_ns
    started = time.monotonic()
    build_image(small_image, "small")
    assert time.monotonic() - started < 30
    assert small_image.stat().st_mtime_ns == stamp
    assert image_is_current(small_image, recipe("small"))
    profile = read_profile(small_image)
    assert profile.token and profile.kernel and any(p.startswith("xvfb=") for p in profile.packages)
    assert not any(p.startswith("libreoffice") for p in profile.packages)


def test_the_server_inside_answers_with_its_token_only(vm: QemuProvider) -> None:
    assert vm.handle is not None and vm.handle.token and vm.handle.serial_log
    # the line after which a quiet serial console is no longer taken for a hung boot (boot_watch.py)
    assert READY_LINE in vm.handle.serial_log.read_bytes()
    # a loopback address of the VM's own, with OSWorld's fixed ports (server 5000, DevTools 9222, VLC 8080)
    url = urlsplit(vm.handle.server_url)
    assert ipaddress.ip_address(url.hostname).is_loopback and url.port == 5000
    assert vm.handle.host == url.hostname and vm.handle.ports == {9222: 9222, 8080: 8080, 5900: 5900}
    client = VMClient(vm.handle.server_url, vm.handle.token)
    try:
        assert client.screenshot().startswith(b"\x89PNG")
        assert (client.screen_size().width, client.screen_size().height) == (1280, 800)
        done = client.execute(["id", "-un"])
        assert (done.returncode, done.output.strip()) == (0, "user")
        assert client.platform() == "Linux"
        waited = client.settle(10)  # the guest's display can be watched (DAMAGE, /proc): served, not a 501
        assert waited.idle and waited.looks >= 1, waited
    finally:
        client.close()
    stranger = VMClient(vm.handle.server_url, "wrong-token", retries=0)
    try:
        assert stranger._http.get("/platform").status_code in (401, 403)
    finally:
        stranger.close()


def test_revert_removes_what_a_task_left_and_fixes_the_clock(vm: QemuProvider) -> None:
    assert vm.revert_policy == "snapshot", vm.revert_note
    assert vm.before_task() is False  # a fresh VM is not reverted
    assert vm.handle is not None
    client = VMClient(vm.handle.server_url, vm.handle.token)
    try:
        assert client.execute(["touch", "/home/user/left-by-task-1"]).returncode == 0
        assert client.execute(["test", "-e", "/home/user/left-by-task-1"]).returncode == 0
    finally:
        client.close()
    time.sleep(3)  # the snapshot's clock is now behind by more than CLOCK_SLACK
    assert vm.before_task() is True
    assert vm.timings["revert"] < 60
    assert abs(vm.timings["clock_offset"]) > 2
    client = VMClient(vm.handle.server_url, vm.handle.token)
    try:
        assert client.execute(["test", "-e", "/home/user/left-by-task-1"]).returncode == 1
        guest_now = float(client.execute(["date", "+%s"]).output)
        assert abs(guest_now - time.time()) < 3
    finally:
        client.close()


def test_the_base_image_is_never_written(vm: QemuProvider, small_image: Path) -> None:
    assert vm.handle is not None
    before = small_image.stat().st_mtime_ns
    client = VMClient(vm.handle.server_url, vm.handle.token)
    try:
        client.execute(["sh", "-c", "head -c 4000000 /dev/urandom > /home/user/big && sync"])
    finally:
        client.close()
    assert small_image.stat().st_mtime_ns == before
