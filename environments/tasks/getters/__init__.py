"""Getters with OSWorld's names and semantics (desktop_env/evaluators/getters).

A getter turns a `result`/`expected` config into the value a metric compares: a rule from
the task, a file copied off the machine, a downloaded reference file, a URL of the active tab,
an application's configuration or profile, a live page. Importing this package registers every getter.
"""

from environments.tasks.getters import (  # noqa: F401
    app_files, basic, browser, chrome_profile, desktop, files, google_drive, web_pages,
)
from environments.tasks.getters import (  # noqa: F401  (WindowsAgentArena's getters)
    windows_chrome, windows_clock, windows_edge, windows_explorer, windows_paint, windows_settings,
)
