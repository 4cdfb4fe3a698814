"""Is an unfinished episode still being written? Read from its end marker and its writer's process.

`episode.json` says `running` from the moment an episode starts until `finish` rewrites it; a
writer killed by SIGKILL or a power cut never does, so `running` alone would show forever.
The writer's pid, host and process start time are stored with the episode: on the same host
a dead pid (or one reused by another process) means the writer was killed.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

Liveness = Literal["finished", "running", "killed", "unknown"]


class WriterProcess(BaseModel):
    """The process writing an episode (stored in `episode.json`)."""

    model_config = ConfigDict(frozen=True)

    pid: int
    host: str
    started: int | None = None
    """The process's start time in clock ticks since boot (Linux), which tells a reused pid apart."""


class Ended(Protocol):
    """What liveness reads of an `EpisodeInfo` (the store imports this module, so not the class itself)."""

    @property
    def outcome(self) -> str: ...

    @property
    def writer(self) -> WriterProcess | None: ...


@dataclass(frozen=True)
class EpisodeStatus:
    """What a viewer shows as an episode's state: the outcome once finished, else whether its writer lives."""

    state: Liveness
    label: str
    """`done`, `interrupted`, …, `running`, `killed`, or `unfinished` when nobody can tell."""
    detail: str = ""


def this_process() -> WriterProcess:
    return WriterProcess(pid=os.getpid(), host=socket.gethostname(), started=_start_ticks(os.getpid()))


def episode_status(info: Ended) -> EpisodeStatus:
    """The episode's outcome, or for one still marked `running`, whether its writer is alive."""
    if info.outcome != "running":
        return EpisodeStatus("finished", info.outcome)
    writer = info.writer
    if writer is None:
        return EpisodeStatus("unknown", "unfinished", "no end was recorded: the run was killed, or is "
                                                       "still running (written before writers were recorded)")
    if writer.host != socket.gethostname():
        return EpisodeStatus("unknown", "unfinished", f"no end recorded yet; written on {writer.host} "
                                                       f"(pid {writer.pid}), which cannot be checked here")
    if _alive(writer):
        return EpisodeStatus("running", "running", f"pid {writer.pid}")
    return EpisodeStatus("killed", "killed", f"its writer (pid {writer.pid}) ended without recording an end: "
                                             "killed, or crashed")


def _alive(writer: WriterProcess) -> bool:
    try:
        os.kill(writer.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        pass
    fields = _stat(writer.pid)
    if fields and fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return False
    started = _start_ticks(writer.pid)
    return writer.started is None or started is None or started == writer.started


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time since boot, in clock ticks); None where there is no /proc."""
    try:
        return int(_stat(pid)[19])
    except (IndexError, ValueError):
        return None


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state first); empty where there is none."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return []
    return stat[stat.rfind(")") + 2:].split()  # the command name in parentheses may hold spaces
