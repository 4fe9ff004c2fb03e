"""The Targets tab (offscreen): add with Apprise's verdict shown, list masked, test, remove, and an
accessible name on every control."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QLabel, QLineEdit

from kickwatch.context import Context
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.ui.settings.targets_tab import TargetsTab
from tests.alerts.helpers import open_store
from tests.alerts.receiver import Receiver
from tests.clock import ManualClock
from tests.ui.fakes import FakeMonitor

TOKEN = "t4b-s3cr3t-77"


@pytest.fixture
def qloop(qapp: Any) -> Iterator[Any]:
    from kickwatch.ui.qtloop import attach_loop, detach_loop

    loop = attach_loop(qapp)
    try:
        yield loop
    finally:
        detach_loop(loop)


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[Context]:
    context = open_store(tmp_path / "kickwatch.db", ManualClock())
    yield context
    context.close()


@pytest.fixture
def tab(ctx: Context, qloop: Any, qtbot: Any) -> Iterator[TargetsTab]:
    tasks = Supervisor()
    widget = TargetsTab(ctx, FakeMonitor(ctx), tasks.spawn)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.loaded, timeout=10_000):
        widget.show()
    yield widget
    stopping = asyncio.ensure_future(tasks.cancel_all())
    qtbot.waitUntil(stopping.done, timeout=5000)


def table_text(tab: TargetsTab) -> list[list[str]]:
    return [
        [tab.table.item(r, c).text() for c in range(tab.table.columnCount())]
        for r in range(tab.table.rowCount())
    ]


def everything_shown(tab: TargetsTab) -> str:
    texts = [cell for row in table_text(tab) for cell in row]
    texts += [label.text() for label in tab.findChildren(QLabel)]
    texts += [tab.table.item(r, 1).toolTip() for r in range(tab.table.rowCount())]
    return "\n".join(texts)


def add(tab: TargetsTab, qtbot: Any, url: str, name: str = "", streamers: str = "") -> str:
    tab.url.setText(url)
    tab.name.setText(name)
    tab.streamers.setText(streamers)
    with qtbot.waitSignal(tab.message_shown, timeout=10_000) as shown:
        tab.add_button.click()
    return str(shown.args[0])


def test_adding_a_url_apprise_refuses_shows_why_and_stores_nothing(
    tab: TargetsTab, qtbot: Any
) -> None:
    message = add(tab, qtbot, f"nosuch://{TOKEN}")
    assert message.startswith("Not added: target URL: unknown scheme nosuch://")
    message = add(tab, qtbot, f"discord://{TOKEN}")
    assert message.startswith("Not added: target URL: discord://**** is not a valid discord://")
    assert tab.message.isVisible()
    assert table_text(tab) == []
    assert TOKEN not in everything_shown(tab)


def test_a_target_is_added_listed_masked_tested_and_removed(
    tab: TargetsTab, qtbot: Any, receiver: Receiver
) -> None:
    url = receiver.url(f"hook/{TOKEN}")
    assert tab.url.echoMode() is QLineEdit.EchoMode.Password
    with qtbot.waitSignal(tab.targets_changed, timeout=10_000):
        message = add(tab, qtbot, url, name="hook", streamers="Alpha")
    masked = f"json://127.0.0.1:{receiver.port}/****/****"
    assert message == f"Added hook: {masked}"
    assert tab.url.text() == ""
    assert table_text(tab) == [["hook", masked, "alpha", "start, end, change", "0 sent"]]
    assert not tab.test_button.isEnabled()

    tab.table.selectRow(0)
    assert tab.selected() == "hook"
    with qtbot.waitSignal(tab.message_shown, timeout=15_000) as shown:
        tab.test_button.click()
    assert shown.args[0] == "A test alert was sent to hook."
    assert receiver.titles() == ["kickwatch test alert"]

    receiver.down()
    with qtbot.waitSignal(tab.message_shown, timeout=15_000) as shown:
        tab.test_button.click()
    assert str(shown.args[0]).startswith("The test alert to hook was not sent: A Connection error")
    assert TOKEN not in everything_shown(tab)

    with qtbot.waitSignal(tab.targets_changed, timeout=10_000):
        tab.remove_button.click()
    assert table_text(tab) == []
    assert tab.message.text() == "Removed hook."


def test_every_control_of_the_tab_has_an_accessible_name(tab: TargetsTab) -> None:
    unnamed = [
        type(widget).__name__
        for kind in (QLineEdit, QAbstractButton, QAbstractItemView)
        for widget in tab.findChildren(kind)
        if widget.focusPolicy() != Qt.FocusPolicy.NoFocus and not widget.accessibleName()
    ]
    assert unnamed == []


def test_the_event_boxes_choose_which_alerts_a_target_gets(tab: TargetsTab, qtbot: Any) -> None:
    assert [box.isChecked() for box in (tab.on_start, tab.on_end, tab.on_change)] == [True] * 3
    assert tab.on_change.accessibleName() == "Send title and category change alerts"
    tab.on_start.setChecked(False)
    tab.on_end.setChecked(False)
    with qtbot.waitSignal(tab.targets_changed, timeout=10_000):
        add(tab, qtbot, f"ntfy://{TOKEN}", name="changes")
    tab.on_change.setChecked(False)
    message = add(tab, qtbot, f"ntfy://{TOKEN}-2", name="nothing")
    assert message.startswith("Not added: events: nothing given; use start, end and change")
    assert table_text(tab) == [["changes", "ntfy://****", "all", "change", "0 sent"]]
