"""Framework time per step at 1920×1080 on a virtual desktop, with an instant model, against the
reference path of the OSWorld VM-server protocol on the same display.

    .venv/bin/python -m benchmarks.step_overhead [--steps 200] [--reference-steps 200]

Ours: the real loop (`run_episode`) on Xvfb with xterm and mousepad open, acting on the xterm
(move, click, type, Enter, in turn). The model is an in-process replay that answers at once;
it still serialises the request body exactly as the OpenAI-compatible backend does, and that
time is counted as request build, not model. Components per step: capture, encode (resize +
JPEG), frame write, request build (history, token count, guards' note, body JSON), parse,
execute, trajectory line (the step's JSON line, fsynced), settle, and the step's whole wall time
minus model and settle ("overhead"; it also holds the guards' checks and the step record).

Reference: our VM server (`python -m environments.vm_server.server`) on the same display, driven
through `VMClient` as OSWorld's harness drives its VM: GET /screenshot (PNG), base64 for the
request, then POST /execute with the pyautogui source `actions/executors/remote.py` generates
for the same actions. The reference then sleeps a fixed pause, which is not counted here.
Prints a table and writes benchmarks/results/step_overhead.json.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.coords import to_screen
from actions.executors.remote import to_pyautogui
from agent.backends.base import Completion, Sampling
from agent.backends.chat import Message
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for, default_sampling
from agent.backends.request_body import RequestBody
from agent.backends.scripted import ScriptedBackend
from agent.episode.loop import Budget, run_episode
from agent.episode.policy import Decision, KimiPolicy, PolicyConfig
from agent.episode.run import make_perception
from agent.trajectory.store import EpisodeInfo, StepRecord, TrajectoryWriter
from benchmarks.report import summary_ms, write_result
from environments.processes import stop_group
from environments.remote.client import VMClient

ROOT = Path(__file__).resolve().parents[1]
SIZE = (1920, 1080)

if TYPE_CHECKING:
    from environments.desktop import DesktopEnv


def replies(n: int) -> list[str]:
    """Replies that act on the xterm in turn: move, click, type a command, press Enter."""
    codes = [
        "pyautogui.moveTo({x:.2f}, 0.2)",
        "pyautogui.click(0.15, 0.25)",
        "pyautogui.typewrite('echo step {i}')",
        "pyautogui.press('enter')",
    ]
    out = []
    for i in range(n):
        code = codes[i % len(codes)].format(x=0.10 + 0.02 * (i % 10), i=i)
        out.append(f"◁think▷Act on the terminal.◁/think▷## Action:\nAct on the terminal.\n## Code:\n```python\n{code}\n```")
    return out


class InstantModel:
    """A replay that answers at once, after building the request body the HTTP backend would send."""

    def __init__(self, replies: Sequence[str], model: str) -> None:
        self.replay = ScriptedBackend(replies)
        self.model = model
        self.serialize_seconds: list[float] = []
        self.body = RequestBody()

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        started = time.perf_counter()
        self.body.encode({"model": self.model, "temperature": sampling.temperature, "top_p": sampling.top_p,
                          "max_tokens": sampling.max_tokens, "stop": list(sampling.stop)}, messages)
        self.serialize_seconds.append(time.perf_counter() - started)
        return self.replay.complete(messages, sampling)


class TimedPolicy(KimiPolicy):
    """The real policy, with the wall time of each decision recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decide_seconds: list[float] = []

    def decide(self, *args: Any, **kwargs: Any) -> Decision:
        started = time.perf_counter()
        try:
            return super().decide(*args, **kwargs)
        finally:
            self.decide_seconds.append(time.perf_counter() - started)


class TimedWriter(TrajectoryWriter):
    """The real trajectory writer, with the time of each frame write and step line recorded."""

    def __init__(self, folder: Path, info: EpisodeInfo) -> None:
        super().__init__(folder, info)
        self.frame_seconds: list[float] = []
        self.append_seconds: list[float] = []

    def append(self, record: StepRecord) -> None:
        started = time.perf_counter()
        try:
            super().append(record)
        finally:
            self.append_seconds.append(time.perf_counter() - started)

    def write_frame(self, index: int, data: bytes, extension: str) -> str:
        started = time.perf_counter()
        try:
            return super().write_frame(index, data, extension)
        finally:
            self.frame_seconds.append(time.perf_counter() - started)


def ours(env: DesktopEnv, steps: int, folder: Path) -> tuple[list[StepRecord], dict[str, list[float]]]:
    """Run the loop for `steps` + 1 steps; the first pays one-time imports and is dropped."""
    checkpoint = checkpoint_for(DEFAULT_CHECKPOINT)
    model = InstantModel(replies(steps + 1), DEFAULT_CHECKPOINT)
    policy = TimedPolicy(
        model, PolicyConfig(DEFAULT_CHECKPOINT, checkpoint.variant, default_sampling(DEFAULT_CHECKPOINT), checkpoint.max_patches),
        "benchmark: act on the terminal",
    )
    writer = TimedWriter.create(folder, EpisodeInfo(instruction="benchmark", model="instant replay", env="xvfb", started_at=time.time()))
    ends: list[float] = []
    started = time.perf_counter()
    result = run_episode(env, policy, make_perception("jpeg", True, checkpoint.max_patches), writer,
                         Budget(steps + 1), on_step=lambda _: ends.append(time.perf_counter()))
    if len(result.steps) != steps + 1:
        raise RuntimeError(f"the episode ended early ({result.outcome}: {result.error})")
    walls = [b - a for a, b in zip([started, *ends], ends)]
    records = result.steps[1:]
    columns: dict[str, list[float]] = {
        "capture": [], "encode": [], "frame write": [], "request build": [], "parse": [], "execute": [],
        "trajectory line": [], "settle": [], "overhead": [],
    }
    for i, step in enumerate(result.steps):
        if i == 0:
            continue
        t = step.timings
        serialize = model.serialize_seconds[i]
        columns["capture"].append(t.capture)
        columns["encode"].append(t.encode)
        columns["frame write"].append(writer.frame_seconds[i])
        columns["request build"].append(policy.decide_seconds[i] - t.model - t.parse + serialize)
        columns["parse"].append(t.parse)
        columns["execute"].append(t.execute)
        columns["trajectory line"].append(writer.append_seconds[i])
        columns["settle"].append(t.settle)
        columns["overhead"].append(walls[i] - (t.model - serialize) - t.settle)
    return records, columns


def reference(display_env: dict[str, str], records: list[StepRecord], home: Path) -> dict[str, list[float]]:
    """The same actions through the VM-server protocol: /screenshot, base64, /execute."""
    # The server runs `python -c <pyautogui code>`: put this interpreter's python first.
    env = {**display_env, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{display_env.get('PATH', os.environ['PATH'])}"}
    server = subprocess.Popen(
        [sys.executable, "-m", "environments.vm_server.server", "--port", "0", "--root", str(home)],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )
    columns: dict[str, list[float]] = {"screenshot route": [], "encode (base64)": [], "execute route": [], "overhead": []}
    try:
        client = VMClient(server.stdout.readline().split()[-1], timeout=30, retries=0)
        try:
            for step in records:
                t0 = time.perf_counter()
                png = client.screenshot()
                t1 = time.perf_counter()
                base64.b64encode(png)
                t2 = time.perf_counter()
                for action in step.actions:
                    client.run_pyautogui(to_pyautogui(to_screen(action, step.frame)[0]))
                t3 = time.perf_counter()
                columns["screenshot route"].append(t1 - t0)
                columns["encode (base64)"].append(t2 - t1)
                columns["execute route"].append(t3 - t2)
                columns["overhead"].append(t3 - t0)
        finally:
            client.close()
    finally:
        stop_group(server)
    return columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--reference-steps", type=int, default=200, help="steps of the VM-protocol path (0: skip it)")
    args = parser.parse_args()

    from environments.xvfb import XvfbEnv

    env = XvfbEnv(*SIZE, launch=[["xterm", "-geometry", "120x40+0+0"], ["mousepad"]])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            records, columns = ours(env, args.steps, Path(tmp) / "trajectory")
            ref = reference(env.desktop.env, records[: args.reference_steps], Path(tmp)) if args.reference_steps else {}
    finally:
        env.close()
    table = {name: summary_ms(values) for name, values in columns.items()}
    ref_table = {name: summary_ms(values) for name, values in ref.items()}
    print(f"framework time per step at {SIZE[0]}x{SIZE[1]} (Xvfb, xterm + mousepad), instant model")
    print(f"ours: {len(records)} steps")
    print(f"{'component':18s} {'median ms':>10s} {'p95 ms':>10s}")
    for name, row in table.items():
        print(f"{name:18s} {row['median_ms']:10.1f} {row['p95_ms']:10.1f}")
    print("overhead = step wall time (loop iteration, incl. the trajectory line) - model - settle")
    payload = {"size": list(SIZE), "steps": len(records), "image_format": "jpeg", "ours": table}
    if ref_table:
        steps_ref = len(ref["overhead"])
        print(f"\nreference, OSWorld VM-server protocol on the same display (our server): {steps_ref} steps")
        for name, row in ref_table.items():
            print(f"{name:18s} {row['median_ms']:10.1f} {row['p95_ms']:10.1f}")
        ratio = ref_table["overhead"]["median_ms"] / table["overhead"]["median_ms"]
        print(f"median overhead ratio reference / ours: {ratio:.1f}x (the reference also sleeps a fixed pause after each action)")
        payload |= {"reference_steps": steps_ref, "reference": ref_table, "ratio_median": round(ratio, 2)}
    write_result("step_overhead", payload)


if __name__ == "__main__":
    main()
