"""Walk the desktop's AT-SPI tree and print it as JSON on stdout, for `environments.tasks.accessibility`.

Run by the system Python (`python3 atspi_dump.py`), not imported: pyatspi is a Debian package
(python3-pyatspi, GObject bindings) that a virtual environment does not see, and each dump must
use the D-Bus session of the task's display, which the caller passes in the environment. The
script imports nothing from the project and takes no input besides that environment.

What is read follows OSWorld's VM server (its `/accessibility` route): per node the role, name,
states, object attributes, on-screen extents (visible and showing nodes only), text (without
U+FFFC/U+FFFD), whether it is an image or a selection, its value range and its actions; at most
50 levels deep and 1024 children per node; in a LibreOffice Calc table, only the cells showing.
Exit status 3: pyatspi is not installed.
"""

import json
import subprocess
import sys

MAX_DEPTH = 50
MAX_WIDTH = 1024
MAX_ROW = 1_048_576
SCAN_LIMIT = 500
"""OSWorld stops scanning a spreadsheet for showing cells after this many rows/columns without one."""


def _libreoffice_columns():
    """Columns per Calc row: 1024 before LibreOffice 7.4, 16384 since (OSWorld reads the version so)."""
    try:
        done = subprocess.run(["libreoffice", "--version"], capture_output=True, text=True, timeout=60)
        words = done.stdout.split()
        version = tuple(int(part) for part in words[1].split(".")[:2])
    except (OSError, IndexError, ValueError, subprocess.TimeoutExpired):
        return 16384
    return 1024 if version < (7, 4) else 16384


class Walker:
    def __init__(self, pyatspi):
        self.pyatspi = pyatspi
        self.columns = None

    def node(self, accessible, depth, flag=None):
        pyatspi = self.pyatspi
        states = []
        for state in accessible.getState().get_states():
            name = pyatspi.StateType._enum_lookup[state].split("_", 1)[1].lower()
            if name:
                states.append(name)
        attributes = {k: v for k, v in (accessible.get_attributes() or {}).items() if k}
        found = {"role": accessible.getRoleName(), "name": accessible.name, "states": states,
                 "attributes": attributes}
        if "visible" in states and "showing" in states:
            try:
                found["extents"] = list(accessible.queryComponent().getExtents(pyatspi.XY_SCREEN))
            except NotImplementedError:
                pass
        try:
            text = accessible.queryText()
            found["text"] = text.getText(0, text.characterCount).replace("\ufffc", "").replace("\ufffd", "")
        except NotImplementedError:
            pass
        for kind, query in (("image", accessible.queryImage), ("selection", accessible.querySelection)):
            try:
                query()
                found[kind] = True
            except NotImplementedError:
                pass
        try:
            value = accessible.queryValue()
            found["value"] = {}
            for key, read in (("value", lambda: value.currentValue), ("min", lambda: value.minimumValue),
                              ("max", lambda: value.maximumValue), ("step", lambda: value.minimumIncrement)):
                try:
                    found["value"][key] = str(read())
                except Exception:  # a value the application cannot give is left out, as OSWorld does
                    pass
        except NotImplementedError:
            pass
        try:
            action = accessible.queryAction()
            found["actions"] = [[action.getName(i), action.getDescription(i), action.getKeyBinding(i)]
                                for i in range(action.nActions)]
        except NotImplementedError:
            pass
        role = found["role"].strip()
        if not flag and role == "document spreadsheet":
            flag = "calc"
        elif not flag and role == "application" and found["name"] == "Thunderbird":
            flag = "thunderbird"  # as OSWorld: a spreadsheet inside Thunderbird is then walked in full
        children = []
        found["children"] = children
        if depth == MAX_DEPTH:
            return found
        if flag == "calc" and role == "table":
            self._showing_cells(accessible, depth, flag, children)
            return found
        try:
            for i, child in enumerate(accessible):
                if i == MAX_WIDTH:
                    break
                children.append(self.node(child, depth + 1, flag))
        except Exception:  # an application that stops answering keeps the children read so far
            pass
        return found

    def _showing_cells(self, table, depth, flag, children):
        """The cells on screen, row by row from the first showing one, as OSWorld scans a Calc sheet.
        Up to 501 cells are asked for in each row above the first one on screen (LibreOffice makes an
        object for each): ~0.6 s per such row measured on 2 loaded cores, as long as OSWorld's own scan."""
        if self.columns is None:
            self.columns = _libreoffice_columns()
        showing_state = self.pyatspi.STATE_SHOWING
        index_base, first_showing, column_base, column = 0, False, None, 0
        for row in range(MAX_ROW):
            for column in range(column_base or 0, self.columns):
                cell = table[index_base + column]
                if cell.getState().contains(showing_state):
                    children.append(self.node(cell, depth + 1, flag))
                    if not first_showing:
                        column_base, first_showing = column, True
                elif (first_showing and column_base is not None) or column >= SCAN_LIMIT:
                    break
            if (first_showing and column == column_base) or (not first_showing and row >= SCAN_LIMIT):
                break
            index_base += self.columns


def main():
    try:
        import pyatspi
    except ImportError:
        print("pyatspi is not installed: apt-get install python3-pyatspi at-spi2-core", file=sys.stderr)
        return 3
    walker = Walker(pyatspi)
    desktop = pyatspi.Registry.getDesktop(0)
    applications = []
    for application in desktop:
        try:
            applications.append(walker.node(application, 1))
        except Exception as err:  # an application gone mid-walk is left out
            print(f"skipped an application: {err}", file=sys.stderr)
    json.dump(applications, sys.stdout)  # ASCII: the locale may not say UTF-8
    return 0


if __name__ == "__main__":
    sys.exit(main())
