"""Oracle-venv stub (ours; see README.md in this folder): imported by OSWorld's modules, never called."""

from _oracle_stub import missing


def __getattr__(attr: str) -> object:
    return missing(__name__, attr)
