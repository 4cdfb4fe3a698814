"""The `docker` provider is not implemented: it only fails at once, saying why and what to use instead.

OSWorld's docker provider runs QEMU inside a container (`happysixd/osworld-docker`) and restarts the
container to revert. Nothing here could exercise it (no docker daemon on the machines this project is
tested on), so rather than ship it untested this provider checks for a daemon and always refuses.
"""

from __future__ import annotations

import shutil
import subprocess

from environments.vm.provider import VMProviderError


def docker_unavailable_reason() -> str:
    """Why the docker provider cannot run here (it never can: see the module docstring)."""
    if shutil.which("docker") is None:
        return "the docker client is not installed"
    try:
        done = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=10, check=False)
    except subprocess.TimeoutExpired:
        return "the docker daemon did not answer within 10 s"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return f"no docker daemon answers ({lines[-1] if lines else 'no output'})"
    return "a daemon answers, but this provider is not implemented (it was never tested)"


class DockerProvider:
    name = "docker"

    def __init__(self) -> None:
        raise VMProviderError(f"--provider docker: {docker_unavailable_reason()}; use --provider qemu "
                              "with the same image (OSWorld's Ubuntu.qcow2 runs directly under QEMU) "
                              "or --provider url")
