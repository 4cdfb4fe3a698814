"""What a guest image tells the provider about itself (the profile written beside it), and our guest's init.

A disk image alone does not say how to boot it or where its server listens. `kimi-agent vm build` writes
`IMAGE.json` (a `GuestProfile`) next to `IMAGE.qcow2`; an image without one (OSWorld's `Ubuntu.qcow2`, WAA's
Windows disk) boots from its own bootloader with OSWorld's defaults (server on port 5000, no token).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict

TOKEN_FW_CFG = "opt/kimi-agent/token"
"""fw_cfg name the provider passes the server's token under (from a 0600 file: it is in no `ps` line)."""


class GuestProfile(BaseModel):
    """How to boot one image and reach the server inside it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kernel: str | None = None
    """File name of the kernel beside the image (booted with -kernel); None boots the disk's own loader."""
    initrd: str | None = None
    append: str = ""
    server_port: int = 5000
    vnc_port: int | None = None
    """Guest port of a VNC server showing the desktop (ours: x11vnc on Xvfb, password = the token's first 8
    characters); None when the desktop is on the emulated screen, which QEMU's own VNC shows."""
    token: bool = False
    """True when the guest's server reads its token from fw_cfg `TOKEN_FW_CFG` (else will not start)."""
    password: str = "password"
    """The guest user's sudo password (OSWorld's images use `password`), for the clock fix after a revert."""
    recipe: str = ""
    """SHA-256 of the recipe the image was built from (empty for images we did not build)."""
    variant: str = ""
    packages: list[str] = []
    """`name=version` of every Debian package in the image, so two builds can be compared."""


def profile_path(image: Path) -> Path:
    return image.with_suffix(".json")


def read_profile(image: Path) -> GuestProfile:
    """The profile beside `image`, or OSWorld's defaults when there is none."""
    path = profile_path(image)
    if not path.is_file():
        return GuestProfile()
    return GuestProfile.model_validate_json(path.read_text())


INIT_SCRIPT = r"""#!/bin/bash
# PID 1 of the kimi-agent guest (no systemd: under TCG it would double the boot time).
# Mounts the kernel file systems, brings up QEMU's user-mode network, starts Xvfb + openbox and the
# VM server as `user`, then reaps children forever. Progress goes to the serial console.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "kimi-init: $*"; }
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -o remount,rw /
resize2fs /dev/vda >/dev/null 2>&1
hostname kimi-vm
modprobe virtio_net
modprobe qemu_fw_cfg
nic=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)  # eth0, or enp0s2 once the initrd's udev renamed it
ip link set lo up
ip link set "$nic" up
ip addr add 10.0.2.15/24 dev "$nic"
ip route add default via 10.0.2.2
screen=1280x800
for word in $(cat /proc/cmdline); do
  case "$word" in kimi.screen=*) screen="${word#kimi.screen=}" ;; esac
done
token_file=/sys/firmware/qemu_fw_cfg/by_name/__TOKEN__/raw
if [ -r "$token_file" ]; then
  KIMI_VM_TOKEN="$(cat "$token_file")"
  export KIMI_VM_TOKEN
else
  say "no token in fw_cfg: the server will refuse to listen"
fi
mkdir -p /tmp/.X11-unix && chmod 1777 /tmp/.X11-unix
runtime=/run/user/$(id -u user)
mkdir -p "$runtime" && chown user:user "$runtime" && chmod 700 "$runtime"
# One D-Bus session for the whole desktop: the window manager, the apps the server launches and the
# server's /accessibility share it, and with it the AT-SPI bus it activates (accessibility bridges on;
# LibreOffice's GTK 3 front end, the one with a tree, as environments.session_bus sets on the host).
as_user() { setpriv --reuid=user --regid=user --init-groups --reset-env -- env HOME=/home/user USER=user \
  LOGNAME=user SHELL=/bin/bash DISPLAY=:0 PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="$runtime" \
  DBUS_SESSION_BUS_ADDRESS="unix:path=$runtime/bus" NO_AT_BRIDGE=0 GTK_A11Y=atspi \
  QT_LINUX_ACCESSIBILITY_ALWAYS_ON=1 SAL_USE_VCLPLUGIN=gtk3 \
  PYTHONPATH=/opt/kimi-agent/src:/opt/kimi-agent/site PYTHONDONTWRITEBYTECODE=1 \
  KIMI_VM_TOKEN="$KIMI_VM_TOKEN" "$@"; }
as_user dbus-daemon --session --address="unix:path=$runtime/bus" --nofork --nopidfile >/tmp/dbus.log 2>&1 &
as_user Xvfb :0 -screen 0 "${screen}x24" -nolisten tcp >/tmp/xvfb.log 2>&1 &
for _ in $(seq 100); do [ -e /tmp/.X11-unix/X0 ] && [ -S "$runtime/bus" ] && break; sleep 0.1; done
as_user openbox >/tmp/openbox.log 2>&1 &
if command -v chromium >/dev/null; then
  # A hidden Chromium with DevTools on 9222 (see kimi-browser); the server starts once it is ready, so
  # the snapshot holds a started browser.
  coproc BROWSER { as_user /usr/local/bin/kimi-browser 2>/tmp/kimi-browser.log; }
  read -r -t 240 -u "${BROWSER[0]}" state && say "browser $state"
fi
if [ -n "$KIMI_VM_TOKEN" ]; then
  (umask 077; printf '%s\n' "${KIMI_VM_TOKEN:0:8}" >/run/vncpass) && chown user /run/vncpass
  as_user x11vnc -display :0 -rfbport __VNC__ -forever -shared -passwdfile rm:/run/vncpass \
    >/tmp/x11vnc.log 2>&1 &
fi
cd /home/user
as_user python3 -m environments.vm_server.server --host 0.0.0.0 --port __PORT__ \
  --root /home/user --root /tmp &
say "ready: X on :0 ($screen), server on port __PORT__"
unset KIMI_VM_TOKEN
while true; do wait; sleep 1; done
"""


BROWSER_SCRIPT = r"""#!/bin/bash
# The guest's Chromium for tasks that open tabs without launching a browser (the local suite's browser
# tasks): started at boot, before the snapshot, because it takes 15-25 s to start under TCG and DevTools
# clients give up after 10 s. Full-screen (--kiosk): when shown, the screen is the page, as in
# `--env browser`. Hidden (its window unmapped) until the first DevTools client connects on port 9222,
# where OSWorld's VMs expose Chrome's DevTools (Chrome's own port 1337 behind it); tasks that never
# touch the browser never see it. Prints "ready" once DevTools answers and the window is hidden.
setsid chromium __CHROMIUM_ARGS__ --password-store=basic --user-data-dir=/home/user/.config/chromium \
  --kiosk --remote-debugging-port=1337 about:blank </dev/null >/tmp/chromium.log 2>&1 &
window=""
for _ in $(seq 1800); do
  # the browser window the window manager lists (Chromium maps short-lived helper windows first)
  window=$(wmctrl -lx | awk '$3 ~ /chromium/ {print $1; exit}')
  [ -n "$window" ] && (exec 3<>/dev/tcp/127.0.0.1/1337) 2>/dev/null && break
  sleep 0.1
done
[ -n "$window" ] && xdotool windowunmap --sync "$window"
echo ready
exec python3 /usr/local/lib/kimi-agent/devtools_relay.py "$window"
"""
DEVTOOLS_RELAY = r"""# Port 9222 to Chromium's DevTools on 1337; the first connection shows the hidden browser
# window. One process relays every connection (a process per connection costs seconds under TCG).
import asyncio
import subprocess
import sys

window = sys.argv[1] if len(sys.argv) > 1 else ""


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def relay(reader, writer):
    global window
    if window:
        shown, window = window, ""
        subprocess.run(["xdotool", "windowmap", "--sync", shown], check=False)
        # mapped again, it is managed anew: full-screen again, and focused
        subprocess.run(["wmctrl", "-i", "-r", shown, "-b", "add,fullscreen"], check=False)
        subprocess.run(["xdotool", "windowactivate", shown], check=False)
    try:
        upstream = await asyncio.open_connection("127.0.0.1", 1337)
    except OSError:
        writer.close()
        return
    await asyncio.gather(pipe(reader, upstream[1]), pipe(upstream[0], writer))


async def main():
    server = await asyncio.start_server(relay, "0.0.0.0", 9222)
    async with server:
        await server.serve_forever()


asyncio.run(main())
"""
BROWSER_SCRIPT_PATH = "usr/local/bin/kimi-browser"
DEVTOOLS_RELAY_PATH = "usr/local/lib/kimi-agent/devtools_relay.py"


def browser_script(chromium_args: tuple[str, ...]) -> str:
    return BROWSER_SCRIPT.replace("__CHROMIUM_ARGS__", " ".join(chromium_args))


def init_script(server_port: int, vnc_port: int) -> str:
    return (INIT_SCRIPT.replace("__TOKEN__", TOKEN_FW_CFG).replace("__PORT__", str(server_port))
            .replace("__VNC__", str(vnc_port)))
