"""The local task suite: OSWorld-format tasks that run on a managed virtual desktop or a
browser page, with Debian's programs, and a recorded Kimi-VL-format solution for each.

    examples/<domain>/<id>.json   the tasks (the extra field `env` says xvfb or browser)
    solutions/<id>.json           {"instruction", "replies"}: what a model that solves it answers
    files/                        what the tasks upload (relative to each task file)
    test_all.json                 the index of every task
"""

from pathlib import Path

SUITE = Path(__file__).resolve().parent
SUITE_INDEX = SUITE / "test_all.json"
SOLUTIONS = SUITE / "solutions"
