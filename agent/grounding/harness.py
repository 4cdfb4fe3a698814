"""The grounding evaluation: every sample asked concurrently, scored, logged line by line, resumable.

Layout of `--results DIR`:
    DIR/results.jsonl   one line per answered sample (appended and fsync'd as each finishes)
    DIR/summary.json    accuracy overall and per breakdown (written atomically at the end)

A hit is a predicted point inside the target box, edges included, computed in unrounded
pixels of the original image (the public harnesses' rule: relative point × image size). An
unparseable reply is a miss, counted apart. A sample whose request failed (server down) is
`errored`: it stays in the denominator, and a rerun of the same command asks it again, as it
does every sample that has no line yet.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Literal

from PIL import Image
from pydantic import BaseModel, ValidationError, computed_field

from actions.errors import ActionError
from agent.backends.base import Backend, BackendError
from agent.backends.chat import Sampling
from agent.episode.loop import Perception
from agent.grounding.dataset import Sample
from agent.grounding.ground import ask, image_screenshot, read_answer
from agent.trajectory.atomic import write_atomic

RESULTS_FILE, SUMMARY_FILE = "results.jsonl", "summary.json"
Status = Literal["hit", "miss", "unparseable", "errored"]


class SampleResult(BaseModel):
    """One line of results.jsonl."""

    id: str
    status: Status
    hit: bool
    prediction: tuple[int, int] | None = None
    """The pixel of the original image the model pointed at (None when it gave no usable point)."""
    exact: tuple[float, float] | None = None
    """The same point to 0.001 px (the hit test uses it unrounded)."""
    relative: tuple[float, float] | None = None
    reply: str | None = None
    error: str | None = None
    seconds: float = 0.0


class Tally(BaseModel):
    total: int = 0
    hits: int = 0
    misses: int = 0
    """Answered with a point outside the box."""
    unparseable: int = 0
    """Answered without a usable point (also misses)."""
    errored: int = 0
    """Never answered (request failed, image unreadable); scored as nothing and asked again on resume."""

    @computed_field
    @property
    def accuracy(self) -> float:
        return self.hits / self.total if self.total else 0.0

    def add(self, result: SampleResult | None) -> None:
        self.total += 1
        status = result.status if result else "errored"
        self.hits += status == "hit"
        self.misses += status == "miss"
        self.unparseable += status == "unparseable"
        self.errored += status == "errored"


class Summary(BaseModel):
    """summary.json: every scheduled sample counts; errored ones score nothing."""

    dataset: str
    model: str
    bbox_format: str
    overall: Tally
    breakdowns: dict[str, dict[str, Tally]]
    """Per breakdown field present (ui_type, platform, application, group, data_source), per value."""


def score(sample: Sample, backend: Backend, sampling: Sampling, perception: Perception) -> SampleResult:
    """Ask for one sample and score the answer; a bad reply or a failed request is a result, not an exception."""
    started = time.perf_counter()

    def errored(error: str) -> SampleResult:
        return SampleResult(id=sample.id, status="errored", hit=False, error=error, seconds=time.perf_counter() - started)

    try:
        with Image.open(sample.image) as image:
            shot = image_screenshot(image)
    except OSError as err:  # unreadable or not an image
        return errored(f"cannot read {sample.image}: {err}")
    try:
        completion, frame = ask(backend, sampling, perception, shot, sample.instruction)
    except BackendError as err:
        return errored(f"the request failed: {err}")
    try:
        found = read_answer(completion, frame)
    except ActionError as err:
        return SampleResult(id=sample.id, status="unparseable", hit=False, reply=completion.text, error=str(err),
                            seconds=time.perf_counter() - started)
    hit = sample.box.contains(*found.exact)
    (ex, ey), (rx, ry) = found.exact, found.relative
    return SampleResult(
        id=sample.id, status="hit" if hit else "miss", hit=hit, prediction=found.pixel,
        exact=(round(ex, 3), round(ey, 3)), relative=(round(rx, 6), round(ry, 6)), reply=completion.text,
        seconds=time.perf_counter() - started,
    )


class ResultLog:
    """results.jsonl, appended one whole line per write and fsync'd, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _drop_torn_tail(path)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._lock = threading.Lock()

    def append(self, result: SampleResult) -> None:
        data = memoryview((result.model_dump_json() + "\n").encode("utf-8"))
        with self._lock:
            while data:
                data = data[os.write(self._fd, data):]
            os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


def _drop_torn_tail(path: Path) -> None:
    """Cut a last line left unfinished by a killed run, so the next line starts cleanly."""
    if not path.exists() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if not data.endswith(b"\n"):
        with path.open("r+b") as file:
            file.truncate(data.rfind(b"\n") + 1)


def read_results(path: Path) -> dict[str, SampleResult]:
    """The last result per sample id in a results.jsonl (unreadable lines are ignored: asked again)."""
    results: dict[str, SampleResult] = {}
    if not path.exists():
        return results
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            result = SampleResult.model_validate_json(line)
        except ValidationError:
            continue
        results[result.id] = result
    return results


def evaluate(
    samples: list[Sample],
    results_dir: Path,
    ask_one: Callable[[Sample], SampleResult],
    concurrency: int = 8,
    on_result: Callable[[Sample, SampleResult, bool], None] = lambda *_: None,
) -> dict[str, SampleResult]:
    """Every sample's result: earlier final ones read back, the rest (and errored ones) asked anew.

    At most `concurrency` samples are in flight. `on_result(sample, result, resumed)` is called
    for each sample as its result is known. On Ctrl+C, samples not yet started are cancelled and
    those in flight are finished and logged before `KeyboardInterrupt` propagates.
    """
    log_path = results_dir / RESULTS_FILE
    done = {k: r for k, r in read_results(log_path).items() if r.status != "errored"}
    results: dict[str, SampleResult] = {}
    todo: list[Sample] = []
    for sample in samples:
        if sample.id in done:
            results[sample.id] = done[sample.id]
            on_result(sample, done[sample.id], True)
        else:
            todo.append(sample)
    log = ResultLog(log_path)

    def logged(sample: Sample) -> SampleResult:
        result = ask_one(sample)
        log.append(result)  # in the worker, so a request in flight at Ctrl+C is still kept
        return result

    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="ground")
    try:
        futures = {pool.submit(logged, sample): sample for sample in todo}
        for future in as_completed(futures):
            sample = futures[future]
            results[sample.id] = future.result()
            on_result(sample, results[sample.id], False)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        log.close()
    return results


def summarise(
    samples: list[Sample], results: dict[str, SampleResult], *, dataset: str, model: str, bbox_format: str
) -> Summary:
    """Accuracy over every scheduled sample, and per value of each breakdown field present."""
    overall = Tally()
    breakdowns: dict[str, dict[str, Tally]] = {}
    for sample in samples:
        result = results.get(sample.id)
        overall.add(result)
        for key, value in sample.breakdown.items():
            breakdowns.setdefault(key, {}).setdefault(value, Tally()).add(result)
    return Summary(dataset=dataset, model=model, bbox_format=bbox_format, overall=overall, breakdowns=breakdowns)


def write_summary(summary: Summary, results_dir: Path) -> Path:
    """summary.json, replaced atomically."""
    path = results_dir / SUMMARY_FILE
    write_atomic(path, summary.model_dump_json(indent=2) + "\n")
    return path
