"""SHA-256 of a VM image, computed once and cached by (path, size, mtime): OSWorld's and WAA's images are
tens of GB, and a run's manifest names the exact image it ran on.

The cache is a small `IMAGE.sha256` file beside the image (`<digest> <size> <mtime_ns>`), the convention of
`sha256sum` files plus what tells a stale entry apart; when the image's folder is not writable the digest
is computed again on every run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def _sidecar(image: Path) -> Path:
    return image.with_name(image.name + ".sha256")


def image_sha256(image: Path) -> str:
    """The image's SHA-256 (hex); reads the cache beside it when size and mtime still match."""
    stat = image.stat()
    stamp = f"{stat.st_size} {stat.st_mtime_ns}"
    sidecar = _sidecar(image)
    try:
        digest, size, mtime = sidecar.read_text().split()
        if f"{size} {mtime}" == stamp and len(digest) == 64:
            return digest
    except (OSError, ValueError):
        pass
    hasher = hashlib.sha256()
    with open(image, "rb") as file:
        while chunk := file.read(CHUNK):
            hasher.update(chunk)
    digest = hasher.hexdigest()
    try:
        sidecar.write_text(f"{digest} {stamp}\n")
    except OSError:  # a read-only folder: the digest is still right, only not cached
        pass
    return digest
