"""Encoding ahead: an offered candidate is encoded on a worker thread, and its encoding is used only
when the screen settled on that very screenshot."""

from __future__ import annotations

import threading
import time

from PIL import Image

from agent.episode.encode_ahead import EncodeAhead
from environments.screen import Monitor, Screenshot


def shot(colour: str) -> Screenshot:
    return Screenshot(Image.new("RGB", (64, 48), colour), Monitor(index=1, left=0, top=0, width=64, height=48), time.time())


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, screenshot: Screenshot) -> str:
        time.sleep(0.05)
        colour = "red" if screenshot.image.getpixel((0, 0)) == (255, 0, 0) else "other"
        self.calls.append((colour, threading.current_thread().name))
        return colour


def test_the_settled_candidate_is_encoded_once_on_the_worker_thread() -> None:
    encode = Recorder()
    ahead = EncodeAhead(encode)
    try:
        candidate = shot("red")
        ahead.offer(candidate)
        ahead.offer(candidate)  # offered again while it settles: not encoded twice
        time.sleep(0.08)  # the environment waits for its next poll meanwhile
        assert ahead.encode(candidate) == "red"
        assert len(encode.calls) == 1 and encode.calls[0][1].startswith("encode-ahead")
    finally:
        ahead.close()


def test_another_final_screenshot_is_encoded_now_and_the_candidate_dropped() -> None:
    encode = Recorder()
    ahead = EncodeAhead(encode)
    try:
        ahead.offer(shot("red"))
        final = shot("blue")
        assert ahead.encode(final) == "other"
        assert encode.calls[-1] == ("other", threading.current_thread().name)
        assert ahead.encode(final) == "other"  # nothing offered: encoded directly again
    finally:
        ahead.close()
