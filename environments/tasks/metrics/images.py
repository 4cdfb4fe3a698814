"""compare_images (OSWorld's vlc.py): structural similarity of two images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from environments.tasks.metrics.options import ImageOptions
from environments.tasks.metrics.reference import follows_waa
from environments.tasks.registry import metric

WINDOW = 7
"""Side of the square window, as scikit-image's structural_similarity uses by default."""


def _window_means(image: np.ndarray) -> np.ndarray:
    """Mean of every WINDOW×WINDOW window lying fully inside the image."""
    sums = np.pad(image, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    boxes = sums[WINDOW:, WINDOW:] - sums[:-WINDOW, WINDOW:] - sums[WINDOW:, :-WINDOW] + sums[:-WINDOW, :-WINDOW]
    return boxes / WINDOW**2


def ssim(first: np.ndarray, second: np.ndarray, data_range: float = 255.0) -> float:
    """Mean structural similarity of two same-shape grey images.

    Matches skimage.metrics.structural_similarity with its defaults: uniform 7×7 windows, sample
    covariances, K1=0.01, K2=0.03, averaged over the windows that fit inside the image.
    """
    x, y = first.astype(np.float64), second.astype(np.float64)
    mean_x, mean_y = _window_means(x), _window_means(y)
    unbias = WINDOW**2 / (WINDOW**2 - 1)
    var_x = unbias * (_window_means(x * x) - mean_x**2)
    var_y = unbias * (_window_means(y * y) - mean_y**2)
    cov = unbias * (_window_means(x * y) - mean_x * mean_y)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    index = ((2 * mean_x * mean_y + c1) * (2 * cov + c2)) / ((mean_x**2 + mean_y**2 + c1) * (var_x + var_y + c2))
    return float(index.mean())


def _grey(path: str) -> Image.Image | None:
    try:
        with Image.open(path) as image:
            return image.convert("L")
    except (OSError, UnidentifiedImageError, ValueError):
        return None


@metric("compare_images", ImageOptions)
def compare_images(result: str | None, expected: str | None, *, options: ImageOptions) -> float:
    """SSIM of the two images in grey levels, both resized (Lanczos) to the smaller size.

    OSWorld picks "the smaller size" by comparing (width, height) tuples, so width decides; this
    does the same. With `reference_base_result` b (the SSIM an untouched result would get), the
    score is (ssim - b) / (1 - b) when ssim ≥ b + 0.01, else 0. Missing, empty or unreadable
    images, and images smaller than the 7×7 window, score 0; negative similarities count as 0
    (following WAA, they are kept, as its compare_images returns them).
    """
    if options.model_fields_set and follows_waa():
        raise TypeError("compare_images: WAA's version takes no options (its harness leaves the task out)")
    if not result or not expected:
        return 0.0
    if not all(Path(p).is_file() and Path(p).stat().st_size > 0 for p in (result, expected)):
        return 0.0
    first, second = _grey(result), _grey(expected)
    if first is None or second is None:
        return 0.0
    size = min(first.size, second.size)
    if min(size) < WINDOW:
        return 0.0
    first, second = (image.resize(size, Image.Resampling.LANCZOS) for image in (first, second))
    similarity = ssim(np.asarray(first), np.asarray(second))
    base = options.reference_base_result
    if base is not None:
        similarity = (similarity - base) / (1 - base) if similarity >= base + 0.01 else 0.0
    # WAA's harness files a negative similarity as the task's score, so following WAA keeps it.
    return similarity if follows_waa() else max(0.0, similarity)
