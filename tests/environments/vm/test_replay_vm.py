"""`kimi-agent replay` of an episode recorded with `run --env vm`, for real under TCG: the recording names the
image its VM booted from, and the replay boots a fresh VM from that image, re-executes the steps there,
checking each step's screen, and stops the VM at the end. The model is a SCRIPTED stand-in. Two VM boots.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from agent.replay.similarity import compare
from agent.trajectory.store import read_trajectory
from tests.processes import qemus_using
from tests.environments.vm.conftest import VNC_DISPLAYS  # noqa: F401  (skips the module without QEMU)

ROOT = Path(__file__).resolve().parents[3]
THINK = "◁think▷The desktop is empty.◁/think▷## Action:\n"
SCRIPT = {"instruction": "Open the desktop menu, then close it.", "replies": [
    f"{THINK}Open the desktop menu.\n\n## Code:\n```python\npyautogui.rightClick(x=0.5, y=0.5)\n```",
    f"{THINK}Close the menu.\n\n## Code:\n```python\npyautogui.press('escape')\n```",
    f"{THINK}Done.\n\n## Code:\n```python\ncomputer.terminate(status=\"success\", answer=\"done\")\n```",
]}
STRICT = 0.99
"""The replay's threshold: the same screen measures at least 0.998, the menu opened or not well below this."""


def _agent(tmp: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m agent ARGS` whose VMs keep their overlays under `tmp` (so the test sees what they leave)."""
    tmp.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "TMPDIR": str(tmp), "COLUMNS": "200"})


def test_an_episode_recorded_in_a_vm_replays_in_a_fresh_vm_of_the_same_image(
        small_image: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT), encoding="utf-8")
    recordings = tmp_path / "recordings"
    run = _agent(tmp_path / "run-tmp", "run", "--env", "vm", "--vm-image", str(small_image), "--backend",
                 "scripted", "--script", str(script), "--model", "replay", "--record", str(recordings),
                 "--confirm", "never", "--no-panic-key", "--max-steps", "5", SCRIPT["instruction"])
    assert run.returncode == 0, run.stdout + run.stderr
    (episode,) = [p.parent for p in recordings.glob("*/episode.json")]
    recorded = read_trajectory(episode)
    assert recorded.info.setup is not None and recorded.info.setup.kind == "vm"
    assert recorded.info.setup.vm_image == str(small_image.resolve())
    assert len(recorded.steps) == 3
    # the right-click visibly changed the screen: a replay that did not perform it would diverge at step 2
    before, after = (Image.open(recorded.frame_path(step)) for step in recorded.steps[:2])
    assert compare(after, before).score < STRICT

    replay_tmp = tmp_path / "replay-tmp"
    done = _agent(replay_tmp, "replay", str(episode), "--threshold", str(STRICT))
    output = " ".join(done.stdout.split())
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"as recorded: env vm; vm-image {small_image.resolve()}" in output
    assert "replayed 3 step(s); no divergence" in output
    assert "VM ready in" in done.stderr  # a VM of its own, booted for the replay …
    assert not qemus_using(replay_tmp) and not list(replay_tmp.iterdir())  # … stopped, its overlay deleted

    # what the command line says wins over the recording, and wrong combinations are one-line errors
    missing = _agent(replay_tmp, "replay", str(episode), "--vm-image", str(tmp_path / "missing.qcow2"))
    assert missing.returncode == 2 and "no image at" in missing.stdout + missing.stderr
    elsewhere = _agent(replay_tmp, "replay", str(episode), "--env", "xvfb", "--vm-image", str(small_image))
    assert elsewhere.returncode == 2 and "is for --env vm" in elsewhere.stdout + elsewhere.stderr
    for failed in (missing, elsewhere):
        assert "Traceback" not in failed.stdout + failed.stderr
