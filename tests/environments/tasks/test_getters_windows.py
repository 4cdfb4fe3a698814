"""WindowsAgentArena's getters (windows_*.py) and its `update_browse_history_edge` step, against WAA's own.

Differential: differential/waa_getters.json holds, for each case of ours (a getter, its parameters and
what a recording HTTP server answers as WAA's server would), what WAA's own getter sent and returned
(recorded by differential/waa_getters_record.py, which says how to re-record). Ours runs through our
real `VMClient` and `RemoteMachine` against the same server; the requests must match and the outcomes
agree: equal values (as JSON), or both raise (WAA's harness scores a raising getter 0; ours raises a
typed error there). With KIMI_AGENT_WAA_CHECKOUT set (and the oracle interpreter present), WAA's
getters are run again live and must still give what the file records.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from environments.remote.client import VMClient
from environments.remote.machine import RemoteMachine
from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks.context import TaskContext
from environments.tasks.errors import SetupError, UnsupportedError
from environments.tasks.machine import LocalMachine
from environments.tasks.model import Evaluator, SetupStep
from environments.tasks.registry import GETTERS, validated
from environments.tasks.rules import WAA_RULES
from environments.tasks.scoring import score
from environments.tasks.setup_steps import EMPTY_HISTORY_URL, run_steps
from tests.environments.tasks.differential.waa_getters_server import RecordingServer

HERE = Path(__file__).resolve().parent / "differential"
RECORDED = json.loads((HERE / "waa_getters.json").read_text())["cases"]
GETTER_CASES = [case for case in RECORDED if case["getter"] in GETTERS]
SETUP_CASES = [case for case in RECORDED if case["getter"] not in GETTERS]
ROOT = Path(__file__).resolve().parents[3]
ORACLE_PYTHON = ROOT / ".venv-waa-getters" / "bin" / "python"
AGE_TOLERANCE = 3
"""Seconds two runs' "visited N seconds ago" may differ by (each side's clock is read once per visit)."""


def _id(case: dict[str, Any]) -> str:
    return f"{case['getter']}/{case['name']}"


def normalized(request: dict[str, Any]) -> dict[str, Any]:
    """A request as WAA's server reads it: WAA's `execute_shell_command` leaves `shell` out of /execute's
    body, which its server reads as false; ours sends the false."""
    body = request.get("json")
    if request["route"] in ("/execute", "/setup/execute") and isinstance(body, dict) and "shell" not in body:
        return {**request, "json": {**body, "shell": False}}
    return request


def same(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where two recorded values differ; the ages in an uploaded History may differ by AGE_TOLERANCE."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if set(ours) != set(theirs):
            return [f"{path}: keys {sorted(ours)} != {sorted(theirs)}"]
        return [found for key in ours for found in same(ours[key], theirs[key], f"{path}.{key}")]
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} items != {len(theirs)}"]
        return [found for i, (a, b) in enumerate(zip(ours, theirs)) for found in same(a, b, f"{path}[{i}]")]
    if ".file." in path and isinstance(ours, int) and isinstance(theirs, int) and not isinstance(ours, bool):
        return [] if abs(ours - theirs) <= AGE_TOLERANCE else [f"{path}: {ours} != {theirs}"]
    if type(ours) is not type(theirs) or ours != theirs:
        return [f"{path}: {ours!r} != {theirs!r}"]
    return []


def _context(url: str, tmp_path: Path) -> TaskContext:
    machine = RemoteMachine(VMClient(url, retries=0, timeout=30), tmp_path / "cache", (1920, 1080))
    return TaskContext(machine, tmp_path / "cache", tmp_path / "downloads")


def ours_for(case: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Our getter's outcome and requests for a recorded case, in the recording's shape."""
    entry = GETTERS[case["getter"]]
    params = validated(entry, case["params"], f"getter {case['getter']}")
    with RecordingServer(case["rules"]) as server:
        try:
            value = entry.fn(_context(server.url, tmp_path), params)
            found: dict[str, Any] = {"result": json.loads(json.dumps(value))}
        except UnsupportedError:
            raise
        except Exception as err:  # noqa: BLE001 - any raise is an outcome to compare
            found = {"raised": f"{type(err).__name__}: {err}"}
        return {**found, "requests": server.requests}


def assert_agree(ours: dict[str, Any], waa: dict[str, Any]) -> None:
    assert same([normalized(r) for r in ours["requests"]], [normalized(r) for r in waa["requests"]]) == []
    if "raised" in waa or "raised" in ours:
        assert "raised" in waa and "raised" in ours, (ours, waa)
    else:
        assert same(ours["result"], waa["result"]) == [], (ours["result"], waa["result"])


def test_every_windows_getter_is_recorded() -> None:
    """Each getter of windows_*.py has recorded cases, and every recorded case names a registered getter
    or the setup step."""
    windows = {name for name, entry in GETTERS.items()
               if entry.fn.__module__.rsplit(".", 1)[-1].startswith("windows_")}
    assert windows == {case["getter"] for case in GETTER_CASES}
    assert {case["getter"] for case in SETUP_CASES} == {"update_browse_history_edge"}


@pytest.mark.parametrize("case", GETTER_CASES, ids=_id)
def test_getter_matches_waa(case: dict[str, Any], tmp_path: Path) -> None:
    assert_agree(ours_for(case, tmp_path), case["waa"])


def _seed_empty_history(context: TaskContext, data: bytes) -> None:
    """Put the case's empty History where `context.fetch` finds OSWorld's (no network in tests)."""
    cached = context.downloads / f"{uuid.uuid5(uuid.NAMESPACE_URL, EMPTY_HISTORY_URL)}_history_empty.sqlite"
    cached.write_bytes(data)
    cached.with_name(cached.name + ".sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")


@pytest.mark.parametrize("case", SETUP_CASES, ids=_id)
def test_update_browse_history_edge_matches_waa(case: dict[str, Any], tmp_path: Path) -> None:
    """Same requests as WAA's step (the uploaded database compared by its rows). WAA logs a refused upload
    and still runs its `sudo chown` line; so does ours, then reports the refusal as a `SetupError` caused
    by the server's answer, which WAA's rules (`run_steps(rules=...)`) log and carry on from."""
    import base64

    with RecordingServer(case["rules"]) as server:
        context = _context(server.url, tmp_path)
        _seed_empty_history(context, base64.b64decode(case["empty_b64"]))
        step = SetupStep(type=case["getter"], parameters=case["params"])
        try:
            run_steps([step], context)
            refused = False
        except SetupError:
            refused = True
        requests = server.requests
    upload = next(rule for rule in case["rules"] if rule["route"] == "/setup/upload")
    assert refused == (upload["status"] != 200)
    assert same([normalized(r) for r in requests], [normalized(r) for r in case["waa"]["requests"]]) == []


@pytest.mark.parametrize("name", sorted({case["getter"] for case in RECORDED}))
def test_windows_getters_are_unsupported_on_the_local_machine(name: str, tmp_path: Path) -> None:
    """On our Linux LocalMachine a Windows getter means nothing: `UnsupportedError`, not a guess."""
    machine = LocalMachine(home=tmp_path / "home", cache_dir=tmp_path / "cache", screen_size=(1280, 800))
    context = TaskContext(machine, tmp_path / "cache", tmp_path / "downloads")
    params = next(case["params"] for case in RECORDED if case["getter"] == name)
    with pytest.raises(UnsupportedError):
        if name in GETTERS:
            GETTERS[name].fn(context, validated(GETTERS[name], params, name))
        else:
            _seed_empty_history(context, b"SQLite format 3\x00")
            run_steps([SetupStep(type=name, parameters=params)], context)


TIMER = {"hours": 0, "minutes": 1, "seconds": 0}


def test_a_check_the_server_cannot_serve_is_unsupported(tmp_path: Path) -> None:
    """A server that answers a WAA check 501 (it cannot read that Windows state) makes the task
    unsupported there, rather than scored on WAA's "False"."""
    rules = [{"route": "/check_if_timer_started", "status": 501, "json": {"status": "error"}}]
    entry = GETTERS["check_if_timer_started"]
    with RecordingServer(rules) as server, pytest.raises(UnsupportedError):
        entry.fn(_context(server.url, tmp_path), validated(entry, TIMER, "t"))


@pytest.mark.parametrize(("status", "expected"), [(200, 1.0), (400, 0.0), (500, 0.0)])
def test_a_waa_clock_task_scores_through_the_evaluator(status: int, expected: float, tmp_path: Path) -> None:
    """A WAA clock task's evaluator as its file writes it: the server's 200 is "True" (1), its 400 and
    its 500 (the Clock app could not be read) are "False" (0), as WAA's harness scores them."""
    evaluator = Evaluator.model_validate({
        "func": "exact_match",
        "result": {"type": "check_if_timer_started", "hours": 0, "minutes": 30, "seconds": 0},
        "expected": {"type": "rule", "rules": {"expected": "True"}}})
    rules = [{"route": "/check_if_timer_started", "status": status, "json": {"status": "x"}}]
    with RecordingServer(rules) as server:
        assert score(evaluator, _context(server.url, tmp_path), False, "clock", WAA_RULES) == expected
        assert server.requests == [{"method": "POST", "route": "/check_if_timer_started",
                                    "json": {"hours": 0, "minutes": 30, "seconds": 0}}]


def test_a_raising_waa_getter_scores_zero_by_waas_rules(tmp_path: Path) -> None:
    """`is_file_saved_desktop` without a Desktop path raises, as WAA's getter does; WAA's rules score it 0."""
    evaluator = Evaluator.model_validate({
        "func": "exact_match",
        "result": {"type": "is_file_saved_desktop", "filename": "a.txt", "textcontent": "x"},
        "expected": {"type": "rule", "rules": {"expected": "true"}}})
    rules = [{"route": "/desktop_path", "status": 404, "json": {"error": "no desktop"}}]
    with RecordingServer(rules) as server:
        assert score(evaluator, _context(server.url, tmp_path), False, "saved", WAA_RULES) == 0.0


@pytest.mark.desktop
def test_our_linux_server_makes_windows_checks_unsupported(tmp_path: Path) -> None:
    """Against our own VM server (a Linux guest): the Clock and Explorer checks are unsupported."""
    from environments.virtual_desktop import VirtualDesktop
    from tests.environments.remote.conftest import VM

    with VirtualDesktop(640, 480) as desktop:
        server = VM(desktop, tmp_path / "root")
        try:
            context = TaskContext(RemoteMachine(server.client(), tmp_path / "cache", (640, 480)),
                                  tmp_path / "cache", tmp_path / "downloads")
            checks = (("check_if_timer_started", TIMER), ("is_details_view", {"folder_path": "/"}))
            for name, params in checks:
                with pytest.raises(UnsupportedError):
                    GETTERS[name].fn(context, validated(GETTERS[name], params, name))
        finally:
            server.stop()


@pytest.mark.skipif(not os.environ.get("KIMI_AGENT_WAA_CHECKOUT") or not ORACLE_PYTHON.exists(),
                    reason="needs KIMI_AGENT_WAA_CHECKOUT (WAA's src/win-arena-container), .venv-waa-getters")
def test_waa_still_gives_what_is_recorded_and_ours_agrees_live(tmp_path: Path) -> None:
    """Re-runs WAA's getters on freshly built cases: WAA's outcomes are still the committed ones, and
    ours agrees with WAA on the fresh inputs too (archives are encrypted with fresh salts each time)."""
    run = subprocess.run([str(ORACLE_PYTHON), str(HERE / "waa_getters_record.py")], capture_output=True,
                         text=True, timeout=300, check=True)
    live = {_id(case): case for case in json.loads(run.stdout)["cases"]}
    assert set(live) == {_id(case) for case in RECORDED}
    for index, case in enumerate(RECORDED):
        now = live[_id(case)]
        assert_agree(now["waa"], case["waa"])
        if case["getter"] in GETTERS:
            assert_agree(ours_for(now, tmp_path / str(index)), now["waa"])
