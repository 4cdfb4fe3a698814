"""Telling a hung boot from a slow one, by our guest's serial console.

Our guest (its own kernel booted by QEMU with `console=ttyS0`, then `kimi-init`) writes to the serial
console all the way until the init script prints `READY_LINE`: measured under TCG on 2 cores shared by two
booting VMs, the console was never quiet for more than 5 s before that line (boots of 50-62 s). A kernel
that stops for good (seen once in CI under TCG: nothing after "clocksource: Switched to clocksource hpet"
for the whole 300 s boot timeout) is noticed after `QUIET_LIMIT` instead. After the ready line the VM
server imports in silence (up to 46 s measured), so from then on only the boot timeout applies.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

READY_LINE = b"kimi-init: ready"
"""What our init script prints once X and the VM server are started (environments/vm/guest.py)."""
QUIET_LIMIT = 60.0
"""Seconds of silence before the ready line that mean the boot hung (12x the longest gap measured)."""


class SerialWatch:
    """Follows one serial console log; `stalled()` says why the boot looks hung, or None."""

    def __init__(self, log: Path, quiet: float = QUIET_LIMIT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log = log
        self.quiet = quiet
        self.clock = clock
        self._read = 0
        self._tail = b""
        self._ready = False
        self._since = clock()

    def stalled(self) -> str | None:
        if self._ready:
            return None
        try:
            with self.log.open("rb") as console:
                console.seek(self._read)
                new = console.read()
        except OSError:
            new = b""
        now = self.clock()
        if new:
            self._read += len(new)
            self._ready = READY_LINE in self._tail + new
            self._tail = (self._tail + new)[-200:]  # holds a split ready line, and the last line said
            self._since = now
            return None
        if now - self._since < self.quiet:
            return None
        last = self._tail.decode(errors="replace").strip().splitlines()
        return (f"its serial console printed nothing for {now - self._since:.0f} s before the guest was ready"
                + (f" (last: {last[-1]!r})" if last else " (nothing at all)"))
