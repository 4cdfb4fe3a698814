"""Test helper process: writes trajectory steps until it is killed (see test_trajectory.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from actions.coords import Frame, locate
from actions.models import Click, Point, TypeText
from agent.backends.chat import Completion, ImagePart, ImageURL, Message, Sampling
from agent.trajectory.store import EpisodeInfo, RequestRecord, StepRecord, TrajectoryWriter


def record(index: int, frame: str) -> StepRecord:
    point = Point(x=0.25, y=0.5, space="relative")
    chain = locate(point, Frame.of_size(640, 480))
    return StepRecord(
        index=index,
        started_at=time.time(),
        ended_at=time.time(),
        screenshot=frame,
        frame=Frame.of_size(640, 480),
        request=RequestRecord(
            model="m",
            messages=[Message(role="user", content=(ImagePart(image_url=ImageURL(url=frame)),))],
            sampling=Sampling(),
        ),
        response=Completion(text="x" * 5000),
        actions=[Click(at=point), TypeText(text="y" * 3000)],
        coordinates=[chain, None],
    )


def main(root: str) -> None:
    writer = TrajectoryWriter.create(Path(root), EpisodeInfo(instruction="forever", model="m", env="none", started_at=time.time()))
    print(writer.folder, flush=True)
    index = 0
    while True:
        frame = writer.write_frame(index, b"\x89PNG" + b"\0" * 50_000, "png")
        writer.append(record(index, frame))
        index += 1


if __name__ == "__main__":
    main(sys.argv[1])
