"""Pydantic models of OSWorld's (and WindowsAgentArena's) task JSON.

Unknown fields are kept (`extra="allow"`), so a task round-trips; unknown setup types,
getter types and metric names load fine and are reported by name when run. Parameters stay as
written here: each is validated against its step's, getter's or metric's model before the call
(environments/tasks/registry.py).

What the reference harnesses ignore loads whatever its value: `source` (WAA has `null`), comments
(`_comments`, `comments`, misspelt ones). An empty getter (`"result": {}`, as WAA's infeasible
tasks have) is no getter, as WAA's harness reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

JsonObject = dict[str, Any]
"""Parameters of OSWorld setup steps and getters: their shape depends on the type named beside them."""


class SetupStep(BaseModel):
    """One entry of `config` or `postconfig`: a type and its parameters."""

    model_config = ConfigDict(extra="allow")
    type: str
    parameters: JsonObject = Field(default_factory=dict)


class GetterConfig(BaseModel):
    """A `result` or `expected` entry: the getter `type` and its own fields (path, rules, …)."""

    model_config = ConfigDict(extra="allow")
    type: str

    @property
    def fields(self) -> JsonObject:
        """The getter's parameters (every field but `type`)."""
        return dict(self.model_extra or {})


class Evaluator(BaseModel):
    model_config = ConfigDict(extra="allow")
    func: str | list[str]
    result: GetterConfig | list[GetterConfig | None] | None = None
    expected: GetterConfig | list[GetterConfig | None] | None = None
    options: JsonObject | list[JsonObject] | None = None
    postconfig: list[SetupStep] = Field(default_factory=list)
    conj: Literal["and", "or"] = "and"

    @field_validator("result", "expected", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        """`{}` names no getter (WAA's harness calls none for it); in a list it stands for "none here"."""
        if value == {}:
            return None
        if isinstance(value, list):
            return [None if item == {} else item for item in value]
        return value

    @property
    def metrics(self) -> list[str]:
        return [self.func] if isinstance(self.func, str) else list(self.func)

    @property
    def is_infeasible(self) -> bool:
        return self.func == "infeasible"

    def getters(self) -> list[GetterConfig]:
        """Every getter the evaluation calls, result and expected."""
        found: list[GetterConfig] = []
        for side in (self.result, self.expected):
            for item in side if isinstance(side, list) else [side]:
                if item is not None:
                    found.append(item)
        return found


class Task(BaseModel):
    """One task file. `domain` is the folder it came from (OSWorld's examples/<domain>/<id>.json)."""

    model_config = ConfigDict(extra="allow")
    id: str
    instruction: str
    snapshot: str = ""
    source: Any = ""
    """Where the task came from (a URL, several, or null): shown, never used."""
    config: list[SetupStep] = Field(default_factory=list)
    related_apps: list[str] = Field(default_factory=list)
    evaluator: Evaluator
    proxy: bool | None = None
    fixed_ip: bool | None = None
    possibility_of_env_change: str | None = None
    trajectory: str | None = None
    domain: str = Field(default="", exclude=True)
    source_path: Path | None = Field(default=None, exclude=True)
    """The file the task was read from (relative `upload_file`/`cloud_file` paths resolve beside it)."""

    @property
    def key(self) -> str:
        """What names the task's results: its file's name (as WAA's harness files them; an index lists
        files by it), else its id. Unique within a domain even where ids repeat (WAA has such pairs);
        the same as the id for every OSWorld task."""
        return self.source_path.stem if self.source_path is not None else self.id

    @field_validator("instruction")
    @classmethod
    def _instruction_present(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("instruction is empty")
        return value

    def setup_types(self) -> set[str]:
        """Setup step types the task needs, before the episode and before evaluation."""
        return {s.type for s in self.config} | {s.type for s in self.evaluator.postconfig}

    def getter_types(self) -> set[str]:
        return {g.type for g in self.evaluator.getters()}
