"""The url and docker providers, the accelerator probe, the forwards' addresses, and the CLI's one-line
errors."""

from __future__ import annotations

import ipaddress
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from environments.kinds import EnvConfig, EnvConfigError
from environments.vm.accel import choose_accel
from environments.vm.docker import DockerProvider
from environments.vm.provider import VMProviderError
from environments.vm.qemu import QemuProvider, forward_address
from environments.vm.url import UrlProvider


def test_url_provider_runs_the_users_revert_command_without_a_shell(vm: QemuProvider, tmp_path: Path) -> None:
    assert vm.handle is not None
    out = tmp_path / "reverted"
    write = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text(sys.argv[2])"
    command = shlex.join([sys.executable, "-c", write, str(out), "a; touch $HOME/x"])
    provider = UrlProvider(vm.handle.server_url, vm.handle.token, revert_command=command)
    assert provider.revert_policy == "command"
    provider.start()
    assert provider.before_task() is False
    assert provider.before_task() is True
    assert out.read_text() == "a; touch $HOME/x"
    assert provider.healthy()


def test_url_provider_without_a_command_never_reverts() -> None:
    provider = UrlProvider("http://127.0.0.1:9")
    assert provider.revert_policy == "none"
    assert not provider.healthy()
    with pytest.raises(VMProviderError, match="no revert command"):
        provider.revert()
    with pytest.raises(VMProviderError, match="empty"):
        UrlProvider("http://127.0.0.1:9", revert_command="  ")


def test_docker_provider_fails_at_once_with_the_reason() -> None:
    started = time.monotonic()
    with pytest.raises(VMProviderError, match="--provider docker: .*--provider qemu"):
        DockerProvider()
    assert time.monotonic() - started < 15


def test_auto_accel_picks_a_working_accelerator_and_says_why() -> None:
    choice = choose_accel("auto")
    assert choice.accel in ("kvm", "tcg")
    if choice.accel == "tcg":
        assert "falling back to TCG" in choice.reason
    assert choose_accel("tcg").accel == "tcg"


def test_each_vm_gets_a_loopback_address_with_the_guests_own_ports() -> None:
    """As OSWorld reaches a VM: its address and the fixed ports (DevTools on 9222 beside the server)."""
    host, ports = forward_address([5000, 9222, 8080])
    assert ipaddress.ip_address(host).is_loopback and host != "127.0.0.1"
    assert ports == {5000: 5000, 9222: 9222, 8080: 8080}
    other, _ = forward_address([5000, 9222, 8080])
    assert other != host


def test_a_port_taken_on_every_address_falls_back_to_free_ports_of_127_0_0_1() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # a wildcard listener holds this port on every loopback address
        taken.listen()
        port = taken.getsockname()[1]
        host, ports = forward_address([port], tries=3)
    assert host == "127.0.0.1" and ports[port] != port


def test_env_vm_needs_an_image() -> None:
    with pytest.raises(EnvConfigError, match="--vm-image"):
        EnvConfig("vm").arguments()
    assert EnvConfig("vm", vm_image="x.qcow2").arguments() == {"image": "x.qcow2"}


@pytest.mark.parametrize("args, message", [
    (["vm", "boot", "/nonexistent.qcow2"], "no image at /nonexistent.qcow2"),
    (["vm", "boot", "/nonexistent.qcow2", "--accel", "fast"], "use kvm or tcg or auto"),
    (["vm", "stop", "no-such-vm"], "no running VM named no-such-vm"),
    (["run", "--env", "vm", "hello"], "--env vm boots --vm-image"),
    (["run", "--env", "vm", "--vm-image", "/nonexistent.qcow2", "--backend", "scripted", "--script",
      "agent/cli/examples/write_note.scripted.json", "hello"], "cannot run: no image at /nonexistent.qcow2"),
])
def test_cli_mistakes_are_one_line_errors(args: list[str], message: str) -> None:
    done = subprocess.run([sys.executable, "-m", "agent", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert message in " ".join((done.stdout + done.stderr).split())
    assert "Traceback" not in done.stdout + done.stderr
