"""Metrics of WindowsAgentArena's Microsoft Edge tasks (its evaluators/metrics/edge.py)."""

from __future__ import annotations

from typing import Any

from environments.tasks.registry import metric


@metric("check_edge_font_size")
def check_edge_font_size(font_size: dict[str, Any], rule: dict[str, Any]) -> float:
    """The default font size equals `value`, or lies in [`min`, `max`): unlike Chrome's
    check_font_size, WAA's Edge check includes the lower bound."""
    size = font_size["default_font_size"]
    if rule["type"] == "value":
        return float(size == rule["value"])
    if rule["type"] == "range":
        return float(rule["min"] <= size < rule["max"])
    raise TypeError(f"check_edge_font_size: rule type {rule['type']!r} is not supported")


@metric("is_url_shortcut_on_desktop")
def is_url_shortcut_on_desktop(shortcuts: dict[str, str], rule: dict[str, Any]) -> float:
    """1 when a Desktop shortcut's content (a .url file's text) contains `url_content` (rule type "url")."""
    if rule["type"] != "url":
        raise TypeError(f"is_url_shortcut_on_desktop: rule type {rule['type']!r} is not supported")
    return float(any(rule["url_content"] in content for content in shortcuts.values()))
