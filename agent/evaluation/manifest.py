"""What a results folder's run is: `manifest.json`, written before the first task.

A folder holds one run. A rerun resumes only when everything that decides a score is the same
(`RunIdentity`, compared field by field); otherwise it is refused, naming what differs, or — with
`--new-run` — the earlier run is moved aside into `RESULTS/_previous_runs/<its start>/`. Facts
that do not change a score (the endpoint's URL, workers, retries, start time) are recorded, not compared.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from agent import __version__
from agent.episode.run import policy_config
from agent.evaluation.options import EvalOptions, Timing, VMSpec
from agent.evaluation.timing import PROFILES
from agent.trajectory.atomic import write_atomic
from environments.tasks.model import Task
from environments.vm.digest import image_sha256

MANIFEST_FILE = "manifest.json"
PREVIOUS_RUNS = "_previous_runs"


class ManifestError(RuntimeError):
    """The folder holds another run (or an unreadable manifest); the message says what to do."""


class RunIdentity(BaseModel):
    """Everything that decides a score: two runs with the same identity may share a folder."""

    model_config = ConfigDict(frozen=True, extra="allow")
    model: str
    backend: str
    script: str | None = None
    """The scripted backend's solutions (a different script is a different run)."""
    prompt_variant: str
    sampling: dict[str, Any]
    max_steps: int
    timing: str = "adaptive"
    """How long the harness waits after reset and actions: adaptive (settle detection) or a fixed profile."""
    env: str
    screen: str
    guards: dict[str, Any]
    harness_version: str
    task_count: int
    task_hash: str
    """sha256 over every task's domain, id and content (a changed task file changes it)."""
    provider: str | None = None
    """The VM provider (qemu, url, docker) for VM runs; None for local desktops and browsers."""
    image: str | None = None
    """The VM image (file name and digest) for VM runs."""


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")
    identity: RunIdentity
    started_at: float
    endpoints: list[str]
    workers: int
    retries: int
    executor: str
    task_source: str
    tasks: list[tuple[str, str]]
    """(domain, id) of every scheduled task, load failures included: the denominator."""
    comparable: bool = True
    """False when the run cannot guarantee OSWorld's conditions (e.g. no pristine snapshot per task)."""
    notes: list[str] = []


def task_hash(tasks: list[Task], failures: list[tuple[str, str]]) -> str:
    digest = hashlib.sha256()
    for task in sorted(tasks, key=lambda t: (t.domain, t.key)):
        digest.update(f"{task.domain}/{task.key}\n".encode())
        digest.update(task.model_dump_json().encode())
    for domain, task_id in sorted(failures):
        digest.update(f"unloadable {domain}/{task_id}\n".encode())
    return digest.hexdigest()


def build_manifest(options: EvalOptions, tasks: list[Task], failures: list[tuple[str, str]]) -> Manifest:
    config = policy_config(options.model, options.temperature, options.max_tokens)
    guards = options.guards
    identity = RunIdentity(
        model=options.model, backend=options.backend,
        script=str(options.script.resolve()) if options.script else None, prompt_variant=config.variant,
        sampling=config.sampling.model_dump(mode="json"), max_steps=options.max_steps,
        timing=timing_label(options.timing), env=options.env, screen=f"{options.size[0]}x{options.size[1]}",
        guards={"policy": str(guards.policy) if guards.policy else None, "max_repeats": guards.max_repeats,
                "max_unchanged": guards.max_unchanged, "on_runaway": guards.on_runaway},
        harness_version=__version__, task_count=len(tasks) + len(failures),
        task_hash=task_hash(tasks, failures),
        # Only when given, so the identity of runs without them stays what it was.
        **({"extra_body": options.extra_body} if options.extra_body else {}),
        **({"rules": options.rules} if options.rules != "osworld" else {}),
        **({"observe_size": "{}x{}".format(*options.observe_size)} if options.observe_size else {}),
        **_vm_identity(options),
    )
    entries = sorted({(t.domain or "default", t.key) for t in tasks} | set(failures))
    vm = options.vm
    comparable = vm is None or vm.revert_policy != "none"
    notes = [] if comparable else [NOT_REVERTED]
    return Manifest(
        identity=identity, started_at=time.time(), endpoints=list(options.base_urls) + list(options.vm_urls),
        workers=options.workers, retries=options.retries, executor=options.executor,
        task_source=str(options.tasks),
        tasks=entries, comparable=comparable, notes=notes,
        **({"vm": _vm_facts(vm)} if vm is not None else {}),
    )


NOT_REVERTED = ("not comparable: the VMs are not reverted between tasks, so a task may run on what an "
                "earlier one left (leaderboard scores start every task from a pristine VM)")


def _vm_identity(options: EvalOptions) -> dict[str, Any]:
    """The VM fields of the identity: provider, image (name and SHA-256) and revert policy decide scores."""
    vm = options.vm
    if vm is None:
        return {}
    image = f"{vm.image.name} sha256:{image_sha256(vm.image)}" if vm.image is not None else None
    return {"provider": vm.provider, "image": image, "revert": vm.revert_policy}


def _vm_facts(vm: VMSpec) -> dict[str, Any]:
    """What the manifest records of the VMs (the qemu provider falls back from snapshot to reboot, and
    says so in the task logs, when a live snapshot is impossible: still pristine, still comparable)."""
    return {
        "provider": vm.provider,
        "image_path": str(vm.image.resolve()) if vm.image is not None else None,
        "image_sha256": image_sha256(vm.image) if vm.image is not None else None,
        "revert_policy": vm.revert_policy,
        "revert_command": vm.revert_command if vm.revert else None,
        "accel": vm.accel if vm.provider == "qemu" else None,
        **(vm.hardware.facts() if vm.provider == "qemu" else {}),
    }


def timing_label(timing: Timing) -> str:
    """The profile's name, with its pauses spelled out for a fixed-sleep profile."""
    return timing if timing == "adaptive" else f"{timing} ({PROFILES[timing].describe()})"


def read_manifest(results: Path) -> Manifest | None:
    """The folder's manifest; None when it has none (a new folder, or one from before manifests)."""
    try:
        return Manifest.model_validate_json((results / MANIFEST_FILE).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValidationError, ValueError) as err:
        raise ManifestError(f"{results / MANIFEST_FILE} is unreadable ({type(err).__name__}); "
                            "rerun with --new-run to start a new run in this folder") from None


def differences(old: RunIdentity, new: RunIdentity) -> list[str]:
    """'field: old → new' for every field of the identity that differs, in the identity's order."""
    a, b = old.model_dump(mode="json"), new.model_dump(mode="json")
    found = []
    for key in [*a, *(k for k in b if k not in a)]:
        if a.get(key) != b.get(key):
            before, after = _short(a.get(key)), _short(b.get(key))
            found.append(f"{key}: {before} → {after}")
    return found


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= 40 else text[:12] + "…"


def has_results(results: Path) -> bool:
    """Whether the folder holds task folders from an earlier run (with or without a manifest)."""
    if not results.is_dir():
        return False
    return any(p.is_dir() and p.parent.name != PREVIOUS_RUNS for p in results.glob("*/*"))


def claim_folder(results: Path, manifest: Manifest, new_run: bool) -> Manifest:
    """Make `results` this run's folder and return the manifest in force: the earlier one when
    resuming the same run, else `manifest` (written now, before any task).
    Raises ManifestError when the folder holds another run and `new_run` is not set."""
    results.mkdir(parents=True, exist_ok=True)
    old = read_manifest(results) if not new_run else None
    if old is not None:
        changed = differences(old.identity, manifest.identity)
        if not changed:
            return old
        raise ManifestError(f"{results} holds another run ({'; '.join(changed)}): "
                            "use another --results folder, or --new-run to move that run aside and start "
                            "this one")
    if has_results(results) or (results / MANIFEST_FILE).exists():
        if not new_run:
            raise ManifestError(f"{results} holds results of a run with no manifest (from an earlier "
                                "version): use another --results folder, or --new-run to move them aside")
        _move_aside(results)
    write_atomic(results / MANIFEST_FILE, manifest.model_dump_json(indent=2) + "\n")
    return manifest


def _move_aside(results: Path) -> None:
    """Move everything of the earlier run into _previous_runs/<when it started>/ (nothing is deleted)."""
    try:
        started = Manifest.model_validate_json((results / MANIFEST_FILE).read_text()).started_at
    except (OSError, ValidationError, ValueError):
        started = time.time()
    target = results / PREVIOUS_RUNS / time.strftime("%Y%m%d-%H%M%S", time.gmtime(started))
    while target.exists():
        target = target.with_name(target.name + "+")
    target.mkdir(parents=True)
    for entry in results.iterdir():
        if entry.name not in (PREVIOUS_RUNS, ".lock"):
            shutil.move(str(entry), target / entry.name)
