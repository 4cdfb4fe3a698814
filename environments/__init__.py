"""Gymnasium environments: the current X display, a managed virtual desktop, a browser page, a remote VM.

Importing the package registers every kind (`environments.kinds.GYM_IDS`) with Gymnasium.
"""

from environments.kinds import register

register()
