"""Records what WindowsAgentArena's own getters send and return for our cases (waa_getters_cases.py).

Run by an interpreter that can import WAA's getter modules (requests, numpy, Pillow, py7zr 0.22 as in
WAA's image, lxml, pandas, LnkParse3; Playwright and PyDrive stubbed by ../oracle_stubs):

    python -m venv .venv-waa-getters
    .venv-waa-getters/bin/pip install requests numpy pillow "py7zr==0.22.0" lxml cssselect pandas \\
        LnkParse3 requests-toolbelt
    KIMI_AGENT_WAA_CHECKOUT=/path/to/WindowsAgentArena/src/win-arena-container \\
        .venv-waa-getters/bin/python tests/environments/tasks/differential/waa_getters_record.py \\
        > tests/environments/tasks/differential/waa_getters.json

Each case runs WAA's getter function (`get_<type>`, as WAA's DesktopEnv looks it up) with WAA's own
`PythonController` pointed at a `RecordingServer` that answers with the case's rules; the setup case
runs WAA's `SetupController._update_browse_history_edge_setup`. WAA's modules are loaded from their
files without their packages' `__init__` (which imports every getter's heavy dependencies).
This file imports nothing of the project: it runs in another interpreter.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MODULES = ("fileexplorer", "file", "microsoftpaint", "windows_clock", "settings", "edge", "msedge", "chrome")
"""WAA's getter modules (desktop_env/evaluators/getters) that hold the getters under test."""


def _package(name: str, path: Path | None) -> None:
    module = types.ModuleType(name)
    module.__path__ = [str(path)] if path else []  # type: ignore[attr-defined]
    sys.modules[name] = module


def load_waa(checkout: Path) -> tuple[dict[str, Any], Any]:
    """WAA's getter functions by getter name, and its SetupController class."""
    client = checkout / "client"
    sys.path[:0] = [str(HERE / "oracle_stubs"), str(client)]
    root = client / "desktop_env"
    _package("desktop_env", root)
    _package("desktop_env.evaluators", root / "evaluators")
    _package("desktop_env.evaluators.getters", root / "evaluators" / "getters")
    _package("desktop_env.controllers", root / "controllers")
    _package("desktop_env.envs", root / "envs")
    _package("desktop_env.evaluators.metrics", None)
    utils = types.ModuleType("desktop_env.evaluators.metrics.utils")
    utils.compare_urls = lambda *args, **kwargs: None  # type: ignore[attr-defined]  # setup.py imports it
    sys.modules[utils.__name__] = utils
    getters: dict[str, Any] = {}
    for name in MODULES:
        module = importlib.import_module(f"desktop_env.evaluators.getters.{name}")
        getters.update({attr[4:]: getattr(module, attr) for attr in dir(module) if attr.startswith("get_")})
    setup = importlib.import_module("desktop_env.controllers.setup")
    return getters, setup


class Env:
    """The parts of WAA's DesktopEnv its getters read: the controller, the guest's platform (asked
    afresh each time, as its property does) and the cache folder."""

    def __init__(self, controller: Any, cache_dir: str) -> None:
        self.controller = controller
        self.cache_dir = cache_dir

    @property
    def vm_platform(self) -> str:
        return self.controller.get_vm_platform()


def outcome(call: Any) -> dict[str, Any]:
    try:
        value = call()
    except Exception as err:  # noqa: BLE001 - any raise is an outcome to compare
        return {"raised": f"{type(err).__name__}: {err}"[:300]}
    return {"result": json.loads(json.dumps(value))}


def record_getter(case: dict[str, Any], getters: dict[str, Any], controller_class: Any,
                  server_class: Any) -> dict[str, Any]:
    with server_class(case["rules"]) as server, tempfile.TemporaryDirectory() as cache:
        controller = controller_class("127.0.0.1")
        controller.http_server = server.url
        config = {"type": case["getter"], **case["params"]}
        found = outcome(lambda: getters[case["getter"]](Env(controller, cache), config))
        return {**case, "waa": {**found, "requests": server.requests}}


def record_setup(case: dict[str, Any], setup: Any, server_class: Any) -> dict[str, Any]:
    """WAA's step reads its empty database from desktop_env/assets under the working folder and opens
    its own PythonController on port 5000: both are pointed at the case's (the folder and the server)."""
    import base64

    with server_class(case["rules"]) as server, tempfile.TemporaryDirectory() as folder:
        assets = Path(folder) / "desktop_env" / "assets"
        assets.mkdir(parents=True)
        (assets / "history_empty.sqlite").write_bytes(base64.b64decode(case["empty_b64"]))
        original = setup.PythonController

        class Controller(original):  # type: ignore[misc,valid-type]
            def __init__(self, vm_ip: str) -> None:
                super().__init__(vm_ip)
                self.http_server = server.url

        controller = setup.SetupController("127.0.0.1", folder)
        controller.http_server = server.url
        controller.http_server_setup_root = server.url + "/setup"
        setup.PythonController = Controller
        cwd = os.getcwd()
        os.chdir(folder)
        try:
            found = outcome(lambda: getattr(controller, f"_{case['getter']}_setup")(**case["params"]))
        finally:
            os.chdir(cwd)
            setup.PythonController = original
        return {**case, "waa": {**found, "requests": server.requests}}


def main() -> None:
    checkout = Path(os.environ.get("KIMI_AGENT_WAA_CHECKOUT", ""))
    if not (checkout / "client" / "desktop_env").is_dir():
        sys.exit("set KIMI_AGENT_WAA_CHECKOUT to WAA's src/win-arena-container folder")
    sys.path.insert(0, str(HERE))
    import waa_getters_cases as cases
    from waa_getters_server import RecordingServer

    logging.disable(logging.CRITICAL)
    out = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):  # WAA's getters print
        getters, setup = load_waa(checkout)
        from desktop_env.controllers.python import PythonController

        recorded = [record_getter(case, getters, PythonController, RecordingServer)
                    for case in cases.getter_cases()]
        recorded += [record_setup(case, setup, RecordingServer) for case in cases.setup_cases()]
    json.dump({"command": "KIMI_AGENT_WAA_CHECKOUT=… .venv-waa-getters/bin/python "
                          "tests/environments/tasks/differential/waa_getters_record.py > …/waa_getters.json",
               "cases": recorded}, out, indent=1, sort_keys=True)
    out.write("\n")


if __name__ == "__main__":
    main()
