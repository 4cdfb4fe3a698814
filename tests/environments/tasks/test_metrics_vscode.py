"""VS Code task metrics (metrics/vscode.py) on generated files."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from environments.tasks.metrics.vscode import (
    check_json_keybindings, check_python_file_by_test_suite, compare_config, compare_result_files,
    compare_zip_files, is_extension_installed,
)


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_keybindings_read_whole_or_after_a_comment_line(tmp_path: Path) -> None:
    binding = {"key": "ctrl+j", "command": "workbench.action.focusActiveEditorGroup", "when": "terminalFocus"}
    plain = write(tmp_path / "k.json", json.dumps([binding]))
    commented = write(tmp_path / "c.json", "// Place your key bindings here\n" + json.dumps([binding]))
    assert check_json_keybindings(plain, {"expected": binding}) == 1.0
    assert check_json_keybindings(commented, {"expected": binding}) == 1.0
    assert check_json_keybindings(write(tmp_path / "o.json", "{}"), {"expected": binding}) == 0.0
    assert check_json_keybindings(None, {"expected": binding}) == 0.0


def test_compare_config_subset_substring_and_strict(tmp_path: Path) -> None:
    settings = write(tmp_path / "s.json", json.dumps({"workbench.colorTheme": "Visual Studio Dark", "x": 1}))
    assert compare_config(settings, {"expected": '{"workbench.colorTheme": "Visual Studio Dark"}\n'}) == 1.0
    assert compare_config(settings, {"expected": '{"workbench.colorTheme": "Light"}'}) == 0.0
    opened = write(tmp_path / "o.txt", "/home/user/project\n")
    assert compare_config(opened, {"expected": "project"}) == 1.0
    assert compare_config(opened, {"expected": "project"}, containment_ok=False) == 0.0
    assert compare_config(None, {"expected": "project"}) == 0.0


def test_extension_listing() -> None:
    python = {"type": "contain", "expected": "ms-python.python"}
    assert is_extension_installed("ms-python.python\n", python) == 1.0
    assert is_extension_installed("", {"type": "contain", "expected": "ms-python.python"}) == 0.0
    assert is_extension_installed("", {"type": "not_contain", "expected": "x"}) == 1.0
    with pytest.raises(NotImplementedError):
        is_extension_installed("", {"type": "other", "expected": "x"})


def test_zip_files_need_identical_members(tmp_path: Path) -> None:
    def make(name: str, members: dict[str, bytes]) -> str:
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for member, data in members.items():
                archive.writestr(member, data)
        return str(tmp_path / name)

    gold = make("g.zip", {"a.txt": b"x"})
    assert compare_zip_files(make("s.zip", {"a.txt": b"x"}), gold) == 1.0
    assert compare_zip_files(make("d.zip", {"a.txt": b"y"}), gold) == 0.0
    assert compare_zip_files(make("n.zip", {"b.txt": b"x"}), gold) == 0.0
    assert compare_zip_files(None, gold) == 0.0


def test_result_files_number_or_text(tmp_path: Path) -> None:
    gold = write(tmp_path / "g.txt", "42.0")
    assert compare_result_files(write(tmp_path / "a.txt", "The answer is 42.0"), gold) == 1.0
    assert compare_result_files(write(tmp_path / "b.txt", "42.00001"), gold) == 1.0
    assert compare_result_files(write(tmp_path / "c.txt", "41"), gold) == 0.0
    text_gold = write(tmp_path / "t.txt", "done\n")
    assert compare_result_files(write(tmp_path / "d.txt", "done"), text_gold) == 1.0


def test_task_test_suite_runs_in_its_own_interpreter(tmp_path: Path) -> None:
    write(tmp_path / "settings.py", "SPEED = 5\n")
    suite = write(tmp_path / "test_suite.py", "import settings\ndef test():\n    return settings.SPEED == 5")
    assert check_python_file_by_test_suite(None, suite) == 1.0
    failing = write(tmp_path / "fail.py", "def test():\n    raise RuntimeError('no')\n")
    assert check_python_file_by_test_suite(None, failing) == 0.0
    partial = write(tmp_path / "part.py", "def check():\n    return 7\n")
    assert check_python_file_by_test_suite(None, partial, test_function_name="check") == 1.0
    assert check_python_file_by_test_suite(None, str(tmp_path / "missing.py")) == 0.0
