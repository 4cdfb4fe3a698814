"""The installed package: layout, console script, and the extras setup installs."""

from __future__ import annotations

import importlib
import importlib.metadata as metadata

import pytest


def test_console_script_points_at_the_cli() -> None:
    [script] = [e for e in metadata.entry_points(group="console_scripts") if e.name == "kimi-agent"]
    assert script.value == "agent.cli.app:main"


@pytest.mark.parametrize("package", ["agent", "actions", "prompts", "environments"])
def test_top_level_packages_import(package: str) -> None:
    importlib.import_module(package)


@pytest.mark.parametrize("module", [
    "openpyxl", "docx", "pptx", "odf", "pandas", "lxml", "rapidfuzz", "pymupdf", "pypdf", "formulas", "skimage",
    "imagehash", "cv2", "librosa", "fastdtw", "mutagen", "bs4", "cssselect", "tldextract", "yaml", "pydrive2",
])
def test_osworld_extra_is_installed(module: str) -> None:
    importlib.import_module(module)


def test_layers_import_only_downward() -> None:
    """actions and prompts import neither agent nor environments; environments not agent."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    forbidden = {"actions": {"agent", "environments", "prompts"}, "prompts": {"agent", "environments", "actions"},
                 "environments": {"agent"}}
    for package, banned in forbidden.items():
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                for name in names:
                    assert name.split(".")[0] not in banned, f"{path} imports {name}"
