"""Model-server faults injected for real: a REPLAY server process answering with each fault class,
killed and restarted mid-episode, or killed for good, under the backend, `kimi-agent run` and `eval`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.backends.base import BackendResponseError, BackendTimeout, BackendUnavailable
from agent.backends.chat import Message, Sampling, TextPart
from agent.backends.openai_compat import OpenAICompatBackend
from agent.trajectory.store import read_trajectory
from environments.settings import SettingError
from environments.tasks.suite import SOLUTIONS, SUITE
from environments.virtual_desktop import VirtualDesktop
from tests.faults.conftest import DONE, MOVE, ROOT, moves, run_env

MESSAGES = [Message(role="system", content="s"), Message(role="user", content=(TextPart(text="do it"),))]


def backend(server, **kwargs) -> OpenAICompatBackend:
    return OpenAICompatBackend(server.base_url, "replay", **{"backoff": 0.05, "timeout": 1.0, **kwargs})


@pytest.mark.parametrize("plan", ["500", "502", "503x2", "504", "429", "malformed", "truncated", "close", "hang"])
def test_a_passing_fault_is_retried_and_the_reply_is_the_recorded_one(model_server, plan: str) -> None:
    server = model_server(["the reply"], "--faults", plan, "--hang-seconds", "20")
    started = time.monotonic()
    completion = backend(server).complete(MESSAGES, Sampling())
    assert completion.text == "the reply"
    faults = 2 if plan == "503x2" else 1
    assert server.request_count() == faults + 1
    if plan == "429":
        assert time.monotonic() - started >= 0.9  # Retry-After: 1 was honoured


@pytest.mark.parametrize(("plan", "error", "message"), [
    ("503x9", BackendResponseError, "answered 503 after 3 tries: injected fault 503"),
    ("429x9", BackendResponseError, "answered 429 after 3 tries"),
    ("malformedx9", BackendResponseError, "not a chat completion .* \\(3 tries\\); is --base-url"),
    ("truncatedx9", BackendUnavailable, "cannot reach .* after 3 tries .*is the model server running"),
    ("closex9", BackendUnavailable, "cannot reach .* after 3 tries"),
    ("hangx9", BackendTimeout, "did not answer within 0.5 s, 3 tries"),
])
def test_a_lasting_fault_ends_in_a_typed_error_that_says_what_and_how_often(model_server, plan, error, message) -> None:
    server = model_server(["never sent"], "--faults", plan, "--hang-seconds", "20")
    with pytest.raises(error, match=message):
        backend(server, max_retries=2, timeout=0.5).complete(MESSAGES, Sampling())
    assert server.request_count() == 3


def test_a_bad_request_is_not_retried(model_server) -> None:
    server = model_server(["never sent"], "--faults", "400")
    with pytest.raises(BackendResponseError, match="answered 400: injected fault 400") as err:
        backend(server).complete(MESSAGES, Sampling())
    assert err.value.status == 400 and server.request_count() == 1


def test_a_cut_off_reply_comes_back_flagged(model_server) -> None:
    server = model_server(["the reply"], "--faults", "length")
    assert backend(server).complete(MESSAGES, Sampling()).cut_off
    assert backend(server).complete(MESSAGES, Sampling()).text == "the reply"


def test_retry_settings_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("KIMI_AGENT_MODEL_RETRIES", "7")
    monkeypatch.setenv("KIMI_AGENT_MODEL_TIMEOUT", "12.5")
    monkeypatch.setenv("KIMI_AGENT_MODEL_BACKOFF", "0")
    client = OpenAICompatBackend("http://127.0.0.1:9/v1", "m")
    assert (client.max_retries, client.backoff, client._client.timeout.read) == (7, 0.0, 12.5)
    monkeypatch.setenv("KIMI_AGENT_MODEL_RETRIES", "many")
    with pytest.raises(SettingError, match="KIMI_AGENT_MODEL_RETRIES='many' is not a whole number"):
        OpenAICompatBackend("http://127.0.0.1:9/v1", "m")


# --- kimi-agent run ---------------------------------------------------------------------------

@pytest.fixture
def desktop():
    with VirtualDesktop(800, 600) as d:
        yield d


def kimi_agent_run(desktop: VirtualDesktop, base_url: str, record: Path, *args: str, **variables: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "desktop", "--base-url", base_url, "--model", "replay",
         "--record", str(record), "--max-unchanged", "0", *args, "move around"],
        env={**desktop.env, **variables}, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def only_episode(record: Path):
    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.torn_lines == 0
    assert [s.index for s in trajectory.steps] == list(range(len(trajectory.steps)))
    assert all(trajectory.frame_path(s).stat().st_size > 0 for s in trajectory.steps)
    return trajectory


@pytest.mark.desktop
def test_run_rides_out_every_fault_class_in_one_episode(desktop, model_server, tmp_path: Path) -> None:
    server = model_server([MOVE, DONE], "--faults", "503,429,malformed,truncated,close,hang,length", "--hang-seconds", "30")
    proc = kimi_agent_run(desktop, server.base_url, tmp_path / "rec", "--max-steps", "5",
                          KIMI_AGENT_MODEL_RETRIES="8", KIMI_AGENT_MODEL_BACKOFF="0.05", KIMI_AGENT_MODEL_TIMEOUT="2")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    trajectory = only_episode(tmp_path / "rec")
    assert trajectory.info.outcome == "done" and len(trajectory.steps) == 2
    [cut_off] = trajectory.steps[0].attempts  # the cut-off reply was fed back, the next one used
    assert "cut off at max_tokens" in cut_off.error
    assert server.request_count() == 7 + 2


@pytest.mark.desktop
def test_run_carries_on_when_the_model_server_dies_mid_episode_and_comes_back(desktop, model_server, tmp_path: Path) -> None:
    first = model_server(moves(100))
    proc = kimi_agent_run(desktop, first.base_url, tmp_path / "rec", "--max-steps", "100")
    first.wait_for_requests(3)
    first.kill()
    time.sleep(1.0)  # the run meets a refused connection and backs off (defaults: ~15 s of retries)
    second = model_server([*moves(1, start=200), DONE], port=first.port)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    assert "outcome: done" in out
    trajectory = only_episode(tmp_path / "rec")
    assert trajectory.info.outcome == "done" and trajectory.info.error is None
    assert len(trajectory.steps) >= 4 and all(s.error is None for s in trajectory.steps)
    assert second.request_count() == 2


@pytest.mark.desktop
def test_run_fails_clearly_when_the_model_server_stays_dead(desktop, model_server, tmp_path: Path) -> None:
    server = model_server(moves(100))
    proc = kimi_agent_run(desktop, server.base_url, tmp_path / "rec", "--max-steps", "100",
                          KIMI_AGENT_MODEL_RETRIES="2", KIMI_AGENT_MODEL_BACKOFF="0.2")
    server.wait_for_requests(3)
    server.kill()
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1, out
    flat = " ".join(out.split())
    assert "outcome: error" in flat and "cannot reach" in flat and "after 3 tries" in flat
    assert "is the model server running" in flat
    trajectory = only_episode(tmp_path / "rec")
    assert trajectory.info.outcome == "error" and "model backend: cannot reach" in trajectory.info.error
    assert len(trajectory.steps) >= 2  # every step finished before the kill reads back


# --- kimi-agent eval --------------------------------------------------------------------------

@pytest.mark.browser
def test_eval_errors_only_the_task_whose_model_calls_fail_and_retries_it_fresh(model_server, tmp_path: Path) -> None:
    """`Book the delivery` fails on both attempts; `Open the Pricing page` only on the first."""
    server = model_server(None, "--solutions", str(SOLUTIONS), "--fault", "Book the delivery=503x4",
                          "--fault", "Open the Pricing page=503x2")
    results = tmp_path / "r"
    done = subprocess.run(
        [sys.executable, "-m", "agent", "eval", "--base-url", server.base_url, "--model", "replay", "--results",
         str(results), "--tasks", str(SUITE / "examples" / "chrome"), "--retries", "1"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=400,
        env=run_env(KIMI_AGENT_MODEL_RETRIES="1", KIMI_AGENT_MODEL_BACKOFF="0.05"),
    )
    assert (results / "summary.json").exists(), done.stdout + done.stderr
    summary = json.loads((results / "summary.json").read_text())
    by_id = {t["task_id"]: t for t in summary["tasks"]}
    assert (summary["scheduled"], summary["finished"], summary["errored"]) == (4, 3, 1), done.stdout + done.stderr
    assert summary["mean_score"] == pytest.approx(3 / 4)  # the errored task stays in the denominator
    assert by_id["book-tomorrow"]["status"] == "errored" and "503" in by_id["book-tomorrow"]["error"]
    assert by_id["open-pricing-page"]["score"] == 1.0
    assert {by_id[t]["score"] for t in ("scroll-to-contact", "sign-up-form")} == {1.0}
    chrome = results / "chrome"
    book_log = (chrome / "book-tomorrow" / "log.txt").read_text()
    assert "attempt 1" in book_log and "attempt 2" in book_log and "model backend" in book_log
    assert (chrome / "book-tomorrow" / "error.txt").exists() and not (chrome / "book-tomorrow" / "result.txt").exists()
    pricing_log = (chrome / "open-pricing-page" / "log.txt").read_text()
    assert "errored: RuntimeError: model backend" in pricing_log and "attempt 2" in pricing_log
    assert (chrome / "open-pricing-page" / "result.txt").read_text().strip() == "1.0"
