"""The end-to-end fixtures (a virtual desktop, a SCRIPTED stand-in model server) for the guard runs."""

from tests.e2e.conftest import desktop, replay_server  # noqa: F401  (fixtures, used by name)
