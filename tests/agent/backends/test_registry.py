"""Backends by name: each name opens its backend, and a bad choice is a `BackendError` that says what to do."""

from __future__ import annotations

import importlib.util
import json
import pickle
from contextlib import ExitStack
from pathlib import Path

import pytest

from agent.backends.base import BackendError
from agent.backends.chat import Message, Sampling, TextPart
from agent.backends.openai_compat import OpenAICompatBackend
from agent.backends.registry import BACKEND_NAMES, BackendSpec, open_backend
from agent.backends.scripted import ScriptedBackend


def test_the_names_are_the_ones_the_cli_offers() -> None:
    assert BACKEND_NAMES == ("openai", "vllm-offline", "scripted")
    assert BackendSpec().name == "openai"


def test_openai_is_a_client_for_the_given_endpoint() -> None:
    with ExitStack() as stack:
        backend = open_backend(BackendSpec("openai", "m", base_url="http://127.0.0.1:9/v1"), stack)
        assert isinstance(backend, OpenAICompatBackend) and backend.base_url == "http://127.0.0.1:9/v1"


def test_scripted_plays_back_a_script_file(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": ["first", "second"]}), encoding="utf-8")
    with ExitStack() as stack:
        backend = open_backend(BackendSpec("scripted", script=script), stack)
    assert isinstance(backend, ScriptedBackend)
    assert [backend.complete([], Sampling()).text for _ in range(2)] == ["first", "second"]


@pytest.mark.parametrize("content", [None, "not json", '{"answers": []}'])
def test_an_unreadable_script_is_a_one_line_backend_error(tmp_path: Path, content: str | None) -> None:
    script = tmp_path / "script.json"
    if content is not None:
        script.write_text(content, encoding="utf-8")
    with ExitStack() as stack, pytest.raises(BackendError, match="cannot read the script") as caught:
        open_backend(BackendSpec("scripted", script=script), stack)
    assert "\n" not in str(caught.value)


def test_scripted_without_a_script_says_to_give_one() -> None:
    with ExitStack() as stack, pytest.raises(BackendError, match="--script"):
        open_backend(BackendSpec("scripted"), stack)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed here")
def test_vllm_offline_without_vllm_names_what_to_install() -> None:
    with ExitStack() as stack, pytest.raises(BackendError, match=r"pip install -e '\.\[vllm\]'"):
        open_backend(BackendSpec("vllm-offline"), stack)


def test_a_spec_is_picklable() -> None:
    spec = BackendSpec("scripted", "m", script=Path("s.json"))
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_scripted_with_a_folder_of_solutions_answers_each_task_its_own_replies(tmp_path: Path) -> None:
    for name, instruction, replies in (("a", "Open the door.", ["door 1", "door 2"]), ("b", "Close the window.", ["window 1"])):
        (tmp_path / f"{name}.json").write_text(json.dumps({"instruction": instruction, "replies": replies}), encoding="utf-8")
    with ExitStack() as stack:
        backend = open_backend(BackendSpec("scripted", script=tmp_path), stack)

    def turn(instruction: str, answered: int) -> str:
        messages = [Message(role="user", content=(TextPart(text=f"Task: {instruction}"),))]
        messages += [Message(role="assistant", content="earlier")] * answered
        return backend.complete(messages, Sampling()).text

    assert [turn("Open the door.", 0), turn("Open the door.", 1), turn("Close the window.", 0)] == ["door 1", "door 2", "window 1"]
    with pytest.raises(BackendError, match="no recorded solution"):
        turn("Paint the fence.", 0)


def test_a_folder_of_scripts_without_instructions_is_a_backend_error(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps({"replies": ["x"]}), encoding="utf-8")
    with ExitStack() as stack, pytest.raises(BackendError, match="names the instruction"):
        open_backend(BackendSpec("scripted", script=tmp_path), stack)
