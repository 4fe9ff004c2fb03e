"""The Rules tab (pytest-qt, offscreen), the alerts it shapes in the tray app (a rule's sound,
the stream opened once through the injected opener), and changes shown in the history window."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QWidget

from kickwatch.context import Context
from kickwatch.domain.rules import ChangeKind, DetailsSeen, StreamChange, StreamerRule
from kickwatch.domain.status import EventType
from kickwatch.monitor.events import StreamDetailsChanged
from kickwatch.monitor.policy import NotificationPolicy, PolicySettings
from kickwatch.monitor.supervisor import Supervisor
from kickwatch.platform.notifier import RecordingNotifier
from kickwatch.store.repository import StatusChange
from kickwatch.store.rules import RuleStore
from kickwatch.ui.bridge import MonitorBridge
from kickwatch.ui.history import HistoryWindow
from kickwatch.ui.notifications import NotificationController
from kickwatch.ui.opener import StreamOpener
from kickwatch.ui.rules_editor import RulesEditor
from kickwatch.ui.settings.dialog import SettingsDialog
from tests.policy.factories import T0, at, started, streamer
from tests.rules.sounds import write_wav
from tests.ui.fakes import FakeAutostart, FakeMonitor


def run(qtbot: Any, coroutine: Any) -> Any:
    task = asyncio.ensure_future(coroutine)
    qtbot.waitUntil(task.done, timeout=5000)
    return task.result()


class Chooser:
    """Stands in for the file dialog: answers with `answer`, remembers what it was shown."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, parent: QWidget, current: str) -> str:
        self.asked.append(current)
        return self.answer


@pytest.fixture
def tasks() -> Supervisor:
    return Supervisor()


@pytest.fixture
def editor(
    ctx: Context, monitor: FakeMonitor, tasks: Supervisor, tmp_path: Path, qloop: Any, qtbot: Any
) -> Iterator[RulesEditor]:
    ctx.repository.add_streamer("alice", 1)
    ctx.repository.add_streamer("bob", 2, display_name="Bob")
    chooser = Chooser(str(write_wav(tmp_path / "bell.wav")))
    widget = RulesEditor(
        RuleStore(ctx.database, ctx.clock), ctx.repository, monitor, tasks.spawn, chooser
    )
    qtbot.addWidget(widget)
    qtbot.waitUntil(lambda: widget.streamer.count() == 2)
    widget.show()
    yield widget
    run(qtbot, tasks.cancel_all())


def choose(editor: RulesEditor, username: str) -> None:
    names = [editor.streamer.itemData(i).username for i in range(editor.streamer.count())]
    editor.streamer.setCurrentIndex(names.index(username))


def rule_of(ctx: Context, username: str) -> StreamerRule | None:
    return RuleStore(ctx.database, ctx.clock).get_rule(username)


def test_a_rule_typed_in_the_tab_is_stored_and_the_monitor_told(
    editor: RulesEditor, ctx: Context, monitor: FakeMonitor, tmp_path: Path, qtbot: Any
) -> None:
    choose(editor, "bob")
    editor.keywords.setText("Ranked, speedrun , ranked")
    editor.categories.setText("Chess")
    editor.title_changes.setChecked(True)
    editor.choose_button.click()
    assert editor.sound.text() == str(tmp_path / "bell.wav")
    editor.open_on_live.setChecked(True)
    writes, told = monitor.writes, monitor.changed
    with qtbot.waitSignal(editor.rule_saved) as saved:
        editor.save_button.click()
    assert saved.args == ["bob"]
    stored = rule_of(ctx, "bob")
    assert stored is not None
    assert (stored.keywords, stored.categories) == (("Ranked", "speedrun"), ("Chess",))
    assert stored.title_changes and stored.open_on_live
    assert stored.sound_path == str(tmp_path / "bell.wav")
    assert (monitor.writes, monitor.changed) == (writes + 1, told + 1)  # through the writer
    assert editor.message.text() == "Saved."
    assert editor.keywords.text() == "Ranked, speedrun"  # shown as stored
    assert rule_of(ctx, "alice") is None


def test_the_chosen_streamers_rule_is_shown(editor: RulesEditor, ctx: Context, qtbot: Any) -> None:
    RuleStore(ctx.database, ctx.clock).set_rule(
        "alice", categories=["Poker", "Chess"], open_on_live=True
    )
    editor.reload()
    qtbot.waitSignal(editor.loaded).wait()
    choose(editor, "bob")
    assert editor.categories.text() == "" and not editor.open_on_live.isChecked()
    choose(editor, "alice")
    assert editor.categories.text() == "Poker, Chess"
    assert editor.open_on_live.isChecked() and not editor.title_changes.isChecked()


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("sound", "/nowhere/bell.wav", "does not exist"),
        ("keywords", ",".join(f"k{i}" for i in range(25)), "at most 20"),
        ("categories", "c" * 101, "longer than 100"),
    ],
)
def test_what_cannot_be_stored_is_explained_and_nothing_is_saved(
    editor: RulesEditor, ctx: Context, qtbot: Any, field: str, value: str, reason: str
) -> None:
    choose(editor, "alice")
    getattr(editor, field).setText(value)
    editor.open_on_live.setChecked(True)
    with qtbot.waitSignal(editor.rule_failed) as failed:
        editor.save_button.click()
    assert reason in failed.args[0]
    assert editor.message.text().startswith("Not saved: ") and reason in editor.message.text()
    assert rule_of(ctx, "alice") is None


def test_clear_rule_announces_the_streamer_as_usual_again(
    editor: RulesEditor, ctx: Context, qtbot: Any
) -> None:
    RuleStore(ctx.database, ctx.clock).set_rule("alice", keywords=["ranked"])
    editor.reload()
    qtbot.waitSignal(editor.loaded).wait()
    choose(editor, "alice")
    assert editor.keywords.text() == "ranked"
    with qtbot.waitSignal(editor.rule_saved):
        editor.clear_button.click()
    assert rule_of(ctx, "alice") is None
    assert editor.keywords.text() == ""


def test_every_control_is_named_and_tab_walks_them_in_order(editor: RulesEditor) -> None:
    unnamed = [
        type(widget).__name__
        for kind in (QLineEdit, QAbstractButton, QComboBox)
        for widget in editor.findChildren(kind)
        if widget.focusPolicy() != Qt.FocusPolicy.NoFocus and not widget.accessibleName()
    ]
    assert unnamed == []
    chain = editor.focus_chain()
    walked = [chain[0]]
    while len(walked) < len(chain):
        after = walked[-1].nextInFocusChain()
        while after.focusPolicy() == Qt.FocusPolicy.NoFocus or not after.isVisible():
            after = after.nextInFocusChain()
        walked.append(after)
    assert walked == chain


def test_the_settings_dialog_has_a_rules_tab_that_follows_new_streamers(
    ctx: Context, monitor: FakeMonitor, qloop: Any, qtbot: Any
) -> None:
    tasks = Supervisor()
    bridge = MonitorBridge(monitor.bus)
    dialog = SettingsDialog(ctx, monitor, FakeAutostart(), tasks.spawn, bridge, UTC)
    qtbot.addWidget(dialog)
    # The dialog and its Rules tab load on their own, in either order.
    qtbot.waitSignals([dialog.loaded, dialog.rules.loaded]).wait()
    titles = [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())]
    assert "Rules" in titles
    assert dialog.rules.streamer.count() == 0
    assert "Add a streamer" in dialog.rules.message.text()
    dialog.streamers.names.setPlainText("carol")
    dialog.streamers.add_button.click()
    qtbot.waitUntil(lambda: dialog.rules.streamer.count() == 1)
    assert dialog.rules.save_button.isEnabled()
    run(qtbot, tasks.cancel_all())
    bridge.close()


# -- the alerts a rule shapes in the tray app -------------------------------------------------


@pytest.fixture
def alerts(
    qloop: Any, qtbot: Any
) -> Iterator[tuple[NotificationController, RecordingNotifier, list[str]]]:
    tasks = Supervisor()
    notifier = RecordingNotifier()
    opened: list[str] = []
    opener = StreamOpener(lambda: "", open_url=lambda url: opened.append(url.toString()) or True)

    async def mute(_name: str) -> None:
        return None

    clock = itertools.count()
    controller = NotificationController(
        NotificationPolicy(PolicySettings(group_window_seconds=0)),
        notifier,
        opener,
        lambda: at(next(clock)),
        tasks.spawn,
        mute,
    )
    yield controller, notifier, opened
    run(qtbot, tasks.cancel_all())


def test_open_on_live_opens_the_stream_once_through_the_injected_opener(
    alerts: tuple[NotificationController, RecordingNotifier, list[str]], qtbot: Any
) -> None:
    controller, notifier, opened = alerts
    alice = streamer(1, "alice")
    rule = StreamerRule(1, open_on_live=True, sound_path="/sounds/bell.wav")
    controller.on_bridge_event_received(started(alice, rule=rule))
    qtbot.waitUntil(lambda: len(notifier.sent) == 1)
    assert opened == ["https://kick.com/alice"]
    assert notifier.sent[0].sound_file == "/sounds/bell.wav"
    # The same go-live reported again, and a go-live of a streamer without the rule.
    controller.on_bridge_event_received(started(alice, rule=rule))
    controller.on_bridge_event_received(started(streamer(2, "bob")))
    qtbot.waitUntil(lambda: len(notifier.sent) == 2)
    assert opened == ["https://kick.com/alice"]


def test_a_title_change_alert_has_open_and_mute(
    alerts: tuple[NotificationController, RecordingNotifier, list[str]], qtbot: Any
) -> None:
    controller, notifier, opened = alerts
    alice = streamer(1, "alice", current_title="Ranked")
    change = StreamChange(1, 1, "alice", ChangeKind.TITLE, "Warm-up", "Ranked", "pusher", T0, T0)
    controller.on_bridge_event_received(
        StreamDetailsChanged(alice, (change,), StreamerRule(1, title_changes=True))
    )
    qtbot.waitUntil(lambda: len(notifier.sent) == 1)
    sent = notifier.sent[0]
    assert (sent.title, sent.body) == ("Alice changed the stream title", "Ranked")
    assert [b.label for b in sent.buttons] == ["Open", "Mute"]
    assert opened == []


# -- the history window ---------------------------------------------------------------------


def test_changes_show_in_the_history_as_their_own_kind(
    ctx: Context, qloop: Any, qtbot: Any, tmp_path: Path
) -> None:
    tasks = Supervisor()
    alice = ctx.repository.add_streamer("alice", 1)
    now = ctx.clock.now()
    ctx.repository.apply_changes(
        [
            StatusChange(
                alice.id,
                EventType.STREAM_START,
                now - timedelta(minutes=10),
                now - timedelta(minutes=10),
                livestream_id="9",
                title="Warm-up",
            )
        ]
    )
    RuleStore(ctx.database, ctx.clock).record_details(
        [
            DetailsSeen(
                alice.id, now - timedelta(minutes=5), "pusher", title="Ranked", livestream_id="9"
            )
        ]
    )
    window = HistoryWindow(
        ctx.repository, tasks.spawn, UTC, lambda _parent: str(tmp_path / "c.csv")
    )
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)
    model = window.model
    row = [model.data(model.index(0, column)) for column in range(5)]
    assert row[1:] == ["alice", "title change", "live", "“Warm-up” → “Ranked”"]
    assert model.data(model.index(1, 2)) == "stream start"
    qtbot.waitUntil(lambda: window.total.text() == "2 events")
    window.event_type.setCurrentIndex(window.event_type.findText("title change"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1 and window.total.text() == "1 events")
    window.event_type.setCurrentIndex(window.event_type.findText("category change"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    window.event_type.setCurrentIndex(window.event_type.findText("title change"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    with qtbot.waitSignal(window.exported):
        window.export_button.click()
    lines = (tmp_path / "c.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("id,streamer,streamer_id,change_type,previous_value,new_value")
    assert "Ranked" in lines[1]
    run(qtbot, tasks.wait_idle())
