"""WindowsAgentArena's Clock app getters (its getters/windows_clock.py): WAA's server reads the app's
window; the answer is the text "True" or "False"."""

from __future__ import annotations

from environments.tasks.context import TaskContext
from environments.tasks.getters.windows_controller import controller
from environments.tasks.getters.windows_params import TimerParams, WorldClockParams
from environments.tasks.registry import getter


@getter("check_if_timer_started", TimerParams)
def get_check_if_timer_started(context: TaskContext, params: TimerParams) -> str:
    """Whether a timer of that length runs in the Clock app."""
    vm = controller(context, "check_if_timer_started")
    return vm.timer_started(params.hours, params.minutes, params.seconds)


@getter("check_if_world_clock_exists", WorldClockParams)
def get_check_if_world_clock_exists(context: TaskContext, params: WorldClockParams) -> str:
    """Whether the Clock app shows a world clock for the city."""
    return controller(context, "check_if_world_clock_exists").world_clock_exists(params.city, params.country)
