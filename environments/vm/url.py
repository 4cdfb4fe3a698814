"""The `url` provider: a VM a person started, given by its server URL, and optionally a revert command.

The revert command is the user's own (e.g. one that calls their hypervisor's snapshot tool); it is split
with `shlex.split` and run without a shell, then the provider waits for the server to answer again.
Without a command the VM is never reverted, and a run on it is not comparable to a leaderboard score.
"""

from __future__ import annotations

import shlex
import subprocess
from urllib.parse import urlsplit

from environments.remote.client import VMClient, VMError
from environments.vm.provider import RevertPolicy, VMHandle, VMProviderError, wait_for_server

REVERT_TIMEOUT = 900.0


class UrlProvider:
    name = "url"

    def __init__(self, url: str, token: str | None = None, revert_command: str | None = None,
                 boot_timeout: float = 300.0, vm_name: str = "vm") -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.argv = shlex.split(revert_command) if revert_command else []
        if revert_command is not None and not self.argv:
            raise VMProviderError("--vm-revert-command is empty: give the command that restores your VM")
        self.revert_policy: RevertPolicy = "command" if self.argv else "none"
        self.boot_timeout = boot_timeout
        self.handle = VMHandle(vm_name, self.url, token, host=urlsplit(self.url).hostname or "127.0.0.1")
        self._dirty = False

    def start(self) -> VMHandle:
        wait_for_server(self.url, self.token, self.boot_timeout)
        return self.handle

    def revert(self) -> None:
        if not self.argv:
            raise VMProviderError("this VM has no revert command (--vm-revert-command)")
        try:
            done = subprocess.run(self.argv, capture_output=True, text=True, timeout=REVERT_TIMEOUT,
                                  check=False)
        except FileNotFoundError:
            raise VMProviderError(f"revert command not found: {self.argv[0]}") from None
        except subprocess.TimeoutExpired:
            raise VMProviderError(f"revert command did not finish within {REVERT_TIMEOUT:.0f} s") from None
        if done.returncode != 0:
            raise VMProviderError(f"revert command exited with {done.returncode}: "
                                  f"{done.stderr.strip()[-400:]}")
        wait_for_server(self.url, self.token, self.boot_timeout)
        self._dirty = False

    def before_task(self) -> bool:
        reverted = False
        if self._dirty and self.argv:
            self.revert()
            reverted = True
        self._dirty = True
        return reverted

    def healthy(self) -> bool:
        client = VMClient(self.url, self.token, timeout=10, retries=0)
        try:
            client.platform()
            return True
        except VMError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Nothing to stop: the user owns this VM."""
