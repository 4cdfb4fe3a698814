"""Audio, video and OCR metrics (metrics/media.py) on generated WAV and video files."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from environments.tasks.metrics.media import compare_audios, compare_image_text, compare_videos


def tone(path: Path, frequency: float, seconds: float = 1.0, rate: int = 22050) -> str:
    samples = (np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate) * 20000).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return str(path)


def test_audio_similarity(tmp_path: Path) -> None:
    gold = tone(tmp_path / "g.wav", 440)
    assert compare_audios(tone(tmp_path / "s.wav", 440), gold) == pytest.approx(1.0, abs=1e-6)
    noise = tmp_path / "n.wav"
    with wave.open(str(noise), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(22050)
        out.writeframes(np.random.default_rng(0).integers(-20000, 20000, 22050, dtype=np.int16).tobytes())
    assert compare_audios(str(noise), gold) < compare_audios(tone(tmp_path / "t.wav", 450), gold)
    broken = tmp_path / "b.wav"
    broken.write_bytes(b"not audio")
    assert compare_audios(str(broken), gold) == 0.0
    assert compare_audios(str(broken), str(broken)) == 1.0
    assert compare_audios(None, gold) == 0.0


def video(path: Path, frames: list[np.ndarray]) -> str:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return str(path)


def test_video_frames_by_perceptual_hash(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    frames = [np.kron(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), np.ones((8, 8, 1), dtype=np.uint8))
              for _ in range(12)]
    gold = video(tmp_path / "g.avi", frames)
    assert compare_videos(video(tmp_path / "s.avi", frames), gold) == 1.0
    assert compare_videos(video(tmp_path / "short.avi", frames[:6]), gold) == 0.0
    others = [np.kron(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8), np.ones((8, 8, 1), dtype=np.uint8))
              for _ in range(12)]
    assert compare_videos(video(tmp_path / "o.avi", others), gold) == 0.0


def test_image_text_missing_file_scores_zero(tmp_path: Path) -> None:
    assert compare_image_text(str(tmp_path / "none.png"), {"type": "text", "text": "ls"}) == 0.0
    assert compare_image_text(None, {"type": "text", "text": "ls"}) == 0.0
