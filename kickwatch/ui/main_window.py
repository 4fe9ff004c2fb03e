"""The small main window shown instead of a tray icon where the desktop has no system tray.

It lists who is live (from the same view-model as the tray menu), or says in a placeholder why
the list is empty (nobody live, status unknown, no streamers), shows the tray's tooltip text as
its status, and offers the tray menu's commands as buttons; closing it quits kickwatch, since
nothing else would remain on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kickwatch.ui.tray_model import TrayViewModel


class MainWindow(QWidget):
    """Live list and buttons (Settings, History, Pause/Resume, Quit).

    Signals:
        stream_open_requested(str): a live streamer was double-clicked.
        pause_requested(object): pause for an hour (a datetime) or resume (None).
        settings_requested(): the Settings button was pressed.
        history_requested(): the History button was pressed.
        quit_requested(): the window was closed or Quit pressed.
    """

    stream_open_requested = Signal(str)
    pause_requested = Signal(object)
    settings_requested = Signal()
    history_requested = Signal()
    quit_requested = Signal()

    def __init__(self, model: TrayViewModel, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.model = model
        self._now = now
        self.setWindowTitle("kickwatch")
        self.resize(460, 420)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.live_list = QListWidget()
        self.live_list.itemActivated.connect(self.on_live_list_item_activated)
        self.placeholder = QLabel()
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setEnabled(False)  # drawn greyed out, like an empty view's hint
        buttons = QHBoxLayout()
        self.settings_button = QPushButton("Settings…")
        self.history_button = QPushButton("History…")
        self.pause_button = QPushButton()
        self.quit_button = QPushButton("Quit")
        self.settings_button.clicked.connect(lambda: self.settings_requested.emit())
        self.history_button.clicked.connect(lambda: self.history_requested.emit())
        self.pause_button.clicked.connect(self.on_pause_button_clicked)
        self.quit_button.clicked.connect(lambda: self.quit_requested.emit())
        for button in (
            self.settings_button,
            self.history_button,
            self.pause_button,
            self.quit_button,
        ):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.live_list, 1)
        layout.addWidget(self.placeholder, 1)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        """Show the current live list and state."""
        now = self._now()
        self.status.setText(self.model.tooltip(now))
        top, rest = self.model.live_entries(now)
        self.live_list.clear()
        for entry in top + rest:
            item = QListWidgetItem(entry.text.replace("&&", "&"))
            item.setToolTip(entry.tooltip)
            item.setData(Qt.ItemDataRole.UserRole, entry.url)
            self.live_list.addItem(item)
        empty = not (top or rest)
        self.placeholder.setText(self.model.placeholder() if empty else "")
        self.placeholder.setHidden(not empty)
        self.live_list.setHidden(empty)
        paused = self.model.is_paused(now)
        self.pause_button.setText("Resume notifications" if paused else "Pause 1 hour")

    def on_live_list_item_activated(self, item: QListWidgetItem) -> None:
        self.stream_open_requested.emit(str(item.data(Qt.ItemDataRole.UserRole)))

    def on_pause_button_clicked(self) -> None:
        now = self._now()
        self.pause_requested.emit(None if self.model.is_paused(now) else now + timedelta(hours=1))

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()
        self.quit_requested.emit()
