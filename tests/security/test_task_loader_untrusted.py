"""Task files, index files and task folders are untrusted input: whatever they hold, loading yields
Tasks or reported failures (never an unexpected exception), and ids in an index file never
reach a file outside its examples folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from environments.tasks.load import LoadedTasks, TaskLoadError, load_task, load_tasks
from environments.tasks.model import Task

EXAMPLES = int(os.environ.get("KIMI_PROPERTY_EXAMPLES", "6000")) // 20
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=os.environ.get("CI") == "true")
VALID = {"id": "t1", "instruction": "Open the file.", "evaluator": {"func": "infeasible"}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
task_like = st.fixed_dictionaries(
    {"id": json_values | st.text(max_size=10), "instruction": json_values | st.text(max_size=30),
     "evaluator": json_values | st.fixed_dictionaries({"func": json_values | st.sampled_from(["infeasible", "exact_match"])},
                                                      optional={"result": json_values, "expected": json_values,
                                                                "conj": json_values, "options": json_values})},
    optional={"config": json_values, "related_apps": json_values, "source": json_values, "snapshot": json_values},
)


def load_one(path: Path) -> Task | None:
    """The task, or None when refused with the loader's typed error naming the file."""
    try:
        task = load_task(path)
    except TaskLoadError as err:
        assert str(path) in str(err)
        return None
    assert isinstance(task, Task)
    return task


@SETTINGS
@given(raw=st.binary(max_size=400))
def test_any_bytes_as_a_task_file(tmp_path_factory: pytest.TempPathFactory, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("bytes") / "task.json"
    path.write_bytes(raw)
    load_one(path)
    loaded = load_tasks(path.parent)
    assert len(loaded.tasks) + len(loaded.failures) <= 1


@SETTINGS
@given(document=json_values | task_like)
def test_any_json_document_as_a_task_file(tmp_path_factory: pytest.TempPathFactory, document: object) -> None:
    path = tmp_path_factory.mktemp("json") / "task.json"
    path.write_text(json.dumps(document))
    task = load_one(path)
    if task is not None:
        assert task.instruction.strip() and task.domain == path.parent.name


@pytest.mark.parametrize("raw", [
    b"[" * 200_000, b'{"a": ' * 50_000, b'{"id": ' + b"9" * 10_000 + b"}", b"\xff\xfe\x00{", b"", b"\x00" * 64,
    json.dumps({**VALID, "instruction": "   "}).encode(), json.dumps({**VALID, "evaluator": []}).encode(),
])
def test_hostile_task_files_are_load_failures(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "hostile.json"
    path.write_bytes(raw)
    with pytest.raises(TaskLoadError, match="hostile.json"):
        load_task(path)
    loaded = load_tasks(tmp_path)
    assert loaded.tasks == [] and [f.path for f in loaded.failures] == [path]
    try:
        alone = load_tasks(path)
    except TaskLoadError as err:  # a single file that is not JSON at all is refused outright
        assert "hostile.json: not readable JSON" in str(err)
    else:
        assert alone.tasks == [] and alone.failures[0].path == path


def write_index(tmp_path: Path, index: object) -> tuple[Path, Path]:
    """An index file beside an `examples` folder holding one good task, and a secret task outside it."""
    examples = tmp_path / "examples"
    (examples / "os").mkdir(parents=True)
    (examples / "os" / "good.json").write_text(json.dumps(VALID))
    (tmp_path / "secret.json").write_text(json.dumps({**VALID, "id": "secret", "instruction": "outside"}))
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.json").write_text(json.dumps({**VALID, "id": "secret", "instruction": "outside"}))
    path = tmp_path / "index.json"
    path.write_text(json.dumps(index))
    return path, examples


def test_index_ids_cannot_leave_the_examples_folder(tmp_path: Path) -> None:
    absolute = str(tmp_path / "secret")
    index = {
        "os": ["good", "../../secret", "../../outside/secret", absolute, "/etc/passwd", "..", "a/../../../secret",
               "x" * 5000, "nul\x00byte", "", "..\\secret", "good/../good"],
        "..": ["secret"], "../outside": ["secret"], absolute.rsplit("/", 1)[0]: ["secret"], "": ["good"],
    }
    path, examples = write_index(tmp_path, index)
    loaded = load_tasks(path, examples)
    assert [t.id for t in loaded.tasks] == ["t1"]
    assert all(t.source_path.is_relative_to(examples.resolve()) for t in loaded.tasks)
    assert len(loaded.failures) == sum(len(ids) for ids in index.values()) - 1
    assert all("is not a plain domain and task id" in f.reason for f in loaded.failures)
    assert all(f.path == examples for f in loaded.failures)  # reported against the folder, never a path built from the id


@SETTINGS
@given(index=st.dictionaries(st.text(max_size=30), st.lists(st.text(max_size=40), max_size=5), max_size=4))
def test_any_index_file(tmp_path_factory: pytest.TempPathFactory, index: dict[str, list[str]]) -> None:
    path, examples = write_index(tmp_path_factory.mktemp("index"), index)
    loaded = load_tasks(path, examples)
    assert isinstance(loaded, LoadedTasks)
    for task in loaded.tasks:
        assert task.source_path.is_relative_to(examples.resolve()) and task.id == "t1"


def test_folders_with_odd_symlinks_load_or_report(tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    (folder / "os").mkdir(parents=True)
    (folder / "os" / "good.json").write_text(json.dumps(VALID))
    (folder / "os" / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    (folder / "os" / "loop.json").symlink_to(folder / "os" / "loop.json")
    (folder / "os" / "dir.json").mkdir()
    (folder / "os" / "self").symlink_to(folder)  # a folder cycle
    (folder / "os" / "null.json").symlink_to(os.devnull)
    loaded = load_tasks(folder)
    assert [t.id for t in loaded.tasks] == ["t1"]
    assert {f.path.name for f in loaded.failures} == {"dangling.json", "loop.json", "dir.json", "null.json"}
    reasons = {f.path.name: f.reason for f in loaded.failures}
    assert "cannot read it" in reasons["dangling.json"] and "cannot read it" in reasons["loop.json"]
    assert "not a regular file" in reasons["dir.json"] and "not a regular file" in reasons["null.json"]
    with pytest.raises(TaskLoadError, match="no such file or folder"):
        load_tasks(tmp_path / "missing")


def test_a_fifo_or_an_oversized_file_in_a_task_folder_is_a_reported_failure_not_a_hang(tmp_path: Path) -> None:
    import os

    from environments.tasks.load import MAX_TASK_BYTES, load_tasks

    folder = tmp_path / "os"
    folder.mkdir()
    os.mkfifo(folder / "pipe.json")
    (folder / "huge.json").write_bytes(b" " * (MAX_TASK_BYTES + 1))
    loaded = load_tasks(tmp_path)
    reasons = {f.path.name: f.reason for f in loaded.failures}
    assert loaded.tasks == [] and "not a regular file" in reasons["pipe.json"] and "too big" in reasons["huge.json"]
