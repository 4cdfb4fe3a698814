"""Metrics of OSWorld's operating-system tasks: favourite apps, time zone, moved files, clipboard."""

from __future__ import annotations

import ast
from typing import Any

from environments.tasks.registry import metric


@metric("check_gnome_favorite_apps")
def check_gnome_favorite_apps(result: str, rule: dict[str, Any]) -> float:
    """1 when gsettings' favourite-apps list holds exactly the expected desktop files.

    OSWorld evaluates gsettings' output as Python; it is read here as a literal, which that output is."""
    apps = ast.literal_eval(result.strip())
    expected = rule["expected"]
    return float(len(apps) == len(expected) and set(apps) == set(expected))


@metric("is_utc_0")
def is_utc_0(result: str) -> float:
    """1 when timedatectl's fourth line (the time zone) ends in "+0000)"."""
    return float(result.split("\n")[3].endswith("+0000)"))


@metric("check_moved_jpgs")
def check_moved_jpgs(tree: dict[str, Any], rule: dict[str, Any]) -> float:
    """1 when the folder holds exactly the expected entries."""
    names = [node["name"] for node in tree["children"]]
    expected = rule["expected"]
    return float(len(names) == len(expected) and set(names) == set(expected))


@metric("is_in_vm_clickboard")
def is_in_vm_clickboard(rules: dict[str, Any], clipboard: str) -> float:
    """1 when the clipboard text contains the expected string (or every one of a list)."""
    expected = rules["expected"]
    if isinstance(expected, list):
        return float(all(item in clipboard for item in expected))
    return float(expected in clipboard)

