"""What a pristine VM per task costs: boot, `savevm`, a `loadvm` revert and a reboot revert, on our image.

    .venv/bin/python -m benchmarks.vm [--image .cache/vm/small.qcow2] [--reverts 5] [--accel auto]

Boots our guest image under QEMU (building the small image first if it is missing or stale), waits for its
VM server, takes the `init_state` snapshot, then `--reverts` times: a task-like write in the guest, then
`before_task()` (loadvm, wait for the server, fix the clock). Then one revert by reboot from a fresh
overlay (the fallback when live snapshots are impossible). Per-task overhead = the revert a task pays
before it starts.

Beside it, an estimate of OSWorld's docker provider, which restarts its container to revert: the container
stop/start is not measured here (no docker daemon on this machine) and is assumed to be 2 s; the guest inside
then cold-boots, which is at least our measured cold boot (our guest runs an init script, not systemd and
GNOME as OSWorld's Ubuntu image does, so the real figure is larger). Prints a table and writes
benchmarks/results/vm.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import datetime, timezone
from pathlib import Path

from environments.remote.client import VMClient
from environments.vm.image import build_image, project_root
from environments.vm.qemu import QemuOptions, QemuProvider

CONTAINER_RESTART_ASSUMED = 2.0
"""Seconds for `docker stop` + `docker run` of a QEMU container, excluding the guest's boot (assumed)."""


def _write_in_guest(provider: QemuProvider, name: str) -> None:
    assert provider.handle is not None
    client = VMClient(provider.handle.server_url, provider.handle.token)
    try:
        client.execute(["sh", "-c", f"head -c 20000000 /dev/urandom > /home/user/{name}"])
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, default=project_root() / ".cache/vm/small.qcow2")
    parser.add_argument("--reverts", type=int, default=5)
    parser.add_argument("--accel", choices=("kvm", "tcg", "auto"), default="auto")
    parser.add_argument("--memory", type=int, default=2048, help="guest MiB")
    args = parser.parse_args()
    if args.image == project_root() / ".cache/vm/small.qcow2":
        build_image(args.image, "small", say=print)
    provider = QemuProvider(QemuOptions(image=args.image, accel=args.accel, memory_mib=args.memory,
                                        vnc_displays=range(40, 50)))
    reverts: list[float] = []
    try:
        provider.start()
        provider.before_task()
        for round_ in range(args.reverts):
            _write_in_guest(provider, f"task-{round_}")
            provider.before_task()
            reverts.append(provider.timings["revert"])
        provider.revert_policy = "reboot"
        provider.revert()
        reboot = provider.timings["revert"]
    finally:
        provider.stop()
    figures = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "image": str(args.image), "memory_mib": args.memory,
        "accel": provider.accel.accel if provider.accel else args.accel,
        "boot_s": round(provider.timings["boot"], 2),
        "savevm_s": round(provider.timings.get("snapshot", -1), 2),
        "revert_loadvm_s": [round(r, 2) for r in reverts],
        "revert_loadvm_median_s": round(statistics.median(reverts), 2),
        "revert_reboot_s": round(reboot, 2),
        "container_restart_estimate_s": round(CONTAINER_RESTART_ASSUMED + reboot, 2),
    }
    rows = [
        ("cold boot to a serving VM", figures["boot_s"]),
        ("savevm init_state (once)", figures["savevm_s"]),
        ("per-task overhead: loadvm + server + clock (median)", figures["revert_loadvm_median_s"]),
        ("per-task overhead: reboot from a fresh overlay", figures["revert_reboot_s"]),
        ("estimate: container restart (OSWorld docker), at least", figures["container_restart_estimate_s"]),
    ]
    for label, seconds in rows:
        print(f"{label:<60} {seconds:8.2f} s")
    print(f"assumed: docker stop+run {CONTAINER_RESTART_ASSUMED:.0f} s (not measured: no daemon) + a cold "
          "boot of the guest (ours; OSWorld's GNOME image boots slower)")
    out = Path(__file__).resolve().parent / "results" / "vm.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
