"""Kimi-VL's image patch arithmetic (KIMI_VL.md): 14-px patches merged 2×2, one token per 28×28 px."""

from __future__ import annotations

import math

PATCH = 14
MERGED_PATCH = 28


def downscale_factor(width: int, height: int, max_patches: int | None) -> float:
    """How much the processor scales an image down (never up) to fit `max_patches` 14-px patches."""
    if max_patches is None:
        return 1.0
    patches = (width // PATCH) * (height // PATCH)
    return math.sqrt(max_patches / patches) if patches > max_patches else 1.0


def model_image_size(width: int, height: int, max_patches: int) -> tuple[int, int]:
    """The size the processor resizes an image to (never up) before padding to 28."""
    factor = downscale_factor(width, height, max_patches)
    return int(width * factor), int(height * factor)


def image_tokens(width: int, height: int, max_patches: int) -> int:
    """Language tokens one image costs: one per 28×28 merged patch after resize and padding."""
    w, h = model_image_size(width, height, max_patches)
    return math.ceil(w / MERGED_PATCH) * math.ceil(h / MERGED_PATCH)
