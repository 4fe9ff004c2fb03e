"""The Streamers tab: add by name or URL (many at once), remove, switches per streamer, filter.

Names are looked up on Kick asynchronously through `monitor.lookup_and_add`; what could not be
added is listed inline with the reason a person understands. Switch changes and removals are
written to the repository in a worker thread and the monitor is told afterwards. Everything works
from the keyboard: Enter in the add box adds (Shift+Enter starts a new line), Delete in the table
removes the selected rows after the usual question, and every control has an accessible name.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from PySide6.QtCore import QSettings, QSize, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kickwatch.domain.errors import KickwatchError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.validation import normalize_username
from kickwatch.store.repository import Repository
from kickwatch.ui.avatars import AvatarCache
from kickwatch.ui.columns import ColumnSizer, SizedTable
from kickwatch.ui.settings.avatar_icons import AvatarIcons
from kickwatch.ui.settings.fields import ERROR_STYLE
from kickwatch.ui.settings.streamer_model import NAME_COLUMN, StreamerTableModel

log = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[Any], str], object]
Confirm = Callable[[str], bool]
_SEPARATORS = re.compile(r"[\s,;]+")
_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)
ICON_SIZE = 20


def split_names(text: str) -> list[str]:
    """Names or URLs separated by new lines, commas, semicolons or spaces, without repeats."""
    seen: dict[str, None] = {}
    for part in _SEPARATORS.split(text):
        if part.strip():
            seen.setdefault(part.strip(), None)
    return list(seen)


class AddBox(QPlainTextEdit):
    """The add box: Enter submits, Shift+Enter starts a new line, Tab leaves.

    Signals:
        submitted(): Enter was pressed.
    """

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if event.key() in _ENTER and not shift:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class FilterBox(QLineEdit):
    """The filter box: Enter moves on to the table (not to the dialog's Save).

    Signals:
        submitted(): Enter was pressed.
    """

    submitted = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _ENTER:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class StreamerTable(SizedTable):
    """The streamer table: Delete asks to remove the selected rows.

    Signals:
        delete_pressed(): Delete was pressed.
    """

    delete_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Delete:
            self.delete_pressed.emit()
            return
        super().keyPressEvent(event)


def ask_to_confirm(parent: QWidget, text: str) -> bool:
    """A Yes/No question (the default confirmation of removals)."""
    answer = QMessageBox.question(parent, "kickwatch", text)
    return answer == QMessageBox.StandardButton.Yes


class StreamersTab(QWidget):
    """The streamer list and its commands.

    Signals:
        streamers_edited(): a streamer was added, removed or changed (the monitor was told).
        add_finished(): an add round is over (its outcome is in `add_message`).
    """

    streamers_edited = Signal()
    add_finished = Signal()

    def __init__(
        self,
        repository: Repository,
        monitor: Any,
        spawn: Spawn,
        zone: tzinfo,
        confirm: Confirm | None = None,
        parent: QWidget | None = None,
        *,
        avatars: AvatarCache | None = None,
        state: QSettings | None = None,
    ) -> None:
        super().__init__(parent)
        self.repository = repository
        self.monitor = monitor
        self._spawn = spawn
        self._confirm = confirm or functools.partial(ask_to_confirm, self)
        self.avatars = AvatarIcons(avatars, spawn, parent=self)
        self.model = StreamerTableModel(zone, self, icon=self.avatars.icon)
        self.avatars.avatar_ready.connect(self.model.refresh)
        self.model.preference_changed.connect(self.on_model_preference_changed)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(NAME_COLUMN)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setSortCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self.names = AddBox()
        self.names.setPlaceholderText(
            "Kick names or URLs: one, or many separated by new lines, commas or spaces"
        )
        self.names.setFixedHeight(56)
        self.names.setTabChangesFocus(True)
        self.names.setAccessibleName("Streamers to add")
        self.names.setAccessibleDescription(
            "Kick names or URLs, separated by new lines, commas or spaces. "
            "Enter adds them; Shift+Enter starts a new line."
        )
        self.names.submitted.connect(self.on_names_submitted)
        names_label = QLabel("&Add streamers:")
        names_label.setBuddy(self.names)
        self.add_button = QPushButton("Add")
        self.add_button.setAccessibleName("Add streamers")
        self.add_button.setAccessibleDescription("Look the names up on Kick and add them")
        self.add_button.clicked.connect(self.on_add_button_clicked)
        self.add_message = QLabel()
        self.add_message.setWordWrap(True)
        self.add_message.hide()
        self.filter = FilterBox()
        self.filter.setPlaceholderText("Filter by name")
        self.filter.setClearButtonEnabled(True)
        self.filter.setAccessibleName("Filter streamers by name")
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.filter.submitted.connect(self.focus_table)
        for button in self.filter.findChildren(QToolButton):  # the clear button
            button.setAccessibleName("Clear filter")
        filter_label = QLabel("&Filter:")
        filter_label.setBuddy(self.filter)
        self.remove_button = QPushButton("&Remove…")
        self.remove_button.setAccessibleName("Remove selected streamers")
        self.remove_button.setAccessibleDescription(
            "Asks first; the streamers' history is deleted too. Delete in the table does the same."
        )
        self.remove_button.clicked.connect(self.on_remove_button_clicked)
        self.count = QLabel()

        self.table = StreamerTable()
        self.table.setAccessibleName("Monitored streamers")
        self.table.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
        self.table.delete_pressed.connect(self.on_remove_button_clicked)
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(NAME_COLUMN, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        vertical = self.table.verticalHeader()
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ICON_SIZE + 6)
        vertical.hide()
        self.columns = ColumnSizer(self.table, "streamers", fill=NAME_COLUMN, state=state)

        add_row = QHBoxLayout()
        add_row.addWidget(self.names, 1)
        add_row.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignTop)
        tools = QHBoxLayout()
        tools.addWidget(filter_label)
        tools.addWidget(self.filter, 1)
        tools.addWidget(self.count)
        tools.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.addWidget(names_label)
        layout.addLayout(add_row)
        layout.addWidget(self.add_message)
        layout.addLayout(tools)
        layout.addWidget(self.table, 1)
        for before, after in (
            (self.names, self.add_button),
            (self.add_button, self.filter),
            (self.filter, self.remove_button),
            (self.remove_button, self.table),
        ):
            QWidget.setTabOrder(before, after)

    def focus_chain(self) -> list[QWidget]:
        """The tab's controls in keyboard order."""
        return [self.names, self.add_button, self.filter, self.remove_button, self.table]

    def focus_table(self) -> None:
        """Move the keyboard to the table, on its first row when nothing is current yet."""
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        if not self.table.currentIndex().isValid() and self.proxy.rowCount() > 0:
            self.table.selectRow(0)

    def on_names_submitted(self) -> None:
        if self.add_button.isEnabled():
            self.on_add_button_clicked()

    def set_streamers(self, streamers: list[StreamerRecord]) -> None:
        """Show these streamers."""
        self.model.set_streamers(streamers)
        self._update_count()

    def on_streamer_updated(self, streamer: StreamerRecord) -> None:
        """A newer record of one streamer (e.g. it went live)."""
        self.model.upsert(streamer)

    def _update_count(self) -> None:
        total = self.model.rowCount()
        self.count.setText(f"{total} streamer" + ("" if total == 1 else "s"))

    # -- adding -----------------------------------------------------------------------------

    def on_add_button_clicked(self) -> None:
        names = split_names(self.names.toPlainText())
        if not names:
            self._show_add_message("Type a Kick name or URL first.", error=True)
            return
        self.add_button.setEnabled(False)
        self._show_add_message(f"Looking up {len(names)} on Kick…", error=False)
        self._spawn(self.add_names(names), "add streamers")

    async def add_names(self, names: list[str]) -> None:
        """Look up and add each name; report what was added and what was not, and why."""
        added: list[str] = []
        failed: list[str] = []
        try:
            for name in names:
                try:
                    normalize_username(name)
                    record = await self.monitor.lookup_and_add(name)
                except KickwatchError as exc:
                    failed.append(f"{name}: {exc}")
                    continue
                except Exception as exc:
                    log.exception("adding %s failed", name)
                    failed.append(f"{name}: unexpected error ({type(exc).__name__})")
                    continue
                added.append(record.display_name)
                self.model.upsert(record)
            if added:
                self.monitor.streamers_changed()
                self.streamers_edited.emit()
        finally:
            self.add_button.setEnabled(True)
            self._update_count()
            self._report(added, failed)
            self.add_finished.emit()

    def _report(self, added: list[str], failed: list[str]) -> None:
        lines = []
        if added:
            lines.append("Added " + ", ".join(added) + ".")
        if failed:
            lines.append("Not added:\n" + "\n".join(failed))
            self.names.setPlainText("\n".join(line.split(":", 1)[0] for line in failed))
        else:
            self.names.clear()
        self._show_add_message("\n".join(lines), error=bool(failed))

    def _show_add_message(self, text: str, *, error: bool) -> None:
        self.add_message.setStyleSheet(ERROR_STYLE if error else "")
        self.add_message.setText(text)
        self.add_message.setVisible(bool(text))

    # -- removing and switches ---------------------------------------------------------------

    def selected_usernames(self) -> list[str]:
        """Usernames of the selected rows."""
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        return [self.model.streamer(row).username for row in sorted(rows)]

    def on_remove_button_clicked(self) -> None:
        names = self.selected_usernames()
        if not names:
            self._show_add_message("Select the streamers to remove first.", error=True)
            return
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        if not self._confirm(f"Remove {shown}? Their history is deleted too."):
            return
        self._spawn(self.remove(names), "remove streamers")

    async def remove(self, names: list[str]) -> None:
        """Delete streamers (and their events) and drop their rows."""
        for name in names:
            try:
                await self.monitor.write(self.repository.remove_streamer, name)
            except KickwatchError as exc:
                self._show_add_message(str(exc), error=True)
                continue
            self.model.remove(name)
        self._update_count()
        self.monitor.streamers_changed()
        self.streamers_edited.emit()

    def on_model_preference_changed(self, username: str, field: str, value: bool) -> None:
        self._spawn(self.change(username, field, value), f"set {field} of {username}")

    async def change(self, username: str, field: str, value: bool) -> None:
        """Store one switch of one streamer and show the stored record."""
        update = functools.partial(self.repository.update_streamer, username, **{field: value})
        try:
            record = await self.monitor.write(update)
        except KickwatchError as exc:
            self._show_add_message(str(exc), error=True)
            return
        self.model.upsert(record)
        self.monitor.streamers_changed()
        self.streamers_edited.emit()
