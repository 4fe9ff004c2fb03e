"""From policy decisions to desktop notifications: feeds the policy, runs its timer, acts on clicks.

Every monitor event goes to the pure `NotificationPolicy`; its decisions become `Notification`s
("NAME is live" with title, category and the avatar; "NAME went offline"; grouped and "while you
were away" summaries, a live stream's new title or category) sent through the injected
`Notifier`, with a streamer rule's own sound. One single-shot QTimer wakes the policy at its next
deadline. Clicking opens the stream (browser or player command); the buttons are Open and Mute
(Mute sets the streamer's `is_muted` and tells the monitor). A stream whose rule asks to be
opened when it goes live is opened once, through the same injected opener, when its alert is.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal

from kickwatch.domain.records import StreamerRecord
from kickwatch.monitor.events import MonitorEvent
from kickwatch.monitor.policy import Decision, DecisionKind, NotificationPolicy, PolicySettings
from kickwatch.platform.notifier import Notification, NotificationButton, Notifier
from kickwatch.ui.avatars import AvatarCache
from kickwatch.ui.opener import StreamOpener

log = logging.getLogger(__name__)

Spawn = Callable[[Awaitable[object], str], object]


class NotificationController(QObject):
    """Shows what the notification policy decides.

    Signals:
        notification_sent(object): a `Notification` was handed to the notifier.
        streamer_muted(str): the Mute button muted this username.
    """

    notification_sent = Signal(object)
    streamer_muted = Signal(str)

    def __init__(
        self,
        policy: NotificationPolicy,
        notifier: Notifier,
        opener: StreamOpener,
        now: Callable[[], datetime],
        spawn: Spawn,
        mute: Callable[[str], Awaitable[object]],
        avatars: AvatarCache | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.policy = policy
        self.notifier = notifier
        self.opener = opener
        self._now = now
        self._spawn = spawn
        self._mute = mute
        self.avatars = avatars
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.on_timer_timeout)

    def update_settings(self, settings: PolicySettings) -> None:
        """New policy settings (after the settings dialog saved, or a pause)."""
        self.policy.update_settings(settings)

    def on_bridge_event_received(self, event: MonitorEvent) -> None:
        """Feed one committed monitor event to the policy."""
        self._show_all(self.policy.decide(event, self._now()))

    def on_timer_timeout(self) -> None:
        self._show_all(self.policy.tick(self._now()))

    def _show_all(self, decisions: list[Decision]) -> None:
        for decision in decisions:
            if decision.shown:
                self._spawn(self._send(decision), f"notify {decision.title}")
            else:
                log.debug("not shown (%s): %s", decision.reason, decision.streamers[0].username)
        self._arm_timer()

    def _arm_timer(self) -> None:
        deadline = self.policy.next_deadline()
        if deadline is None:
            self.timer.stop()
            return
        delay = max(0.0, (deadline - self._now()).total_seconds())
        self.timer.start(int(delay * 1000) + 1)

    async def _send(self, decision: Decision) -> None:
        notification = await self.build(decision)
        await self.notifier.notify(notification)
        self.notification_sent.emit(notification)
        for url in decision.opens:
            self.opener.open(url)

    async def build(self, decision: Decision) -> Notification:
        """The notification for one decision."""
        single = decision.streamer
        icon = None
        if self.avatars is not None:
            picture = single.profile_picture_url if single is not None else None
            icon = await self.avatars.path_for(picture)
        one = (DecisionKind.LIVE, DecisionKind.OFFLINE, DecisionKind.CHANGED)
        if single is not None and decision.kind in one:
            return Notification(
                title=decision.title,
                body=decision.body,
                icon=icon,
                buttons=(
                    NotificationButton("Open", lambda: self.opener.open(single.url)),
                    NotificationButton("Mute", lambda: self.on_mute_pressed(single)),
                ),
                on_clicked=lambda: self.opener.open(single.url),
                sound=decision.sound,
                tag=single.username,
                sound_file=decision.sound_file,
            )
        first = decision.streamers[0]
        return Notification(
            title=decision.title,
            body=decision.body,
            icon=icon,
            buttons=(NotificationButton("Open", lambda: self.opener.open(first.url)),),
            on_clicked=lambda: self.opener.open(first.url),
            sound=decision.sound,
            tag=",".join(s.username for s in decision.streamers),
        )

    def on_mute_pressed(self, streamer: StreamerRecord) -> None:
        self._spawn(self._muted(streamer.username), f"mute {streamer.username}")

    async def _muted(self, username: str) -> None:
        await self._mute(username)
        self.streamer_muted.emit(username)
