"""`kimi-agent eval`: the command line of `agent.evaluation.dispatcher`."""

from __future__ import annotations

import json
import math
import re
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Optional, cast, get_args

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from actions.errors import first_error
from agent.backends.base import BackendError
from agent.backends.preflight import PreflightError, check_endpoints
from agent.backends.checkpoints import DEFAULT_CHECKPOINT, resolve_checkpoint
from agent.cli.ground import grounding_eval
from agent.cli.options import EXTRA_BODY_HELP, backend_name, env_kind, extra_body, output_folder, parse_size
from agent.evaluation.dispatcher import Plan, run_eval
from agent.evaluation.lock import FolderLocked
from agent.evaluation.manifest import NOT_REVERTED, ManifestError
from agent.evaluation.options import EnvChoice, EvalOptions, ProviderName, RayOptions, Timing, VMSpec
from agent.evaluation.progress import Progress as ProgressState
from agent.evaluation.progress import duration
from agent.evaluation.ray_executor import RayExecutorError, import_ray
from agent.evaluation.results import SUMMARY_FILE, Summary, TaskResult
from agent.safety import PolicyError, load_policy
from environments.kinds import VM_KINDS
from environments.settings import SettingError
from environments.tasks.load import TaskLoadError
from environments.tasks.rules import RulesName
from environments.tasks.suite import SUITE_INDEX
from environments.vm.hardware import Hardware, HardwareError

console = Console()


def eval_command(
    tasks: Annotated[Optional[Path], typer.Option(help="A task file, a folder of them, or an index file {domain: \\[ids]} (with --examples). Default: the shipped local suite.", show_default=False)] = None,
    examples: Annotated[Optional[Path], typer.Option(help="Folder an index file's ids resolve in (default: 'examples' beside it).")] = None,
    results: Annotated[Path, typer.Option(help="Where per-task folders, manifest.json and summary.json go; rerunning the same run resumes it, another run is refused.")] = Path("results"),
    new_run: Annotated[bool, typer.Option("--new-run", help="The results folder holds another run: move it aside (into RESULTS/_previous_runs/) and start this one.")] = False,
    timing: Annotated[str, typer.Option(help="adaptive: wait until the screen settles after each action (fast); osworld: also sleep as OSWorld's runner does (60 s after reset, 2 s after each action, 20 s before evaluating); waa: as WindowsAgentArena's runs do (60 s after setup, 5 s after each action), to reproduce their conditions.")] = "adaptive",
    rules: Annotated[Optional[str], typer.Option(help="Whose failure rules setup and scoring follow: osworld (a setup request the VM refuses errors the task; a raising getter errors it) or waa (such a request is logged and setup carries on; a raising result getter scores 0, recorded in the explanation). Default: waa with --env waa, else osworld.", show_default=False)] = None,
    observe_size: Annotated[Optional[str], typer.Option(help="Resize every screenshot to WIDTHxHEIGHT before the model sees it (WAA's runs: 1280x720); the model's points are mapped back to the screen.", show_default=False)] = None,
    osworld_results: Annotated[Optional[Path], typer.Option(help="Also write every task in OSWorld's layout under this folder (pyautogui/screenshot/MODEL/DOMAIN/ID/: traj.jsonl, step_*.png, result.txt), for its result scripts.", show_default=False)] = None,
    waa_results: Annotated[Optional[Path], typer.Option(help="Also write every task in WindowsAgentArena's layout under this folder (pyautogui/screenshot/MODEL/0/DOMAIN/TASK-FILE-NAME/), which its show_result.py reads.", show_default=False)] = None,
    env: Annotated[str, typer.Option(help="auto (each task's own 'env' field, default xvfb), xvfb, browser, desktop, or a VM: osworld, waa; static: a generated screen for harness benchmarks.")] = "auto",
    vm_url: Annotated[Optional[list[str]], typer.Option(help="VM server URL for --env osworld/waa (repeat: one per worker).")] = None,
    vm_urls_file: Annotated[Optional[Path], typer.Option(help="A file with one VM server URL per line; with --executor ray, optionally followed by a Ray custom resource the VM's actor needs (pins it to the VM's node).")] = None,
    vm_token: Annotated[Optional[str], typer.Option(envvar="KIMI_VM_TOKEN", help="Bearer token for the VM servers.")] = None,
    provider: Annotated[Optional[str], typer.Option(help="VMs the harness manages (tasks run in them through the VM server): qemu boots one VM per worker (or Ray actor, on its node) from --vm-image and restores its init_state snapshot before every task after the first; url uses the --vm-url VMs, reverted by --revert-command if given. Default with --env osworld/waa: url.", rich_help_panel="VMs", show_default=False)] = None,
    vm_image: Annotated[Optional[Path], typer.Option(help="qemu: the base image (never written), e.g. one built by `kimi-agent vm build`, OSWorld's Ubuntu.qcow2. With --executor ray, every node that runs an actor needs the same file at the same path (each actor checks its SHA-256).", rich_help_panel="VMs", show_default=False)] = None,
    vms: Annotated[Optional[int], typer.Option(min=1, help="qemu: VMs at once, one per worker (sets --workers).", rich_help_panel="VMs", show_default=False)] = None,
    no_revert: Annotated[bool, typer.Option("--no-revert", help="Never revert a VM between tasks (each task runs on what the last left): the run is marked not comparable.", rich_help_panel="VMs")] = False,
    revert_command: Annotated[Optional[str], typer.Option(help="url: a command that restores your VM (run without a shell before each task after the first), e.g. one calling your hypervisor's snapshot tool.", rich_help_panel="VMs", show_default=False)] = None,
    accel: Annotated[str, typer.Option(help="qemu: kvm, tcg (software emulation) or auto (KVM if a bounded probe boots, else TCG, saying why).", rich_help_panel="VMs")] = "auto",
    vm_memory: Annotated[int, typer.Option(min=256, help="qemu: MiB of memory per VM.", rich_help_panel="VMs")] = 2048,
    vm_cores: Annotated[int, typer.Option(min=1, help="qemu: virtual CPUs per VM.", rich_help_panel="VMs")] = 2,
    vm_firmware: Annotated[str, typer.Option(help="qemu: bios, uefi (OVMF), or uefi-secure (Secure Boot with Microsoft's keys, as Windows 11 expects).", rich_help_panel="VMs")] = "bios",
    vm_uefi_vars: Annotated[Optional[Path], typer.Option(help="qemu: the UEFI variable store each boot starts from (a copy), e.g. the one kept beside a Windows image. Default: OVMF's empty one.", rich_help_panel="VMs", show_default=False)] = None,
    vm_tpm: Annotated[bool, typer.Option("--vm-tpm", help="qemu: a software TPM 2.0 per VM (swtpm), which Windows 11 needs.", rich_help_panel="VMs")] = False,
    vm_disk_bus: Annotated[str, typer.Option(help="qemu: virtio, scsi (virtio-scsi) or sata (no virtio drivers needed): the bus the image's OS boots from.", rich_help_panel="VMs")] = "virtio",
    vm_vnc_displays: Annotated[str, typer.Option(help="qemu: VNC displays FIRST-LAST the VMs may take (5900+N on 127.0.0.1; each task's log names its VM's).", rich_help_panel="VMs")] = "10-99",
    workers: Annotated[int, typer.Option(min=1, help="Tasks run at once, each worker in its own process (or Ray actor) with its own environment.")] = 1,
    executor: Annotated[str, typer.Option(help="local (worker processes on this machine) or ray (actors on a Ray cluster; needs the 'ray' extra).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray: the cluster's address (HOST:PORT of `ray start --head`). Default: RAY_ADDRESS, else the cluster last started here, else a one-machine cluster for this run.")] = None,
    actor_cpus: Annotated[float, typer.Option(min=0, help="Ray: CPUs each actor reserves.")] = 1.0,
    actor_memory: Annotated[Optional[str], typer.Option(help="Ray: memory each actor reserves, e.g. 2G or 512M (placement only, not a limit).")] = None,
    ray_resources: Annotated[Optional[str], typer.Option(help='Ray: custom resources each actor reserves, as JSON, e.g. \'{"display": 1}\' (nodes declare them with `ray start --resources`).')] = None,
    requeue: Annotated[int, typer.Option(min=0, help="Ray: reruns of a task whose actor or node died, before it counts as errored.")] = 1,
    policy: Annotated[Optional[Path], typer.Option(help="Action policy (TOML). Default: the sandbox policy (denies only session-ending keys) on xvfb, browser and VMs; the full default policy on --env desktop. Nobody confirms during eval, so `confirm` rules refuse.", rich_help_panel="Safety", show_default=False)] = None,
    max_repeats: Annotated[int, typer.Option(min=0, help="Runaway: the same actions asked for this many times in a row on a screen they did not change (0: off, the default in eval, so scores stay comparable; `run` uses 3).", rich_help_panel="Safety")] = 0,
    max_unchanged: Annotated[int, typer.Option(min=0, help="Runaway: this many steps in a row that left the screen unchanged (0: off, the default in eval; `run` uses 6).", rich_help_panel="Safety")] = 0,
    on_runaway: Annotated[str, typer.Option(help="intervene: warn the model first, stop if it goes on; stop: stop at once.", rich_help_panel="Safety")] = "intervene",
    backend: Annotated[str, typer.Option(help="openai: an OpenAI-compatible server (--base-url, or the local vllm serve); vllm-offline: vllm.LLM in the worker (needs the vllm extra and a GPU; --workers 1); scripted: recorded replies (--script), no model.")] = "openai",
    script: Annotated[Optional[Path], typer.Option(help="With --backend scripted: a folder of per-task solutions (script files that name their instruction), a script file or an episode folder.")] = None,
    base_url: Annotated[Optional[list[str]], typer.Option(help="OpenAI-compatible endpoint (repeat: dealt round-robin to workers). Default: use or start `vllm serve` on port 8000.")] = None,
    model: Annotated[str, typer.Option(help="Model name the server serves (also picks prompt variant and sampling).")] = DEFAULT_CHECKPOINT,
    api_key: Annotated[Optional[str], typer.Option(envvar="KIMI_AGENT_API_KEY", help="Bearer token for the endpoint.")] = None,
    max_steps: Annotated[int, typer.Option(min=1, help="Step budget per task (OSWorld's harnesses use 15, 50 or 100).")] = 15,
    temperature: Annotated[Optional[float], typer.Option(help="Override the checkpoint's recommended temperature.")] = None,
    max_tokens: Annotated[Optional[int], typer.Option(help="Override the checkpoint's max_tokens.")] = None,
    extra_body_json: Annotated[Optional[str], typer.Option("--extra-body", help=EXTRA_BODY_HELP)] = None,
    size: Annotated[str, typer.Option(help="Screen size of each virtual desktop / browser viewport, WIDTHxHEIGHT.")] = "1280x800",
    retries: Annotated[int, typer.Option(min=0, help="Reruns of an errored task on a fresh environment.")] = 1,
    offline: Annotated[bool, typer.Option(help="Never download: reference files must already be in the download cache.")] = False,
    grounding: Annotated[Optional[Path], typer.Option(help="Evaluate grounding on a ScreenSpot-V2/Pro folder instead of tasks (results in RESULTS/grounding).", show_default=False)] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Grounding: requests in flight at once.")] = 8,
    bbox_format: Annotated[Optional[str], typer.Option(help="Grounding: xywh (ScreenSpot-V2) or xyxy (ScreenSpot-Pro); default from the layout.")] = None,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Grounding: only the first N samples.")] = None,
    report: Annotated[Optional[Path], typer.Option(help="Run nothing: summarise this results folder (table, and a chart with --out).", show_default=False)] = None,
    compare: Annotated[Optional[Path], typer.Option(help="With --report: a second results folder to compare task by task.", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(help="With --report: write an HTML page with a bar chart and the tables.", show_default=False)] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Serve a page on 127.0.0.1 showing every running task's latest frame, intent and actions as they happen (its address is printed).")] = False,
    watch_port: Annotated[int, typer.Option(min=0, max=65535, help="Port of the --watch page (0: any free one).")] = 0,
) -> None:
    """Run OSWorld-format tasks with the agent, score each with its evaluator, and summarise.

    Each task gets RESULTS/<domain>/<id>/ with result.txt (its score), log.txt and the trajectory; RESULTS/summary.json counts every scheduled task. Errored tasks are reported apart, never dropped, and rerun on resume.
    """
    if report is not None:
        raise typer.Exit(show_report(report, compare, out))
    for flag, value in (("--compare", compare), ("--out", out)):
        if value is not None:
            raise typer.BadParameter("is used only with --report (which runs nothing)", param_hint=flag)
    _, warning = resolve_checkpoint(model)
    if warning:
        console.print(f"[yellow]warning: {escape(warning)}[/yellow]", highlight=False)
    if grounding is not None:
        grounding_eval(grounding, results / "grounding", base_url, model, api_key, concurrency, bbox_format, limit)
    env_kind(env, get_args(EnvChoice))
    urls = list(vm_url or [])
    vm_resources = [""] * len(urls)
    if vm_urls_file is not None:
        try:
            lines = vm_urls_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise typer.BadParameter(f"cannot read {vm_urls_file}: {first_error(err)}", param_hint="--vm-urls-file") from None
        for line in lines:
            if line.strip() and not line.startswith("#"):
                url, *rest = line.split()
                if len(rest) > 1:
                    raise typer.BadParameter(f"{line.strip()!r}: a line is a URL and at most one resource name",
                                             param_hint="--vm-urls-file")
                urls.append(url)
                vm_resources.append(rest[0] if rest else "")
    if executor not in ("local", "ray"):
        raise typer.BadParameter("use local or ray", param_hint="--executor")
    name = backend_name(backend, script)
    if name == "vllm-offline" and (workers > 1 or executor == "ray"):
        raise typer.BadParameter("vllm-offline loads the model in each worker: use --workers 1 on the local executor, or "
                                 "serve the model once (kimi-agent serve) and give its --base-url", param_hint="--backend")
    if executor == "ray":
        try:
            import_ray()
        except RayExecutorError as err:
            console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
            raise typer.Exit(2) from None
        if name == "openai" and not base_url:
            raise typer.BadParameter("--executor ray needs the model endpoint(s) every node can reach", param_hint="--base-url")
    try:
        hardware = Hardware.choose(vm_firmware, vm_tpm, vm_disk_bus, vm_uefi_vars)
    except HardwareError as err:
        raise typer.BadParameter(str(err), param_hint=f"--vm-{err.field.replace('_', '-')}") from None
    vm, env, workers = _vm_spec(provider, env, vm_image, vms, workers, urls, no_revert, revert_command, accel,
                                vm_memory, vm_cores, vm_vnc_displays, hardware)
    if env in VM_KINDS and (vm is None or vm.provider == "url") and len(urls) < workers:
        raise typer.BadParameter(f"--env {env} needs one VM URL per worker ({workers})", param_hint="--vm-url")
    screen = parse_size(size)
    output_folder(results, "--results")
    ray_options = RayOptions(
        address=ray_address, cpus=actor_cpus, memory=_bytes(actor_memory) if actor_memory else None,
        resources=_resources(ray_resources) if ray_resources else (), vm_resources=tuple(vm_resources), requeue=requeue,
    )
    if on_runaway not in ("intervene", "stop"):
        raise typer.BadParameter("use intervene or stop", param_hint="--on-runaway")
    if timing not in get_args(Timing):
        raise typer.BadParameter("use adaptive, osworld or waa", param_hint="--timing")
    rules = rules or ("waa" if env == "waa" else "osworld")
    if rules not in get_args(RulesName):
        raise typer.BadParameter("use osworld or waa", param_hint="--rules")
    observed = parse_size(observe_size, "1280x720", "--observe-size") if observe_size else None
    if policy is not None:
        try:
            load_policy(policy)
        except PolicyError as err:
            raise typer.BadParameter(str(err), param_hint="--policy") from None
    options = EvalOptions(
        tasks=tasks or SUITE_INDEX, examples=examples, results=results, env=env, base_urls=tuple(base_url or ()), model=model,
        backend=name, script=script,
        api_key=api_key, max_steps=max_steps, size=screen, retries=retries, offline=offline,
        workers=workers, vm_urls=tuple(urls), vm_token=vm_token, vm=vm, temperature=temperature, max_tokens=max_tokens,
        executor="ray" if executor == "ray" else "local", ray=ray_options,
        policy=policy, max_repeats=max_repeats or None, max_unchanged=max_unchanged or None,
        on_runaway="stop" if on_runaway == "stop" else "intervene", new_run=new_run,
        osworld_results=osworld_results, waa_results=waa_results, timing=cast(Timing, timing),
        rules=cast(RulesName, rules), observe_size=observed,
        extra_body=extra_body(extra_body_json),
    )
    try:
        if executor == "local":  # Ray actors reach the endpoints from their nodes, maybe not from here
            check_endpoints(name, base_url or [None], model, api_key)
    except PreflightError as err:
        console.print(f"[red]cannot evaluate: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    state = ProgressState(workers=workers)
    live = Live(_LiveView(state), console=console, transient=True, refresh_per_second=2,
                redirect_stderr=False)

    def planned(plan: Plan) -> None:
        state.total, state.pending = plan.total, plan.pending
        console.print(f"[bold]eval[/bold] {escape(model)} · {plan.total} task(s), {plan.pending} to run · "
                      f"{workers} worker(s) · results {escape(str(results))}", highlight=False)
        live.start()

    def started(task, index: int, total: int) -> None:
        state.start(f"{task.domain}/{task.key}")

    def finished(result: TaskResult, summary: Summary) -> None:
        state.finish(result)
        live.console.print(_result_line(result), highlight=False)

    watching = _watch_page(results, watch_port) if watch else ExitStack()
    try:
        try:
            summary = run_eval(options, started, finished, on_plan=planned,
                               on_status=lambda s: live.console.print(s, markup=False))
        finally:
            live.stop()
            watching.close()
    except (TaskLoadError, FolderLocked, ManifestError) as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except (BackendError, SettingError) as err:
        console.print(f"[red]cannot evaluate: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except RayExecutorError as err:
        console.print(f"[red]cannot evaluate on Ray: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    except KeyboardInterrupt:
        console.print("[yellow]interrupted: scored tasks are kept; rerun the same command to resume[/yellow]")
        raise typer.Exit(130) from None
    console.print(domain_table(summary, title=_title(options)))
    if vm is not None and vm.revert_policy == "none":
        console.print(f"[yellow]{escape(NOT_REVERTED)}[/yellow]", highlight=False)
    console.print(f"summary: {escape(str(results / SUMMARY_FILE))}", highlight=False)
    raise typer.Exit(1 if summary.errored or summary.interrupted else 0)


def _vm_spec(
    provider: str | None, env: str, image: Path | None, vms: int | None, workers: int, urls: list[str],
    no_revert: bool, revert_command: str | None, accel: str, memory: int, cores: int, displays: str,
    hardware: Hardware = Hardware(),
) -> tuple[VMSpec | None, str, int]:
    """The VMs of the run (None: no VM), and the env kind and worker count they imply."""
    if provider is None and env in VM_KINDS:
        provider = "url"  # --env osworld|waa --vm-url: VMs a person started, reverted only by a command
    if provider is None:
        for flag, value in (("--vm-image", image), ("--vms", vms), ("--revert-command", revert_command)):
            if value is not None:
                raise typer.BadParameter("is used only with --provider qemu or url", param_hint=flag)
        if no_revert:
            raise typer.BadParameter("is used only with --provider qemu or url", param_hint="--no-revert")
    if provider != "qemu" and hardware != Hardware():
        raise typer.BadParameter("--vm-firmware, --vm-uefi-vars, --vm-tpm and --vm-disk-bus are for "
                                 "--provider qemu", param_hint="--provider")
    if provider is None:
        return None, env, workers
    if provider not in get_args(ProviderName):
        raise typer.BadParameter("use qemu or url", param_hint="--provider")
    if env == "auto":
        env = "osworld"
    elif env not in VM_KINDS:
        raise typer.BadParameter(f"--provider runs tasks in VMs: use --env osworld or waa, not {env}",
                                 param_hint="--env")
    if accel not in ("kvm", "tcg", "auto"):
        raise typer.BadParameter("use kvm, tcg or auto", param_hint="--accel")
    found = re.fullmatch(r"(\d+)-(\d+)", displays.strip())
    if not found or int(found[1]) > int(found[2]):
        raise typer.BadParameter("use FIRST-LAST, e.g. 10-99", param_hint="--vm-vnc-displays")
    if provider == "qemu":
        if image is None:
            raise typer.BadParameter("--provider qemu needs the base image (build one with `kimi-agent vm "
                                     "build`)", param_hint="--vm-image")
        if not image.is_file():
            raise typer.BadParameter(f"no image at {image}", param_hint="--vm-image")
        if urls:
            raise typer.BadParameter("--provider qemu boots its own VMs; --vm-url is for --provider url",
                                     param_hint="--vm-url")
        if revert_command is not None:
            raise typer.BadParameter("is for --provider url (qemu reverts its own snapshot)",
                                     param_hint="--revert-command")
    elif image is not None:
        raise typer.BadParameter("is for --provider qemu", param_hint="--vm-image")
    if revert_command is not None and not revert_command.strip():
        raise typer.BadParameter("is empty: give the command that restores your VM",
                                 param_hint="--revert-command")
    spec = VMSpec(
        "qemu" if provider == "qemu" else "url", image=image.resolve() if image else None,
        revert=not no_revert,
        revert_command=revert_command, accel="kvm" if accel == "kvm" else "tcg" if accel == "tcg" else "auto",
        memory_mib=memory, cores=cores, vnc_displays=(int(found[1]), int(found[2])), hardware=hardware,
    )
    return spec, env, vms or workers


def _title(options: EvalOptions) -> str:
    """The table's title: the scoring rule, and whether the run may stand beside a leaderboard score."""
    vm = options.vm
    if vm is None:
        return ""
    if vm.revert_policy == "none":
        return f"scores — NOT COMPARABLE: VMs not reverted between tasks ({SCORE_RULE})"
    return f"scores — {vm.provider} VMs reverted ({vm.revert_policy}) before every task ({SCORE_RULE})"


def _watch_page(results: Path, port: int) -> ExitStack:
    """The --watch page for the tasks under `results` (read from their folders, so every worker's show)."""
    from agent.watch.server import WatchServer, WatchStartError

    stack = ExitStack()
    try:
        page = stack.enter_context(WatchServer(results, f"eval: {results}", port))
    except WatchStartError as err:
        console.print(f"[red]cannot evaluate: {escape(str(err))}[/red]", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"watch: {page.url}", highlight=False)
    return stack


def show_report(folder: Path, other: Path | None, out: Path | None) -> int:
    """Print the per-domain table (and differences with `other`); write the HTML page to `out`."""
    from agent.evaluation.report import compare, read_results, render_html

    try:
        a = read_results(folder)
        b = read_results(other) if other else None
    except ManifestError as err:
        console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
        return 2
    if not a.tasks or (b is not None and not b.tasks):
        console.print(f"[red]no task results under {escape(str(folder if not a.tasks else other))}[/red]")
        return 2
    for label, results in (("A", a), ("B", b)) if b else (("", a),):
        model = f" ({results.manifest.identity.model})" if results.manifest else ""
        title = f"{label + ': ' if label else ''}{results.folder}{model}"
        not_comparable = results.manifest is not None and not results.manifest.comparable
        title += " — NOT COMPARABLE" if not_comparable else ""
        console.print(domain_table(results.summary, title=title))
        for note in results.manifest.notes if results.manifest is not None else []:
            console.print(f"[yellow]{escape(note)}[/yellow]", highlight=False)
    if b is not None:
        differences = compare(a, b)
        console.print(f"[bold]tasks whose score differs ({len(differences)})[/bold]")
        table = Table()
        for column in ("domain", "task", "A", "B"):
            table.add_column(column)
        for d in differences:
            table.add_row(d.domain, d.task_id, "—" if d.a is None else f"{d.a:g}", "—" if d.b is None else f"{d.b:g}")
        console.print(table)
    if out is not None:
        if not out.parent.is_dir():
            console.print(f"[red]--out: the folder {escape(str(out.parent))} does not exist[/red]",
                          highlight=False)
            return 2
        out.write_text(render_html(a, b, out), encoding="utf-8")
        console.print(f"report: {escape(str(out))}", highlight=False)
    return 0


def import_command(
    source: Annotated[Path, typer.Argument(help="A reference-harness result folder: one task's (traj.jsonl, step_*.png, result.txt) or a tree of them.", show_default=False)],
    dest: Annotated[Path, typer.Argument(help="Where to write: DEST/<domain>/<task id>/trajectory (so view, replay and eval --report read it).", show_default=False)],
    examples: Annotated[Optional[Path], typer.Option(help="OSWorld's examples folder, to fill in each task's instruction.")] = None,
    model: Annotated[str, typer.Option(help="Model name to record.")] = "unknown",
) -> None:
    """Convert results of OSWorld's own harness into kimi-agent trajectories (and result.txt), without running anything."""
    import shutil

    from agent.trajectory.osworld_import import ImportError_, import_reference

    found = sorted({p.parent for p in source.rglob("traj.jsonl")}) if source.is_dir() else []
    if not found:
        console.print(f"[red]no traj.jsonl under {escape(str(source))}[/red]")
        raise typer.Exit(2)
    failed = 0
    for folder in found:
        domain, task_id = folder.parent.name, folder.name
        instruction = ""
        if examples is not None and (examples / domain / f"{task_id}.json").exists():
            import json

            instruction = json.loads((examples / domain / f"{task_id}.json").read_text()).get("instruction", "")
        target = dest / domain / task_id
        try:
            import_reference(folder, target / "trajectory", instruction, model, task_id=task_id, domain=domain)
        except (ImportError_, OSError, ValueError) as err:
            console.print(f"[red]{escape(str(err))}[/red]", highlight=False)
            failed += 1
            continue
        if (folder / "result.txt").exists():
            shutil.copyfile(folder / "result.txt", target / "result.txt")
        console.print(f"imported {escape(domain)}/{escape(task_id)}", highlight=False)
    console.print(f"{len(found) - failed} imported, {failed} failed")
    raise typer.Exit(1 if failed else 0)


def _bytes(text: str) -> int:
    """'2G', '512M', '1.5GiB' or a plain number of bytes."""
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if not found:
        raise typer.BadParameter("use bytes or a size such as 2G or 512M", param_hint="--actor-memory")
    return int(float(found[1]) * 1024 ** "_KMGT".index(found[2].upper() or "_"))


def _resources(text: str) -> tuple[tuple[str, float], ...]:
    try:
        parsed = json.loads(text)
        resources = tuple((str(name), float(amount)) for name, amount in parsed.items())
    except (ValueError, AttributeError, TypeError):
        raise typer.BadParameter('use a JSON object of amounts, e.g. \'{"display": 1}\'', param_hint="--ray-resources") from None
    for name, amount in resources:
        if name in ("CPU", "GPU", "memory", "object_store_memory"):
            raise typer.BadParameter(f"{name} is one of Ray's built-in resources; only custom ones go here (CPU and memory: --actor-cpus, --actor-memory)", param_hint="--ray-resources")
        if not (math.isfinite(amount) and amount >= 0):
            raise typer.BadParameter(f"{name}: {amount:g} is not an amount (a finite number, at least 0)", param_hint="--ray-resources")
    return resources


class _LiveView:
    """The live lines under the results: counts, running score, ETA, and every running task."""

    def __init__(self, state: ProgressState) -> None:
        self.state = state

    def __rich__(self) -> Group:
        s = self.state
        eta = s.eta()
        head = Text.assemble(
            (f"{s.done}/{s.total} done", "bold"),
            f" · {len(s.running)} running · {s.counts['errored']} errored",
            f" · {s.counts['unsupported']} unsupported",
            f" · score {s.score:g}/{s.total}" + (f" ({s.score / s.total:.3f})" if s.total else ""),
            f" · ETA {duration(eta) if eta is not None else '…'}",
        )
        now = time.monotonic()
        lines = [Text(f"  running {name}  {duration(now - since)}", style="dim")
                 for name, since in sorted(s.running.items(), key=lambda item: item[1])]
        return Group(head, *lines)


def _result_line(result: TaskResult) -> str:
    name = escape(f"{result.domain}/{result.task_id}")
    if result.status == "errored":
        return f"[red]ERROR[/red] {name}: {escape(result.error or '')}"
    if result.status == "unsupported":
        return f"[magenta]UNSUPPORTED[/magenta] {name}: {escape(result.error or '')}"
    if result.status == "interrupted":
        return f"[yellow]INTERRUPTED[/yellow] {name}"
    colour = "green" if (result.score or 0) >= 1 else "yellow" if (result.score or 0) > 0 else "red"
    resumed = " (finished earlier)" if result.resumed else f" in {result.steps} step(s), {result.seconds:.1f} s"
    return f"[{colour}]{result.score:g}[/{colour}] {name}{resumed}"


SCORE_RULE = ("mean over every scheduled task: errored, unsupported and interrupted tasks count as 0; "
              "OSWorld's own script divides by the scored tasks only (\"scored mean\")")


def domain_table(summary: Summary, title: str = "") -> Table:
    """The per-domain table of a summary: the same for a finished run, an interrupted one and --report."""
    table = Table(title=title or f"scores ({SCORE_RULE})")
    columns = ("domain", "scheduled", "scored", "errored", "unsupported", "interrupted", "score",
               "scored mean")
    for column in columns:
        table.add_column(column, justify="left" if column == "domain" else "right")
    for domain, row in sorted(summary.by_domain.items()):
        scored_mean = row["total_score"] / row["scored"] if row["scored"] else 0.0
        table.add_row(domain, *(str(int(row[k])) for k in columns[1:6]),
                      f"{row['total_score'] / row['scheduled']:.3f}", f"{scored_mean:.3f}")
    counts = (summary.scheduled, summary.scored, summary.errored, summary.unsupported, summary.interrupted)
    table.add_row("all", *map(str, counts), f"{summary.mean_score:.3f}", f"{summary.scored_mean:.3f}",
                  style="bold")
    return table
