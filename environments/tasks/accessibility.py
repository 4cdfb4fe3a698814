"""The desktop's accessibility tree as OSWorld's VM server returns it: AT-SPI as XML.

`atspi_dump.py` walks AT-SPI under the system Python (pyatspi is a Debian package, invisible to
a virtual environment) with the task display's environment and prints JSON; this module turns it
into OSWorld's XML: a `desktop-frame` root, one element per node named by its role (spaces → `-`,
"unknown" when empty), a `name` attribute, states as `st:<state>="true"`, object attributes as
`attr:<name>`, on-screen position and size as `cp:screencoord="(x, y)"` / `cp:size="(w, h)"`,
`image`/`selection="true"`, `val:value|min|max|step`, `act:<action>_desc|_kb`, and the node's
text as the element's text. Applications come in the desktop's order (OSWorld's server adds
them as its threads finish).
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lxml import etree

from environments.tasks.errors import UnsupportedError

ATSPI_NAMESPACES = {prefix: f"https://accessibility.ubuntu.example.org/ns/{path}" for prefix, path in (
    ("st", "state"), ("attr", "attributes"), ("cp", "component"), ("doc", "document"),
    ("docattr", "document/attributes"), ("txt", "text"), ("val", "value"), ("act", "action"))}
"""The namespaces of OSWorld's Ubuntu tree, declared on its root."""
DUMPER = Path(__file__).with_name("atspi_dump.py")
DUMP_TIMEOUT = 120.0
DEBIAN_PYTHON = "/usr/bin/python3"
MISSING_PYATSPI = 3
"""The dumper's exit status when pyatspi is not installed."""


@functools.cache
def system_python() -> str:
    """The first interpreter that can import pyatspi: this one, the one it was made from, or the
    Debian system Python (/usr/bin/python3, where python3-pyatspi installs); this one if none can,
    so the dumper then reports pyatspi missing."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}"
    for candidate in dict.fromkeys((sys.executable, str(base), DEBIAN_PYTHON)):
        if not Path(candidate).exists():
            continue
        probe = subprocess.run([candidate, "-c", "import pyatspi"], capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=60)
        if probe.returncode == 0:
            return candidate
    return sys.executable


def _name(namespace: str, local: str) -> str:
    return f"{{{ATSPI_NAMESPACES[namespace]}}}{local}"


def _valid(name: str) -> bool:
    try:
        etree.QName(name)
    except ValueError:
        return False
    return True


def element(node: dict[str, Any]) -> etree._Element:
    """One dumped node and its children as OSWorld's XML element."""
    attributes: dict[str, str] = {"name": _xml_text(node.get("name") or "")}
    for state in node.get("states", []):
        attributes[_name("st", state)] = "true"
    for key, value in node.get("attributes", {}).items():
        if _valid(key):  # an attribute name XML cannot carry is left out (OSWorld's server fails on it)
            attributes[_name("attr", key)] = _xml_text(value)
    if node.get("extents") is not None:
        x, y, width, height = node["extents"]
        attributes[_name("cp", "screencoord")] = str((x, y))
        attributes[_name("cp", "size")] = str((width, height))
    for flag in ("image", "selection"):
        if node.get(flag):
            attributes[flag] = "true"
    for key, value in node.get("value", {}).items():
        attributes[_name("val", key)] = value
    for action, description, binding in node.get("actions", []):
        name = action.replace(" ", "-")
        if _valid(f"{name}_kb"):
            attributes[_name("act", f"{name}_desc")] = _xml_text(description)
            attributes[_name("act", f"{name}_kb")] = _xml_text(binding)
    tag = (node.get("role") or "").strip() or "unknown"
    made = etree.Element(tag.replace(" ", "-"), attrib=attributes, nsmap=ATSPI_NAMESPACES)
    if node.get("text"):
        made.text = _xml_text(node["text"])
    for child in node.get("children", []):
        made.append(element(child))
    return made


def _xml_text(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (a terminal's escape codes); OSWorld's
    server fails on them."""
    return "".join(c for c in text if c in "\t\n\r" or (" " <= c and c not in "\ufffe\uffff"))


def tree_xml(applications: list[dict[str, Any]]) -> str:
    root = etree.Element("desktop-frame", nsmap=ATSPI_NAMESPACES)
    for application in applications:
        root.append(element(application))
    return etree.tostring(root, encoding="unicode")


def desktop_tree(env: dict[str, str], timeout: float = DUMP_TIMEOUT) -> str | None:
    """The AT-SPI tree of the desktop whose programs run with `env` (its DISPLAY and
    DBUS_SESSION_BUS_ADDRESS), as XML; None when it cannot be read in time, as OSWorld's
    server then answers 500 and its getter gives None."""
    try:
        # -I: the script's folder (modules named like ones pyatspi imports) and PYTHON* variables ignored.
        done = subprocess.run([system_python(), "-I", str(DUMPER)], env=env, capture_output=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return None
    if done.returncode == MISSING_PYATSPI:
        raise UnsupportedError("the desktop accessibility tree needs AT-SPI: "
                               "apt-get install python3-pyatspi at-spi2-core")
    if done.returncode != 0:
        return None
    try:
        applications = json.loads(done.stdout)
    except ValueError:
        return None
    return tree_xml(applications)
