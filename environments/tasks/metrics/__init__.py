"""Metrics with OSWorld's names and semantics (desktop_env/evaluators/metrics).

Importing this package registers every metric; each module holds one family of them. Where
WindowsAgentArena's code for a shared name differs, the metric follows it inside
`reference.following(Reference.WAA)`.
"""

from environments.tasks.metrics import (
    basic,  # noqa: F401
    browser_state,  # noqa: F401
    docs,  # noqa: F401
    file_checks,  # noqa: F401
    file_formats,  # noqa: F401
    gimp,  # noqa: F401
    images,  # noqa: F401
    impress,  # noqa: F401
    media,  # noqa: F401
    slides,  # noqa: F401
    system,  # noqa: F401
    table,  # noqa: F401
    text,  # noqa: F401
    thunderbird,  # noqa: F401
    vlc,  # noqa: F401
    vscode,  # noqa: F401
    windows_edge,  # noqa: F401
    writer,  # noqa: F401
)
