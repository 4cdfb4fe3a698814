"""Gymnasium environments: the current X display, a managed virtual desktop, a browser page, a remote VM."""

import gymnasium

gymnasium.register(id="KimiDesktop-v0", entry_point="environments.xvfb:XvfbEnv")
gymnasium.register(id="KimiCurrentDisplay-v0", entry_point="environments.desktop:DesktopEnv")
gymnasium.register(id="KimiBrowser-v0", entry_point="environments.browser:BrowserEnv")
gymnasium.register(id="KimiOSWorld-v0", entry_point="environments.remote.env:RemoteVMEnv")
