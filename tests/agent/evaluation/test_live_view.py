"""The live display of `eval`: the total from the first frame, counts, score, ETA, every running task."""

from __future__ import annotations

from rich.console import Console

from agent.cli.eval import _LiveView
from agent.evaluation.progress import Progress
from agent.evaluation.results import TaskResult


def frame(progress: Progress) -> str:
    console = Console(record=True, width=200, force_terminal=False)
    console.print(_LiveView(progress))
    return console.export_text()


def test_the_first_frame_has_the_total_and_later_frames_every_running_task() -> None:
    progress = Progress(total=14, pending=12, workers=2)
    assert frame(progress).splitlines()[0] == (
        "0/14 done · 0 running · 0 errored · 0 unsupported · score 0/14 (0.000) · ETA …")
    progress.finish(TaskResult("x", "os", "unsupported", error="metric:y"))
    progress.start("os/a")
    progress.start("chrome/b")
    progress.running["os/a"] -= 10
    progress.finish(TaskResult("a", "os", "scored", score=1.0))
    progress.start("os/c")
    text = frame(progress)
    assert text.splitlines()[0].startswith(
        "2/14 done · 2 running · 0 errored · 1 unsupported · score 1/14 (0.071) · ETA ")
    assert "running chrome/b" in text and "running os/c" in text and "os/a" not in text
