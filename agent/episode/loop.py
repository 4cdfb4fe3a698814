"""The perceive → think → act loop: one episode, every step recorded as it ends."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from actions.coords import Frame
from actions.errors import FailSafeTriggered
from actions.models import Action, Done, Fail
from agent.backends.base import BackendError
from agent.episode.encode_ahead import EncodeAhead
from agent.episode.protocol import Observation, Policy
from agent.safety.guards import EpisodeGuard, Guards, held_back
from agent.trajectory.store import (
    ExecutionRecord, GuardEvent, Outcome, StepRecord, Timings, TokenRecord, TrajectoryWriter,
)
from environments.base import ExecutionResult, TaskOptions
from environments.encode import EncodedImage
from environments.screen import Screenshot

INTERRUPTED = "interrupted (Ctrl+C) while acting"


class AgentEnv(Protocol):
    """What the loop needs of an environment (every `environments` env provides it)."""

    @property
    def last_screenshot(self) -> Screenshot: ...

    def reset(self, *, seed: int | None = None, options: TaskOptions | None = None) -> tuple[object, dict]: ...

    def perform(self, action: Action) -> ExecutionResult: ...


@dataclass(frozen=True)
class Budget:
    max_steps: int = 30
    max_seconds: float | None = None


@dataclass(frozen=True)
class Perception:
    """Turns a screenshot into the image the model sees: bytes, data URL and frame geometry."""

    encode: Callable[[Screenshot], tuple[EncodedImage, Frame]]


def _ignore(_: object) -> None:
    return None


@dataclass(frozen=True)
class LoopEvents:
    """Live feedback from the loop (a start banner, a spinner while the model thinks); each is optional."""

    started: Callable[[Path], None] = _ignore
    """The episode folder, before the environment is reset."""
    thinking: Callable[[int], None] = _ignore
    """A step's index, just before the model is asked."""
    acting: Callable[[int], None] = _ignore
    """A step's index, once the model has answered (before guards ask anyone and actions run)."""


@dataclass
class EpisodeResult:
    outcome: Outcome
    steps: list[StepRecord] = field(default_factory=list)
    answer: str | None = None
    error: str | None = None
    folder: str = ""

    def total(self, part: str) -> float:
        """Seconds spent in one timing component over the whole episode."""
        return sum(getattr(s.timings, part) for s in self.steps)


def run_episode(
    env: AgentEnv,
    policy: Policy,
    perception: Perception,
    writer: TrajectoryWriter,
    budget: Budget,
    on_step: Callable[[StepRecord], None] | None = None,
    reset_options: TaskOptions | None = None,
    guards: Guards | None = None,
    events: LoopEvents = LoopEvents(),
) -> EpisodeResult:
    """Run until done/fail, a budget runs out, a guard stops it, an error, or Ctrl+C; the trajectory is finished in every case.

    `reset_options` go to `env.reset` (e.g. a task, to run its setup first); an
    exception from reset (a failed setup) ends the episode as an error and is re-raised.
    `guards` check every action before it is performed; by default the shipped policy with
    nobody to confirm (so `confirm` rules deny) and the default runaway limits. After the
    last step the screen is captured once more and stored as the episode's final frame.
    """
    started = time.monotonic()
    result = EpisodeResult(outcome="running", folder=str(writer.folder))
    guard = (guards or Guards()).episode()
    ahead = EncodeAhead(perception.encode)
    perception = Perception(ahead.encode)
    listen = getattr(getattr(env, "unwrapped", env), "listen_for_candidates", None)
    if listen is not None:  # the env offers each frame it may settle on, to be encoded while it waits
        listen(ahead.offer)
    where = "environment"  # what an unexpected exception is blamed on: the env's reset, then the agent
    events.started(writer.folder)
    try:
        options = (reset_options or TaskOptions()).model_copy(update={"instruction": policy.instruction})
        _, info = env.reset(options=options)
        where = "agent"
        if isinstance(info.get("vnc"), str):  # a VM env says where a person can watch it
            writer.note(vnc=info["vnc"])
        capture_seconds = _capture_seconds(info)
        for index in range(budget.max_steps):
            if budget.max_seconds is not None and time.monotonic() - started > budget.max_seconds:
                result.outcome = "timeout"
                break
            panic = guard.panicked()
            if panic is not None:
                result.outcome, result.error = "stopped", panic.reason
                break
            record, capture_seconds = _one_step(
                env, policy, perception, writer, index, capture_seconds, guard, events,
            )
            writer.append(record)
            result.steps.append(record)
            if on_step:
                on_step(record)
            stop = next((e for e in record.guard if e.verdict == "stop"), None)
            if stop is not None:
                result.outcome, result.error = "stopped", stop.reason
                break
            if record.execution.error == INTERRUPTED:
                result.outcome = "interrupted"
                break
            if record.error is not None:
                result.outcome, result.error = "error", record.error
                break
            terminal = next((a for a in record.actions if isinstance(a, (Done, Fail))), None)
            if terminal is not None and not held_back(record.guard):
                result.outcome = terminal.type
                result.answer = terminal.answer if isinstance(terminal, Done) else terminal.reason
                break
        else:
            result.outcome = "max_steps"
    except KeyboardInterrupt:
        result.outcome = "interrupted"
        panic = guard.panicked()
        if panic is not None:
            result.outcome, result.error = "stopped", panic.reason
    except BackendError as err:
        result.outcome, result.error = "error", f"model backend: {err}"
    except Exception as err:
        result.outcome, result.error = "error", f"{where}: {type(err).__name__}: {err}"
        raise
    finally:
        if result.outcome == "running":
            result.outcome = "error"
        final = _final_frame(env, perception, writer) if where == "agent" and result.steps else None
        writer.finish(result.outcome, answer=result.answer, error=result.error, final_frame=final)
        if listen is not None:
            listen(None)
        ahead.close()
    return result


def _final_frame(env: AgentEnv, perception: Perception, writer: TrajectoryWriter) -> str | None:
    """The screen after the last action, stored; None when it cannot be had (the outcome already says why)."""
    try:
        image, _ = perception.encode(env.last_screenshot)
        return writer.write_final_frame(image.data, image.extension)
    except Exception:  # noqa: BLE001  a dead display or browser: the episode ends without a final frame
        return None


def _one_step(
    env: AgentEnv,
    policy: Policy,
    perception: Perception,
    writer: TrajectoryWriter,
    index: int,
    capture_seconds: float,
    guard: EpisodeGuard,
    events: LoopEvents,
) -> tuple[StepRecord, float]:
    started_at = time.time()
    shot = env.last_screenshot
    t0 = time.perf_counter()
    image, frame = perception.encode(shot)
    encode_seconds = time.perf_counter() - t0
    name = writer.write_frame(index, image.data, image.extension)
    events.thinking(index)
    decision = policy.decide(Observation(image.data_url, frame, name, guard.take_note()))
    events.acting(index)
    if decision.response.stand_in:
        writer.note(stand_in=decision.response.stand_in)
    execution = ExecutionRecord()
    env_error: str | None = None
    execute_seconds = settle_seconds = next_capture = 0.0
    events: list[GuardEvent] = []
    changed: bool | None = False
    review = guard.review(decision.screen_actions) if decision.step is not None else None
    if review is not None:
        events.extend(review.events)
    for action in decision.screen_actions if review is not None and review.perform else ():
        panic = guard.panicked()
        if panic is not None:
            events.append(panic)
            break
        try:
            outcome = env.perform(action)
        except KeyboardInterrupt:
            execution = execution.model_copy(update={"ok": False, "error": INTERRUPTED})
            break
        except FailSafeTriggered as err:
            events.append(GuardEvent(kind="fail_safe", verdict="stop", reason=str(err), action=execution.executed))
            execution = execution.model_copy(update={"ok": False, "error": str(err)})
            break
        except Exception as err:  # noqa: BLE001  a dead display, browser or VM ends the episode, recorded
            env_error = f"environment: {type(err).__name__}: {err}"
            execution = execution.model_copy(update={"ok": False, "error": env_error})
            break
        execute_seconds += outcome.timings.execute
        settle_seconds += outcome.timings.settle
        next_capture = outcome.timings.capture
        if outcome.ok:
            changed = _changed(changed, outcome)
        execution = ExecutionRecord(
            ok=outcome.ok, error=outcome.error, executed=execution.executed + int(outcome.ok),
            settle_stable=outcome.settle.stable if outcome.settle else None,
        )
        if not outcome.ok:
            break
    if review is not None and not any(e.verdict == "stop" for e in events):
        after = guard.after(execution.executed, changed)
        if after is not None:
            events.extend(after.events)
    step = decision.step
    record = StepRecord(
        index=index,
        started_at=started_at,
        ended_at=time.time(),
        screenshot=name,
        frame=frame,
        request=decision.request,
        response=decision.response,
        attempts=decision.attempts,
        thought=step.thought if step else "",
        intent=step.intent if step else "",
        actions=list(step.actions) if step else [],
        coordinates=decision.chains,
        execution=execution,
        timings=Timings(
            capture=capture_seconds, encode=encode_seconds, model=decision.model_seconds,
            parse=decision.parse_seconds, execute=execute_seconds, settle=settle_seconds,
        ),
        tokens=TokenRecord(prompt=decision.tokens.prompt, shared_prefix=decision.tokens.shared_prefix, new=decision.tokens.new),
        error=decision.error or env_error,
        guard=events,
    )
    return record, next_capture


def _changed(so_far: bool | None, outcome: ExecutionResult) -> bool | None:
    """Whether the step's actions so far changed the screen; None when the env cannot say."""
    if so_far or (outcome.settle is not None and outcome.settle.changed):
        return True
    return None if so_far is None or outcome.settle is None else False


def _capture_seconds(info: dict) -> float:
    result = info.get("result")
    return result.timings.capture if result is not None else 0.0
