"""Our server's `/act`: one typed action (the JSON of an `actions.models` action, its point in screen
space) performed by this server's own pyautogui.

OSWorld's protocol sends each action as pyautogui source to `/execute`, which starts a Python
interpreter that imports pyautogui: 5.4-5.7 s per action in a guest under TCG (the VM eval test's
trajectories, 2026-12-05). Here the action is validated by the pydantic models the agent parses
replies into and performed in this process, so nothing sent is run as code. One action at a time.
"""

from __future__ import annotations

import threading
from contextlib import suppress
from http import HTTPStatus
from typing import Any

from environments.vm_server.http import Refused

_lock = threading.Lock()
_executor: Any = None


def warm() -> None:
    """Import pyautogui and open its display connection now (the server does at start, so a VM
    snapshot holds them: the first action after each revert took 2 s more under TCG otherwise).
    Where that fails, the first action says why."""
    from actions.errors import ExecutionError

    with _lock, suppress(ExecutionError):
        _executor_now().gui  # the property imports pyautogui and connects


def _executor_now() -> Any:
    """The one executor (made under `_lock`)."""
    global _executor
    if _executor is None:
        from actions.executors.local import PyAutoGUIExecutor

        _executor = PyAutoGUIExecutor(fail_safe=False)
    return _executor


def perform(data: dict[str, Any]) -> None:
    """Validate `data["action"]` and perform it: `Refused` 400 when it is not an action or its point is
    not in screen space, 500 when the desktop refused it."""
    from pydantic import ValidationError

    from actions.coords import point_of
    from actions.errors import ExecutionError, first_error
    from actions.models import action_adapter

    if "action" not in data:
        raise Refused(HTTPStatus.BAD_REQUEST, 'missing "action"')
    try:
        action = action_adapter().validate_python(data["action"])
    except ValidationError as err:
        raise Refused(HTTPStatus.BAD_REQUEST, f"not an action: {first_error(err)}") from None
    point = point_of(action)
    if point is not None and point.space != "screen":
        raise Refused(HTTPStatus.BAD_REQUEST, f"{action.type}: the point is in {point.space} space, not screen")
    with _lock:
        try:
            _executor_now().execute(action)
        except ExecutionError as err:
            raise Refused(HTTPStatus.INTERNAL_SERVER_ERROR, str(err)) from None
