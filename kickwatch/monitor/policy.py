"""The notification policy: which recorded changes become a desktop notification, and when.

Pure and deterministic: no Qt, no I/O, no reading of the real clock. `decide(event, now)` is fed
every monitor event after it was committed and answers with decisions; `tick(now)` releases what
was held back (offline alerts waiting out the grace period, a burst of go-lives waiting to be
grouped, the summary after a resume from sleep); `next_deadline()` tells the driver when to call
`tick` next. The rules: start-up suppression of streams already live, an offline grace period
(an end followed by a start within it shows nothing for either), a restart cooldown (never two
live alerts for one streamer within it), quiet hours that may wrap midnight (favourites may pass),
pause, per-streamer mute and start/end switches, grouping of bursts, and one "while you were away"
summary after a resume. A streamer's rule (carried on the event) may narrow its live alerts to
titles with a keyword or to categories, ask for alerts when a live stream's title or category
changes, give its alerts a sound file of their own, and ask for its stream to be opened when its
live alert is shown (`Decision.opens`). The policy never drops a recorded event; it only decides
what is shown, and says why something is not (a `Decision` of kind SUPPRESSED with a reason).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import StreamerRule, describe_changes
from kickwatch.monitor.events import (
    MonitorEvent,
    ResumedFromSleep,
    StreamDetailsChanged,
    StreamEnded,
    StreamStarted,
)
from kickwatch.monitor.quiet_hours import (
    in_quiet_hours,
    local_timezone,
    parse_clock,
    parse_instant,
)

# Also read from here by the callers of the policy (the settings, the app, the tests).
__all__ = ["Decision", "DecisionKind", "NotificationPolicy", "PolicySettings", "Reason"]
__all__ += ["in_quiet_hours", "local_timezone", "parse_clock", "parse_instant"]


class DecisionKind(StrEnum):
    """What the UI is asked to show (or, for SUPPRESSED, why nothing is shown)."""

    LIVE = "live"
    OFFLINE = "offline"
    GROUP_LIVE = "group_live"
    AWAY_SUMMARY = "away_summary"
    CHANGED = "changed"  # a live stream's title or category changed
    SUPPRESSED = "suppressed"


class Reason(StrEnum):
    """Why an event shows no notification."""

    ALREADY_LIVE = "already_live"
    MUTED = "muted"
    NOTIFY_OFF = "notify_off"
    PAUSED = "paused"
    QUIET_HOURS = "quiet_hours"
    COOLDOWN = "cooldown"
    GRACE = "grace"
    SUMMARISED = "summarised"
    NO_MATCH = "no_match"  # the streamer's rule wants other titles or categories
    CHANGES_OFF = "changes_off"  # the streamer's rule asks for no change alerts
    DISABLED = "disabled"  # monitoring of the streamer is switched off


@dataclass(frozen=True, slots=True)
class Decision:
    """One outcome: a notification to show, or a suppression with its reason."""

    kind: DecisionKind
    streamers: tuple[StreamerRecord, ...]
    title: str = ""
    body: str = ""
    sound: bool = False
    reason: Reason | None = None
    sound_file: str | None = None  # a rule's own sound, played instead of the default
    opens: tuple[str, ...] = ()  # stream URLs a rule asks to open when this is shown

    @property
    def shown(self) -> bool:
        """Whether the UI should show a notification for this decision."""
        return self.kind is not DecisionKind.SUPPRESSED

    @property
    def streamer(self) -> StreamerRecord | None:
        """The streamer of a single-streamer decision."""
        return self.streamers[0] if len(self.streamers) == 1 else None


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """The settings the policy reads (`system.*` keys), typed."""

    alert_already_live: bool = False
    offline_grace_seconds: int = 90
    restart_cooldown_seconds: int = 300
    sounds: bool = True
    quiet_hours_enabled: bool = False
    quiet_hours_start: time = time(23, 0)
    quiet_hours_end: time = time(7, 0)
    quiet_hours_favorites: bool = True
    group_threshold: int = 3
    paused_until: datetime | None = None
    group_window_seconds: float = 2.0  # how long a first go-live waits for others to group with
    timezone: tzinfo = UTC  # quiet hours are wall-clock times in this zone

    @classmethod
    def from_settings(
        cls, get: Callable[[str], Any], timezone: tzinfo | None = None
    ) -> PolicySettings:
        """Build from a typed settings lookup such as `Settings.get`."""
        paused = str(get("system.paused_until") or "").strip()
        return cls(
            alert_already_live=bool(get("system.alert_already_live")),
            offline_grace_seconds=int(get("system.offline_grace_seconds")),
            restart_cooldown_seconds=int(get("system.restart_cooldown_seconds")),
            sounds=bool(get("system.sounds")),
            quiet_hours_enabled=bool(get("system.quiet_hours_enabled")),
            quiet_hours_start=parse_clock(str(get("system.quiet_hours_start"))),
            quiet_hours_end=parse_clock(str(get("system.quiet_hours_end"))),
            quiet_hours_favorites=bool(get("system.quiet_hours_favorites")),
            group_threshold=int(get("system.group_threshold")),
            paused_until=parse_instant(paused) if paused else None,
            timezone=timezone if timezone is not None else local_timezone(),
        )


@dataclass
class _HeldEnd:
    event: StreamEnded
    deadline: datetime


@dataclass
class _Burst:
    deadline: datetime
    started: list[StreamerRecord] = field(default_factory=list)
    rules: dict[int, StreamerRule] = field(default_factory=dict)


@dataclass
class _Away:
    deadline: datetime
    started: list[StreamerRecord] = field(default_factory=list)
    ended: list[StreamerRecord] = field(default_factory=list)


class NotificationPolicy:
    """Turns committed monitor events into notification decisions; see the module docstring."""

    def __init__(self, settings: PolicySettings | None = None) -> None:
        self.settings = settings or PolicySettings()
        self._last_live_alert: dict[int, datetime] = {}
        self._last_end: dict[int, datetime] = {}
        self._held_ends: dict[int, _HeldEnd] = {}
        self._burst: _Burst | None = None
        self._away: _Away | None = None

    def update_settings(self, settings: PolicySettings) -> None:
        """Use new settings from now on (held decisions keep their deadlines)."""
        self.settings = settings

    # -- the two entry points ---------------------------------------------------------------

    def decide(self, event: MonitorEvent, now: datetime) -> list[Decision]:
        """Decisions for one committed event (plus anything whose time has come)."""
        decisions = self.tick(now)
        if isinstance(event, StreamStarted):
            decisions.extend(self._on_started(event, now))
        elif isinstance(event, StreamEnded):
            decisions.extend(self._on_ended(event, now))
        elif isinstance(event, StreamDetailsChanged):
            decisions.append(self._on_details_changed(event, now))
        elif isinstance(event, ResumedFromSleep):
            self._away_window(now)
        return decisions

    def tick(self, now: datetime) -> list[Decision]:
        """Release held decisions whose deadline has passed."""
        out: list[Decision] = []
        for streamer_id, held in sorted(self._held_ends.items(), key=lambda i: i[1].deadline):
            if held.deadline <= now:
                del self._held_ends[streamer_id]
                out.append(self._offline_now(held.event.streamer, now))
        if self._burst is not None and self._burst.deadline <= now:
            burst, self._burst = self._burst, None
            out.extend(self._flush_burst(burst, now))
        if self._away is not None and self._away.deadline <= now:
            away, self._away = self._away, None
            summary = self._flush_away(away)
            if summary is not None:
                out.append(summary)
        return out

    def next_deadline(self) -> datetime | None:
        """When `tick` next has something to release, or None."""
        deadlines = [held.deadline for held in self._held_ends.values()]
        if self._burst is not None:
            deadlines.append(self._burst.deadline)
        if self._away is not None:
            deadlines.append(self._away.deadline)
        return min(deadlines) if deadlines else None

    # -- starts -----------------------------------------------------------------------------

    def _on_started(self, event: StreamStarted, now: datetime) -> list[Decision]:
        streamer = event.streamer
        ended_at = self._last_end.pop(streamer.id, None)
        held = self._held_ends.pop(streamer.id, None)
        grace = timedelta(seconds=self.settings.offline_grace_seconds)
        if held is not None or (ended_at is not None and now - ended_at <= grace):
            # A restart: the end (held, not yet shown) and this start both show nothing.
            return [_suppressed(streamer, Reason.GRACE)]
        if event.initial and not self.settings.alert_already_live:
            return [_suppressed(streamer, Reason.ALREADY_LIVE)]
        if not streamer.notify_on_start:
            return [_suppressed(streamer, Reason.NOTIFY_OFF)]
        rule = event.rule
        if rule is not None and not rule.matches(streamer.current_title, streamer.current_category):
            return [_suppressed(streamer, Reason.NO_MATCH)]
        blocked = self._blocked(streamer, now)
        if blocked is not None:
            return [_suppressed(streamer, blocked)]
        last = self._last_live_alert.get(streamer.id)
        cooldown = timedelta(seconds=self.settings.restart_cooldown_seconds)
        if last is not None and now - last < cooldown:
            return [_suppressed(streamer, Reason.COOLDOWN)]
        self._last_live_alert[streamer.id] = now
        if event.after_resume:
            away = self._away_window(now)
            away.started.append(streamer)
            return [_suppressed(streamer, Reason.SUMMARISED)]
        if self._burst is None:
            window = timedelta(seconds=self.settings.group_window_seconds)
            self._burst = _Burst(deadline=now + window)
        self._burst.started.append(streamer)
        if rule is not None:
            self._burst.rules[streamer.id] = rule
        return self.tick(now) if self._burst.deadline <= now else []

    def _flush_burst(self, burst: _Burst, now: datetime) -> list[Decision]:
        if len(burst.started) >= self.settings.group_threshold:
            return [self._group(burst.started, burst.rules)]
        return [self._live(streamer, burst.rules.get(streamer.id)) for streamer in burst.started]

    def _live(self, streamer: StreamerRecord, rule: StreamerRule | None) -> Decision:
        details = [part for part in (streamer.current_title, streamer.current_category) if part]
        sound_file = rule.sound_path if rule is not None else None
        return Decision(
            DecisionKind.LIVE,
            (streamer,),
            title=f"{streamer.display_name} is live",
            body=" · ".join(details) if details else "Streaming now on Kick",
            # A sound of the streamer's own is played even when live alerts are silent.
            sound=self.settings.sounds or sound_file is not None,
            sound_file=sound_file,
            opens=(streamer.url,) if rule is not None and rule.open_on_live else (),
        )

    def _group(self, streamers: list[StreamerRecord], rules: dict[int, StreamerRule]) -> Decision:
        names = [s.display_name for s in streamers]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        opened = [s for s in streamers if s.id in rules and rules[s.id].open_on_live]
        return Decision(
            DecisionKind.GROUP_LIVE,
            tuple(streamers),
            title=f"{len(streamers)} streamers are live",
            body=shown,
            sound=self.settings.sounds,
            opens=tuple(s.url for s in opened),
        )

    # -- changes of a live stream -----------------------------------------------------------

    def _on_details_changed(self, event: StreamDetailsChanged, now: datetime) -> Decision:
        streamer, rule = event.streamer, event.rule
        if rule is None or not rule.title_changes:
            return _suppressed(streamer, Reason.CHANGES_OFF)
        if event.initial and not self.settings.alert_already_live:
            return _suppressed(streamer, Reason.ALREADY_LIVE)
        if not rule.matches(streamer.current_title, streamer.current_category):
            return _suppressed(streamer, Reason.NO_MATCH)
        blocked = self._blocked(streamer, now)
        if blocked is not None:
            return _suppressed(streamer, blocked)
        title, body = describe_changes(streamer.display_name, event.changes)
        return Decision(
            DecisionKind.CHANGED,
            (streamer,),
            title=title,
            body=body,
            sound=self.settings.sounds or rule.sound_path is not None,
            sound_file=rule.sound_path,
        )

    # -- ends -------------------------------------------------------------------------------

    def _on_ended(self, event: StreamEnded, now: datetime) -> list[Decision]:
        streamer = event.streamer
        self._last_end[streamer.id] = now
        self._drop_from_burst(streamer.id)
        if event.initial:
            return [_suppressed(streamer, Reason.ALREADY_LIVE)]
        if not streamer.notify_on_end:
            return [_suppressed(streamer, Reason.NOTIFY_OFF)]
        if streamer.is_muted:
            return [_suppressed(streamer, Reason.MUTED)]
        if event.after_resume:
            blocked = self._blocked(streamer, now)
            if blocked is not None:
                return [_suppressed(streamer, blocked)]
            self._away_window(now).ended.append(streamer)
            return [_suppressed(streamer, Reason.SUMMARISED)]
        if self.settings.offline_grace_seconds <= 0:
            return [self._offline_now(streamer, now)]
        deadline = now + timedelta(seconds=self.settings.offline_grace_seconds)
        self._held_ends[streamer.id] = _HeldEnd(event, deadline)
        return []

    def _offline_now(self, streamer: StreamerRecord, now: datetime) -> Decision:
        blocked = self._blocked(streamer, now)
        if blocked is not None:
            return _suppressed(streamer, blocked)
        return Decision(
            DecisionKind.OFFLINE,
            (streamer,),
            title=f"{streamer.display_name} went offline",
            body=streamer.current_title or "The stream has ended",
            sound=False,
        )

    def _drop_from_burst(self, streamer_id: int) -> None:
        # A stream that ends before its go-live was shown would be old news by the flush.
        if self._burst is not None:
            self._burst.started = [s for s in self._burst.started if s.id != streamer_id]
            self._burst.rules.pop(streamer_id, None)
            if not self._burst.started:
                self._burst = None

    # -- resume summary ---------------------------------------------------------------------

    def _away_window(self, now: datetime) -> _Away:
        window = timedelta(seconds=max(self.settings.group_window_seconds, 5.0))
        if self._away is None:
            self._away = _Away(deadline=now + window)
        else:
            self._away.deadline = max(self._away.deadline, now + window)
        return self._away

    def _flush_away(self, away: _Away) -> Decision | None:
        if not away.started and not away.ended:
            return None
        parts = []
        if away.started:
            parts.append("Live: " + ", ".join(s.display_name for s in away.started))
        if away.ended:
            parts.append("Went offline: " + ", ".join(s.display_name for s in away.ended))
        return Decision(
            DecisionKind.AWAY_SUMMARY,
            tuple(away.started + away.ended),
            title="While you were away",
            body="\n".join(parts),
            sound=self.settings.sounds and bool(away.started),
        )

    # -- shared rules -----------------------------------------------------------------------

    def _blocked(self, streamer: StreamerRecord, now: datetime) -> Reason | None:
        """Why a notification for `streamer` may not be shown at `now`, or None."""
        settings = self.settings
        if not streamer.is_active:
            return Reason.DISABLED
        if streamer.is_muted:
            return Reason.MUTED
        if settings.paused_until is not None and now < settings.paused_until:
            return Reason.PAUSED
        if (
            settings.quiet_hours_enabled
            and in_quiet_hours(
                now, settings.quiet_hours_start, settings.quiet_hours_end, settings.timezone
            )
            and not (streamer.is_favorite and settings.quiet_hours_favorites)
        ):
            return Reason.QUIET_HOURS
        return None


def _suppressed(streamer: StreamerRecord, reason: Reason) -> Decision:
    return Decision(DecisionKind.SUPPRESSED, (streamer,), reason=reason)
