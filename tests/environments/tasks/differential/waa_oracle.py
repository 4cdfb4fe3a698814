"""WindowsAgentArena's metric outcomes on our cases: run live (its checkout + .venv-waa) or read from the
recording (waa_metrics.json), and compared with ours, scored as the WAA profile scores them.

Re-record (after changing waa_cases.py, with .ci/setup-waa-oracle run once):
    KIMI_AGENT_WAA_CHECKOUT=/path/to/WindowsAgentArena/src/win-arena-container \\
        .venv/bin/python -m tests.environments.tasks.differential.waa_oracle
The recording keeps its "explained" section (ours, written by hand): why each disagreeing case
disagrees. A case agrees when both scores are equal within 1e-6 or both sides raise.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from environments.tasks.metrics.reference import Reference, following
from tests.environments.tasks.differential import harness, waa_cases
from tests.environments.tasks.differential.cases import Case

ROOT = Path(__file__).resolve().parents[4]
WAA_PYTHON = ROOT / ".venv-waa" / "bin" / "python"
WORKER = Path(__file__).with_name("waa_worker.py")
RECORDING = Path(__file__).with_name("waa_metrics.json")
CHECKOUT_VARIABLE = "KIMI_AGENT_WAA_CHECKOUT"
SOURCE = ("WindowsAgentArena's initial public release (src/win-arena-container/client/desktop_env/"
          "evaluators/metrics), run in .venv-waa (.ci/setup-waa-oracle)")


def checkout() -> Path | None:
    """The WAA checkout named by KIMI_AGENT_WAA_CHECKOUT, if it holds WAA's metrics."""
    named = os.environ.get(CHECKOUT_VARIABLE)
    if not named:
        return None
    path = Path(named)
    return path if (path / "client" / "desktop_env" / "evaluators" / "metrics").is_dir() else None


def theirs_live(cases: list[Case], waa: Path, work: Path, files: Path) -> dict[str, harness.Outcome]:
    """WAA's outcomes from one worker process in .venv-waa, run in `work`, on cases built in `files`."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([str(WAA_PYTHON), str(WORKER), str(waa)],
                          input=json.dumps([c.wire() for c in cases]),
                          capture_output=True, text=True, env=env, timeout=600, check=False, cwd=work)
    if done.returncode != 0:
        raise RuntimeError(f"the WAA worker failed: {done.stderr[-2000:]}")
    # Messages name the files; without the temporary folder they read the same on every run.
    return {item["id"]: harness.Outcome(item.get("score"), _portable(item.get("raised"), files))
            for item in json.loads(done.stdout)}


def _portable(message: str | None, files: Path) -> str | None:
    return message.replace(str(files), "<files>") if message else None


def ours(cases: list[Case], work: Path) -> dict[str, harness.Outcome]:
    """Our outcomes with the WAA reference selected, in `work` (a FileNotFoundError scores 0, as our
    scorer counts it)."""
    current = Path.cwd()
    os.chdir(work)
    try:
        with following(Reference.WAA):
            return {case.id: harness.ours(case) for case in cases}
    finally:
        os.chdir(current)


@dataclass(frozen=True)
class Recording:
    outcomes: dict[str, harness.Outcome]
    explained: dict[str, str]


def _wire(outcome: harness.Outcome) -> dict[str, object]:
    return {"raised": outcome.raised} if outcome.raised else {"score": outcome.score}


def recorded() -> Recording:
    data = json.loads(RECORDING.read_text(encoding="utf-8"))
    outcomes = {case_id: harness.Outcome(item.get("score"), item.get("raised"))
                for case_id, item in data["outcomes"].items()}
    return Recording(outcomes, data["explained"])


def record(theirs: dict[str, harness.Outcome]) -> None:
    """Write WAA's outcomes, keeping the hand-written explanations."""
    explained = recorded().explained if RECORDING.exists() else {}
    data = {
        "source": SOURCE,
        "rerecord": f"{CHECKOUT_VARIABLE}=<checkout>/src/win-arena-container "
                    ".venv/bin/python -m tests.environments.tasks.differential.waa_oracle",
        "outcomes": {case_id: _wire(outcome) for case_id, outcome in sorted(theirs.items())},
        "explained": explained,
    }
    RECORDING.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def disagreements(cases: list[Case], mine: dict[str, harness.Outcome],
                  theirs: dict[str, harness.Outcome]) -> dict[str, str]:
    """Case id → "ours X / theirs Y" for every case whose outcomes differ."""
    return {case.id: f"ours {mine[case.id].show()} / theirs {theirs[case.id].show()}"
            for case in cases if not mine[case.id].agrees(theirs[case.id])}


def main() -> None:
    waa = checkout()
    if waa is None or not WAA_PYTHON.exists():
        sys.exit(f"set {CHECKOUT_VARIABLE} to WAA's src/win-arena-container; run .ci/setup-waa-oracle first")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        cases = waa_cases.build(work / "files")
        (work / "theirs").mkdir()
        (work / "ours").mkdir()
        theirs = theirs_live(cases, waa, work / "theirs", work / "files")
        record(theirs)
        differing = disagreements(cases, ours(cases, work / "ours"), theirs)
    explained = recorded().explained
    for case_id, text in differing.items():
        print(f"{'explained' if case_id in explained else 'UNEXPLAINED'}: {case_id}: {text}")
    print(f"recorded {len(theirs)} outcomes in {RECORDING.name}; {len(differing)} disagree")


if __name__ == "__main__":
    main()
