"""The JSON Schema of the trajectory format, generated from its pydantic models.

`python -m agent.trajectory.schema` writes `agent/trajectory/trajectory-v<N>.schema.json`; a
test checks that the shipped file equals what this module generates, so it cannot drift
from `agent/trajectory/store.py`. `--check` exits 1 instead of writing when the file is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from agent.trajectory.store import EPISODE_FILE, FORMAT_VERSION, TRAJECTORY_FILE, EpisodeInfo, StepRecord

SCHEMA_DIR = Path(__file__).resolve().parent


def schema_path(version: int = FORMAT_VERSION) -> Path:
    """Where the schema of format `version` is shipped."""
    return SCHEMA_DIR / f"trajectory-v{version}.schema.json"


def trajectory_schema() -> dict[str, Any]:
    """One schema document: `episode.json` is an EpisodeInfo, each `trajectory.jsonl` line a StepRecord."""
    _, definitions = models_json_schema([(EpisodeInfo, "validation"), (StepRecord, "validation")])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": schema_path().name,
        "title": f"kimi-agent trajectory, format version {FORMAT_VERSION}",
        "description": (
            f"An episode folder holds {EPISODE_FILE} (an EpisodeInfo, whose format_version is "
            f"{FORMAT_VERSION}) and {TRAJECTORY_FILE} (one StepRecord per line). A document valid "
            "against this schema is one of the two."
        ),
        "anyOf": [{"$ref": "#/$defs/EpisodeInfo"}, {"$ref": "#/$defs/StepRecord"}],
        "$defs": definitions["$defs"],
    }


def schema_text() -> str:
    """The schema file's exact content."""
    return json.dumps(trajectory_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    """Write the schema file, or with `--check` report whether it is up to date."""
    path = schema_path()
    if "--check" in argv:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != schema_text():
            print(f"{path} is stale: run python -m agent.trajectory.schema", file=sys.stderr)
            return 1
        return 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_text(), encoding="utf-8")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
