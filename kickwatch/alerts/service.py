"""Alerts wired to one running monitor: what `kickwatch run` and the tray app start and stop.

`AlertService` builds the target store, the outbox, the dispatcher and the policy feed from the
context, hands every database call to the monitor's writer thread (`monitor.write`), listens on
the monitor's bus, and re-reads the targets every `reload_interval` seconds, so a target added
with `kickwatch target add` while the monitor runs is served without a restart. Start it after
the monitor, stop it before: its writes go through the monitor.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import TextIO

from kickwatch.alerts.dispatcher import AlertDispatcher, Db, DispatcherOptions, Send, TargetHealth
from kickwatch.alerts.feed import AlertFeed
from kickwatch.alerts.targets import Outbox, TargetStore
from kickwatch.context import Context
from kickwatch.monitor.events import EventBus
from kickwatch.monitor.policy import NotificationPolicy, PolicySettings
from kickwatch.monitor.supervisor import Supervisor

log = logging.getLogger(__name__)


class AlertService:
    """The dispatcher and its feed for one monitor; see the module docstring."""

    def __init__(
        self,
        ctx: Context,
        bus: EventBus,
        db: Db,
        settings: PolicySettings,
        *,
        send: Send | None = None,
        options: DispatcherOptions | None = None,
        on_health: Callable[[TargetHealth], None] | None = None,
        reload_interval: float = 15.0,
    ) -> None:
        self.bus = bus
        self.dispatcher = AlertDispatcher(
            TargetStore(ctx.database, ctx.secrets, ctx.clock),
            Outbox(ctx.database, ctx.clock),
            db,
            ctx.clock,
            send=send,
            options=options,
            on_health=on_health,
        )
        self.feed = AlertFeed(NotificationPolicy(settings), self.dispatcher.submit, ctx.clock.now)
        self.reload_interval = reload_interval
        self._tasks = Supervisor()
        self._unsubscribe: Callable[[], None] | None = None

    @classmethod
    async def started(
        cls,
        ctx: Context,
        bus: EventBus,
        db: Db,
        *,
        on_health: Callable[[TargetHealth], None] | None = None,
    ) -> AlertService:
        """A running service with the stored policy settings (read through `db`)."""
        try:
            settings = await db(PolicySettings.from_settings, ctx.settings.get)
        except Exception as exc:
            log.warning("alerts: settings not read (%s); the defaults apply", exc)
            settings = PolicySettings()
        service = cls(ctx, bus, db, settings, on_health=on_health)
        await service.start()
        return service

    async def start(self) -> None:
        """Serve the stored targets (pending alerts first) and listen to the monitor."""
        try:
            await self.dispatcher.start()
        except Exception as exc:  # alerts must never keep the monitor from running
            log.error("alerts: targets could not be read (%s); retrying in the background", exc)
        self._unsubscribe = self.bus.subscribe(self.feed.on_event)
        self._tasks.spawn(self._reload_loop(), "alerts: reload targets")

    async def stop(self) -> None:
        """Stop listening, let sends in flight finish, record them."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.feed.close()
        await self._tasks.cancel_all()
        await self.dispatcher.stop()

    async def reload(self) -> None:
        """Follow the stored targets now (after one was added or removed)."""
        await self.dispatcher.reload()

    def update_settings(self, settings: PolicySettings) -> None:
        """New policy settings."""
        self.feed.update_settings(settings)

    def health(self) -> list[TargetHealth]:
        """Every target's state now."""
        return self.dispatcher.health()

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval)
            try:
                await self.dispatcher.reload()
            except Exception as exc:
                log.warning("alerts: targets not re-read: %s", exc)


def health_printer(out: TextIO, json_lines: bool) -> Callable[[TargetHealth], None]:
    """A health listener printing one line per change of a target's state (`kickwatch run`)."""

    def report(health: TargetHealth) -> None:
        line = json.dumps(health.as_json(), ensure_ascii=False) if json_lines else health.describe()
        out.write(line + "\n")
        out.flush()

    return report
