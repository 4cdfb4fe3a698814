"""One task on one environment: its setup at reset, its evaluation when the episode ends."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable

from environments.tasks.context import TaskContext, default_download_cache
from environments.tasks.errors import UnsupportedError
from environments.tasks.explanation import ScoreExplanation
from environments.tasks.load import load_task
from environments.tasks.machine import LocalMachine
from environments.tasks.model import Task
from environments.tasks.rules import OSWORLD_RULES, HarnessRules
from environments.tasks.setup_steps import run_steps

MachineFactory = Callable[[Path, Path], LocalMachine]
"""(home folder, cache folder) → the machine the task runs on."""


class EvaluationError(RuntimeError):
    """The score could not be computed (a reference file unreachable, a getter failing): the
    task is reported as errored, never as a 0 it did not earn."""


def as_task(task: Task | str | Path) -> Task:
    if isinstance(task, Task):
        return task
    return load_task(Path(task))


class TaskSession:
    """Runs `task` on the machine `make_machine` builds, in `workdir` (a fresh temporary folder
    by default, removed at close): `home/` is the machine's /home/user, `cache/` the scratch cache.
    `rules` say how failures count (OSWorld's, or WAA's: environments/tasks/rules.py)."""

    def __init__(
        self,
        task: Task,
        make_machine: MachineFactory,
        workdir: Path | None = None,
        downloads: Path | None = None,
        offline: bool = False,
        rules: HarnessRules = OSWORLD_RULES,
    ) -> None:
        self.task = task
        self.rules = rules
        self.carried_on: list[str] = []
        """Steps that failed and were let pass by the rules, said with the score."""
        self._temporary = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix="kimi-task-")) if workdir is None else workdir
        self.machine = make_machine(self.workdir / "home", self.workdir / "cache")
        task_dir = task.source_path.parent if task.source_path else None
        self.context = TaskContext(
            self.machine, self.workdir / "cache", downloads or default_download_cache(), task_dir, offline
        )

    def setup(self) -> None:
        """Run the task's `config` steps; raises `SetupError` / `UnsupportedError` naming the step."""
        self.carried_on += run_steps(self.task.config, self.context, self.task.id, self.rules)

    def evaluate(self, last_action_failed: bool) -> ScoreExplanation:
        """Run `postconfig`, then score by the task's rules: the score with how it came about."""
        # Scoring imports every metric's libraries (pandas, openpyxl, python-pptx…: ~1 s, 2-3 s on a
        # loaded machine); only an evaluation needs them, not every command that makes an environment.
        from environments.tasks.scoring import score_explained

        try:
            self.carried_on += run_steps(self.task.evaluator.postconfig, self.context, self.task.id, self.rules,
                                         "postconfig")
            explained = score_explained(self.task.evaluator, self.context, last_action_failed, self.task.id,
                                        self.rules)
            return explained.model_copy(update={"carried_on": list(self.carried_on)})
        except UnsupportedError:
            raise
        except Exception as err:  # noqa: BLE001  whatever broke, the task errored: it did not score 0
            raise EvaluationError(f"evaluating {self.task.id}: {type(err).__name__}: {err}") from err

    def close(self) -> None:
        self.machine.close()
        if self._temporary:
            shutil.rmtree(self.workdir, ignore_errors=True)
