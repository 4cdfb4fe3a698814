"""POST /settle: the VM server waits on its own X display until the applications are idle, with the
rule local desktops settle by (`environments.settle.wait_until_idle`: X DAMAGE, the display's programs'
CPU and short timers, all readable inside the guest), so a client does not have to compare screenshots
across the network to guess, and is not fooled by an application that pauses mid-update.

One watcher serves the server's whole life, opened when the server starts (so a VM snapshot taken once
the server answers holds an open one: opening it took 6 s in a guest under TCG, at every task after a
revert while it was opened at the first /settle); a client settles once with a wait of 0 before its first
action (`RemoteVMEnv` does), so that action is seen. Between two settles its X
events pile up (a clock, the agent's own earlier actions); the routes that act on the desktop call
`Settler.before_action` first, so the first look after an action reports that action's effect only,
as `DesktopEnv` does by polling before each action.
"""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from dataclasses import dataclass

from environments.activity import ActivityUnavailable, DesktopActivity
from environments.screen import RawFrame, ScreenCapture
from environments.settle import SettleConfig, wait_until_idle

MAX_SECONDS = 20.0
"""The longest wait a request may ask for (as long as a task's first frame may take: `setup_max_seconds`)."""
DEFAULT_SECONDS = 3.0


class PixelCapture(ScreenCapture):
    """Grabs one pixel. `wait_until_idle` ends by grabbing the settled frame; on the server nobody wants
    it (the client asks /screenshot next), only the round trip to the X server it takes, after which the
    watcher looks once more for a change made meanwhile."""

    def grab(self) -> RawFrame:
        monitor = self.monitor
        raw = self._grabber().grab({"left": monitor.left, "top": monitor.top, "width": 1, "height": 1})
        return RawFrame(raw.bgra, raw.size, monitor, time.time())


@dataclass(frozen=True)
class Waited:
    """How one /settle went: its wait, the looks at the desktop, whether it ended idle (else at the
    cap) and whether anything changed on the screen."""

    seconds: float
    looks: int
    idle: bool
    changed: bool


class Settler:
    """The display's watcher and the lock that lets one request at a time use it (the server answers
    each request on a thread of its own; an Xlib connection is not for concurrent use)."""

    def __init__(self, config: SettleConfig = SettleConfig()) -> None:
        self.config = config
        self._activity: DesktopActivity | None = None
        self._lock = threading.Lock()

    def settle(self, max_seconds: float) -> Waited:
        """Wait until the display is idle or `max_seconds` pass; `ActivityUnavailable` where the display
        cannot be watched (no DAMAGE, no /proc), which is tried again on the next request."""
        with self._lock:
            if self._activity is None:
                self._activity = DesktopActivity.open(busy_share=self.config.busy_share)
            capture = PixelCapture()
            try:
                settled = wait_until_idle(capture, self._activity, self.config, max_seconds)
            except Exception:
                self._forget()  # a broken connection (the X server restarted): a new watcher next time
                raise
            finally:
                capture.close()
        return Waited(settled.seconds, settled.frames, settled.stable, settled.changed)

    def open(self) -> None:
        """Open the watcher now, if the display can be watched (else the first /settle says why)."""
        with self._lock, suppress(ActivityUnavailable):
            if self._activity is None:
                self._activity = DesktopActivity.open(busy_share=self.config.busy_share)

    def before_action(self) -> None:
        """Drain what happened since the last look: it is not the coming action's effect (stale events
        would count as the effect having begun, and settling would stop waiting for it). Skipped while
        a settle runs (it is looking anyway) and before the first settle (no watcher yet)."""
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._activity is not None:
                self._activity.poll()
        except Exception:  # Xlib raises many kinds on a dead connection; the action must go on all the same
            self._forget()
        finally:
            self._lock.release()

    def _forget(self) -> None:
        activity, self._activity = self._activity, None
        with suppress(Exception):  # closing a connection to a display already gone fails too
            activity.close()


SETTLER = Settler()
"""The server's one settler (one display per server process)."""
