"""Metrics with OSWorld's names and semantics (desktop_env/evaluators/metrics).

Importing this package registers every metric; each module holds one family of them.
"""

from environments.tasks.metrics import (
    basic,  # noqa: F401
    docs,  # noqa: F401
    images,  # noqa: F401
    slides,  # noqa: F401
    table,  # noqa: F401
    text,  # noqa: F401
)
