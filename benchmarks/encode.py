"""Screenshot encoding for the model request: time, size and fidelity per format at 1920×1080.

    .venv/bin/python -m benchmarks.encode

Captures a real desktop (Xvfb with a terminal listing files and an editor showing README.md),
then times each encoder (median of 20) and measures PSNR against the capture. Prints a table
and writes benchmarks/results/encode.json.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.report import write_result
from environments.encode import resize_for_model

README = Path(__file__).resolve().parents[1] / "README.md"
SETTINGS = {
    "png level 1": {"format": "PNG", "compress_level": 1},
    "png level 6": {"format": "PNG", "compress_level": 6},
    "jpeg q85 4:2:0": {"format": "JPEG", "quality": 85},
    "jpeg q95 4:2:0": {"format": "JPEG", "quality": 95},
    "jpeg q95 4:4:4 (default)": {"format": "JPEG", "quality": 95, "subsampling": 0},
    "webp lossless m0": {"format": "WEBP", "lossless": True, "method": 0},
    "webp q90 m0": {"format": "WEBP", "quality": 90, "method": 0},
    "webp q75 m0 (K2.5 default)": {"format": "WEBP", "quality": 75, "method": 0},
    "webp q75 m2": {"format": "WEBP", "quality": 75, "method": 2},
    "webp q75 m4 (Pillow's default)": {"format": "WEBP", "quality": 75, "method": 4},
    "jpeg q75 4:2:0": {"format": "JPEG", "quality": 75},
}


def timed(fn, repeats: int = 20) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000, result


def desktop_screenshot() -> tuple[Image.Image, dict[str, float]]:
    from environments.screen import ScreenCapture
    from environments.xvfb import XvfbEnv

    env = XvfbEnv(1920, 1080, launch=[
        ["xterm", "-geometry", "120x40+0+0", "-e", "bash", "-c", "ls -la /usr/bin | head -60; sleep 600"],
        ["mousepad", str(README)],
    ])
    try:
        time.sleep(2)  # let both windows draw their content
        capture = ScreenCapture()
        grab_ms, raw = timed(capture.grab)
        convert_ms, shot = timed(lambda: capture.to_screenshot(raw))
        print(f"capture: grab {grab_ms:.1f} ms, BGRA→RGB {convert_ms:.1f} ms")
        return shot.image.copy(), {"grab_ms": grab_ms, "convert_ms": convert_ms}
    finally:
        env.close()


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    argparse.ArgumentParser(description=__doc__, formatter_class=formatter).parse_args()
    image, capture = desktop_screenshot()
    reference = np.asarray(image, dtype=np.float64)
    rows = {}
    for name, options in SETTINGS.items():
        def encode(options: dict = options) -> bytes:
            buffer = io.BytesIO()
            image.save(buffer, **options)
            return buffer.getvalue()

        ms, data = timed(encode)
        back = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)
        mse = float(((back - reference) ** 2).mean())
        # None: lossless (strict JSON has no inf)
        psnr = None if mse == 0 else float(10 * np.log10(255**2 / mse))
        rows[name] = {"ms": ms, "kib": len(data) / 1024, "psnr_db": psnr}
    resize_ms, _ = timed(lambda: resize_for_model(image))
    print(f"{'format':32s} {'ms':>7s} {'KiB':>7s} {'PSNR dB':>8s}")
    for name, row in rows.items():
        psnr = "lossless" if row["psnr_db"] is None else f"{row['psnr_db']:.1f}"
        print(f"{name:32s} {row['ms']:7.1f} {row['kib']:7.0f} {psnr:>8s}")
    print(f"grid-align resize 1920x1080 -> 1932x1092: {resize_ms:.1f} ms")
    write_result("encode", {
        "size": [image.width, image.height], "capture": capture, "formats": rows, "resize_ms": resize_ms,
    })


if __name__ == "__main__":
    main()
