"""The failure rules of the harness a score is meant to stand beside: OSWorld's or WindowsAgentArena's.

The two harnesses score a finished episode alike (infeasible tasks, a final FAIL, `conj`) but treat
failures differently (read from their code):

| what fails                                    | OSWorld's runner              | WAA's harness                      |
| --------------------------------------------- | ----------------------------- | ---------------------------------- |
| a setup or postconfig request the VM refuses  | the task errors               | logged; setup carries on           |
| (an error status) or that cannot be sent      |                               |                                    |
| the result getter raises (one metric)         | no result.txt (left out)      | 0                                  |
| the result getter misses a file               | 0                             | 0                                  |
| the expected getter or the metric raises      | no result.txt (left out)      | no result.txt (left out)           |
| the expected getter gives None                | the metric gets None          | the metric is called without it    |
| the expected getter or the metric misses a file | 0                           | no result.txt (left out)           |
| a metric whose code differs between the two   | OSWorld main's                | WAA's (metrics/reference.py)       |

With several metrics WAA's harness scores 0 only for a missing result file under conj "and" (as
OSWorld's does) and lets other exceptions through. We never drop a task: where a harness leaves one out, ours records it as errored (rerun on resume).
Whatever a rule turned into a 0 is said in the score's explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RulesName = Literal["osworld", "waa"]


@dataclass(frozen=True)
class HarnessRules:
    name: RulesName
    setup_failures_logged: bool
    """A setup or postconfig step whose request the VM server refuses or never gets is logged, not fatal."""
    raising_result_getter_scores_zero: bool
    """With one metric, any exception from its result getter scores 0 (not only a missing file)."""
    none_expected_left_out: bool
    """An expected getter that gives None is not passed to the metric."""
    missing_file_past_result_scores_zero: bool
    """A `FileNotFoundError` from the expected getter or the metric itself scores 0 (else the task errors);
    from the result getter it scores 0 under both harnesses."""


OSWORLD_RULES = HarnessRules("osworld", False, False, False, True)
WAA_RULES = HarnessRules("waa", True, True, True, False)
RULES: dict[RulesName, HarnessRules] = {"osworld": OSWORLD_RULES, "waa": WAA_RULES}
