"""compare_images: OSWorld's SSIM check, with SSIM computed in numpy as scikit-image does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from environments.tasks.metrics.images import compare_images, ssim

SKIMAGE_SSIM_OF_SHIFTED_PATTERN = 0.7908553353780807
"""skimage.metrics.structural_similarity of pattern(64, 48) and pattern(64, 48, shift=3) (scikit-image 0.26)."""


def pattern(width: int, height: int, shift: int = 0) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    values = (np.sin((x + shift) / 5.0) * 60 + np.cos(y / 7.0) * 60 + 128).astype(np.uint8)
    return Image.fromarray(values, "L")


def save(image: Image.Image, path: Path) -> str:
    image.save(path)
    return str(path)


def test_identical_images_score_one(tmp_path: Path) -> None:
    image = save(pattern(64, 48).convert("RGB"), tmp_path / "a.png")
    assert compare_images(image, save(pattern(64, 48), tmp_path / "b.png")) == pytest.approx(1.0)


def test_similarity_matches_scikit_image(tmp_path: Path) -> None:
    shifted = save(pattern(64, 48, shift=3), tmp_path / "shifted.png")
    gold = save(pattern(64, 48), tmp_path / "gold.png")
    assert compare_images(shifted, gold) == pytest.approx(SKIMAGE_SSIM_OF_SHIFTED_PATTERN, abs=1e-9)
    grey = np.asarray(pattern(64, 48))
    assert ssim(grey, grey) == pytest.approx(1.0)


def test_reference_base_result_rescales_above_the_base(tmp_path: Path) -> None:
    shifted = save(pattern(64, 48, shift=3), tmp_path / "shifted.png")
    gold = save(pattern(64, 48), tmp_path / "gold.png")
    expected = (SKIMAGE_SSIM_OF_SHIFTED_PATTERN - 0.5) / 0.5
    assert compare_images(shifted, gold, reference_base_result=0.5) == pytest.approx(expected, abs=1e-9)
    assert compare_images(shifted, gold, reference_base_result=0.785) == 0.0
    assert compare_images(gold, gold, reference_base_result=0.54) == pytest.approx(1.0)


def test_different_sizes_are_resized_to_the_smaller(tmp_path: Path) -> None:
    small = save(pattern(64, 48), tmp_path / "small.png")
    large = save(pattern(64, 48).resize((128, 96)), tmp_path / "large.png")
    assert 0.5 < compare_images(large, small) <= 1.0


def test_dissimilar_images_score_low_and_never_below_zero(tmp_path: Path) -> None:
    gold = save(pattern(64, 48), tmp_path / "gold.png")
    inverted = save(ImageOps.invert(pattern(64, 48)), tmp_path / "inverted.png")
    assert compare_images(inverted, gold) == 0.0


def test_missing_empty_unreadable_and_tiny_images_score_zero(tmp_path: Path) -> None:
    gold = save(pattern(64, 48), tmp_path / "gold.png")
    assert compare_images(None, gold) == 0.0
    assert compare_images(str(tmp_path / "missing.png"), gold) == 0.0
    (tmp_path / "empty.png").write_bytes(b"")
    assert compare_images(str(tmp_path / "empty.png"), gold) == 0.0
    (tmp_path / "text.png").write_text("not an image")
    assert compare_images(str(tmp_path / "text.png"), gold) == 0.0
    assert compare_images(save(pattern(5, 5), tmp_path / "tiny.png"), gold) == 0.0
