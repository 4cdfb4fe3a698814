"""A boot of our guest that hangs is noticed by its quiet serial console and booted again, under real QEMU."""

from __future__ import annotations

import os
import signal
import tempfile
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from environments.vm.boot_watch import READY_LINE, SerialWatch
from environments.vm.provider import VMProviderError
from environments.vm.qemu import QemuOptions, QemuProvider
from tests.processes import qemus_using


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_silence_before_the_ready_line_is_a_hang_and_names_the_last_line(tmp_path: Path) -> None:
    log, clock = tmp_path / "serial.log", Clock()
    watch = SerialWatch(log, quiet=60, clock=clock)
    clock.now = 59
    assert watch.stalled() is None  # no console yet, not for long
    log.write_bytes(b"[    1.146496] PCI: Using ACPI for IRQ routing\n"
                    b"[    1.168258] clocksource: Switched to clocksource hpet\n")
    clock.now = 100
    assert watch.stalled() is None  # it printed: the silence starts again
    clock.now = 159
    assert watch.stalled() is None
    clock.now = 161
    why = watch.stalled()
    assert why is not None and "nothing for 61 s" in why and "Switched to clocksource hpet" in why


def test_a_console_that_never_printed_is_a_hang_too(tmp_path: Path) -> None:
    clock = Clock()
    watch = SerialWatch(tmp_path / "serial.log", quiet=60, clock=clock)
    clock.now = 61
    assert "nothing at all" in (watch.stalled() or "")


@given(st.binary(max_size=300), st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=30))
def test_after_the_ready_line_silence_is_never_a_hang(before: bytes, after: bytes, cuts: list[int]) -> None:
    """However the guest's output arrives in pieces (the ready line split included), once the line is
    there the server may import in silence."""
    data = before + READY_LINE + after
    path = Path(tempfile.gettempdir()) / f"serial-{os.getpid()}-{threading.get_ident()}.log"
    clock = Clock()
    watch = SerialWatch(path, quiet=60, clock=clock)
    try:
        path.write_bytes(b"")
        written = 0
        for cut in cuts + [len(data)]:
            with path.open("ab") as console:
                console.write(data[written:written + cut])
            written = min(len(data), written + cut)
            assert watch.stalled() is None
        clock.now = 10_000  # far past the quiet limit: only the ready line seen keeps this from a hang
        assert watch.stalled() is None
    finally:
        path.unlink(missing_ok=True)


def _stop_first_boot(provider: QemuProvider, stopped: list[int]) -> None:
    """SIGSTOP the first QEMU as soon as its kernel prints: a guest frozen mid-boot, as a hung kernel is."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        handle = provider.handle
        if handle is not None and handle.serial_log and handle.serial_log.exists() \
                and handle.serial_log.stat().st_size > 0:
            os.kill(handle.pid, signal.SIGSTOP)
            stopped.append(handle.pid)
            return
        time.sleep(0.02)


def test_a_boot_that_hangs_is_killed_and_booted_again(small_image: Path, tmp_path: Path) -> None:
    said: list[str] = []
    options = QemuOptions(image=small_image, accel="tcg", vnc_displays=range(0), boot_timeout=240, boot_quiet=5,
                          workdir=tmp_path, name="kimi-test-hang")
    provider = QemuProvider(options, say=said.append)
    stopped: list[int] = []
    freezer = threading.Thread(target=_stop_first_boot, args=(provider, stopped))
    freezer.start()
    try:
        provider.start()
        freezer.join()
        assert len(stopped) == 1 and provider.handle is not None and provider.handle.pid != stopped[0]
        failed = [line for line in said if "boot 1 of 3 failed" in line]
        assert failed and "the boot hung" in failed[0] and "booting again" in failed[0], said
        with pytest.raises(ProcessLookupError):
            os.kill(stopped[0], 0)  # the frozen QEMU was killed and reaped, not left behind
        assert provider.healthy()
    finally:
        freezer.join()
        provider.stop()


def test_boots_that_keep_failing_end_in_one_error_and_no_qemu(small_image: Path, tmp_path: Path) -> None:
    said: list[str] = []
    options = QemuOptions(image=small_image, accel="tcg", vnc_displays=range(0), boot_timeout=2, boot_attempts=2,
                          workdir=tmp_path, name="kimi-test-slow")
    provider = QemuProvider(options, say=said.append)
    with pytest.raises(VMProviderError, match="did not answer within 2 s.*serial console"):
        provider.start()
    assert [line for line in said if "boot 1 of 2 failed" in line], said
    assert not qemus_using(tmp_path)  # neither boot's QEMU is left
    assert provider.handle is None and not list(tmp_path.iterdir())

