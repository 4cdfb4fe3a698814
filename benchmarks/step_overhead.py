"""Framework overhead per step at 1920×1080 on a virtual desktop, with an instant model.

    .venv/bin/python -m benchmarks.step_overhead [--steps 200]

Runs the real loop (capture, resize, encode, frame write, request build, parse, execute,
settle) on Xvfb with xterm and mousepad open; the model is an in-process replay that
answers instantly. Overhead = step wall time − model time − settle wait. Prints a table
and writes benchmarks/results/step_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for, default_sampling
from agent.backends.replay import ReplayBackend
from agent.loop import Budget, run_episode
from agent.policy import KimiPolicy, PolicyConfig
from agent.runner import make_perception
from agent.trajectory import EpisodeInfo, TrajectoryWriter

RESULTS = Path(__file__).parent / "results"


def replies(n: int) -> list[str]:
    """Alternating pointer moves over the xterm: a real action with a real settle each step."""
    out = []
    for i in range(n):
        x = 0.10 + 0.02 * (i % 10)
        out.append(f"◁think▷Move.◁/think▷## Action:\nMove the pointer.\n## Code:\n```python\npyautogui.moveTo({x:.2f}, 0.2)\n```")
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--image-format", default="jpeg", choices=["jpeg", "png", "webp"])
    args = parser.parse_args()

    from environments.virtual import XvfbEnv

    env = XvfbEnv(1920, 1080, launch=[["xterm", "-geometry", "120x40+0+0"], ["mousepad"]])
    checkpoint = checkpoint_for(DEFAULT_CHECKPOINT)
    policy = KimiPolicy(
        ReplayBackend(replies(args.steps)),
        PolicyConfig(DEFAULT_CHECKPOINT, checkpoint.variant, default_sampling(DEFAULT_CHECKPOINT), checkpoint.max_patches),
        "benchmark: move the pointer",
    )
    with tempfile.TemporaryDirectory() as tmp:
        writer = TrajectoryWriter.create(Path(tmp), EpisodeInfo(instruction="benchmark", model="replay", env="xvfb", started_at=time.time()))
        try:
            result = run_episode(env, policy, make_perception(args.image_format, True, checkpoint.max_patches), writer, Budget(args.steps))
        finally:
            env.close()
    steps = result.steps[1:]  # the first step pays one-time imports
    columns = {
        "capture": [s.timings.capture for s in steps],
        "encode": [s.timings.encode for s in steps],
        "parse": [s.timings.parse for s in steps],
        "execute": [s.timings.execute for s in steps],
        "settle": [s.timings.settle for s in steps],
        "overhead": [(s.ended_at - s.started_at) - s.timings.model - s.timings.settle for s in steps],
    }
    table = {k: {"median_ms": statistics.median(v) * 1000, "p95_ms": percentile(v, 0.95) * 1000} for k, v in columns.items()}
    print(f"step overhead at 1920x1080, {len(steps)} steps, image {args.image_format}, {platform.node()}")
    print(f"{'component':10s} {'median ms':>10s} {'p95 ms':>10s}")
    for name, row in table.items():
        print(f"{name:10s} {row['median_ms']:10.1f} {row['p95_ms']:10.1f}")
    print("overhead = step wall time - model - settle (includes request build and frame write)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "step_overhead.json").write_text(json.dumps({"steps": len(steps), "format": args.image_format, "table": table}, indent=2))


if __name__ == "__main__":
    main()
