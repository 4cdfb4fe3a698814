"""Metrics with OSWorld's names and semantics (desktop_env/evaluators/metrics)."""

from __future__ import annotations

from typing import Any

from environments.tasks.registry import metric


@metric("exact_match")
def exact_match(result: Any, rules: dict[str, Any]) -> float:
    """1 when the result equals `rules["expected"]`."""
    return float(result == rules["expected"])


@metric("check_include_exclude")
def check_include_exclude(result: str | None, rules: dict[str, list[str]]) -> float:
    """1 when the result contains every `include` string and no `exclude` string."""
    if result is None:
        return 0.0
    include, exclude = rules.get("include", []), rules.get("exclude", [])
    return float(all(s in result for s in include) and all(s not in result for s in exclude))
