"""`eval`'s VM flags without booting anything: one-line errors for wrong combinations, and the image digest
computed once and cached by size and mtime."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from environments.vm.digest import image_sha256

ROOT = Path(__file__).resolve().parents[3]


def test_the_image_digest_is_cached_beside_the_image_until_it_changes(tmp_path: Path) -> None:
    image = tmp_path / "disk.qcow2"
    image.write_bytes(b"first")
    assert image_sha256(image) == hashlib.sha256(b"first").hexdigest()
    sidecar = tmp_path / "disk.qcow2.sha256"
    digest, size, _ = sidecar.read_text().split()
    assert size == "5"
    # a cached entry is trusted while size and mtime match (the file is not read again) …
    sidecar.write_text(sidecar.read_text().replace(digest, "f" * 64))
    assert image_sha256(image) == "f" * 64
    # … and recomputed once either changes
    image.write_bytes(b"second")
    os.utime(image, ns=(1, 1))
    assert image_sha256(image) == hashlib.sha256(b"second").hexdigest()


@pytest.mark.parametrize(("args", "expected"), [
    (["--provider", "qemu"], "--vm-image"),
    (["--provider", "qemu", "--vm-image", "{tmp}/missing.qcow2"], "no image at"),
    (["--provider", "qemu", "--vm-image", "{image}", "--vm-url", "http://127.0.0.1:1"], "--provider url"),
    (["--provider", "qemu", "--vm-image", "{image}", "--env", "xvfb"], "use --env osworld or waa"),
    (["--provider", "url"], "one VM URL per worker"),
    (["--provider", "url", "--vm-url", "http://127.0.0.1:1", "--revert-command", " "], "is empty"),
    (["--vm-image", "{image}"], "only with --provider"),
    (["--no-revert"], "only with --provider"),
    (["--provider", "hyperv"], "use qemu or url"),
])
def test_wrong_vm_flags_are_one_line_errors(args: list[str], expected: str, tmp_path: Path) -> None:
    image = tmp_path / "base.qcow2"
    image.write_bytes(b"")
    argv = [a.format(tmp=tmp_path, image=image) for a in args]
    done = subprocess.run([sys.executable, "-m", "agent", "eval", "--backend", "scripted", "--script",
                           str(tmp_path), "--results", str(tmp_path / "results"), *argv],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "300"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert expected in done.stdout + done.stderr and "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "results").exists()
