"""A trajectory as an animated GIF (Pillow) or an H.264 MP4 (PyAV), one frame per step.

Each step's frame gets its action marks burnt in and a band with the step number and
intent. Frames are shown for `seconds_per_step` each; a frame whose size differs from the
first step's is resized to it, since a video has one size.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from PIL import Image

from agent.trajectory.store import Trajectory
from agent.view.burn import burn_marks
from agent.view.overlay import episode_marks

VIDEO_EXTRA = "pip install 'kimi-desktop-agent[video]'"


class VideoUnavailable(RuntimeError):
    """MP4 export needs PyAV, which is an optional extra."""


def annotated_frames(trajectory: Trajectory) -> Iterator[Image.Image]:
    """Each step's frame with its marks and a title band; steps without a frame file are left out."""
    total = len(trajectory.steps)
    size: tuple[int, int] | None = None
    for step, marks in zip(trajectory.steps, episode_marks(trajectory.steps)):
        path = trajectory.frame_path(step)
        if not path.is_file():
            continue
        with Image.open(path) as raw:
            frame = raw.convert("RGB")
        note = step.intent or (f"error: {step.error}" if step.error else "")
        image = burn_marks(frame, marks, f"step {step.index + 1}/{total}" + (f" · {note}" if note else ""))
        size = size or image.size
        yield image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)


def write_gif(trajectory: Trajectory, out: Path, seconds_per_step: float = 1.0) -> int:
    """Write an animated GIF that loops forever; returns the number of frames."""
    frames = list(annotated_frames(trajectory))
    if not frames:
        raise ValueError(f"{trajectory.folder} has no frames to animate")
    out.parent.mkdir(parents=True, exist_ok=True)
    frames[0].save(
        out, format="GIF", save_all=True, append_images=frames[1:], loop=0,
        duration=round(seconds_per_step * 1000), optimize=False,
    )
    return len(frames)


def write_mp4(trajectory: Trajectory, out: Path, seconds_per_step: float = 1.0) -> int:
    """Write an H.264 MP4 (yuv420p, plays in browsers); returns the number of frames."""
    try:
        import av
    except ImportError:
        raise VideoUnavailable(f"MP4 export needs PyAV: {VIDEO_EXTRA}") from None
    frames = annotated_frames(trajectory)
    first = next(frames, None)
    if first is None:
        raise ValueError(f"{trajectory.folder} has no frames to encode")
    out.parent.mkdir(parents=True, exist_ok=True)
    width, height = first.width + first.width % 2, first.height + first.height % 2
    count = 0
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(1) / Fraction(seconds_per_step).limit_denominator(1000))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "20", "tune": "stillimage"}
        for image in (first, *frames):
            # yuv420p needs even sides: pad odd ones with a black row or column
            canvas = Image.new("RGB", (width, height))
            canvas.paste(image, (0, 0))
            for packet in stream.encode(av.VideoFrame.from_image(canvas)):
                container.mux(packet)
            count += 1
        for packet in stream.encode(None):
            container.mux(packet)
    return count
