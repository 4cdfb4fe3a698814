"""`doctor --for COMMAND` checks what that command needs and only that; every failure says how to fix it."""

from __future__ import annotations

import json
import os
import threading
import time
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from typer.testing import CliRunner

from agent.cli import doctor
from agent.cli.app import app

ROOT = Path(__file__).resolve().parents[3]
REMOTE = "http://192.0.2.1:9/v1"
"""TEST-NET-1: never this machine, so no vLLM library checks; nothing answers there."""
X = {"Xvfb", "openbox", "xdotool", "wmctrl", "xdpyinfo", "dbus-run-session", "tkinter"}
BROWSER = {"chromium", "playwright"}
ENDPOINT = {"model", "serving", "model server"}
SERVING = {"model", "gpu", "vllm", "transformers", "tiktoken", "blobfile"}
QEMU = {"qemu-system-x86_64", "qemu-img", "kvm"}


class _Models(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"data": [{"id": "kimi-test"}]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """A real OpenAI-style /v1/models endpoint on 127.0.0.1 (a port the system picks)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize(("command", "env", "expected"), [
    ("run", None, {"display", "xdpyinfo", "tkinter", *ENDPOINT}),
    ("run", "xvfb", X | ENDPOINT),
    ("run", "browser", BROWSER | ENDPOINT),
    ("run", "vm", QEMU | ENDPOINT),
    ("run", "osworld", {"environment", *ENDPOINT}),
    ("eval", None, X | BROWSER | ENDPOINT | {"libreoffice", "osworld extra"}),
    ("eval", "browser", BROWSER | ENDPOINT | {"libreoffice", "osworld extra"}),
    ("ground", None, ENDPOINT),
    ("serve", None, SERVING),
    ("vm", None, QEMU | {"mmdebstrap", "mkfs.ext4"}),
    ("view", None, {"av (PyAV)"}),
    ("record", None, {"display", "pynput"}),
    ("replay", None, {"display", "xdpyinfo", "tkinter"}),
    ("replay", "browser", BROWSER),
])
def test_each_command_gets_exactly_its_checks(command: str, env: str | None, expected: set[str]) -> None:
    names = [check.name for check in doctor.run_checks(REMOTE, command=command, env=env)]
    assert len(names) == len(set(names)), names
    assert set(names) == expected


def test_all_is_every_command_once() -> None:
    names = [check.name for check in doctor.run_checks(REMOTE, command="all")]
    assert len(names) == len(set(names)), names
    others = {"display", "libreoffice", "osworld extra", "mmdebstrap", "mkfs.ext4", "av (PyAV)", "pynput",
              "model server"}
    assert set(names) == X | BROWSER | SERVING | QEMU | others


def test_vllm_libraries_only_for_serve_or_a_local_endpoint(served: str) -> None:
    for command in ("run", "eval", "ground"):
        assert not {"vllm", "gpu"} & {c.name for c in doctor.run_checks(REMOTE, command=command)}
        assert {"vllm", "gpu"} <= {c.name for c in doctor.run_checks(served, command=command)}
    assert {"vllm", "gpu"} <= {c.name for c in doctor.run_checks(REMOTE, command="serve")}
    assert not {"vllm", "gpu"} & {c.name for c in doctor.run_checks(served, command="replay")}


def test_a_machine_without_tools_gets_fixes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no program is found
    monkeypatch.setenv("KIMI_AGENT_CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setattr(doctor, "find_spec", lambda name: None)
    real_version = doctor.metadata.version

    def version(name: str) -> str:
        if name in ("av", *doctor.OSWORLD_LIBRARIES):
            raise doctor.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(doctor.metadata, "version", version)
    checks = {check.name: check for check in doctor.run_checks(REMOTE, command="all")}
    failed = [check for check in checks.values() if check.status == "fail"]
    assert all(check.fix for check in failed), [c for c in failed if not c.fix]
    fixes = {
        "chromium": "apt-get install chromium", "playwright": "pip install playwright",
        "libreoffice": "apt-get install libreoffice", "osworld extra": "'.[osworld]'",
        "av (PyAV)": "'.[video]'",
        "qemu-system-x86_64": "apt-get install qemu-system-x86", "qemu-img": "apt-get install qemu-utils",
        "mmdebstrap": "apt-get install mmdebstrap", "mkfs.ext4": "apt-get install e2fsprogs",
        "Xvfb": "apt-get install xvfb", "pynput": "pip install pynput",
    }
    for name, fix in fixes.items():
        assert checks[name].status == "fail" and fix in checks[name].fix, checks[name]
    assert "pandas" in checks["osworld extra"].detail


def test_the_osworld_libraries_are_the_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["osworld"]
    assert set(doctor.OSWORLD_LIBRARIES) == {Requirement(line).name for line in extra}


def test_chromium_is_the_browser_envs_own(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    chromium = tmp_path / "my-chromium"
    chromium.write_text("#!/bin/sh\n")
    chromium.chmod(0o644)
    monkeypatch.setenv("KIMI_AGENT_CHROMIUM", str(chromium))
    check = doctor.check_chromium()
    assert check.status == "fail" and "not executable" in check.detail and "KIMI_AGENT_CHROMIUM" in check.fix
    chromium.chmod(0o755)
    check = doctor.check_chromium()
    assert check.status == "ok" and check.detail == f"{chromium} (from KIMI_AGENT_CHROMIUM)"


def test_kvm_is_only_booted_when_asked() -> None:
    started = time.monotonic()
    cheap = doctor.check_kvm(probe=False)
    assert time.monotonic() - started < 0.5
    assert cheap.status == ("ok" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "warn")
    if cheap.status != "ok" or not os.path.exists("/usr/bin/qemu-system-x86_64"):
        return  # the probe's own outcome on a machine without KVM is the cheap check's, above
    probed = doctor.check_kvm(probe=True)  # a real disk-less guest, bounded by accel.PROBE_TIMEOUT
    assert probed.status in ("ok", "warn") and probed.detail
    assert probed.status == "ok" or "TCG" in probed.detail


def test_the_command_line(served: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["doctor", "--for", "ground", "--base-url", served], env={"COLUMNS": "200"})
    assert "serves kimi-test" in done.output
    assert "chromium" not in done.output and "display" not in done.output
    done = runner.invoke(app, ["doctor", "--for", "view"], env={"COLUMNS": "200"})
    assert done.exit_code == 0 and done.output.splitlines() and "av (PyAV)" in done.output
    for wrong in (["--for", "bogus"], ["--env", "nowhere"]):
        done = runner.invoke(app, ["doctor", *wrong])
        assert done.exit_code == 2 and "Traceback" not in done.output and wrong[1] in done.output
    monkeypatch.setenv("PATH", str(tmp_path))
    done = runner.invoke(app, ["doctor", "--for", "vm"], env={"COLUMNS": "200"})
    assert done.exit_code == 1 and "apt-get install qemu-utils" in done.output
