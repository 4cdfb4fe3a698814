"""Playwright's driver, started in a session of its own.

The driver is a Node process that Playwright's sync API spawns; in our process group it receives a
terminal's Ctrl+C with us and dies mid-call, so the browser cannot be closed in order and asyncio
prints the broken connection. In a session of its own only our process is interrupted, and it
closes the browser and the driver itself; the driver still ends with us, since it exits when its
stdin (a pipe from this process) closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def _subprocesses_in_own_session() -> Iterator[None]:
    """While the block runs, asyncio starts programs with start_new_session=True. Playwright offers no
    option for its driver's process, so its one call is wrapped for the moment the driver starts."""
    original = asyncio.create_subprocess_exec

    async def in_own_session(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
        kwargs.setdefault("start_new_session", True)
        return await original(*args, **kwargs)

    asyncio.create_subprocess_exec = in_own_session
    try:
        yield
    finally:
        asyncio.create_subprocess_exec = original


def start_playwright() -> Any:
    """`sync_playwright().start()` with the driver in a session of its own."""
    from playwright.sync_api import sync_playwright

    with _subprocesses_in_own_session():
        return sync_playwright().start()
