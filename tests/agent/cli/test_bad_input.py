"""Every user mistake is a short error with a non-zero status, never a traceback: a corpus of wrong inputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli.app import app
from environments.virtual_desktop import VirtualDesktop

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = str(ROOT / "agent" / "cli" / "examples" / "write_note.scripted.json")
SOLUTIONS = str(ROOT / "environments" / "tasks" / "suite" / "solutions")


@pytest.fixture(scope="module")
def bad(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Wrong things to point commands at: a folder, a binary file, broken JSON, a plain file."""
    root = tmp_path_factory.mktemp("bad")
    (root / "folder").mkdir()
    (root / "empty-results").mkdir()
    (root / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (root / "broken.json").write_text('{"replies": [')
    (root / "plain.txt").write_text("just text\n")
    return root


def closed_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/v1"


# (arguments with {bad} for the corpus folder, words the message must contain)
CORPUS: list[tuple[list[str], str]] = [
    (["parse", "-f", "{bad}/missing.txt"], "No such file"),
    (["parse", "-f", "{bad}/folder"], "is a folder"),
    (["parse", "-f", "{bad}/binary.bin"], "not UTF-8 text"),
    (["parse", "--width", "0"], "--width"),
    (["run", "--env", "browser", "--url", "not-a-url", "x"], "not a page address"),
    (["run", "--env", "xvfb", "--size", "0x0", "x"], "each side must be"),
    (["run", "--env", "xvfb", "--size", "big", "x"], "WIDTHxHEIGHT"),
    (["run", "--env", "moon", "x"], "--env"),
    (["run", "--env", "xvfb", "--launch", "no-such-program", "x"], "no-such-program: program not found"),
    (["run", "--env", "xvfb", "--launch", "xterm -e 'unclosed", "x"], "No closing quotation"),
    (["run", "--env", "xvfb", "--url", "https://example.org", "x"], "only with --env browser"),
    (["run", "--env", "desktop", "--launch", "xterm", "x"], "only with --env xvfb"),
    (["run", "--base-url", "not-a-url", "x"], "not an http(s) URL"),
    (["run", "--extra-body", '{"messages": []}', "x"], "cannot replace the messages"),
    (["run", "--env", "xvfb", "--base-url", "{closed}", "x"], "nothing answers"),
    (["run", "--env", "osworld", "x"], "--vm-url"),
    (["run", "--env", "xvfb", "--backend", "scripted", "--script", "{bad}/missing.json", "x"],
     "cannot read the script"),
    (["run", "--env", "xvfb", "--backend", "scripted", "--script", "{bad}/broken.json", "x"],
     "cannot read the script"),
    (["run", "--env", "xvfb", "--record", "{bad}/plain.txt", "--backend", "scripted", "--script", SCRIPT,
      "x"], "is a file"),
    (["run", "--env", "xvfb", "--policy", "{bad}/binary.bin", "--backend", "scripted", "--script", SCRIPT,
      "x"], "cannot run"),
    (["eval", "--report", "{bad}/missing"], "no task results"),
    (["eval", "--report", "{bad}/empty-results"], "no task results"),
    (["eval", "--compare", "{bad}/empty-results"], "only with --report"),
    (["eval", "--out", "{bad}/page.html"], "only with --report"),
    (["eval", "--size", "big"], "WIDTHxHEIGHT"),
    (["eval", "--env", "moon"], "--env"),
    (["eval", "--base-url", "{closed}", "--results", "{bad}/r-closed"], "nothing answers"),
    (["eval", "--env", "osworld", "--vm-urls-file", "{bad}/missing.txt"], "cannot read"),
    (["eval", "--results", "{bad}/plain.txt", "--backend", "scripted", "--script", SOLUTIONS], "is a file"),
    (["eval", "--tasks", "{bad}/missing.json", "--backend", "scripted", "--script", SOLUTIONS,
      "--results", "{bad}/r-missing"], "no such file"),
    (["eval", "--tasks", "{bad}/binary.bin", "--backend", "scripted", "--script", SOLUTIONS,
      "--results", "{bad}/r-binary"], "binary.bin"),
    (["eval", "--grounding", "{bad}/missing", "--base-url", "{closed}"], "missing"),
    (["ground", "{bad}/missing.png", "the OK button"], "cannot read"),
    (["ground", "{bad}/binary.bin", "the OK button"], "cannot read"),
    (["ground", "{bad}/folder", "the OK button"], "cannot read"),
    (["ground", "{bad}/plain.txt", "the OK button", "--base-url", "{closed}"], "cannot read"),
    (["view", "{bad}/missing"], "not a folder"),
    (["view", "{bad}/folder"], "no episode folder"),
    (["replay", "{bad}/missing"], "no episode there"),
    (["replay", "{bad}/binary.bin"], "no episode there"),
    (["record", "{bad}", "--max-seconds", "1"], "not empty"),
    (["record", "{bad}/new-recording", "--stop-hotkey", "ctrl+nokey"], "--stop-hotkey"),
    (["export", "{bad}/missing", "--out", "{bad}/out.json"], "not a folder"),
    (["export", "{bad}/folder", "--out", "{bad}/out.json"], "no episode folder"),
    (["export", "{bad}/folder", "--out", "{bad}/out.json", "--format", "csv"], "sharegpt or grounding"),
    (["tasks", "check", "{bad}/missing"], "no such file"),
    (["tasks", "check", "{bad}/binary.bin"], "binary.bin"),
    (["tasks", "check", "{bad}/folder"], "no task files"),
    (["import", "{bad}/missing", "{bad}/imported"], "no traj.jsonl"),
    (["serve", "--port", "eighty"], "--port"),
    (["no-such-command"], "No such command"),
]


@pytest.mark.parametrize("args,words", CORPUS, ids=[" ".join(a)[:60] for a, _ in CORPUS])
def test_a_wrong_input_is_a_short_error_not_a_traceback(args: list[str], words: str, bad: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    closed = closed_url()
    argv = [a.replace("{bad}", str(bad)).replace("{closed}", closed) for a in args]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code != 0, result.output
    assert words in " ".join(result.output.replace("│", " ").split()), result.output


STAND_IN = [sys.executable, "-m", "agent.backends.scripted_server"]


def stand_in(*args: str) -> subprocess.Popen[str]:
    """The scripted stand-in model server on a free port; its first line of output names the port."""
    return subprocess.Popen([*STAND_IN, *args, "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)


def kimi_agent(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, **kwargs)


def without_root_powers() -> list[str]:
    """A command prefix under which chmod 000 holds, even for root (it drops the capabilities ignoring it)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None, reason="root needs setpriv")
def test_unreadable_files_and_folders_are_short_errors(tmp_path: Path) -> None:
    reply, folder = tmp_path / "reply.txt", tmp_path / "locked"
    reply.write_text("## Action:\nx\n")
    folder.mkdir()
    (folder / "task.json").write_text("{}")
    reply.chmod(0)
    folder.chmod(0)
    try:
        for args, words in ((["parse", "-f", str(reply)], str(reply)),
                            (["tasks", "check", str(folder)], str(folder)),
                            (["view", str(folder)], str(folder)),
                            (["export", str(folder), "--out", str(tmp_path / "out.json")], str(folder))):
            done = subprocess.run([*without_root_powers(), sys.executable, "-m", "agent", *args], cwd=ROOT,
                                  capture_output=True, text=True, timeout=180,
                                  env={**os.environ, "COLUMNS": "300"})
            out = done.stdout + done.stderr
            assert done.returncode != 0 and "Traceback" not in out and words in out, out
    finally:
        folder.chmod(0o755)
        reply.chmod(0o644)


def test_the_stand_in_server_on_a_busy_port_says_so() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run([*STAND_IN, "--always", "x", "--port", str(port)], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"cannot listen on 127.0.0.1:{port}: Address already in use"


def test_an_unreachable_page_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    page = closed_url().removesuffix("v1")  # as offline: nothing answers there
    done = kimi_agent("run", "--env", "browser", "--url", page, "--size", "320x240",
                      "--backend", "scripted", "--script", SCRIPT, "--record", str(tmp_path), "x")
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert f"cannot run: cannot open {page}: Page.goto: net::ERR_CONNECTION_REFUSED" in done.stdout


def test_a_missing_launch_program_is_refused_at_once() -> None:
    started = time.monotonic()
    done = kimi_agent("run", "--env", "xvfb", "--launch", "no-such-program --flag", "x")
    assert done.returncode == 2 and "no-such-program: program not found on PATH" in done.stderr
    assert time.monotonic() - started < 60  # it waited 15 s for a window before, plus start-up under load


def test_an_unparseable_model_reply_is_one_log_line_not_a_traceback(tmp_path: Path) -> None:
    task = {"id": "garbled", "instruction": "Do something.", "config": [],
            "evaluator": {"func": "infeasible"}, "env": "static"}
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "garbled.json").write_text(json.dumps(task))
    server = stand_in("--always", "no code here")
    try:
        base_url = server.stdout.readline().split()[-1] + "/v1"
        done = kimi_agent("eval", "--tasks", str(tmp_path / "tasks"), "--env", "static", "--base-url",
                          base_url, "--model", "replay", "--results", str(tmp_path / "results"),
                          "--retries", "0", "--max-steps", "2")
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
    [log] = list((tmp_path / "results").rglob("log.txt"))
    text = log.read_text()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "errored: " in text and "Traceback" not in text, text


def test_ctrl_c_ends_run_with_one_line_and_status_130(tmp_path: Path) -> None:
    server = stand_in("--always", "## Action:\nWait.\n## Code:\n```python\ncomputer.wait()\n```",
                      "--latency", "30")
    try:
        base_url = server.stdout.readline().split()[-1] + "/v1"
        with VirtualDesktop(320, 240) as desktop:
            run = subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "--env", "desktop", "--base-url", base_url, "--model",
                 "replay", "--record", str(tmp_path), "--no-panic-key", "wait"],
                cwd=ROOT, env={**desktop.env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True,
            )
            deadline = time.monotonic() + 120
            while not list(tmp_path.rglob("episode.json")) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1)  # the model is asked now, and answers only after 30 s
            run.send_signal(signal.SIGINT)
            out, _ = run.communicate(timeout=60)
    finally:
        server.kill()
        server.wait()
        server.stdout.close()
    assert run.returncode == 130, out
    assert "Traceback" not in out and "outcome: interrupted" in out


@pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool")
def test_ctrl_c_ends_record_with_status_130(tmp_path: Path) -> None:
    with VirtualDesktop(320, 240) as desktop:
        record = subprocess.Popen([sys.executable, "-m", "agent", "record", str(tmp_path / "demo")], cwd=ROOT,
                                  env={**desktop.env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        assert "recording on" in record.stdout.readline()
        time.sleep(1)  # recording now
        record.send_signal(signal.SIGINT)
        out, _ = record.communicate(timeout=60)
    assert record.returncode == 130, out
    assert "Traceback" not in out and "(interrupted)" in out
