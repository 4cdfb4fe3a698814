"""Gymnasium environments: the current X display, a managed virtual desktop, a browser page."""

import gymnasium

gymnasium.register(id="KimiDesktop-v0", entry_point="environments.virtual:XvfbEnv")
gymnasium.register(id="KimiCurrentDisplay-v0", entry_point="environments.desktop:DesktopEnv")
gymnasium.register(id="KimiBrowser-v0", entry_point="environments.browser:BrowserEnv")
