"""Encoding the next screenshot while the environment is still waiting for the screen to settle.

Settling polls the screen every few tens of milliseconds; once a frame looks final, the environment
offers it as a candidate. Encoding it (resize to the model's grid, JPEG or WebP) then runs on a worker
thread while the environment sleeps until its next poll; Pillow releases the GIL while it resizes and
compresses, so on two cores the encode costs the step nothing. If the screen settles on that very
frame (the environment hands back the same `Screenshot` object), the step takes the finished encoding;
otherwise it is dropped and the final screenshot is encoded as before.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

from environments.screen import Screenshot

T = TypeVar("T")


class EncodeAhead(Generic[T]):
    """`encode(shot)` with the work for an `offer`ed candidate started ahead of time."""

    def __init__(self, encode: Callable[[Screenshot], T]) -> None:
        self._encode = encode
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode-ahead")
        self._candidate: tuple[Screenshot, Future[T]] | None = None

    def offer(self, shot: Screenshot) -> None:
        """Start encoding `shot`, the frame the screen will probably settle on."""
        if self._candidate is not None and self._candidate[0] is shot:
            return
        self._candidate = (shot, self._pool.submit(self._encode, shot))

    def encode(self, shot: Screenshot) -> T:
        """`shot` encoded: the candidate's result when `shot` is the candidate, else encoded now."""
        candidate, self._candidate = self._candidate, None
        if candidate is not None and candidate[0] is shot:
            return candidate[1].result()
        return self._encode(shot)

    def close(self) -> None:
        self._candidate = None
        self._pool.shutdown(wait=True, cancel_futures=True)
