"""Read (and poke) the AT-SPI tree of a running application, as a screen reader sees it.

pyatspi lives in the system Python (Debian's python3-pyatspi), not in kickwatch's venv, so the
desktop tests run this file with `/usr/bin/python3` as a subprocess and read JSON from stdout.
Standard library and pyatspi only; Python 3.11.

    atspi_tree.py tree APP            the tree of every application named APP: role, name,
                                      description, states, extents (screen x, y, w, h) and, for
                                      tables, the column headers' names and extents
    atspi_tree.py action APP ROLE NAME [ACTION]
                                      do ACTION (default: the first one) on the first showing
                                      node of APP with that role and name; prints the node
    atspi_tree.py mouse X Y EVENT     a synthetic mouse event (b1c, b3c, abs) at X, Y
    atspi_tree.py keys KEY...         synthetic key presses (Up, Down, Return, Escape, Tab)

Exit status 2 with a message on stderr when APP or the node is not there (the caller polls).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pyatspi

MAX_DEPTH = 40
MAX_CHILDREN = 400  # a table's cells are children too: the first ones are plenty
KEYSYMS = {"Up": 0xFF52, "Down": 0xFF54, "Return": 0xFF0D, "Escape": 0xFF1B, "Tab": 0xFF09}


def extents(node: Any) -> list[int] | None:
    try:
        box = node.queryComponent().getExtents(pyatspi.DESKTOP_COORDS)
    except NotImplementedError:
        return None
    return [box.x, box.y, box.width, box.height]


def states(node: Any) -> list[str]:
    names = []
    for state in node.getState().getStates():
        names.append(pyatspi.stateToString(state).replace(" ", "_"))
    return sorted(names)


def table_columns(node: Any) -> list[dict[str, Any]] | None:
    try:
        table = node.queryTable()
    except NotImplementedError:
        return None
    columns = []
    for column in range(table.nColumns):
        header = table.getColumnHeader(column)
        columns.append(
            {
                "name": header.name if header is not None else "",
                "extents": extents(header) if header is not None else None,
            }
        )
    return columns


def describe(node: Any, depth: int = 0) -> dict[str, Any]:
    item: dict[str, Any] = {
        "role": node.getRoleName(),
        "name": node.name or "",
        "description": node.description or "",
        "states": states(node),
        "extents": extents(node),
    }
    columns = table_columns(node) if item["role"] in ("table", "tree table") else None
    if columns is not None:
        item["columns"] = columns
    try:
        item["actions"] = [
            node.queryAction().getName(i) for i in range(node.queryAction().nActions)
        ]
    except NotImplementedError:
        item["actions"] = []
    children = []
    if depth < MAX_DEPTH:
        for index in range(min(node.childCount, MAX_CHILDREN)):
            child = node.getChildAtIndex(index)
            if child is not None:
                children.append(describe(child, depth + 1))
    item["children"] = children
    return item


def applications(name: str) -> list[Any]:
    desktop = pyatspi.Registry.getDesktop(0)
    found = []
    for index in range(desktop.childCount):
        app = desktop.getChildAtIndex(index)
        if app is not None and app.name == name:
            found.append(app)
    return found


def find(node: Any, role: str, name: str) -> Any | None:
    showing = node.getState().contains(pyatspi.STATE_SHOWING)
    if node.getRoleName() == role and node.name == name and showing:
        return node
    for index in range(min(node.childCount, MAX_CHILDREN)):
        child = node.getChildAtIndex(index)
        if child is not None:
            hit = find(child, role, name)
            if hit is not None:
                return hit
    return None


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    if command == "tree" and len(argv) == 3:
        apps = applications(argv[2])
        if not apps:
            print(f"no application named {argv[2]!r} on the accessibility bus", file=sys.stderr)
            return 2
        print(json.dumps([describe(app) for app in apps]))
        return 0
    if command == "action" and len(argv) in (5, 6):
        for app in applications(argv[2]):
            node = find(app, argv[3], argv[4])
            if node is None:
                continue
            action = node.queryAction()
            wanted = argv[5] if len(argv) == 6 else action.getName(0)
            names = [action.getName(i) for i in range(action.nActions)]
            if wanted not in names:
                print(f"{argv[4]!r} has actions {names}, not {wanted!r}", file=sys.stderr)
                return 2
            action.doAction(names.index(wanted))
            print(json.dumps({"role": argv[3], "name": argv[4], "extents": extents(node)}))
            return 0
        print(f"no showing {argv[3]} named {argv[4]!r} in {argv[2]!r}", file=sys.stderr)
        return 2
    if command == "mouse" and len(argv) == 5:
        pyatspi.Registry.generateMouseEvent(int(argv[2]), int(argv[3]), argv[4])
        return 0
    if command == "keys" and len(argv) > 2 and all(k in KEYSYMS for k in argv[2:]):
        for key in argv[2:]:
            pyatspi.Registry.generateKeyboardEvent(KEYSYMS[key], None, pyatspi.KEY_SYM)
        return 0
    print(__doc__, file=sys.stderr)
    return 64


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
