"""Prompt economics of a 30-step episode at 1080p with Thinking-2506, from the real message builder.

    .venv/bin/python -m benchmarks.prompt_tokens [--steps 30]

Counts prompt tokens per step (image tokens exactly by the processor's rule, text estimated),
the prefix shared with the previous request, and the new tokens the server must compute.
Compares with a sliding window of the last 3 screenshots. Writes benchmarks/results/prompt_tokens.json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for
from agent.chat import ImagePart, ImageURL, Message, TextPart
from agent.history import History, history_reply
from agent.tokens import count_prompt, segments
from prompts import agent_system_prompt, agent_task_text

RESULTS = Path(__file__).parent / "results"
SIZE = (1932, 1092)  # a 1920x1080 screenshot aligned to the 28-px grid
REPLY = (
    "◁think▷(reasoning)◁/think▷## Action:\nClick the Save button in the toolbar.\n\n## Code:\n"
    "```python\npyautogui.click(x=0.412, y=0.087)\n```"
)


def sliding_window(system: str, task: str, step: int, window: int = 3) -> list[Message]:
    """The reference layout: the last `window` screenshots, earlier steps as text only."""
    messages = [Message(role="system", content=system), Message(role="user", content=task)]
    for i in range(step + 1):
        if i > step - window:
            messages.append(Message(role="user", content=(ImagePart(image_url=ImageURL(url=f"img:{i}")),)))
        else:
            messages.append(Message(role="user", content=(TextPart(text=f"(step {i} screenshot)"),)))
        if i < step:
            messages.append(Message(role="assistant", content=history_reply(REPLY)))
    return messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    limit = checkpoint_for(DEFAULT_CHECKPOINT).max_patches
    system, task = agent_system_prompt("thinking"), agent_task_text("Save the open document as report.odt")
    history = History(system=system, task=task)
    ours, reference = [], []
    previous = previous_ref = None
    for step in range(args.steps):
        history.observe(f"img:{step}", SIZE)
        current = segments(history.messages(), history.image_sizes(), limit)
        ours.append(count_prompt(current, previous))
        previous = current
        history.answer(REPLY)
        ref_messages = sliding_window(system, task, step)
        ref = segments(ref_messages, [SIZE] * min(3, step + 1), limit)
        reference.append(count_prompt(ref, previous_ref))
        previous_ref = ref
    print(f"{'step':>4s} {'prompt':>7s} {'shared':>7s} {'new':>6s} | {'window3 new':>11s}")
    for i, (a, b) in enumerate(zip(ours, reference)):
        print(f"{i + 1:4d} {a.prompt:7d} {a.shared_prefix:7d} {a.new:6d} | {b.new:11d}")
    mean = sum(c.new for c in ours) / len(ours)
    mean_ref = sum(c.new for c in reference) / len(reference)
    print(f"mean new tokens per step: {mean:.0f} (append-only history) vs {mean_ref:.0f} (sliding window of 3)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "prompt_tokens.json").write_text(json.dumps({
        "steps": args.steps, "mean_new": mean, "mean_new_sliding_window_3": mean_ref,
        "per_step": [{"prompt": c.prompt, "shared": c.shared_prefix, "new": c.new} for c in ours],
    }, indent=2))


if __name__ == "__main__":
    main()
