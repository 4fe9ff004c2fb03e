"""The tray icon and its menu: thin Qt rendering of `TrayViewModel`.

Icons are rendered from the shipped SVGs with the live count drawn on top and cached per
(state, badge). The menu is rebuilt lazily, when it is about to show and only if something
changed since it was last built; live streamers beyond the first few go into a submenu that is
itself filled only when opened, so the menu opens fast with hundreds of live streamers. Every
entry has a name a screen reader can say, and the menu's accessible description is the tooltip
(the icon's state in words).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from kickwatch.resources import TrayState, tray_icon_path
from kickwatch.ui.tray_model import LiveEntry, TrayViewModel

ICON_SIZE = 64


def render_icon(svg: Path, badge: str, size: int = ICON_SIZE) -> QPixmap:
    """The SVG at `size` pixels with `badge` (a count) drawn in its lower right corner."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter, QRectF(0, 0, size, size))
    if badge:
        width = size * (0.5 if len(badge) == 1 else 0.62 if len(badge) == 2 else 0.8)
        height = size * 0.5
        rect = QRectF(size - width, size - height, width, height)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#d62828"))
        painter.drawRoundedRect(rect, height / 2, height / 2)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(height * 0.72))
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, badge)
    painter.end()
    return pixmap


class IconCache:
    """Rendered tray icons by (state, badge)."""

    def __init__(self, path_for: Callable[[TrayState], Path] = tray_icon_path) -> None:
        self._path_for = path_for
        self._icons: dict[tuple[TrayState, str], QIcon] = {}

    def icon(self, state: TrayState, badge: str) -> QIcon:
        key = (state, badge if state is TrayState.LIVE else "")
        if key not in self._icons:
            self._icons[key] = QIcon(render_icon(self._path_for(state), key[1]))
        return self._icons[key]


class TrayMenu(QMenu):
    """The tray menu, rebuilt lazily from the view-model.

    Signals:
        stream_open_requested(str): the URL of a live streamer was chosen.
        pause_requested(object): pause until this aware datetime, or None to resume.
        settings_requested(): "Settings…" was chosen.
        history_requested(): "History…" was chosen.
        quit_requested(): "Quit" was chosen.
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
        self._dirty = True
        self._overflow: list[LiveEntry] = []
        self._status_actions: list[QAction] = []
        self.setToolTipsVisible(True)
        self.setTitle("kickwatch")
        self.setAccessibleName("kickwatch")
        self.aboutToShow.connect(self.on_menu_about_to_show)

    def mark_dirty(self) -> None:
        """Something shown in the menu changed; rebuild on the next show."""
        self._dirty = True

    def on_menu_about_to_show(self) -> None:
        if self._dirty:
            self.rebuild()

    def rebuild(self) -> None:
        """Fill the menu from the view-model now."""
        self._dirty = False
        self.clear()
        now = self._now()
        shown, self._overflow = self.model.live_entries(now)
        header = self.addAction(self.model.menu_header(len(shown) + len(self._overflow)))
        header.setEnabled(False)
        for entry in shown:
            self._add_live(self, entry)
        if self._overflow:
            more = self.addMenu(f"{len(self._overflow)} more live")
            more.setAccessibleName(f"{len(self._overflow)} more live streamers")
            more.setToolTipsVisible(True)
            more.aboutToShow.connect(self.on_more_about_to_show)
        self._status_actions = []
        problems = self.model.problem_lines(now)
        if problems:
            self.addSeparator()
        for line in problems:
            status = self.addAction(line.replace("&", "&&"))
            status.setEnabled(False)
            self._status_actions.append(status)
        self.addSeparator()
        self._add_pause_menu(now)
        self.addSeparator()
        self.addAction("Settings…").triggered.connect(lambda: self.settings_requested.emit())
        self.addAction("History…").triggered.connect(lambda: self.history_requested.emit())
        self.addSeparator()
        self.addAction("Quit").triggered.connect(lambda: self.quit_requested.emit())

    def refresh_status(self) -> None:
        """Update the status entries of the open menu in place (a countdown moved)."""
        lines = self.model.problem_lines(self._now())
        if len(lines) != len(self._status_actions):
            self.rebuild()
            return
        for action, line in zip(self._status_actions, lines, strict=True):
            action.setText(line.replace("&", "&&"))

    def on_more_about_to_show(self) -> None:
        more = self.sender()
        if isinstance(more, QMenu) and more.isEmpty():
            for entry in self._overflow:
                self._add_live(more, entry)

    def _add_live(self, menu: QMenu, entry: LiveEntry) -> None:
        action = QAction(entry.text, menu)
        action.setToolTip(entry.tooltip)
        action.setData(entry.url)
        action.triggered.connect(lambda _checked=False, url=entry.url: self.on_live_triggered(url))
        menu.addAction(action)

    def on_live_triggered(self, url: str) -> None:
        self.stream_open_requested.emit(url)

    def _add_pause_menu(self, now: datetime) -> None:
        if self.model.is_paused(now) and self.model.paused_until is not None:
            until = self.model.local_time(self.model.paused_until)
            resume = self.addAction(f"Resume notifications (paused until {until})")
            resume.triggered.connect(lambda: self.pause_requested.emit(None))
            return
        pause = self.addMenu("Pause notifications")
        pause.setAccessibleName("Pause notifications")
        for label, until_time in self.model.pause_choices(now):
            action = pause.addAction(label)
            action.triggered.connect(
                lambda _checked=False, when=until_time: self.pause_requested.emit(when)
            )


class TrayIcon(QObject):
    """The system-tray icon: icon, tooltip and menu from the view-model.

    Signals:
        activated(): the icon itself was clicked (the app shows its settings).
    """

    activated = Signal()

    def __init__(
        self,
        model: TrayViewModel,
        now: Callable[[], datetime],
        icons: IconCache | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.model = model
        self._now = now
        self.icons = icons or IconCache()
        self.menu = TrayMenu(model, now)
        # Filled before it is exported: a StatusNotifier host (xfce4-panel) treats a menu
        # without entries as no menu and shows its own on a right click.
        self.menu.rebuild()
        self.tray = QSystemTrayIcon(self)
        self.tray.setContextMenu(self.menu)
        self.tray.activated.connect(self.on_tray_activated)
        self.state: TrayState | None = None
        self.badge = ""
        self.refresh()

    def show(self) -> None:
        """Put the icon in the tray."""
        self.tray.show()

    def hide(self) -> None:
        """Take the icon out of the tray."""
        self.tray.hide()

    def refresh(self) -> None:
        """Recompute icon, tooltip and menu (the overflow submenu is still filled when opened)."""
        now = self._now()
        count = len(self.model.live())
        state = self.model.icon_state(now, count)
        badge = self.model.badge(count) if state is TrayState.LIVE else ""
        if (state, badge) != (self.state, self.badge):
            self.state, self.badge = state, badge
            self.tray.setIcon(self.icons.icon(state, badge))
        tooltip = self.model.tooltip(now, count)
        self.tray.setToolTip(tooltip)
        self.menu.setAccessibleDescription(tooltip)
        if self.menu.isVisible():
            self.menu.mark_dirty()
            self.menu.refresh_status()
        else:
            # A StatusNotifier host (xfce4-panel) lays the menu out before the rebuild that
            # Qt's aboutToShow would start arrives: entries must be there when it opens.
            self.menu.rebuild()

    def on_tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.activated.emit()
