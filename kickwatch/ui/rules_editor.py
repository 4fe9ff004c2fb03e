"""The Rules tab of the settings dialog: one streamer's alert rule at a time.

Pick a streamer, then say which titles (keywords) or categories its live alerts need, whether
a change of title or category while live is announced, which sound file its alerts play and
whether its stream opens when it goes live. "Save rule" checks everything first (the keywords
and categories against their limits, the sound file in a worker thread: it must exist, be
readable and be a sound) and shows what is wrong under the form; then the rule is written
through the monitor's writer and the monitor is told. Streamers and rules are read in a worker
thread; every control has an accessible name and the tab works from the keyboard alone.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kickwatch.domain.errors import KickwatchError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import (
    StreamerRule,
    normalize_categories,
    normalize_keywords,
    split_list,
)
from kickwatch.platform.sounds import SOUND_SUFFIXES, check_sound_file
from kickwatch.store.repository import Repository
from kickwatch.store.rules import RuleStore
from kickwatch.ui.qtloop import run_blocking
from kickwatch.ui.settings.fields import ERROR_STYLE

log = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[Any], str], object]
ChooseSound = Callable[[QWidget, str], str]
OK_STYLE = "color: #1e8449;"


def choose_sound_file(parent: QWidget, current: str) -> str:
    """Ask for a sound file (empty when cancelled)."""
    patterns = " ".join(f"*{suffix}" for suffix in SOUND_SUFFIXES)
    name, _filter = QFileDialog.getOpenFileName(
        parent, "Choose an alert sound", current, f"Sounds ({patterns});;All files (*)"
    )
    return name


class RulesEditor(QWidget):
    """The rule of the chosen streamer, editable.

    Signals:
        loaded(): the streamers and their rules are shown.
        rule_saved(str): the rule of this username was stored (or cleared); the monitor was told.
        rule_failed(str): why the rule was not stored.
    """

    loaded = Signal()
    rule_saved = Signal(str)
    rule_failed = Signal(str)

    def __init__(
        self,
        rules: RuleStore,
        repository: Repository,
        monitor: Any,
        spawn: Spawn,
        choose_sound: ChooseSound = choose_sound_file,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.rules = rules
        self.repository = repository
        self.monitor = monitor
        self._spawn = spawn
        self._choose_sound = choose_sound
        self._rules: dict[int, StreamerRule] = {}
        self.streamer = QComboBox()
        self.streamer.setAccessibleName("Streamer of the rule")
        self.streamer.view().setAccessibleName("Streamers")
        self.streamer.currentIndexChanged.connect(self.on_streamer_current_index_changed)
        self.keywords = QLineEdit()
        self.keywords.setAccessibleName("Title keywords")
        self.keywords.setAccessibleDescription(
            "Alert only when the title holds one of these words, separated by commas; "
            "upper and lower case are the same. Empty: any title."
        )
        self.keywords.setPlaceholderText("e.g. speedrun, elden ring   (empty: any title)")
        self.categories = QLineEdit()
        self.categories.setAccessibleName("Categories")
        self.categories.setAccessibleDescription(
            "Alert only for these categories, separated by commas. Empty: any category. "
            "With keywords too, either is enough."
        )
        self.categories.setPlaceholderText("e.g. Just Chatting, Chess   (empty: any category)")
        self.title_changes = QCheckBox("Alert when the title or category changes while live")
        self.title_changes.setAccessibleName("Alert when the title or category changes")
        self.sound = QLineEdit()
        self.sound.setAccessibleName("Sound file")
        self.sound.setAccessibleDescription(
            "A WAV, Ogg, FLAC or MP3 file played with this streamer's alerts. Empty: the "
            "default sound."
        )
        self.sound.setPlaceholderText("default sound")
        self.sound.setClearButtonEnabled(True)
        for clear in self.sound.findChildren(QToolButton):  # the clear button
            clear.setAccessibleName("Clear sound file")
        self.choose_button = QPushButton("C&hoose…")
        self.choose_button.setAccessibleName("Choose a sound file")
        self.choose_button.clicked.connect(self.on_choose_button_clicked)
        self.open_on_live = QCheckBox("Open the stream when it goes live")
        self.open_on_live.setAccessibleName("Open the stream when it goes live")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()
        self.save_button = QPushButton("Sa&ve rule")
        self.save_button.setAccessibleName("Save rule")
        self.save_button.setAccessibleDescription("Check and store this streamer's rule")
        self.save_button.clicked.connect(self.on_save_button_clicked)
        self.clear_button = QPushButton("C&lear rule")
        self.clear_button.setAccessibleName("Clear rule")
        self.clear_button.setAccessibleDescription("Announce this streamer as usual again")
        self.clear_button.clicked.connect(self.on_clear_button_clicked)
        for button in (self.save_button, self.clear_button):
            button.setAutoDefault(False)  # Enter in a field must not save the whole dialog
        self._set_enabled(False)

        sound_row = QHBoxLayout()
        sound_row.addWidget(self.sound, 1)
        sound_row.addWidget(self.choose_button)
        form = QFormLayout()
        for text, widget in (
            ("&Streamer:", self.streamer),
            ("&Keywords:", self.keywords),
            ("Ca&tegories:", self.categories),
        ):
            caption = QLabel(text)
            caption.setBuddy(widget)
            form.addRow(caption, widget)
        form.addRow("", self.title_changes)
        sound_caption = QLabel("So&und:")
        sound_caption.setBuddy(self.sound)
        form.addRow(sound_caption, sound_row)
        form.addRow("", self.open_on_live)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.clear_button)
        buttons.addWidget(self.save_button)
        note = QLabel(
            "A rule applies on top of the Notifications settings; a muted or switched-off "
            "streamer stays silent. Streams open in the tray app only."
        )
        note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        layout.addWidget(note)
        layout.addStretch(1)
        chain = self.focus_chain()
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)
        self.reload()

    def focus_chain(self) -> list[QWidget]:
        """The tab's controls in keyboard order."""
        return [
            self.streamer,
            self.keywords,
            self.categories,
            self.title_changes,
            self.sound,
            self.choose_button,
            self.open_on_live,
            self.clear_button,
            self.save_button,
        ]

    # -- loading ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read the streamers and their rules again (in a worker thread)."""
        self._spawn(self.load(), "load rules")

    async def load(self) -> None:
        """Show every streamer and the rule of the chosen one."""
        streamers, rules = await run_blocking(self._read)
        chosen = self.streamer.currentData()
        self._rules = rules
        self.streamer.blockSignals(True)
        self.streamer.clear()
        for record in sorted(streamers, key=lambda s: s.display_name.lower()):
            self.streamer.addItem(record.display_name, record)
        names = [self.streamer.itemData(i).username for i in range(self.streamer.count())]
        if chosen is not None and chosen.username in names:
            self.streamer.setCurrentIndex(names.index(chosen.username))
        self.streamer.blockSignals(False)
        self._set_enabled(self.streamer.count() > 0)
        if self.streamer.count() == 0:
            self._show_message("Add a streamer on the Streamers tab first.", error=False)
        self.show_rule()
        self.loaded.emit()

    def _read(self) -> tuple[list[StreamerRecord], dict[int, StreamerRule]]:
        return self.repository.all_streamers(), self.rules.all_rules()

    def on_streamer_current_index_changed(self, _index: int) -> None:
        self.message.hide()
        self.show_rule()

    def current_streamer(self) -> StreamerRecord | None:
        """The streamer whose rule is shown."""
        record = self.streamer.currentData()
        return record if isinstance(record, StreamerRecord) else None

    def show_rule(self) -> None:
        """Fill the form with the chosen streamer's rule (empty when it has none)."""
        record = self.current_streamer()
        rule = self._rules.get(record.id) if record is not None else None
        rule = rule or StreamerRule(record.id if record is not None else 0)
        self.keywords.setText(", ".join(rule.keywords))
        self.categories.setText(", ".join(rule.categories))
        self.title_changes.setChecked(rule.title_changes)
        self.sound.setText(rule.sound_path or "")
        self.open_on_live.setChecked(rule.open_on_live)

    # -- editing ----------------------------------------------------------------------------

    def on_choose_button_clicked(self) -> None:
        name = self._choose_sound(self, self.sound.text())
        if name:
            self.sound.setText(name)

    def on_save_button_clicked(self) -> None:
        self._spawn(self.save(), "save rule")

    def on_clear_button_clicked(self) -> None:
        self._spawn(self.clear(), "clear rule")

    async def save(self) -> bool:
        """Check the form, then store the rule; False (with the reason shown) if it was not."""
        record = self.current_streamer()
        if record is None:
            return False
        try:
            keywords = normalize_keywords(split_list(self.keywords.text()))
            categories = normalize_categories(split_list(self.categories.text()))
            sound = await run_blocking(check_sound_file, self.sound.text())
        except KickwatchError as exc:
            return self._failed(str(exc))
        store = functools.partial(
            self.rules.set_rule,
            record.username,
            keywords=keywords,
            categories=categories,
            title_changes=self.title_changes.isChecked(),
            sound_path=sound or "",
            open_on_live=self.open_on_live.isChecked(),
        )
        return await self._write(record, store, "Saved.")

    async def clear(self) -> bool:
        """Delete the chosen streamer's rule."""
        record = self.current_streamer()
        if record is None:
            return False
        store = functools.partial(self.rules.clear_rule, record.username)
        return await self._write(record, store, "Cleared: announced as usual.")

    async def _write(self, record: StreamerRecord, store: Callable[[], Any], done: str) -> bool:
        self._set_enabled(False)
        try:
            stored = await self.monitor.write(store)
        except KickwatchError as exc:
            return self._failed(str(exc))
        finally:
            self._set_enabled(True)
        rule = stored if isinstance(stored, StreamerRule) else StreamerRule(record.id)
        if rule == StreamerRule(record.id):
            self._rules.pop(record.id, None)
        else:
            self._rules[record.id] = rule
        if self.current_streamer() == record:
            self.show_rule()
        self.monitor.streamers_changed()
        self._show_message(done, error=False)
        self.rule_saved.emit(record.username)
        return True

    def _failed(self, reason: str) -> bool:
        self._show_message(f"Not saved: {reason}", error=True)
        self.rule_failed.emit(reason)
        return False

    def _set_enabled(self, enabled: bool) -> None:
        for widget in self.focus_chain()[1:]:
            widget.setEnabled(enabled)

    def _show_message(self, text: str, *, error: bool) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else OK_STYLE)
        self.message.setText(text)
        self.message.setVisible(bool(text))
