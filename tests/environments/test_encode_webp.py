"""Per-checkpoint screenshot encoding: JPEG as before, lossy WebP at a quality."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from environments.encode import ImageEncoding, encode_image, webp


def screenshot() -> Image.Image:
    image = Image.new("RGB", (640, 360), "white")
    draw = ImageDraw.Draw(image)
    for y in range(0, 360, 18):
        draw.text((10, y), "kimi-agent  ls -la /usr/bin  README.md  0123456789", fill="black")
    draw.rectangle((400, 40, 620, 200), fill=(30, 90, 200))
    return image


def test_lossy_webp_at_a_quality_is_lossy_webp() -> None:
    image = screenshot()
    lossy = encode_image(image, webp(75))
    lossless = encode_image(image, "webp")
    assert lossy.data[:4] == b"RIFF" and lossy.data[8:12] == b"WEBP"
    assert lossy.mime == "image/webp" and lossy.extension == "webp"
    assert lossy.data_url.startswith("data:image/webp;base64,")
    assert lossy.data[12:16] == b"VP8 " and lossless.data[12:16] == b"VP8L"  # lossy bitstream vs lossless
    assert Image.open(io.BytesIO(lossy.data)).size == image.size
    assert encode_image(image, webp(20)).data != lossy.data  # the quality is applied


def test_jpeg_stays_the_default() -> None:
    assert encode_image(screenshot()).data[:3] == b"\xff\xd8\xff"
    assert encode_image(screenshot(), ImageEncoding("jpeg")).data[:3] == b"\xff\xd8\xff"
    assert str(webp(75)) == "webp q75" and str(ImageEncoding()) == "jpeg"


def test_a_quality_applies_to_webp_only() -> None:
    with pytest.raises(ValueError):
        ImageEncoding("jpeg", 75)
    with pytest.raises(ValueError):
        webp(0)
