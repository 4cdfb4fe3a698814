"""Encoding a screenshot for the model request, and resizing it to Kimi-VL's 28-px grid.

Default: JPEG quality 95 with full-resolution colour (4:4:4). Measured at 1920×1080 on a
desktop with a terminal and an editor (`python -m benchmarks.encode`): 9.5 ms, 356 KiB,
PSNR 52 dB; PNG (compress_level 1) is lossless but takes 39 ms, WebP 45–48 ms.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from typing import Literal

from PIL import Image

from environments.patches import MERGED_PATCH, downscale_factor

ImageFormat = Literal["jpeg", "png", "webp"]

_SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "jpeg": {"format": "JPEG", "quality": 95, "subsampling": 0},
    "png": {"format": "PNG", "compress_level": 1},
    "webp": {"format": "WEBP", "lossless": True, "method": 0},
}
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


@dataclass(frozen=True)
class EncodedImage:
    data: bytes = field(repr=False)
    format: ImageFormat
    size: tuple[int, int]

    @property
    def mime(self) -> str:
        return f"image/{self.format}"

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.format]

    @property
    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def encode_image(image: Image.Image, fmt: ImageFormat = "jpeg") -> EncodedImage:
    """Encode `image` with the settings chosen by measurement for `fmt`."""
    buffer = io.BytesIO()
    image.save(buffer, **_SAVE_OPTIONS[fmt])
    return EncodedImage(buffer.getvalue(), fmt, image.size)


def model_input_size(width: int, height: int, max_patches: int | None = None) -> tuple[int, int]:
    """The size to send so both sides are multiples of 28 and the processor need not resize.

    Scales down first (never up) when the image exceeds `max_patches` 14-px patches, as
    the Kimi-VL processor would, then rounds each side to the nearest multiple of 28.
    """
    factor = downscale_factor(width, height, max_patches)

    def side(n: int) -> int:
        scaled = n * factor
        rounded = max(MERGED_PATCH, round(scaled / MERGED_PATCH) * MERGED_PATCH)
        if max_patches is not None and factor < 1 and rounded > scaled:
            rounded -= MERGED_PATCH  # rounding up could cross the patch limit again
        return max(MERGED_PATCH, rounded)

    return side(width), side(height)


GRID_ONLY = 0.02
"""Resizes within 2 % of the original size only align the image to the grid."""


def resize_for_model(image: Image.Image, max_patches: int | None = None) -> Image.Image:
    """`image` resized to `model_input_size`; the same object when already there.

    Aligning to the grid changes a side by under 2 % (1920→1932): nearest-neighbour does it
    in 2 ms at 1080p, repeating one pixel column in ~160, where bicubic costs 48 ms. A real
    downscale (a checkpoint's image limit) uses bicubic, as the processor would (25 ms).
    """
    size = model_input_size(*image.size, max_patches)
    if size == image.size:
        return image
    factor = max(abs(size[0] / image.width - 1), abs(size[1] / image.height - 1))
    method = Image.Resampling.NEAREST if factor <= GRID_ONLY else Image.Resampling.BICUBIC
    return image.resize(size, method)
