"""Getters with OSWorld's names and semantics (desktop_env/evaluators/getters).

A getter turns a `result`/`expected` config into the value a metric compares: a rule from
the task, a file copied off the machine, a downloaded reference file, a URL of the active tab.
Importing this package registers every getter.
"""

from environments.tasks.getters import basic, browser, files  # noqa: F401
