"""The desktop accessibility tree as OSWorld returns it: AT-SPI read off a real Xvfb desktop with a
real GTK application (mousepad) on the task's own D-Bus session, through the machine, the
`accessibility_tree` getter, a real `check_accessibility_tree` evaluation and our VM server's
`/accessibility` route."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from lxml import etree

from environments.remote.client import VMClient, VMProtocolError
from environments.remote.machine import RemoteMachine
from environments.tasks import getters as _getters  # noqa: F401  (registers the getters)
from environments.tasks import metrics as _metrics  # noqa: F401  (registers the metrics)
from environments.tasks.accessibility import ATSPI_NAMESPACES, system_python, tree_xml
from environments.tasks.context import TaskContext
from environments.tasks.errors import UnsupportedError
from environments.tasks.machine import LocalMachine
from environments.tasks.model import Evaluator, GetterConfig
from environments.tasks.registry import GETTERS
from environments.tasks.scoring import PreparedGetter, score
from environments.virtual_desktop import VirtualDesktop
from environments.vm_server.server import VMServer

ST, CP = ATSPI_NAMESPACES["st"], ATSPI_NAMESPACES["cp"]
NOTE = "kimi accessibility marker 42"


def _has_pyatspi() -> bool:
    return subprocess.run([system_python(), "-c", "import pyatspi"], capture_output=True).returncode == 0


needs_atspi = pytest.mark.skipif(
    not (_has_pyatspi() and all(shutil.which(p) for p in ("mousepad", "dbus-daemon", "Xvfb", "xprop"))),
    reason="needs python3-pyatspi, at-spi2-core, dbus, mousepad, Xvfb and xprop (apt-get install)",
)


@pytest.fixture(scope="module")
def desktop() -> Iterator[VirtualDesktop]:
    with VirtualDesktop(1024, 768) as started:
        yield started


@pytest.fixture(scope="module")
def editing(desktop: VirtualDesktop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMachine]:
    """mousepad showing a note, started by the task's machine (so on the task's session bus)."""
    root = tmp_path_factory.mktemp("a11y")
    machine = LocalMachine(root / "home", root / "cache", (1024, 768), display_env=desktop.env)
    (machine.home / "note.txt").write_text(NOTE + "\n")
    machine.open("/home/user/note.txt")
    try:
        yield machine
    finally:
        machine.close()


def run_getter(context: TaskContext, config: GetterConfig) -> object:
    entry = GETTERS[config.type]
    return PreparedGetter(entry, entry.params.model_validate(config.fields))(context)


def _tree_with(machine: LocalMachine, text: str, timeout: float = 20.0) -> str:
    """The tree once the application has registered and its text view holds `text`."""
    deadline = time.monotonic() + timeout
    tree = ""
    while time.monotonic() < deadline:
        tree = machine.accessibility_tree() or ""
        if text in tree:
            return tree
        time.sleep(0.3)
    raise AssertionError(f"{text!r} never appeared in the accessibility tree:\n{tree[:2000]}")


@needs_atspi
def test_the_tree_is_atspi_xml_in_osworlds_shape(editing: LocalMachine) -> None:
    root = etree.fromstring(_tree_with(editing, NOTE).encode())
    assert root.tag == "desktop-frame" and root.nsmap == ATSPI_NAMESPACES
    application = root.find("application[@name='mousepad']")
    assert application is not None
    frame = application.find("frame")
    assert frame is not None and "note.txt" in frame.get("name")
    assert frame.get(f"{{{ST}}}showing") == "true" and frame.get(f"{{{ST}}}visible") == "true"
    x, y = (int(v) for v in frame.get(f"{{{CP}}}screencoord").strip("()").split(","))
    width, height = (int(v) for v in frame.get(f"{{{CP}}}size").strip("()").split(","))
    assert 0 <= x < 1024 and 0 <= y < 768 and width > 100 and height > 100
    texts = [node for node in application.iter() if node.text and NOTE in node.text]
    assert texts and texts[0].tag in ("text", "document-text") and texts[0].get(f"{{{ST}}}editable") == "true"
    assert any(node.tag == "menu-bar" for node in application.iter())


@needs_atspi
def test_check_accessibility_tree_scores_the_real_tree(editing: LocalMachine, tmp_path: Path) -> None:
    _tree_with(editing, NOTE)
    context = TaskContext(editing, editing.cache_dir, tmp_path / "downloads")

    def evaluator(rules: list[dict]) -> Evaluator:
        return Evaluator.model_validate({"func": "check_accessibility_tree",
                                         "result": {"type": "accessibility_tree"},
                                         "expected": {"type": "rule", "rules": rules}})

    found = [{"selectors": ["application[name=mousepad] frame[st|active=true] text[st|editable=true]"],
              "text": NOTE + "\n", "exact": True}]
    assert score(evaluator(found), context, last_action_failed=False) == 1.0
    other_text = [{**found[0], "text": "something else"}]
    assert score(evaluator(other_text), context, last_action_failed=False) == 0.0
    missing = [{"xpath": "//application[@name='thunderbird']"}]
    assert score(evaluator(missing), context, last_action_failed=False) == 0.0


@contextmanager
def served(root: Path) -> Iterator[VMClient]:
    """Our VM server in this process (its routes read this process's environment), and a client."""
    server = VMServer(("127.0.0.1", 0), None, [root])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = VMClient(f"http://127.0.0.1:{server.server_address[1]}", timeout=60, retries=0)
    try:
        yield client
    finally:
        client.close()
        server.shutdown()
        server.server_close()


@needs_atspi
def test_the_vm_server_route_returns_the_tree(editing: LocalMachine, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree_with(editing, NOTE)
    for key in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.setenv(key, editing.env[key])  # the server runs in the desktop's session
    with served(editing.home) as client:
        tree = client.accessibility()
    assert tree is not None and NOTE in tree
    assert etree.fromstring(tree.encode()).find("application[@name='mousepad']") is not None


@needs_atspi
def test_an_unreadable_tree_is_a_500_and_the_getter_gives_none(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """No AT-SPI bus to reach: OSWorld's server answers 500 and its getter gives None; so do ours."""
    monkeypatch.setenv("DISPLAY", ":9999")
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
    with served(tmp_path) as client:
        with pytest.raises(VMProtocolError) as failed:
            client.accessibility()
        assert failed.value.status == 500
        machine = RemoteMachine(client, tmp_path / "cache", (1024, 768))
        context = TaskContext(machine, tmp_path / "cache", tmp_path / "downloads")
        assert run_getter(context, GetterConfig(type="accessibility_tree")) is None


@needs_atspi
def test_each_task_on_a_reused_desktop_reads_its_own_applications(tmp_path: Path) -> None:
    """The AT-SPI bus belongs to the task's session bus; the display can keep the address of the
    previous task's (dead) bus, as when that bus was stopped before it could clear it, and the next
    task's applications must still register and be read."""
    with VirtualDesktop(800, 600) as desktop:
        first = LocalMachine(tmp_path / "1" / "home", tmp_path / "1" / "cache", (800, 600),
                             display_env=desktop.env)
        try:
            empty = first.accessibility_tree()
            assert empty is not None and len(etree.fromstring(empty.encode())) == 0
            (first.home / "first.txt").write_text("first task text\n")
            first.open("/home/user/first.txt")
            _tree_with(first, "first task text")
        finally:
            first.close()
        stale = "unix:path=/nonexistent/at-spi/bus_0,guid=00000000000000000000000000000000"
        subprocess.run(["xprop", "-root", "-f", "AT_SPI_BUS", "8s", "-set", "AT_SPI_BUS", stale],
                       env=desktop.env, check=True)
        second = LocalMachine(tmp_path / "2" / "home", tmp_path / "2" / "cache", (800, 600),
                              display_env=desktop.env)
        try:
            (second.home / "second.txt").write_text("second task text\n")
            second.open("/home/user/second.txt")
            assert "first task text" not in _tree_with(second, "second task text")
        finally:
            second.close()


def test_a_machine_without_a_desktop_has_no_accessibility_tree(tmp_path: Path) -> None:
    machine = LocalMachine(tmp_path / "home", tmp_path / "cache", (1024, 768))
    with pytest.raises(UnsupportedError, match="AT-SPI"):
        machine.accessibility_tree()


def test_dumped_nodes_become_osworlds_elements() -> None:
    """The JSON-to-XML step on its own: names, states, attributes, extents, value, actions, text."""
    node = {"role": "push button", "name": "Save\x1b", "states": ["enabled", "showing"],
            "attributes": {"toolkit": "gtk", "bad name": "x"}, "extents": [10, 20, 30, 40],
            "image": True, "value": {"value": "1.0"}, "actions": [["click it", "Clicks", "<Ctrl>s"]],
            "text": "a\x07b", "children": [{"role": "", "name": "", "states": [], "attributes": {}}]}
    root = etree.fromstring(tree_xml([{"role": "application", "name": "app", "children": [node]}]).encode())
    button = root[0][0]
    ns = ATSPI_NAMESPACES
    assert button.tag == "push-button" and button.get("name") == "Save" and button.text == "ab"
    assert button.get(f"{{{ns['st']}}}enabled") == "true" and button.get(f"{{{ns['attr']}}}toolkit") == "gtk"
    assert button.get(f"{{{ns['cp']}}}screencoord") == "(10, 20)"
    assert button.get(f"{{{ns['cp']}}}size") == "(30, 40)"
    assert button.get("image") == "true" and button.get(f"{{{ns['val']}}}value") == "1.0"
    assert button.get(f"{{{ns['act']}}}click-it_desc") == "Clicks"
    assert button.get(f"{{{ns['act']}}}click-it_kb") == "<Ctrl>s"
    assert f"{{{ns['attr']}}}bad name" not in button.attrib and button[0].tag == "unknown"
