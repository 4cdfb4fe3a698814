"""OSWorld-format tasks: the task model, loading, registries of setup steps, getters and metrics, scoring."""

from environments.tasks.load import TaskLoadError, load_task, load_tasks
from environments.tasks.model import Evaluator, GetterConfig, SetupStep, Task

__all__ = ["Evaluator", "GetterConfig", "SetupStep", "Task", "TaskLoadError", "load_task", "load_tasks"]
