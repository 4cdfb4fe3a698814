"""Encoding a screenshot for the model request, and resizing it to Kimi-VL's 28-px grid.

Default: JPEG quality 95 with full-resolution colour (4:4:4). Measured at 1920×1080 on a
desktop with a terminal and an editor (`python -m benchmarks.encode`): 9.5 ms, 356 KiB,
PSNR 52 dB; PNG (compress_level 1) is lossless but takes 39 ms, WebP 45–48 ms.

A checkpoint may ask for lossy WebP at a quality (Moonshot advises 75 for Kimi-K2.5). Lossy
WebP uses method 0: at quality 75 on the same 1080p desktop (2026-12-04, a loaded 2-core
machine) it took 49 ms for 129 KiB and 43.8 dB, where Pillow's default method 4 took 151 ms
for 106 KiB and 43.0 dB; JPEG 95 4:4:4 took 20 ms for 389 KiB on that run.
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
WEBP_METHOD = 0
"""Lossy WebP effort: 0 is 3× faster than Pillow's default 4 for 20 % more bytes (measured above)."""


@dataclass(frozen=True)
class ImageEncoding:
    """How screenshots are encoded for one checkpoint: a format and, for lossy WebP, its quality."""

    format: ImageFormat = "jpeg"
    quality: int | None = None
    """1..100 for lossy WebP; None: the format's measured default (lossless for WebP)."""

    def __post_init__(self) -> None:
        if self.quality is not None and (self.format != "webp" or not 1 <= self.quality <= 100):
            raise ValueError("a quality (1..100) applies to webp only")

    def __str__(self) -> str:
        return self.format if self.quality is None else f"{self.format} q{self.quality}"


JPEG = ImageEncoding("jpeg")


def webp(quality: int) -> ImageEncoding:
    """Lossy WebP at `quality` (1..100)."""
    return ImageEncoding("webp", quality)


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


def encode_image(image: Image.Image, fmt: ImageFormat | ImageEncoding = "jpeg") -> EncodedImage:
    """Encode `image` as `fmt` says: a format (its measured settings) or an `ImageEncoding` with a quality."""
    encoding = fmt if isinstance(fmt, ImageEncoding) else ImageEncoding(fmt)
    options = _SAVE_OPTIONS[encoding.format]
    if encoding.quality is not None:
        options = {"format": "WEBP", "quality": encoding.quality, "method": WEBP_METHOD}
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return EncodedImage(buffer.getvalue(), encoding.format, image.size)


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
