"""Differential cases built from OSWorld's real tasks: each evaluator's metric, options and expected
value, with result values that match, nearly match or do not match, and awkward inputs.

Every metric a real task in `test_all.json` names and our registry implements gets cases, so
metrics added later are picked up without changes here. Metrics with a file on each side get
files synthesised in the format the task's expected file has (by its extension); metrics whose
expected side is the task's own `rule` get results derived from those rules. Every metric also
gets the awkward inputs: None, a missing file, an empty file, a value of the wrong type, a byte
order mark, CRLF line ends, undecodable bytes and non-ASCII text.
"""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.environments.tasks.differential import files

AWKWARD = ["none", "missing", "empty", "wrong_type", "unicode"]
TEXT_VARIANTS = ["same", "near", "other", "bom", "crlf", "undecodable", "case", "blanks"]


@dataclass
class Case:
    """One call of a metric, made the same way on both sides."""

    id: str
    metric: str
    task: str
    kind: str
    """What the case tries: same / near / other / a format variant / none / missing / empty / ..."""
    result: Any
    expected: Any
    has_expected: bool
    options: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "metric": self.metric,
            "result": self.result,
            "expected": self.expected,
            "has_expected": self.has_expected,
            "options": self.options,
        }


@dataclass(frozen=True)
class Evaluation:
    """One metric of a real task's evaluator: its getter configs and options."""

    task: str
    index: int
    metric: str
    result: dict[str, Any] | None
    expected: dict[str, Any] | None
    options: dict[str, Any]


def evaluations(osworld: Path) -> Iterator[Evaluation]:
    """Every metric of every task listed in test_all.json, in index order."""
    index = json.loads((osworld / "test_all.json").read_text())
    for domain, ids in index.items():
        for task_id in ids:
            evaluator = json.loads((osworld / "examples" / domain / f"{task_id}.json").read_text())[
                "evaluator"
            ]
            funcs = evaluator["func"] if isinstance(evaluator["func"], list) else [evaluator["func"]]
            many = isinstance(evaluator["func"], list)
            results = evaluator.get("result") if many else [evaluator.get("result")]
            expecteds = evaluator.get("expected") if many else [evaluator.get("expected")]
            options = evaluator.get("options", {}) if many else [evaluator.get("options", {})]
            for i, name in enumerate(funcs):
                yield Evaluation(
                    task_id,
                    i,
                    name,
                    _nth(results, i),
                    _nth(expecteds, i),
                    _nth(options, i) or {} if isinstance(options, list) else options or {},
                )


def _nth(values: Any, i: int) -> Any:
    return values[i] if isinstance(values, list) and i < len(values) else None


def _extension(config: dict[str, Any] | None) -> str:
    if not config:
        return ""
    path = config.get("path") or config.get("dest") or ""
    if isinstance(path, list):
        path = path[0] if path else ""
    return Path(str(path)).suffix.lower()


def _literal(pattern: str) -> str:
    """A string a simple regex likely matches: the pattern with its operators removed."""
    return re.sub(r"\\(.)", r"\1", re.sub(r"[\^$*+?()\[\]{}|]|\.\*", "", pattern))


def _rule_results(metric: str, rules: Any, rng: random.Random) -> list[tuple[str, Any]]:
    """Results derived from a rule getter's value: matching, near, non-matching."""
    found: list[tuple[str, Any]] = []
    if not isinstance(rules, dict):
        return [("same", rules), ("other", "unrelated")]
    expected = rules.get("expected")
    include, exclude = _strings(rules.get("include")), _strings(rules.get("exclude"))
    if include or exclude:
        found += [
            ("same", " ".join(include) + "\n"),
            ("near", " ".join(include[:-1])),
            ("other", " ".join(include + exclude)),
            ("case", " ".join(include).upper()),
        ]
    expect, unexpect = _strings(rules.get("expect")), _strings(rules.get("unexpect"))
    if expect or unexpect:
        found += [
            ("same", "\n".join(_literal(p) for p in expect) + "\n"),
            ("other", "\n".join(_literal(p) for p in expect + unexpect)),
        ]
    if isinstance(expected, list) and all(isinstance(p, str) for p in expected):
        joined = "https://" + "/".join(_literal(p) for p in expected)
        found += [
            ("same", joined),
            ("near", joined[:-1]),
            ("url_dict", {"url": joined, "title": "t"}),
            ("same", expected[0] if expected else ""),
        ]
    if isinstance(expected, dict):
        near = copy.deepcopy(expected)
        if near:
            key = rng.choice(sorted(near))
            near[key] = str(near[key]) + "x"
        found += [
            ("same", copy.deepcopy(expected)),
            ("near", near),
            ("json_text", json.dumps(expected).replace('"', "'")),
            ("subset", {k: v for k, v in list(expected.items())[:-1]}),
        ]
    if expected is not None and not isinstance(expected, (dict, list)):
        found += [("same", expected), ("near", f"{expected} "), ("case", str(expected).swapcase())]
    if isinstance(expected, list) and not all(isinstance(p, str) for p in expected):
        found += [("same", copy.deepcopy(expected)), ("other", list(reversed(expected)))]
    return found


def _strings(value: Any) -> list[str]:
    """The value when it is a list of strings (as most rules write them), else nothing to derive from."""
    return list(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else []


FileMaker = Callable[[Path, int, str], Path]


def _file_maker(extension: str, evaluation: Evaluation) -> tuple[FileMaker, list[str]] | None:
    """The synthesiser for the expected file's format and the variants it knows."""
    if extension in (".xlsx",):
        sheets, cells = _sheets_and_cells(evaluation.options)

        def workbook(path: Path, seed: int, variant: str) -> Path:
            return files.write_workbook(path, seed, variant, sheets, cells)

        return workbook, ["same", "near", "other", "scrolled", "bold", "bom", "crlf"]
    if extension == ".pptx":
        return files.write_presentation, [
            "same",
            "near",
            "other",
            "bold",
            "moved",
            "empty_box",
            "indent",
            "empty_run",
            "more",
        ]
    if extension == ".docx":
        return files.write_document, ["same", "near", "other", "case", "order", "blanks"]
    if extension == ".pdf":
        return files.write_pdf, ["same", "near", "other", "one_page"]
    if extension in (".png", ".jpg", ".jpeg", ".gif"):
        return files.write_image, ["same", "near", "other", "resized", "tiny"]
    if extension == ".csv":
        return files.write_csv, TEXT_VARIANTS
    if extension in (".txt", ".py", ".bib", ".json", ".html", ".css", ".tex", ".bin", ".md", ".sh"):
        return files.write_text, TEXT_VARIANTS
    return None


def _sheets_and_cells(options: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """Sheet names the rules name (RN…/EN…) and check_cell values, so rules find what they look at."""
    names: list[str] = []
    cells: dict[str, Any] = {}
    for rule in options.get("rules", []) if isinstance(options, dict) else []:
        for key in ("sheet_idx", "sheet_idx0", "sheet_idx1"):
            index = rule.get(key)
            if isinstance(index, str) and index[1:2] == "N" and index[2:] not in names:
                names.append(index[2:])
        if rule.get("type") == "check_cell" and isinstance(rule.get("props"), dict):
            spec = rule["props"].get("value")
            if isinstance(spec, dict) and isinstance(spec.get("ref"), (str, int, float)):
                cells[rule["coordinate"]] = spec["ref"]
    return names or ["Sheet1", "Sheet2"], cells


def build(
    osworld: Path, work: Path, metrics: set[str], seed: int | None = None, cases_each: int = 4
) -> list[Case]:
    """Cases for every evaluation of a real task whose metric is in `metrics`, files under `work`.

    With a `seed`, a sample instead: one evaluation of each metric and `cases_each` of its cases,
    drawn with that seed (CI's subset; the benchmark runs everything).
    """
    chosen = [
        (n, e) for n, e in enumerate(evaluations(osworld)) if e.metric in metrics and e.metric != "infeasible"
    ]
    rng = random.Random(seed)
    if seed is not None:
        first: dict[str, tuple[int, Evaluation]] = {}
        for item in rng.sample(chosen, len(chosen)):
            first.setdefault(item[1].metric, item)
        chosen = sorted(first.values())
    cases: list[Case] = []
    for number, evaluation in chosen:
        built = _cases_for(evaluation, work / f"{number:04d}", random.Random(number))
        cases.extend(built if seed is None else rng.sample(built, min(cases_each, len(built))))
    return cases


def _cases_for(evaluation: Evaluation, folder: Path, rng: random.Random) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    expected_config = evaluation.expected
    has_expected = expected_config is not None
    found: list[tuple[str, Any, Any]] = []
    expected: Any = None
    if expected_config and expected_config.get("type") in ("rule", "rule_relativeTime"):
        expected = expected_config.get("rules")
        found += [
            (kind, result, expected) for kind, result in _rule_results(evaluation.metric, expected, rng)
        ]
        text_kinds = ["same", "near", "other"]
        extension = _extension(evaluation.result) or ".txt"
        if evaluation.result and evaluation.result.get("type") in ("vm_file", "cache_file"):
            for kind, text in _rule_results(evaluation.metric, expected, rng):
                if isinstance(text, str) and kind in text_kinds:
                    path = folder / f"rule-{kind}{extension}"
                    path.write_text(text, encoding="utf-8")
                    found.append((f"file_{kind}", str(path), expected))
                elif isinstance(text, dict):
                    path = folder / f"rule-{kind}.json"
                    path.write_text(json.dumps(text), encoding="utf-8")
                    found.append((f"file_{kind}", str(path), expected))
                    bom = folder / f"rule-{kind}-bom.json"
                    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(text).encode())
                    found.append(("bom", str(bom), expected))
    elif expected_config is not None:
        extension = _extension(expected_config)
        maker = _file_maker(extension, evaluation)
        if maker is not None:
            make, variants = maker
            seed = rng.randint(0, 10_000)
            expected = str(make(folder / f"expected{extension}", seed, "same"))
            for variant in variants:
                found.append(
                    (variant, str(make(folder / f"result-{variant}{extension}", seed, variant)), expected)
                )
            found.append(
                (
                    "missing_expected",
                    str(folder / f"result-same{extension}"),
                    str(folder / f"absent{extension}"),
                )
            )
        else:
            expected = str(folder / f"expected{extension or '.bin'}")
            Path(expected).write_bytes(b"")
    empty = folder / f"empty{_extension(expected_config) or '.txt'}"
    empty.write_bytes(b"")
    wrong = folder / f"wrong{_extension(expected_config) or '.txt'}"
    wrong.write_text("not the format this name promises: ünïcödé\n", encoding="utf-8")
    awkward: dict[str, Any] = {
        "none": None,
        "missing": str(folder / "absent.file"),
        "empty": str(empty),
        "wrong_type": str(wrong),
        "unicode": "ünïcödé 日本語 ✓",
        "number": 42,
        "list": [],
    }
    found += [(kind, value, expected) for kind, value in awkward.items()]
    return [
        Case(
            f"{evaluation.task}:{evaluation.index}:{kind}:{i}",
            evaluation.metric,
            evaluation.task,
            kind,
            result,
            exp,
            has_expected,
            dict(evaluation.options) if isinstance(evaluation.options, dict) else {},
        )
        for i, (kind, result, exp) in enumerate(found)
    ]
