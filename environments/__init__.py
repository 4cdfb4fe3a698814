"""Gymnasium environments: the current X display and a managed virtual desktop."""

import gymnasium

gymnasium.register(id="KimiDesktop-v0", entry_point="environments.desktop:DesktopEnv")
gymnasium.register(id="KimiXvfb-v0", entry_point="environments.virtual:XvfbEnv")
