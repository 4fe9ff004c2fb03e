"""The settings dialog, tab by tab: values shown, inline messages, all-or-nothing save."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from kickwatch.context import Context
from kickwatch.domain.status import EventType
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.ui.bridge import MonitorBridge
from kickwatch.ui.settings.dialog import SettingsDialog
from kickwatch.ui.settings.streamer_model import COLUMNS, STATUS_COLUMN
from kickwatch.ui.settings.streamers_tab import split_names
from kickwatch.ui.settings.tabs import DEVELOPER_URL
from tests.ui.fakes import FakeAutostart, FakeMonitor


class Confirmations:
    def __init__(self) -> None:
        self.answer = True
        self.asked: list[str] = []

    def __call__(self, text: str) -> bool:
        self.asked.append(text)
        return self.answer


@pytest.fixture
def confirm() -> Confirmations:
    return Confirmations()


@pytest.fixture
def dialog(
    ctx: Context,
    monitor: FakeMonitor,
    autostart: FakeAutostart,
    confirm: Confirmations,
    qloop: Any,
    qtbot: Any,
) -> Iterator[SettingsDialog]:
    tasks = Supervisor()
    bridge = MonitorBridge(monitor.bus)
    window = SettingsDialog(ctx, monitor, autostart, tasks.spawn, bridge, UTC, confirm)
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.loaded):
        pass
    window.show()
    yield window
    finish(qtbot, tasks.cancel_all())
    bridge.close()


def finish(qtbot: Any, coroutine: Any) -> Any:
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=5000)
    return task.result()


def edit(dialog: SettingsDialog, key: str) -> QLineEdit:
    widget = dialog.findChild(QLineEdit, key)
    assert widget is not None, key
    return widget


def message(dialog: SettingsDialog, key: str) -> str:
    for form in dialog.forms:
        if key in form.fields:
            label: QLabel = form.fields[key].message
            return "" if label.isHidden() else label.text()
    raise KeyError(key)


# -- Notifications --------------------------------------------------------------------------


def test_stored_values_are_shown(ctx: Context, dialog: SettingsDialog) -> None:
    assert edit(dialog, "system.offline_grace_seconds").text() == "90"
    assert edit(dialog, "system.quiet_hours_start").text() == "23:00"
    assert dialog.notifications.fields["system.sounds"].text() == "true"
    assert all(message(dialog, key) == "" for key in dialog.notifications.fields)


@pytest.mark.parametrize(
    ("key", "bad", "rule"),
    [
        ("system.offline_grace_seconds", "soon", "must be an integer"),
        ("system.offline_grace_seconds", "-5", "must be at least 0"),
        ("system.restart_cooldown_seconds", "99999999", "must be at most 86400"),
        ("system.group_threshold", "1", "must be at least 2"),
        ("system.quiet_hours_start", "25:00", "must be a time of day HH:MM"),
        ("system.quiet_hours_end", "7pm", "must be a time of day HH:MM"),
        ("system.player_command", "mpv", "must contain {url}"),
        ("database.retention_days", "0", "must be a positive integer"),
        ("monitoring.pusher_url", "http://example.com", "must be a ws or wss URL"),
        ("monitoring.api_url", "ftp://x", "must be a http or https URL"),
        ("monitoring.reconcile_interval", "5", "must be at least 10"),
    ],
)
def test_bad_values_get_an_inline_message_and_nothing_is_saved(
    ctx: Context, dialog: SettingsDialog, qtbot: Any, key: str, bad: str, rule: str
) -> None:
    edit(dialog, "system.restart_cooldown_seconds").setText("60")
    edit(dialog, key).setText(bad)
    assert rule in message(dialog, key)
    with qtbot.waitSignal(dialog.save_failed) as failed:
        dialog.save_button.click()
    assert rule in failed.args[0]
    assert dialog.message.text().startswith("Nothing was saved")
    form = next(f for f in dialog.forms if key in f.fields)
    assert dialog.tabs.currentWidget() is form
    assert ctx.config.get("system.restart_cooldown_seconds") is None
    assert ctx.config.get(key) is None


def test_a_fixed_value_clears_its_message(dialog: SettingsDialog) -> None:
    edit(dialog, "system.group_threshold").setText("x")
    assert message(dialog, "system.group_threshold")
    edit(dialog, "system.group_threshold").setText("5")
    assert message(dialog, "system.group_threshold") == ""


def test_valid_changes_are_saved_together(ctx: Context, dialog: SettingsDialog, qtbot: Any) -> None:
    edit(dialog, "system.offline_grace_seconds").setText("30")
    edit(dialog, "system.quiet_hours_start").setText("22:30")
    edit(dialog, "system.player_command").setText("streamlink {url} best")
    dialog.notifications.fields["system.quiet_hours_enabled"].widget.setChecked(True)
    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    assert ctx.settings.get("system.offline_grace_seconds") == 30
    assert ctx.settings.get("system.quiet_hours_start") == "22:30"
    assert ctx.settings.get("system.quiet_hours_enabled") is True
    assert ctx.settings.get("system.player_command") == "streamlink {url} best"
    assert ctx.config.get("system.sounds") is None  # unchanged values are not written
    assert dialog.message.text() == "Saved."


# -- Account --------------------------------------------------------------------------------


def test_credentials_are_saved_and_the_secret_encrypted(
    ctx: Context, dialog: SettingsDialog, qtbot: Any
) -> None:
    secret = edit(dialog, "auth.client_secret")
    assert secret.echoMode() is QLineEdit.EchoMode.Password
    edit(dialog, "auth.client_id").setText("01ABC")
    secret.setText("s3cret-value")
    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    [entry] = [e for e in ctx.config.entries() if e.key == "auth.client_secret"]
    assert entry.is_encrypted and entry.value == "********"
    assert ctx.settings.get("auth.client_secret") == "s3cret-value"
    assert ctx.settings.get("auth.client_id") == "01ABC"


def test_account_tab_links_the_developer_page_and_says_where_the_key_is(
    dialog: SettingsDialog,
) -> None:
    texts = [label.text() for label in dialog.account.findChildren(QLabel)]
    assert any(DEVELOPER_URL in text for text in texts)
    assert "KICKWATCH_MASTER_KEY" in dialog.account.master_key.text()


def test_test_connection_shows_the_result_and_records_it(
    ctx: Context, dialog: SettingsDialog, monitor: FakeMonitor, qtbot: Any
) -> None:
    dialog.account.test_button.click()
    qtbot.waitUntil(lambda: dialog.account.test_result.text().startswith("✓"))
    assert "connected to the fake Kick" in dialog.account.test_result.text()
    monitor.connection_ok = (False, "Kick rejected the client id or secret")
    dialog.account.test_button.click()
    qtbot.waitUntil(lambda: dialog.account.test_result.text().startswith("✗"))
    tests = ctx.repository.event_history(event_type=EventType.CONNECTION_TEST)
    assert [e.event_data["ok"] for e in tests] == [False, True]


# -- Advanced -------------------------------------------------------------------------------


def test_advanced_shows_the_database_and_switches_start_at_login(
    ctx: Context, dialog: SettingsDialog, autostart: FakeAutostart, qtbot: Any
) -> None:
    in_use = dialog.advanced.findChild(QLabel, "database_in_use")
    assert in_use is not None and "k.db" in in_use.text()
    assert dialog.advanced.autostart_where.text() == "in memory (tests)"
    dialog.advanced.autostart.setChecked(True)
    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    assert autostart.enabled
    assert ctx.settings.get("system.start_at_login") is True


def test_a_failure_to_enable_start_at_login_is_shown(
    dialog: SettingsDialog, autostart: FakeAutostart, qtbot: Any
) -> None:
    autostart.fail = True
    dialog.advanced.autostart.setChecked(True)
    with qtbot.waitSignal(dialog.saved):
        dialog.save_button.click()
    assert "Permission denied" in dialog.advanced.autostart_message.text()
    assert not autostart.enabled


# -- Streamers ------------------------------------------------------------------------------


def rows(dialog: SettingsDialog) -> list[str]:
    return dialog.streamers.model.usernames()


def add_names(dialog: SettingsDialog, qtbot: Any, text: str) -> str:
    dialog.streamers.names.setPlainText(text)
    with qtbot.waitSignal(dialog.streamers.add_finished):
        dialog.streamers.add_button.click()
    return dialog.streamers.add_message.text()


def test_names_are_split_on_new_lines_commas_and_spaces() -> None:
    assert split_names("a, b\nc  d;e a\n\n") == ["a", "b", "c", "d", "e"]


def test_adding_by_name_and_by_url(
    ctx: Context, dialog: SettingsDialog, monitor: FakeMonitor, qtbot: Any
) -> None:
    text = add_names(dialog, qtbot, "Alice")
    assert text == "Added Alice."
    text = add_names(dialog, qtbot, "https://kick.com/bob?ref=x")
    assert rows(dialog) == ["alice", "bob"]
    assert ctx.repository.get_by_username("bob") is not None
    assert monitor.changed == 2
    assert dialog.streamers.names.toPlainText() == ""


def test_pasting_many_names_adds_them_all(dialog: SettingsDialog, qtbot: Any) -> None:
    add_names(dialog, qtbot, "one, two\nthree four")
    assert rows(dialog) == ["four", "one", "three", "two"]
    assert dialog.streamers.count.text() == "4 streamers"


def test_unknown_invalid_and_duplicate_names_are_explained_inline(
    ctx: Context, dialog: SettingsDialog, monitor: FakeMonitor, qtbot: Any
) -> None:
    monitor.unknown.add("ghost")
    add_names(dialog, qtbot, "alice")
    text = add_names(dialog, qtbot, "ghost alice bad!name carol")
    assert text.startswith("Added Carol.")
    assert "ghost: there is no Kick channel named ghost" in text
    assert "alice: alice is already monitored" in text
    assert "bad!name: username: 'bad!name' is not a Kick username" in text
    assert dialog.streamers.names.toPlainText() == "ghost\nalice\nbad!name"
    assert "color" in dialog.streamers.add_message.styleSheet()
    assert rows(dialog) == ["alice", "carol"]


def test_a_blocked_lookup_is_explained(
    dialog: SettingsDialog, monitor: FakeMonitor, qtbot: Any
) -> None:
    monitor.blocked = True
    text = add_names(dialog, qtbot, "alice")
    assert "Kick refused the lookup" in text
    assert rows(dialog) == []


def test_removing_asks_first(
    ctx: Context,
    dialog: SettingsDialog,
    monitor: FakeMonitor,
    confirm: Confirmations,
    qtbot: Any,
) -> None:
    add_names(dialog, qtbot, "alice bob")
    dialog.streamers.table.selectRow(0)
    confirm.answer = False
    dialog.streamers.remove_button.click()
    assert confirm.asked == ["Remove alice? Their history is deleted too."]
    assert ctx.repository.get_by_username("alice") is not None
    confirm.answer = True
    with qtbot.waitSignal(dialog.streamers.streamers_edited):
        dialog.streamers.remove_button.click()
    assert ctx.repository.get_by_username("alice") is None
    assert rows(dialog) == ["bob"]
    assert monitor.writes == 1  # through the monitor's single writer


@pytest.mark.parametrize("column", ["On", "Live alert", "Offline alert", "Favourite", "Muted"])
def test_switches_are_stored(
    ctx: Context, dialog: SettingsDialog, monitor: FakeMonitor, qtbot: Any, column: str
) -> None:
    add_names(dialog, qtbot, "alice")
    model = dialog.streamers.model
    col = [h for h, _f in COLUMNS].index(column)
    field = COLUMNS[col][1]
    assert field is not None
    before = getattr(ctx.repository.get_by_username("alice"), field)
    index = model.index(0, col)
    wanted = Qt.CheckState.Unchecked if before else Qt.CheckState.Checked
    with qtbot.waitSignal(dialog.streamers.streamers_edited):
        model.setData(index, wanted, Qt.ItemDataRole.CheckStateRole)
    assert getattr(ctx.repository.get_by_username("alice"), field) is (not before)
    assert model.data(index, Qt.ItemDataRole.CheckStateRole) == wanted
    assert monitor.writes == 1  # through the monitor's single writer


def test_filter_box_filters_rows(dialog: SettingsDialog, qtbot: Any) -> None:
    add_names(dialog, qtbot, "alice bob alfred")
    dialog.streamers.filter.setText("AL")
    assert dialog.streamers.proxy.rowCount() == 2
    dialog.streamers.filter.clear()
    assert dialog.streamers.proxy.rowCount() == 3


def test_live_status_follows_the_monitor(
    dialog: SettingsDialog, monitor: FakeMonitor, qtbot: Any
) -> None:
    add_names(dialog, qtbot, "alice")
    model = dialog.streamers.model
    assert model.data(model.index(0, STATUS_COLUMN)) == "unknown"
    monitor.go_live("alice")
    assert model.data(model.index(0, STATUS_COLUMN)) == "● live"
    assert model.data(model.index(0, STATUS_COLUMN + 1)) != "never"


def test_five_thousand_streamers_load_fast(
    ctx: Context, dialog: SettingsDialog, qtbot: Any
) -> None:
    streamers = [ctx.repository.add_streamer(f"user{i:05d}", i + 1) for i in range(50)]
    many = [s for s in streamers for _ in range(100)]
    many = [
        type(s)(**{**{f: getattr(s, f) for f in s.__slots__}, "username": f"u{i:05d}"})
        for i, s in enumerate(many)
    ]
    # CPU time of this (the GUI) thread: a loaded machine stretches wall time, not this.
    started = time.thread_time()
    dialog.streamers.set_streamers(many)
    dialog.streamers.filter.setText("u0499")
    elapsed = time.thread_time() - started
    assert dialog.streamers.proxy.rowCount() == 10
    assert elapsed < 1.0


# -- keyboard and screen readers ----------------------------------------------------------------


def test_enter_in_the_add_box_adds_and_shift_enter_starts_a_line(
    dialog: SettingsDialog, qtbot: Any
) -> None:
    from PySide6.QtTest import QTest

    tab = dialog.streamers
    tab.names.setPlainText("alice")
    QTest.keyClick(tab.names, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert tab.names.toPlainText().split() == ["alice"]
    with qtbot.waitSignal(tab.add_finished):
        QTest.keyClick(tab.names, Qt.Key.Key_Return)
    assert rows(dialog) == ["alice"]


def test_delete_in_the_table_removes_the_selected_rows_after_asking(
    ctx: Context, dialog: SettingsDialog, confirm: Confirmations, qtbot: Any
) -> None:
    from PySide6.QtTest import QTest

    add_names(dialog, qtbot, "alice bob")
    dialog.streamers.table.selectRow(1)
    with qtbot.waitSignal(dialog.streamers.streamers_edited):
        QTest.keyClick(dialog.streamers.table, Qt.Key.Key_Delete)
    assert confirm.asked == ["Remove bob? Their history is deleted too."]
    assert ctx.repository.get_by_username("bob") is None
    assert rows(dialog) == ["alice"]


def test_escape_closes_the_dialog(dialog: SettingsDialog) -> None:
    from PySide6.QtTest import QTest

    QTest.keyClick(dialog.streamers.filter, Qt.Key.Key_Escape)
    assert not dialog.isVisible()


def test_tab_walks_the_controls_in_reading_order(dialog: SettingsDialog) -> None:
    tab = dialog.streamers
    expected = [
        dialog.tabs.tabBar(),
        tab.names,
        tab.add_button,
        tab.filter,
        tab.remove_button,
        tab.table,
        dialog.save_button,
    ]
    walked = [expected[0]]
    while len(walked) < len(expected):
        walked.append(walked[-1].nextInFocusChain())
        while not walked[-1].isVisible() or walked[-1].focusPolicy() == Qt.FocusPolicy.NoFocus:
            walked[-1] = walked[-1].nextInFocusChain()
    assert walked == expected


def test_every_control_has_an_accessible_name(dialog: SettingsDialog) -> None:
    from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QPlainTextEdit

    unnamed = []
    for kind in (QLineEdit, QPlainTextEdit, QAbstractButton, QAbstractItemView):
        for widget in dialog.findChildren(kind):
            name = widget.accessibleName() or getattr(widget, "text", lambda: "")()
            if widget.focusPolicy() != Qt.FocusPolicy.NoFocus and not name:
                unnamed.append(f"{type(widget).__name__} {widget.objectName()}")
    assert unnamed == []


def test_column_widths_are_never_below_the_header_and_dragged_ones_are_kept(
    ctx: Context, dialog: SettingsDialog, qtbot: Any
) -> None:
    from kickwatch.ui.columns import ColumnSizer, window_state

    add_names(dialog, qtbot, "alice")
    table = dialog.streamers.table
    sizer = dialog.streamers.columns
    qtbot.waitUntil(lambda: not sizer.pending)
    header = table.horizontalHeader()
    for column in range(header.count()):
        assert header.sectionSize(column) >= header.sectionSizeHint(column)
    header.resizeSection(STATUS_COLUMN, 240)
    header.resizeSection(STATUS_COLUMN + 1, 3)  # below its header text: back to the header's width
    assert header.sectionSize(STATUS_COLUMN + 1) == header.sectionSizeHint(STATUS_COLUMN + 1)
    dialog.hide()  # saves
    fresh = type(table)()
    fresh.setModel(dialog.streamers.proxy)
    again = ColumnSizer(fresh, "streamers", fill=1, state=window_state(ctx.paths.config_dir))
    assert again.remembered()["Status"] == 240
    assert fresh.columnWidth(STATUS_COLUMN) == 240
