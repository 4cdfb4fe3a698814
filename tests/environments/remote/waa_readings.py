"""WindowsAgentArena's own client reading our VM server: the calls, the desktop they run on, and
the recording CI checks against (WAA's code is not in CI).

Re-record (needs WAA's checkout and .ci/setup-waa-client):

    .ci/setup-waa-client
    KIMI_AGENT_WAA_CHECKOUT=/path/to/src/win-arena-container \\
        .venv/bin/python -m tests.environments.remote.waa_readings
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from environments.remote.client import VMClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
RECORDING = HERE / "data" / "waa_client_readings.json"
WORKER = HERE / "waa_client_worker.py"
CLIENT_PYTHON = ROOT / ".venv-waa-client" / "bin" / "python"
CHECKOUT_VARIABLE = "KIMI_AGENT_WAA_CHECKOUT"
WINDOW = "waa-probe"
"""The title of the window the observation calls see active."""

CALLS: list[dict[str, Any]] = [
    {"method": "get_probe", "args": []},
    {"method": "get_vm_file_exists_in_path", "args": ["present.txt", "{root}"]},
    {"method": "get_vm_file_exists_in_path", "args": ["absent.txt", "{root}"]},
    {"method": "get_vm_file_exists_in_path", "args": ["folder", "{root}"]},
    {"method": "get_vm_folder_exists_in_path", "args": ["folder", "{root}"]},
    {"method": "get_vm_folder_exists_in_path", "args": ["present.txt", "{root}"]},
    {"method": "get_vm_folder_exists_in_path", "args": ["absent", "{root}"]},
    {"method": "get_accessibility_tree", "args": ["uia"]},
    {"method": "get_accessibility_tree", "args": []},
    {"method": "get_obs_winagent", "args": []},
    {"method": "execute_python_windows_command", "args": ["print('hello')"]},
    {"method": "update_computer", "args": [[[0, 0, 2, 2]], [0, 0, 4, 4], None, [1.0, 1.0], None]},
    {"method": "save_state", "args": ["kimi-state"]},
    {"method": "revert_to_snapshot", "args": ["kimi-state"]},
    {"method": "get_vm_is_directory_read_only_for_user", "args": ["{root}", "user"]},
    {"method": "get_vm_are_files_sorted_by_modified_time", "args": ["{root}"]},
    {"method": "get_vm_check_if_timer_started", "args": [0, 5, 0]},
    {"method": "get_vm_library_folders", "args": ["Documents"]},
]
"""Calls of WAA's `PythonController`, each on a route this issue changed; `{root}` is the served folder."""


def prepare(client: VMClient, root: Path, launch: Any, wait_for_window: Any) -> None:
    """The state the calls read: a file and a folder in `root`, and an active window titled `WINDOW`."""
    (root / "present.txt").write_text("here")
    (root / "folder").mkdir(exist_ok=True)
    launch(["xterm", "-T", WINDOW])
    wait_for_window(WINDOW)
    client.window("activate", WINDOW)


def waa_client_readings(url: str, root: Path, checkout: str) -> list[dict[str, Any]]:
    """What WAA's own client (run by `WORKER` in its own virtual environment) reads from `url`."""
    done = subprocess.run(
        [str(CLIENT_PYTHON), str(WORKER), url, str(root)], input=json.dumps(CALLS), capture_output=True,
        check=False, text=True, timeout=300,
        env={**os.environ, CHECKOUT_VARIABLE: checkout, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"WAA's client failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def main() -> None:
    import tempfile

    from environments.virtual_desktop import VirtualDesktop
    from tests.environments.remote.conftest import VM

    checkout = os.environ[CHECKOUT_VARIABLE]
    with VirtualDesktop(1280, 800) as desktop, tempfile.TemporaryDirectory() as folder:
        vm = VM(desktop, Path(folder))
        try:
            prepare(vm.client(), Path(folder), desktop.launch, desktop.wait_for_window)
            readings = waa_client_readings(vm.url, Path(folder), checkout)
        finally:
            vm.stop()
    RECORDING.parent.mkdir(exist_ok=True)
    RECORDING.write_text(json.dumps(readings, indent=1) + "\n")
    print(f"recorded {len(readings)} calls to {RECORDING.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
