"""The `qemu` provider: one QEMU process per VM, a qcow2 overlay over a base image that is never written,
control through QMP (the `qemu.qmp` library), and revert by live snapshot (`loadvm init_state`).

Live snapshots need every writable disk in qcow2. The base image is read through a per-VM qcow2 overlay,
and with UEFI firmware the variable store is a per-VM qcow2 copy too (environments/vm/firmware.py, which
also runs a VM's software TPM, whose state travels in the snapshot), so UEFI + TPM guests snapshot as well.
When `savevm` still fails (e.g. a device that cannot migrate) the provider says why and falls back to a
reboot from a fresh overlay before each task. Measured 2026-12-04 on a loaded 2-core CI machine under
TCG with our small image: boot to a serving VM 37-91 s, `savevm` 0.6-0.9 s, `loadvm` until the server
answers and the clock is set 0.9-2.3 s (`python -m benchmarks.vm` prints the current figures).

Each VM's forwards listen on a loopback address of its own (127.A.B.C) with the guest's own port numbers,
so a VM is reached as OSWorld reaches its VMs — the VM's address with the fixed ports: the server on 5000,
Chromium's DevTools on 9222, VLC on 8080 — and the getters that build those URLs from the server's host work
unchanged. Loopback only: nothing is reachable from another machine.
"""

from __future__ import annotations

import json
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from qemu.qmp.legacy import QEMUMonitorProtocol

from environments.vm.accel import Accel, AccelChoice, choose_accel
from environments.vm.boot_watch import QUIET_LIMIT, SerialWatch
from environments.vm.firmware import (
    FirmwareError, SoftwareTPM, fresh_variables, machine_flags, tpm_args, uefi_args,
)
from environments.vm.guest import TOKEN_FW_CFG, read_profile
from environments.vm.hardware import DISK_DEVICES, Hardware
from environments.vm.lifetime import mark_owned, spawn_owned, sweep_orphans
from environments.vm.provider import (
    SERVICE_PORTS, RevertPolicy, VMHandle, VMProviderError, fix_guest_clock, wait_for_server,
)

SNAPSHOT = "init_state"
"""The snapshot name OSWorld's VMware and VirtualBox providers revert to."""

PORT_TRIES = 5
PORT_CLASHES = ("Address already in use", "host forwarding rule")
"""What QEMU says when a VNC display or a forward it was given is taken."""

_accel_choices: dict[str, AccelChoice] = {}
"""One probe per process and wanted accelerator: a hanging KVM costs the probe's whole timeout."""


@dataclass(frozen=True)
class QemuOptions:
    """How to run one VM (the CLI's `--vm-*` flags)."""

    image: Path
    memory_mib: int = 2048
    cores: int = 2
    disk: str | None = None
    """Virtual size of the overlay, e.g. "32G" (our guest grows its file system to it); None: the base's."""
    hardware: Hardware = Hardware()
    """Firmware, TPM, disk controller (default: SeaBIOS, no TPM, virtio-blk)."""
    accel: Accel = "auto"
    restrict: bool = False
    """Cut the guest off the network (`restrict=on`); the forwarded ports still work."""
    screen: tuple[int, int] = (1280, 800)
    revert: RevertPolicy = "snapshot"
    vnc_displays: range = range(10, 100)
    """VNC displays tried in order (5900 + N on 127.0.0.1); an empty range turns VNC off."""
    workdir: Path | None = None
    boot_timeout: float = 300.0
    """Seconds one boot may take until the server answers."""
    boot_attempts: int = 3
    """Boots tried before giving up: one that hangs or times out is killed and booted again."""
    boot_quiet: float = QUIET_LIMIT
    """Seconds of serial-console silence that mean a boot of our guest hung (environments/vm/boot_watch.py)."""
    name: str = "kimi-vm"
    qemu: str = "qemu-system-x86_64"
    extra_args: tuple[str, ...] = field(default=())


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _bindable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def forward_address(ports: list[int], tries: int = 32) -> tuple[str, dict[int, int]]:
    """A loopback address of the VM's own on which every guest port in `ports` is free, and the guest → host
    port map (the same numbers); if none is found (say, a program listens on every address on one of these
    ports), 127.0.0.1 with free ports, which reaches the server but not OSWorld's fixed service ports."""
    for _ in range(tries):
        host = f"127.{secrets.randbelow(254) + 1}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"
        if all(_bindable(host, port) for port in ports):
            return host, {port: port for port in ports}
    return "127.0.0.1", {port: free_port() for port in ports}


def _free_vnc_display(displays: range) -> int | None:
    for display in displays:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", 5900 + display))
            except OSError:
                continue
            return display
    raise VMProviderError(f"no free VNC display in {displays.start}-{displays.stop - 1}; pass another range")


def image_format(image: Path) -> str:
    done = subprocess.run(["qemu-img", "info", "--output=json", str(image)], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise VMProviderError(f"{image} is not a disk image QEMU can read: {done.stderr.strip()}")
    return json.loads(done.stdout)["format"]


class QemuProvider:
    """One VM (see the module docstring); not thread-safe: one provider per worker."""

    name = "qemu"

    def __init__(self, options: QemuOptions, say: Callable[[str], None] = print) -> None:
        if not options.image.is_file():
            raise VMProviderError(f"no image at {options.image}: build one with `kimi-agent vm build`")
        if shutil.which(options.qemu) is None:
            raise VMProviderError(f"{options.qemu} is missing: apt-get install qemu-system-x86 qemu-utils")
        self.options = options
        self.say = say
        self.profile = read_profile(options.image)
        self.revert_policy: RevertPolicy = options.revert
        self.revert_note = ""
        self.timings: dict[str, float] = {}
        self.handle: VMHandle | None = None
        self.accel: AccelChoice | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._tpm: SoftwareTPM | None = None
        self._qmp: QEMUMonitorProtocol | None = None
        self._dirty = False
        self._dir: Path | None = None
        self._ports: dict[int, int] = {}
        self._host = "127.0.0.1"
        self._vnc: int | None = None
        self._token = secrets.token_urlsafe(24) if self.profile.token else None

    # --- life cycle ------------------------------------------------------------------------------
    def start(self) -> VMHandle:
        """Boot the VM, wait for its server, and take the `init_state` snapshot (if reverting by snapshot)."""
        started = time.monotonic()
        handle = self.launch()
        try:
            self._wait_for_server()
            self.timings["boot"] = time.monotonic() - started
            if self.revert_policy == "snapshot":
                self._snapshot()
        except BaseException:
            self.stop()  # no QEMU left behind by a failed start, whoever the caller is
            raise
        return handle

    def launch(self) -> VMHandle:
        """Start QEMU (and its TPM) and connect to its QMP, without waiting for the guest's server — what
        `start` does first; alone, it lets a test or a person watch a guest that serves nothing (yet)."""
        if self._process is not None:
            raise VMProviderError(f"{self.options.name} is already running")
        accel = self._accel()
        parent = self.options.workdir or Path(tempfile.gettempdir())
        for folder in sweep_orphans(parent):
            self.say(f"removed {folder}: left by a VM owner that was killed")
        self._dir = Path(tempfile.mkdtemp(prefix=f"{self.options.name}-", dir=parent))
        mark_owned(self._dir)
        self._choose_addresses()
        try:
            self._spawn(accel)
        except BaseException:
            self.stop()
            raise
        assert self.handle is not None
        return self.handle

    def _choose_addresses(self) -> None:
        """The loopback address and ports of the forwards, and the VNC display (free when checked)."""
        vnc = [self.profile.vnc_port] if self.profile.vnc_port else []
        guest_ports = [self.profile.server_port, *SERVICE_PORTS, *vnc]
        self._host, self._ports = forward_address(guest_ports)
        if self._host == "127.0.0.1":
            self.say(f"guest ports {guest_ports} are taken on every address tried: forwarded to free ports "
                     "of 127.0.0.1 instead (getters that reach Chromium's DevTools on 9222 will not find it)")
        self._vnc = _free_vnc_display(self.options.vnc_displays) if len(self.options.vnc_displays) else None

    def _accel(self) -> AccelChoice:
        wanted = self.options.accel
        if wanted not in _accel_choices:
            _accel_choices[wanted] = choose_accel(wanted, self.options.qemu)
            self.say(f"accelerator: {_accel_choices[wanted].accel} ({_accel_choices[wanted].reason})")
        self.accel = _accel_choices[wanted]
        return self.accel

    def _spawn(self, accel: AccelChoice) -> None:
        """A fresh overlay (and UEFI store and TPM), QEMU started, QMP connected, `handle` set."""
        assert self._dir is not None
        folder = self._dir
        overlay = folder / "overlay.qcow2"
        overlay.unlink(missing_ok=True)
        base = self.options.image.resolve()
        create = ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", image_format(base),
                  str(overlay), *([self.options.disk] if self.options.disk else [])]
        done = subprocess.run(create, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise VMProviderError(f"could not create the overlay: {done.stderr.strip()}")
        hardware = self.options.hardware
        if hardware.firmware != "bios":
            self._firmware(lambda: fresh_variables(hardware.firmware, folder, hardware.uefi_vars))
        serial = folder / "serial.log"
        for attempt in range(PORT_TRIES):
            if hardware.tpm:  # fresh each try: swtpm exits with the QEMU that connected to it
                self._tpm = self._tpm or SoftwareTPM(folder)
                self._firmware(self._tpm.start)
            self._process = spawn_owned(self.command(accel, overlay, serial), log=folder / "qemu.log")
            try:
                self._qmp = self._connect_qmp()
                break
            except VMProviderError as err:
                # Another VM starting at the same moment took a port between our check and QEMU's bind.
                if attempt + 1 == PORT_TRIES or not any(clash in str(err) for clash in PORT_CLASHES):
                    raise
                self._process.wait()
                self._choose_addresses()
        url = f"http://{self._host}:{self._ports[self.profile.server_port]}"
        host_ports = {guest: host for guest, host in self._ports.items() if guest != self.profile.server_port}
        console = f"127.0.0.1:{5900 + self._vnc}" if self._vnc is not None else None
        desktop = f"{self._host}:{self._ports[self.profile.vnc_port]}" if self.profile.vnc_port else console
        self.handle = VMHandle(self.options.name, url, self._token, host_ports, desktop, console, serial,
                               self._process.pid, self._host)

    @staticmethod
    def _firmware(step: Callable[[], object]) -> None:
        try:
            step()
        except FirmwareError as err:
            raise VMProviderError(str(err)) from None

    def _wait_for_server(self) -> None:
        """Wait for the guest's server; a boot that hangs or times out is killed and tried again from a fresh
        overlay, up to `boot_attempts` boots (a QEMU that exits is not: that is a command line it rejects)."""
        attempts = self.options.boot_attempts
        for attempt in range(1, attempts + 1):
            assert self.handle is not None
            log = self.handle.serial_log
            # only our guest boots its own kernel and reports to the serial console until it is ready
            watch = SerialWatch(log, self.options.boot_quiet) if self.profile.kernel and log else None
            try:
                wait_for_server(self.handle.server_url, self._token, self.options.boot_timeout, alive=self.alive,
                                stalled=watch.stalled if watch else None)
                break
            except VMProviderError as err:
                if attempt == attempts or not self.alive():
                    raise VMProviderError(f"{err}; serial console: {self._tail(log)}") from None
                self.say(f"{self.options.name}: boot {attempt} of {attempts} failed ({err}); booting again")
                self._kill()
                self._spawn(self._accel())
        self._dirty = False

    def command(self, accel: AccelChoice, overlay: Path, serial: Path) -> list[str]:
        """The QEMU command line of this VM (public so `vm boot --dry-run` and tests can show it)."""
        assert self._dir is not None
        options, profile, hardware = self.options, self.profile, self.options.hardware
        host = self._host
        forwards = ",".join(f"hostfwd=tcp:{host}:{port}-:{guest}" for guest, port in self._ports.items())
        nic = f"user,model=virtio-net-pci,{forwards}" + (",restrict=on" if options.restrict else "")
        machine = f"q35,accel={accel.accel}{machine_flags(hardware.firmware)}"
        argv = [
            options.qemu, "-name", options.name, "-machine", machine, "-cpu", "max",
            "-m", str(options.memory_mib), "-smp", str(options.cores), "-nodefaults", "-vga", "std",
            "-rtc", "base=utc", "-serial", f"file:{serial}", "-monitor", "none",
            # no ACPI sleep states: a guest that suspends itself when idle (Windows does) stops serving
            "-global", "ICH9-LPC.disable_s3=1", "-global", "ICH9-LPC.disable_s4=1",
            "-qmp", f"unix:{self._dir / 'qmp.sock'},server=on,wait=off",
            "-blockdev", f"driver=file,filename={overlay},node-name=disk0-file",
            "-blockdev", "driver=qcow2,file=disk0-file,node-name=disk0", *DISK_DEVICES[hardware.disk_bus],
            "-nic", nic,
            "-vnc", f"127.0.0.1:{self._vnc}" if self._vnc is not None else "none",
            *uefi_args(hardware.firmware, self._dir),
            *(tpm_args(self._dir) if hardware.tpm else []),
        ]
        if profile.kernel:
            base = options.image.resolve().parent
            width, height = options.screen
            append = f"{profile.append} kimi.screen={width}x{height}"
            argv += ["-kernel", str(base / profile.kernel), "-append", append]
            if profile.initrd:
                argv += ["-initrd", str(base / profile.initrd)]
        if self._token:
            token_file = self._dir / "token"
            token_file.touch(mode=0o600)
            token_file.write_text(self._token)
            argv += ["-fw_cfg", f"name={TOKEN_FW_CFG},file={token_file}"]
        return argv + list(options.extra_args)

    def _connect_qmp(self) -> QEMUMonitorProtocol:
        assert self._dir is not None and self._process is not None
        path = self._dir / "qmp.sock"
        deadline = time.monotonic() + 30
        while True:
            if self._process.poll() is not None:
                raise VMProviderError(f"QEMU exited at once: {self._tail(self._dir / 'qemu.log')}")
            if path.exists():
                qmp = QEMUMonitorProtocol(str(path))
                try:
                    qmp.connect(negotiate=True)
                    return qmp
                except Exception as err:  # the library raises several types while QEMU is still starting
                    qmp.close()
                    if time.monotonic() > deadline:
                        raise VMProviderError(f"no QMP answer from QEMU: {err}") from None
            elif time.monotonic() > deadline:
                raise VMProviderError("QEMU did not open its QMP socket within 30 s")
            time.sleep(0.1)

    def qmp(self, command: str, arguments: dict[str, object] | None = None) -> object:
        """What a QMP command returns (e.g. `query-tpm`, `screendump`); `VMProviderError` on an error."""
        if self._qmp is None:
            raise VMProviderError(f"{self.options.name} is not running")
        reply = self._qmp.cmd_raw(command, arguments)
        if "error" in reply:
            raise VMProviderError(f"QMP {command} failed: {reply['error']}")
        return reply.get("return")

    def _hmp(self, command: str) -> str:
        """A monitor command through QMP's `human-monitor-command`; its text (for savevm/loadvm: an error)."""
        return str(self.qmp("human-monitor-command", {"command-line": command}) or "").strip()

    def _snapshot(self) -> None:
        started = time.monotonic()
        error = self._hmp(f"savevm {SNAPSHOT}")
        if error:
            self.revert_policy = "reboot"
            self.revert_note = (f"live snapshot impossible ({error}); reverting by a reboot from a fresh "
                                "overlay, "
                                "slower but equally pristine")
            self.say(self.revert_note)
            return
        self.timings["snapshot"] = time.monotonic() - started

    # --- revert ------------------------------------------------------------------------------------
    def before_task(self) -> bool:
        """Revert if a task used this VM since it booted or was last reverted; marks it used."""
        reverted = False
        if self._dirty and self.revert_policy != "none":
            self.revert()
            reverted = True
        self._dirty = True
        return reverted

    def revert(self) -> None:
        """Back to the pristine state: `loadvm init_state` (or a fresh boot), then the server, the clock."""
        if self.handle is None:
            raise VMProviderError(f"{self.options.name} is not running")
        started = time.monotonic()
        if self.revert_policy == "snapshot":
            error = self._hmp(f"loadvm {SNAPSHOT}")
            if error:
                raise VMProviderError(f"loadvm {SNAPSHOT} failed: {error}")
            wait_for_server(self.handle.server_url, self._token, 60, alive=self.alive)
            offset = fix_guest_clock(self.handle.server_url, self._token, self.profile.password)
            self.timings["clock_offset"] = offset
        else:
            self.reboot()
        self.timings["revert"] = time.monotonic() - started
        self._dirty = False

    def reboot(self) -> None:
        """Kill QEMU and boot again from a fresh overlay (how a VM that stopped answering is replaced)."""
        self._kill()
        self._spawn(self._accel())
        self._wait_for_server()
        if self.revert_policy == "snapshot":
            self._snapshot()

    # --- health and stop ----------------------------------------------------------------------------
    def alive(self) -> bool:
        """Whether the QEMU process is running (not whether its server answers: see `healthy`)."""
        return self._process is not None and self._process.poll() is None

    def healthy(self) -> bool:
        if not self.alive() or self.handle is None:
            return False
        try:
            wait_for_server(self.handle.server_url, self._token, 10, alive=self.alive)
            return True
        except VMProviderError:
            return False

    def _kill(self) -> None:
        if self._qmp is not None:
            try:
                self._qmp.close()
            except (EOFError, OSError):  # QEMU already closed its end (after `quit`, or killed)
                pass
            self._qmp = None
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process = None
        if self._tpm is not None:
            self._tpm.stop()
            self._tpm = None

    def stop(self) -> None:
        """Quit QEMU (killed if it does not quit within 5 s) and delete the overlay."""
        if self._qmp is not None and self.alive():
            try:
                self._qmp.cmd("quit")
            except Exception:  # QEMU may close the socket before it answers
                pass
            assert self._process is not None
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        self.handle = None

    @staticmethod
    def _tail(path: Path | None, size: int = 1500) -> str:
        if path is None:
            return "(none)"
        try:
            return path.read_bytes()[-size:].decode(errors="replace").strip() or "(empty)"
        except OSError:
            return "(none)"
