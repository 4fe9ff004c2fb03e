"""From monitor events to alerts: the notification policy decides, the dispatcher sends.

The feed listens on the monitor's bus (so it hears of a change only once it is committed),
feeds every event to its own `NotificationPolicy` and wakes the policy at its next deadline with
a timer on the event loop, as the desktop does. Each decision to show something becomes one
message per streamer it names, paired with the id of the change it announces: for a start or an
end the `status_event` row (the latest start or end recorded for that streamer), for a change of
a live stream's title or category the first `stream_change` row of that change (a new title and
a new category recorded together are one alert). That id is what makes a change reach a target
once: grouped go-lives and "while you were away" summaries are sent as the changes they hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from kickwatch.alerts.message import AlertKind, AlertMessage
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import Status
from kickwatch.monitor.events import MonitorEvent, StreamDetailsChanged, StreamEnded, StreamStarted
from kickwatch.monitor.policy import Decision, DecisionKind, NotificationPolicy, PolicySettings

log = logging.getLogger(__name__)

Submit = Callable[[Sequence[tuple[int, AlertMessage]]], None]


class AlertFeed:
    """Turns committed monitor events into (change id, message) pairs for `submit`."""

    def __init__(
        self, policy: NotificationPolicy, submit: Submit, now: Callable[[], datetime]
    ) -> None:
        self.policy = policy
        self._submit = submit
        self._now = now
        # The latest change of each kind per streamer id: its id and how to announce it.
        self._latest: dict[tuple[int, AlertKind], tuple[int, Callable[[], AlertMessage]]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def update_settings(self, settings: PolicySettings) -> None:
        """New policy settings (saved in the settings dialog, a pause)."""
        self.policy.update_settings(settings)

    def on_event(self, event: MonitorEvent) -> None:
        """A bus listener: remember the change, let the policy decide, route what it shows."""
        if isinstance(event, StreamStarted | StreamEnded):
            kind = AlertKind.START if isinstance(event, StreamStarted) else AlertKind.END
            self._latest[(event.streamer.id, kind)] = (
                event.event.id,
                _made(AlertMessage.for_change, event.streamer, kind),
            )
        elif isinstance(event, StreamDetailsChanged) and event.changes:
            self._latest[(event.streamer.id, AlertKind.CHANGE)] = (
                min(change.id for change in event.changes),
                _made(AlertMessage.for_details, event.streamer, event.changes),
            )
        self._route(self.policy.decide(event, self._now()))

    def tick(self) -> None:
        """Release what the policy held back until now (the timer calls this)."""
        self._timer = None
        self._route(self.policy.tick(self._now()))

    def close(self) -> None:
        """Stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _route(self, decisions: list[Decision]) -> None:
        changes: list[tuple[int, AlertMessage]] = []
        for decision in decisions:
            if not decision.shown:
                continue
            for streamer, kind in _announced(decision):
                latest = self._latest.get((streamer.id, kind))
                if latest is None:
                    log.debug("alerts: no recorded change behind %s", decision.title)
                    continue
                change_id, message = latest
                changes.append((change_id, message()))
        if changes:
            self._submit(changes)
        self._arm()

    def _arm(self) -> None:
        deadline = self.policy.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is None:
            return
        delay = max(0.0, (deadline - self._now()).total_seconds())
        self._timer = asyncio.get_running_loop().call_later(delay, self.tick)


def _made(make: Callable[..., AlertMessage], *args: object) -> Callable[[], AlertMessage]:
    """`make(*args)`, made when an alert is decided (most changes never become one)."""
    return lambda: make(*args)


def _announced(decision: Decision) -> list[tuple[StreamerRecord, AlertKind]]:
    """The (streamer, change) pairs a shown decision stands for."""
    if decision.kind in (DecisionKind.LIVE, DecisionKind.GROUP_LIVE):
        return [(streamer, AlertKind.START) for streamer in decision.streamers]
    if decision.kind is DecisionKind.OFFLINE:
        return [(streamer, AlertKind.END) for streamer in decision.streamers]
    if decision.kind is DecisionKind.CHANGED:
        return [(streamer, AlertKind.CHANGE) for streamer in decision.streamers]
    if decision.kind is DecisionKind.AWAY_SUMMARY:
        return [
            (streamer, AlertKind.START if streamer.status is Status.ONLINE else AlertKind.END)
            for streamer in decision.streamers
        ]
    return []
