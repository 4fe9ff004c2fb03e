"""The tray's view-model: which icon, badge, tooltip and live entries to show, without Qt.

It holds what the tray knows (connection state, last successful check, database trouble, a fatal
error, the pause) and asks a callable for the live streamers only when needed, so the Qt layer
(`kickwatch.ui.tray`) just renders what this computes and the rules are tested as plain Python.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from kickwatch.domain.records import StreamerRecord
from kickwatch.monitor.events import ConnectionState
from kickwatch.resources import TrayState

DEGRADED_STATES = frozenset({ConnectionState.RECONNECTING, ConnectionState.RATE_LIMITED})
TOP_LEVEL_LIVE = 25  # live streamers listed directly in the menu; the rest in a submenu
TOMORROW_AT = time(6, 0)  # "pause until tomorrow" ends at this local time


@dataclass(frozen=True, slots=True)
class LiveEntry:
    """One live streamer as the menu shows it."""

    username: str
    text: str
    tooltip: str
    url: str


def format_viewers(viewers: int | None) -> str:
    """`1.2k viewers`, `845 viewers`, or empty when unknown."""
    if viewers is None:
        return ""
    if viewers >= 1000:
        return f"{viewers / 1000:.1f}k viewers"
    return f"{viewers} viewer" + ("" if viewers == 1 else "s")


def format_uptime(started: datetime | None, now: datetime) -> str:
    """`2h 05m` or `12m` since `started`, or empty when unknown."""
    if started is None:
        return ""
    minutes = max(0, int((now - started).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


def elide(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def live_entry(streamer: StreamerRecord, now: datetime) -> LiveEntry:
    """The menu entry of one live streamer: name, category, viewers, uptime, title."""
    facts = [
        streamer.current_category or "",
        format_viewers(streamer.current_viewers),
        format_uptime(streamer.current_broadcast_started_at, now),
    ]
    text = " · ".join([streamer.display_name, *[f for f in facts if f]])
    if streamer.current_title:
        text += f" — {elide(streamer.current_title, 48)}"
    tooltip = streamer.current_title or streamer.display_name
    return LiveEntry(streamer.username, text.replace("&", "&&"), tooltip, streamer.url)


def pause_until_tomorrow(now: datetime, zone: tzinfo) -> datetime:
    """The next day's `TOMORROW_AT` in local time, as an aware datetime."""
    local = now.astimezone(zone)
    tomorrow = (local + timedelta(days=1)).date()
    return datetime.combine(tomorrow, TOMORROW_AT, tzinfo=zone)


class TrayViewModel:
    """What the tray shows, computed from the monitor's state."""

    def __init__(self, live_streamers: Callable[[], list[StreamerRecord]], zone: tzinfo) -> None:
        self._live_streamers = live_streamers
        self.zone = zone
        self.connection_state = ConnectionState.CONNECTING
        self.connection_detail = ""
        self.last_check: datetime | None = None
        self.database_problem: str | None = None
        self.fatal_error: str | None = None
        self.paused_until: datetime | None = None

    def set_source(self, live_streamers: Callable[[], list[StreamerRecord]]) -> None:
        """Read the live streamers from `live_streamers` from now on (the monitor, once built)."""
        self._live_streamers = live_streamers

    def live(self) -> list[StreamerRecord]:
        """The live streamers, by display name."""
        return sorted(self._live_streamers(), key=lambda s: s.display_name.lower())

    def is_paused(self, now: datetime) -> bool:
        """Whether notifications are paused at `now`."""
        return self.paused_until is not None and now < self.paused_until

    def icon_state(self, now: datetime, live_count: int | None = None) -> TrayState:
        """Error beats paused beats degraded beats live beats idle."""
        if self.fatal_error or self.connection_state is ConnectionState.STOPPED:
            return TrayState.ERROR
        if self.is_paused(now):
            return TrayState.PAUSED
        if self.connection_state in DEGRADED_STATES or self.database_problem:
            return TrayState.DEGRADED
        count = len(self._live_streamers()) if live_count is None else live_count
        return TrayState.LIVE if count else TrayState.IDLE

    @staticmethod
    def badge(count: int) -> str:
        """The count drawn on the icon."""
        return "" if count <= 0 else ("99+" if count > 99 else str(count))

    def status_line(self) -> str:
        """The connection state in words."""
        if self.fatal_error:
            return f"Stopped: {self.fatal_error}"
        if self.database_problem:
            return f"Database unavailable: {self.database_problem}"
        words = {
            ConnectionState.CONNECTING: "Connecting to Kick…",
            ConnectionState.CONNECTED: "Connected",
            ConnectionState.RECONNECTING: "Reconnecting…",
            ConnectionState.RATE_LIMITED: "Rate-limited by Kick",
            ConnectionState.STOPPED: "Stopped",
            ConnectionState.CLOSED: "Closed",
        }[self.connection_state]
        return f"{words} ({self.connection_detail})" if self.connection_detail else words

    def local_time(self, value: datetime) -> str:
        """`HH:MM` in local time."""
        return value.astimezone(self.zone).strftime("%H:%M")

    def tooltip(self, now: datetime, live_count: int | None = None) -> str:
        """Live count, connection state, time of the last successful check, pause."""
        count = len(self._live_streamers()) if live_count is None else live_count
        lines = [
            "kickwatch — " + ("nobody live" if count == 0 else f"{count} live"),
            self.status_line(),
            "Last check: " + (self.local_time(self.last_check) if self.last_check else "not yet"),
        ]
        if self.is_paused(now) and self.paused_until is not None:
            lines.append(f"Notifications paused until {self.local_time(self.paused_until)}")
        return "\n".join(lines)

    def live_entries(self, now: datetime) -> tuple[list[LiveEntry], list[LiveEntry]]:
        """Menu entries: those listed directly, and the overflow for a "more" submenu."""
        entries = [live_entry(s, now) for s in self.live()]
        return entries[:TOP_LEVEL_LIVE], entries[TOP_LEVEL_LIVE:]

    def pause_choices(self, now: datetime) -> list[tuple[str, datetime]]:
        """The pause menu: label and end of each choice."""
        return [
            ("For 15 minutes", now + timedelta(minutes=15)),
            ("For 1 hour", now + timedelta(hours=1)),
            ("Until tomorrow", pause_until_tomorrow(now, self.zone)),
        ]
