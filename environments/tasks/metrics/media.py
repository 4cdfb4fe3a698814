"""Metrics on audio, video and text in pictures: MFCC + DTW similarity of audio (librosa),
perceptual hashes of video frames (OpenCV), OCR of a screenshot (EasyOCR)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from environments.tasks.metrics.reference import follows_waa
from environments.tasks.registry import metric

VIDEO_FRAMES = 100
FRAME_TOLERANCE = 5
"""compare_videos: hash distance over which a frame differs, and how many differing frames are allowed."""


class MissingDependencyError(RuntimeError):
    """A metric needs an optional package that is not installed; the message names it."""


def _audio(path: str) -> tuple[Any, int] | None:
    import librosa
    from audioread.exceptions import DecodeError

    try:
        samples, rate = librosa.load(path)
    except (OSError, ValueError, RuntimeError, EOFError, DecodeError):  # OSWorld reads these files as "bad"
        return None
    return (samples, rate) if samples.shape[0] else None


@metric("compare_audios")
def compare_audios(result: str | None, expected: str | None) -> float:
    """exp(−d) with d the DTW distance (cosine) between the two normalized MFCC sequences per step
    of the alignment path; 1 when both files are unreadable or empty, 0 when one is. A result that is
    not a path scores 0 (OSWorld raises, and its runner leaves the task out). Following WAA
    (metrics/reference.py), the score is WAA's older one (`_waa_audio_similarity`)."""
    if not isinstance(result, str) or not isinstance(expected, str) or not result or not expected:
        return 0.0
    if follows_waa():
        return _waa_audio_similarity(result, expected)
    import librosa
    from fastdtw import fastdtw
    from scipy.spatial.distance import cosine

    first, second = _audio(result), _audio(expected)
    if first is None or second is None:
        return float(first is None and second is None)
    try:
        features = [librosa.util.normalize(librosa.feature.mfcc(y=samples, sr=rate), axis=1)
                    for samples, rate in (first, second)]
    except (ValueError, librosa.util.exceptions.ParameterError):
        return 0.0
    distance, path = fastdtw(features[0].T, features[1].T, dist=cosine)
    return float(np.exp(-(distance / len(path)))) if path else 0.0


def _waa_audio_similarity(result: str, expected: str) -> float:
    """WAA's older compare_audios: 1 / (1 + d), d the whole path's DTW distance (not per step); a file
    librosa cannot load raises, and an empty one is compared as it is."""
    import librosa
    from fastdtw import fastdtw
    from scipy.spatial.distance import cosine

    features = []
    for path in (result, expected):
        samples, rate = librosa.load(path)
        features.append(librosa.util.normalize(librosa.feature.mfcc(y=samples, sr=rate), axis=1))
    distance, _ = fastdtw(features[0].T, features[1].T, dist=cosine)
    return float(1 / (1 + distance))


@metric("compare_videos")
def compare_videos(result: str | None, expected: str | None) -> float:
    """Over the first 100 frames the videos end together, and no more than 5 frames differ by a
    perceptual-hash distance over 5."""
    import cv2
    import imagehash

    first, second = cv2.VideoCapture(result or ""), cv2.VideoCapture(expected or "")
    differing = 0
    try:
        for _ in range(VIDEO_FRAMES):
            got_first, frame_first = first.read()
            got_second, frame_second = second.read()
            if not got_first or not got_second:
                return float(got_first == got_second)
            hashes = [imagehash.phash(Image.fromarray(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)))
                      for f in (frame_first, frame_second)]
            if hashes[0] - hashes[1] > FRAME_TOLERANCE:
                differing += 1
                if differing > FRAME_TOLERANCE:
                    return 0.0
    finally:
        first.release()
        second.release()
    return 1.0


def _readable_image(path: str, folder: Path) -> str | None:
    """A path EasyOCR can read: the file itself, or an X window dump (xwd) converted to PNG with
    netpbm when Pillow cannot open it; None when neither works."""
    try:
        Image.open(path).verify()
        return path
    except (UnidentifiedImageError, OSError):
        pass
    if shutil.which("xwdtopnm") and shutil.which("pnmtopng"):
        converted = folder / "converted.png"
        pnm = subprocess.run(["xwdtopnm", path], capture_output=True, check=False).stdout
        png = subprocess.run(["pnmtopng"], input=pnm, capture_output=True, check=False).stdout
        if png:
            converted.write_bytes(png)
            return str(converted)
    return None


@metric("compare_image_text")
def compare_image_text(result: str | None, rule: dict[str, Any]) -> float:
    """1 when EasyOCR (English) reads `rule["text"]` in the image."""
    if not isinstance(result, str) or not result or not Path(result).exists():
        return 0.0
    if rule["type"] != "text":
        raise ValueError(f"compare_image_text: rule type {rule['type']!r} is not supported")
    with tempfile.TemporaryDirectory() as folder:
        image = _readable_image(result, Path(folder))
        if image is None:
            return 0.0  # OSWorld's OCR fails on it, which it scores 0
        try:
            import easyocr
        except ImportError:
            raise MissingDependencyError("compare_image_text needs EasyOCR (and PyTorch): "
                                         "pip install easyocr") from None
        found = easyocr.Reader(["en"]).readtext(image)
    return float(rule["text"] in " ".join(entry[1] for entry in found))
