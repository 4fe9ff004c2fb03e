"""The tray's view-model: which icon, badge, tooltip and live entries to show, without Qt.

It holds the facts the tray knows (connection state, since when, when the next attempt is due,
the last check and whether it failed, database trouble, a fatal error, the pause) and asks
callables for the streamers only when needed, so the Qt layer (`kickwatch.ui.tray`) just renders
what this computes and the rules are tested as plain Python. Every text is computed for a given
`now`, so a countdown shown in the tooltip is as old as the last refresh and no older; times are
shown in the view-model's time zone. "nobody live" is said only when it is known: before the
first successful check, or while disconnected with streamers whose status was never seen, the
tray says "status unknown".
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import Status
from kickwatch.monitor.events import ConnectionState, ConnectionStateChanged
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


def format_countdown(seconds: float) -> str:
    """`12 s`, `1 min 5 s` or `2 min`: whole seconds, rounded up (never "0 s" before the end)."""
    whole = max(0, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def format_moment(value: datetime, now: datetime, zone: tzinfo) -> str:
    """`HH:MM` in `zone`, with the date in front when it is not `now`'s day there."""
    local = value.astimezone(zone)
    if local.date() == now.astimezone(zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def pause_until_tomorrow(now: datetime, zone: tzinfo) -> datetime:
    """The next day's `TOMORROW_AT` in local time, as an aware datetime."""
    local = now.astimezone(zone)
    tomorrow = (local + timedelta(days=1)).date()
    return datetime.combine(tomorrow, TOMORROW_AT, tzinfo=zone)


class TrayViewModel:
    """What the tray shows, computed from the monitor's state."""

    def __init__(
        self,
        live_streamers: Callable[[], list[StreamerRecord]],
        zone: tzinfo,
        streamers: Callable[[], list[StreamerRecord]] | None = None,
    ) -> None:
        self._live_streamers = live_streamers
        self._streamers = streamers
        self.zone = zone
        self.connection_state = ConnectionState.CONNECTING
        self.connection_detail = ""
        self.connection_since: datetime | None = None  # when the current condition began
        self.retry_at: datetime | None = None  # the next connection attempt, while reconnecting
        self.last_check: datetime | None = None  # the last successful check
        self.check_failed_at: datetime | None = None  # a failed check since the last success
        self.check_failure = ""
        self.database_problem: str | None = None
        self.fatal_error: str | None = None
        self.paused_until: datetime | None = None
        # What the monitor's link reaches: Kick, or in the shared mode the database it follows.
        self.link = "Kick"
        self.failing_targets: dict[str, str] = {}  # alert target name -> why its sends fail

    def set_source(
        self,
        live_streamers: Callable[[], list[StreamerRecord]],
        streamers: Callable[[], list[StreamerRecord]] | None = None,
    ) -> None:
        """Read the live (and all active) streamers from these from now on (the monitor)."""
        self._live_streamers = live_streamers
        self._streamers = streamers

    # -- facts in ---------------------------------------------------------------------------

    def connection_changed(self, event: ConnectionStateChanged) -> None:
        """Take the state, its age and the next attempt from the monitor's event."""
        self.connection_state = event.state
        self.connection_detail = event.detail
        self.connection_since = event.since
        self.retry_at = event.retry_at

    def check_completed(self, at: datetime) -> None:
        """A check of Kick succeeded at `at`."""
        self.last_check = at
        if self.check_failed_at is not None and self.check_failed_at <= at:
            self.check_failed_at, self.check_failure = None, ""

    def check_failed(self, at: datetime, reason: str) -> None:
        """A check of Kick failed at `at`."""
        if self.last_check is None or at >= self.last_check:
            self.check_failed_at, self.check_failure = at, reason

    def target_health(self, name: str, failing: bool, reason: str = "") -> None:
        """An alert target started failing (`reason`) or works again."""
        if failing:
            self.failing_targets[name] = reason
        else:
            self.failing_targets.pop(name, None)

    def target_lines(self) -> list[str]:
        """One line per failing alert target, by name."""
        return [
            f"Alert target {name} failing" + (f": {elide(reason, 80)}" if reason else "")
            for name, reason in sorted(self.failing_targets.items())
        ]

    # -- what is shown ----------------------------------------------------------------------

    def live(self) -> list[StreamerRecord]:
        """The live streamers, by display name."""
        return sorted(self._live_streamers(), key=lambda s: s.display_name.lower())

    def has_no_streamers(self) -> bool:
        """Whether no streamer is watched at all (known only once the monitor is the source)."""
        return self._streamers is not None and not self._streamers()

    def status_unknown(self) -> bool:
        """Whether "nobody live" would be a guess: no successful check yet, or disconnected
        with streamers whose status was never seen."""
        if self.last_check is None:
            return True
        if self.connection_state is ConnectionState.CONNECTED and not self.fatal_error:
            return False
        return self._streamers is not None and any(
            s.status is Status.UNKNOWN for s in self._streamers()
        )

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

    def headline(self, count: int) -> str:
        """`2 live`, `nobody live`, `status unknown` or `no streamers to watch`."""
        if count:
            return f"{count} live"
        if self.has_no_streamers():
            return "no streamers to watch"
        return "status unknown" if self.status_unknown() else "nobody live"

    def menu_header(self, count: int) -> str:
        """The menu's first (disabled) entry: `Live now (2)`, `Nobody is live`, ..."""
        if count:
            return f"Live now ({count})"
        if self.has_no_streamers():
            return "No streamers to watch"
        return "Status unknown" if self.status_unknown() else "Nobody is live"

    def placeholder(self) -> str:
        """What the fallback window shows in place of an empty live list."""
        if self.has_no_streamers():
            return "No streamers to watch yet: add some in Settings…"
        if not self.status_unknown():
            return "Nobody is live right now."
        if self.last_check is None:
            return f"Status unknown: {self.link} has not been checked successfully yet."
        return f"Status unknown while {self.link} is unreachable."

    def status_line(self, now: datetime) -> str:
        """The connection state in words: how long a problem has lasted, when the next try is."""
        if self.fatal_error:
            return f"Stopped: {self.fatal_error}"
        state = self.connection_state
        if state in DEGRADED_STATES:
            unreachable = state is ConnectionState.RECONNECTING
            link = self.link[:1].upper() + self.link[1:]
            words = f"{link} unreachable" if unreachable else "Rate-limited by Kick"
            if self.connection_since is not None:
                words += f" since {format_moment(self.connection_since, now, self.zone)}"
            if self.retry_at is not None:
                left = (self.retry_at - now).total_seconds()
                words += f", retrying in {format_countdown(left)}" if left > 0 else ", retrying now"
            return words
        words = {
            ConnectionState.CONNECTING: f"Connecting to {self.link}…",
            ConnectionState.CONNECTED: "Connected",
            ConnectionState.STOPPED: "Stopped",
            ConnectionState.CLOSED: "Closed",
        }[state]
        return f"{words} ({self.connection_detail})" if self.connection_detail else words

    def check_lines(self, now: datetime) -> list[str]:
        """When Kick was last checked, whether that failed, and the last success if it did."""
        if self.check_failed_at is not None:
            line = f"Last checked {format_moment(self.check_failed_at, now, self.zone)}: failed"
            if self.check_failure:
                line += f" ({elide(self.check_failure, 80)})"
            lines = [line]
            if self.last_check is not None:
                success = format_moment(self.last_check, now, self.zone)
                lines.append(f"Last successful check {success}")
            return lines
        if self.last_check is not None:
            return [f"Last checked {format_moment(self.last_check, now, self.zone)}"]
        return ["Not checked yet"]

    def problem_lines(self, now: datetime) -> list[str]:
        """What is wrong right now, for the menu (empty when all is well)."""
        lines: list[str] = []
        if self.fatal_error or self.connection_state is not ConnectionState.CONNECTED:
            lines.append(self.status_line(now))
        if self.database_problem and not self.fatal_error:
            lines.append(f"Database unavailable: {self.database_problem}")
        if self.check_failed_at is not None:
            lines.extend(self.check_lines(now))
        lines.extend(self.target_lines())
        return lines

    def needs_ticking(self, now: datetime) -> bool:
        """Whether a shown text changes with time alone (a countdown to the next attempt)."""
        return (
            not self.fatal_error
            and self.connection_state in DEGRADED_STATES
            and self.retry_at is not None
            and self.retry_at > now
        )

    def next_tick(self, now: datetime) -> float | None:
        """Seconds until the countdown's text changes, or None when nothing counts down."""
        if not self.needs_ticking(now) or self.retry_at is None:
            return None
        left = (self.retry_at - now).total_seconds()
        return (left - math.floor(left)) or 1.0  # the shown whole seconds are rounded up

    def local_time(self, value: datetime) -> str:
        """`HH:MM` in local time."""
        return value.astimezone(self.zone).strftime("%H:%M")

    def tooltip(self, now: datetime, live_count: int | None = None) -> str:
        """Live count, connection state with its age, the last check and its result, pause."""
        count = len(self._live_streamers()) if live_count is None else live_count
        lines = ["kickwatch — " + self.headline(count), self.status_line(now)]
        if self.database_problem and not self.fatal_error:
            lines.append(f"Database unavailable: {self.database_problem}")
        lines.extend(self.check_lines(now))
        lines.extend(self.target_lines())
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
