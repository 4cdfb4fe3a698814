"""Prompt economics of a 30-step episode at 1080p with Thinking-2506, from the real message builder.

    .venv/bin/python -m benchmarks.prompt_tokens [--steps 30]

Counts prompt tokens per step (image tokens exactly by the processor's rule, text estimated),
the prefix shared with the previous request, and the new tokens the server must compute. The
image-token figures are checked against vLLM: tests/vllm serves vLLM's own Kimi-VL model class
(CPU build, tiny random-weight stand-in with Thinking-2506's image limit) and its reported prompt
tokens match this arithmetic to the token for screenshots from 100x57 to 3840x2160 and for
requests built like the agent's.
Compares, with the same token arithmetic, the reference layout of public harnesses: the last 3
screenshots, earlier steps as text. Prints a table and writes benchmarks/results/prompt_tokens.json.
"""

from __future__ import annotations

import argparse

from agent.backends.chat import ImagePart, ImageURL, Message, TextPart
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, checkpoint_for
from agent.episode.history import History, history_reply
from agent.episode.policy import read_reply
from agent.episode.tokens import PromptCount, count_prompt, segments
from benchmarks.report import write_result
from environments.patches import image_tokens
from prompts import agent_system_prompt, agent_task_text

SIZE = (1932, 1092)  # a 1920x1080 screenshot aligned to the 28-px grid
REPLY = (
    "◁think▷(reasoning)◁/think▷## Action:\nClick the Save button in the toolbar.\n\n## Code:\n"
    "```python\npyautogui.click(x=0.412, y=0.087)\n```"
)
STEP, CODE = read_reply(REPLY)


def sliding_window(system: str, task: str, step: int, window: int = 3) -> list[Message]:
    """The reference layout: the last `window` screenshots, earlier steps as text only."""
    messages = [Message(role="system", content=system), Message(role="user", content=task)]
    for i in range(step + 1):
        if i > step - window:
            messages.append(Message(role="user", content=(ImagePart(image_url=ImageURL(url=f"img:{i}")),)))
        else:
            messages.append(Message(role="user", content=(TextPart(text=f"(step {i} screenshot)"),)))
        if i < step:
            messages.append(Message(role="assistant", content=history_reply(STEP, CODE)))
    return messages


def averages(counts: list[PromptCount]) -> dict[str, float]:
    n = len(counts)
    return {"prompt": round(sum(c.prompt for c in counts) / n, 1),
            "shared": round(sum(c.shared_prefix for c in counts) / n, 1),
            "new": round(sum(c.new for c in counts) / n, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    limit = checkpoint_for(DEFAULT_CHECKPOINT).max_patches
    system, task = agent_system_prompt("thinking"), agent_task_text("Save the open document as report.odt")
    history = History(system=system, task=task)
    ours: list[PromptCount] = []
    reference: list[PromptCount] = []
    previous = previous_ref = None
    for step in range(args.steps):
        history.observe(f"img:{step}", SIZE)
        current = segments(history.messages(), history.image_sizes(), limit)
        ours.append(count_prompt(current, previous))
        previous = current
        history.answer(STEP, CODE)
        ref = segments(sliding_window(system, task, step), [SIZE] * min(3, step + 1), limit)
        reference.append(count_prompt(ref, previous_ref))
        previous_ref = ref
    print(f"{DEFAULT_CHECKPOINT}, {args.steps} steps, screenshots {SIZE[0]}x{SIZE[1]} "
          f"({image_tokens(*SIZE, limit)} image tokens each, a count checked against vLLM by tests/vllm)")
    print(f"{'':4s} {'ours (append-only history)':>26s} | {'reference (sliding window of 3)':>31s}")
    print(f"{'step':>4s} {'prompt':>8s} {'shared':>8s} {'new':>8s} | {'prompt':>9s} {'shared':>10s} {'new':>10s}")
    for i, (a, b) in enumerate(zip(ours, reference)):
        print(f"{i + 1:4d} {a.prompt:8d} {a.shared_prefix:8d} {a.new:8d} | {b.prompt:9d} {b.shared_prefix:10d} {b.new:10d}")
    mean, mean_ref = averages(ours), averages(reference)
    print(f"mean {mean['prompt']:8.0f} {mean['shared']:8.0f} {mean['new']:8.0f} | "
          f"{mean_ref['prompt']:9.0f} {mean_ref['shared']:10.0f} {mean_ref['new']:10.0f}")
    print(f"new (uncached) tokens per step: {mean['new']:.0f} ours vs {mean_ref['new']:.0f} sliding window of 3 "
          f"({mean_ref['new'] / mean['new']:.1f}x); total prefill over the episode "
          f"{sum(c.new for c in ours)} vs {sum(c.new for c in reference)}")
    write_result("prompt_tokens", {
        "checkpoint": DEFAULT_CHECKPOINT, "steps": args.steps, "screenshot": list(SIZE),
        "image_tokens": image_tokens(*SIZE, limit),
        "mean": mean, "mean_sliding_window_3": mean_ref,
        "total_new": sum(c.new for c in ours), "total_new_sliding_window_3": sum(c.new for c in reference),
        "per_step": [{"prompt": c.prompt, "shared": c.shared_prefix, "new": c.new} for c in ours],
        "per_step_sliding_window_3": [{"prompt": c.prompt, "shared": c.shared_prefix, "new": c.new} for c in reference],
    })


if __name__ == "__main__":
    main()
