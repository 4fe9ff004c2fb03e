"""The asyncio Pusher client that receives Kick's live/offline pushes.

`PusherConnection` owns one WebSocket: it waits for `pusher:connection_established`, subscribes
to `channel.{id}` for every wanted channel (resubscribing after each reconnect), applies
`set_channels` changes live, keeps the socket alive with Pusher pings (`keepalive`), and
reconnects according to `protocol.classify_close` until stopped; a fatal code (4000-4099) stops
it with a message for the user. When it may connect is the `reconnect.ReconnectGate`'s to say,
shared by the connections of a `PusherPool`: after a break, one attempt probes the server while
the others wait, and all go at once when it succeeds. Subscriptions (and unsubscriptions) go out
in one transport write per change (`subscriptions`).

The socket is a `MessageSocket`, which hands each message to the session as it is read (inside
the transport's `data_received`, with no queue and no `recv()`): frames are parsed by the pure
`protocol` module there, each channel event delivered to `on_event` at once; channel events other
than the stream changes are skipped before their `data` is decoded.
Malformed frames (not UTF-8, not JSON, nested too deeply, larger than `protocol.MAX_FRAME_BYTES`)
are counted, logged and skipped, and the connection stays up. Text frames are received as bytes,
so invalid UTF-8 is the parser's to reject rather than a reason for the WebSocket library to
close. Only a frame beyond the socket's `max_size` (several times the parser's limit) closes the
connection; that is logged as a warning and does not escalate the reconnect back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, cast

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.connection import broadcast
from websockets.exceptions import ConnectionClosed

from kickwatch.domain.clock import Clock, SystemClock
from kickwatch.domain.events import StreamEvent
from kickwatch.kick import protocol
from kickwatch.kick.keepalive import KeepAlive
from kickwatch.kick.message_socket import MessageSocket
from kickwatch.kick.outcome import Outcome, closed_while_reading, failed_attempt, too_big
from kickwatch.kick.protocol import CloseAction
from kickwatch.kick.pusher_options import SOCKET_MAX_BYTES, PusherOptions
from kickwatch.kick.reconnect import GateClosed, ReconnectGate
from kickwatch.kick.subscriptions import Subscriptions, write_together
from kickwatch.monitor.events import ConnectionState

__all__ = [
    "SOCKET_MAX_BYTES",
    "OnConnected",
    "OnEvent",
    "OnState",
    "PusherConnection",
    "PusherOptions",
]

log = logging.getLogger(__name__)
_NEXT_FRAME = timedelta(microseconds=1)  # between frames read in one turn of the loop

OnEvent = Callable[[StreamEvent], None]
OnState = Callable[[ConnectionState, str], None]
OnConnected = Callable[[], None]

MALFORMED_LOG_INTERVAL = 60.0


class PusherConnection:
    """One Pusher WebSocket subscribed to a set of Kick channel ids."""

    def __init__(
        self,
        url: str,
        *,
        on_event: OnEvent,
        on_state: OnState,
        on_connected: OnConnected,
        channels: Iterable[int] = (),
        options: PusherOptions | None = None,
        clock: Clock | None = None,
        name: str = "pusher",
        gate: ReconnectGate | None = None,
    ) -> None:
        self.url = url
        self.name = name
        self.malformed_frames = 0
        self.attempts = 0  # connection attempts made
        self.sessions = 0  # sessions that reached connection_established
        self.state = ConnectionState.CLOSED
        self.detail = ""
        self.retry_at: float | None = None  # clock.monotonic() of the next attempt, if waiting
        self._on_event = on_event
        self._on_state = on_state
        self._on_connected = on_connected
        self._options = options or PusherOptions()
        self._clock = clock or SystemClock()
        self._owns_gate = gate is None
        self._gate = gate or self._options.gate(self._clock)
        self._wanted: frozenset[int] = frozenset(channels)
        self._subscriptions = Subscriptions()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._now: datetime | None = None  # the clock's now() for this turn of the loop
        self._malformed_logged_at: float | None = None
        self._malformed_unlogged = 0

    # --- public ------------------------------------------------------------------------

    @property
    def channels(self) -> frozenset[int]:
        """The channel ids this connection should be subscribed to."""
        return self._wanted

    @property
    def subscribed_channels(self) -> frozenset[int]:
        """Channel ids whose `channel.{id}` subscription the server confirmed on this socket."""
        return self._subscriptions.confirmed_ids

    @property
    def subscribed_count(self) -> int:
        """How many `subscribed_channels` there are (without copying them)."""
        return self._subscriptions.confirmed_count

    @property
    def subscribed_names(self) -> frozenset[str]:
        """Every confirmed channel name (aliases included)."""
        return self._subscriptions.confirmed_names

    @property
    def running(self) -> bool:
        """Whether the connection task is alive (not stopped, not failed fatally)."""
        return self._task is not None and not self._task.done()

    def set_channels(self, channel_ids: Iterable[int]) -> None:
        """Subscribe/unsubscribe the difference now (on a live socket) or at the next connect.

        Call it on the event loop's thread (like every method here).
        """
        self._wanted = frozenset(channel_ids)
        self._changed.set()

    async def start(self) -> None:
        """Start connecting in a background task (returns at once)."""
        self.start_soon()

    def start_soon(self) -> None:
        """Like `start`, for synchronous callers inside the event loop."""
        if self.running:
            return
        self._failures = 0
        if self._owns_gate:
            self._gate.reset()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"{self.name}:run")

    async def stop(self) -> None:
        """Close the socket and cancel the background task; returns within about a second."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            # Cancel until it ends: a cancellation can be absorbed by a socket close in progress.
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError):
                await task
        elif task is not None and not task.cancelled() and task.exception() is not None:
            log.error("%s had failed: %r", self.name, task.exception())
        self._subscriptions.clear()
        self._gate.left(self)
        self._set_state(ConnectionState.CLOSED, "stopped")

    # --- the reconnect loop -------------------------------------------------------------

    async def _run(self) -> None:
        gate = self._gate
        try:
            self._set_state(ConnectionState.CONNECTING, "connecting to Kick's Pusher")
            while True:
                try:
                    await gate.wait_turn(self)
                except GateClosed as exc:
                    self._set_state(ConnectionState.STOPPED, exc.reason)
                    return
                outcome = await self._connect_once()
                action = outcome.what_next
                if outcome.established:
                    gate.ended(self, healthy=outcome.healthy)
                else:
                    gate.failed(self, action, outcome.reason)
                if action is CloseAction.FATAL:
                    log.error("%s: %s", self.name, outcome.reason)
                    gate.close(outcome.reason)
                    self._set_state(ConnectionState.STOPPED, outcome.reason)
                    return
                await self._wait_after(outcome, action)
        finally:
            gate.left(self)

    async def _wait_after(self, outcome: Outcome, action: CloseAction) -> None:
        """Report the wait before the next attempt, and wait what this connection's own close
        asks; the gate adds the probe back-off while the server is down."""
        now = self._clock.monotonic()
        delay = 0.0
        if outcome.established:  # this connection broke: its own close code decides
            if outcome.healthy:
                self._failures = 0
            self._failures += 1
            delay = self._delay(action)
            retry_at = now + delay
        else:  # the attempt failed: the gate spaces the probes
            retry_at = self._gate.next_probe_at or now
        wait = max(0.0, retry_at - now)
        log.info("%s: %s; reconnecting in %.2f s", self.name, outcome.reason, wait)
        self._set_state(
            ConnectionState.RECONNECTING,
            f"{outcome.reason}; reconnecting in {wait:.1f} s",
            retry_at,
        )
        if delay > 0:
            await self._options.sleep(delay)
        else:
            await asyncio.sleep(0)

    def _delay(self, action: CloseAction) -> float:
        backoff, cap = self._options.backoff, self._gate.cap()
        if action is CloseAction.RECONNECT_NOW:
            return 0.0 if self._failures <= 1 else backoff.delay(self._failures - 1, cap)
        if action is CloseAction.BACKOFF:
            return max(self._options.min_backoff, backoff.delay(self._failures, cap))
        return backoff.delay(self._failures, cap)

    async def _connect_once(self) -> Outcome:
        options = self._options
        self.attempts += 1
        try:
            async with connect(
                self.url,
                open_timeout=options.open_timeout,
                close_timeout=1.0,
                ping_interval=None,  # Pusher's own pings keep the socket alive
                max_size=options.max_size,
                compression=None,
                create_connection=MessageSocket,
            ) as ws:
                return await self._session(cast(MessageSocket, ws))
        except Exception as exc:  # a bug must not end monitoring for good: log it, reconnect
            outcome = failed_attempt(exc)
            if outcome is None:
                log.exception("%s: unexpected error", self.name)
                outcome = Outcome(None, "unexpected error in the Pusher client")
            return outcome
        finally:
            self._subscriptions.clear()

    async def _session(self, ws: MessageSocket) -> Outcome:
        """Read frames until the socket ends; returns why it ended."""
        options = self._options
        loop = asyncio.get_running_loop()
        established_at: float | None = None
        syncer: asyncio.Task[None] | None = None
        ended: asyncio.Future[Outcome] = loop.create_future()  # a Pusher error ends it

        def outcome(
            code: int | None,
            reason: str,
            action: CloseAction | None = None,
            *,
            worked: bool = False,
        ) -> Outcome:
            # `worked`: the session was fine until something that is no fault of the network.
            healthy = established_at is not None and (
                worked or self._clock.monotonic() - established_at >= options.healthy_after
            )
            return Outcome(code, reason, established_at is not None, healthy, action)

        parse, watched = protocol.parse_frame, protocol.announces_stream_change
        loop_time = loop.time
        keepalive: KeepAlive | None = None
        closed: asyncio.Task[None] | None = None
        try:
            # One deadline for the whole session, which only the keep-alive moves: no timer
            # per frame. asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
            # cancellation that races with the result, and stop() would then wait forever.
            async with asyncio.timeout(None) as deadline:
                alive = keepalive = KeepAlive(
                    ws,
                    deadline,
                    open_timeout=options.open_timeout,
                    pong_timeout=options.pong_timeout,
                )

                def on_message(message: bytes) -> None:
                    # Called by the socket as each message is read: it must not raise.
                    nonlocal established_at, syncer
                    if ended.done():
                        return
                    alive.heard_at = loop_time()  # alive.heard(), inlined
                    try:
                        frame = parse(message, watched=watched)
                    except protocol.MalformedFrame as exc:
                        self._count_malformed(str(exc))
                        return
                    except Exception:  # parse_frame raises only MalformedFrame
                        log.exception("%s: the parser failed on a frame", self.name)
                        self._count_malformed("the parser failed on it")
                        return
                    if isinstance(frame, protocol.ChannelEvent):
                        self._deliver(frame)
                    elif frame is protocol.UNWATCHED or isinstance(frame, protocol.Pong):
                        pass
                    elif isinstance(frame, protocol.SubscriptionSucceeded):
                        self._subscriptions.confirm(frame.channel)
                    elif isinstance(frame, protocol.ConnectionEstablished):
                        if established_at is None:
                            established_at = self._clock.monotonic()
                            self.sessions += 1
                            self._gate.reached(self)
                            self._changed.set()
                            syncer = loop.create_task(self._sync(ws), name=f"{self.name}:subscribe")
                        alive.set_established(
                            min(
                                frame.activity_timeout or options.default_activity_timeout,
                                options.max_activity_timeout,
                            )
                        )
                    elif isinstance(frame, protocol.Ping):
                        broadcast([ws], protocol.encode_pong())  # written at once, never waits
                    elif isinstance(frame, protocol.PusherError):
                        code = frame.code
                        if code is not None and 4000 <= code <= 4299:
                            ended.set_result(
                                outcome(code, protocol.error_reason(code, frame.message))
                            )
                        else:
                            log.info("%s: Pusher error %s: %s", self.name, code, frame.message)

                try:
                    closed = loop.create_task(ws.wait_closed(), name=f"{self.name}:closed")
                    ws.listen(on_message)
                    waits: set[asyncio.Future[Any]] = {ended, closed}
                    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    if ended.done():
                        return ended.result()
                    exc = ws.close_exc
                    code, reason = closed_while_reading(exc, options.max_size)
                    if too_big(exc):
                        log.warning("%s: %s; reconnecting", self.name, reason)
                    return outcome(code, reason, worked=too_big(exc))
                finally:
                    keepalive.cancel()
        except TimeoutError:
            expired = keepalive.expired if keepalive is not None else None
            reason = expired or "the Pusher session timed out"
            if established_at is None:
                return outcome(None, reason)
            return outcome(None, reason, CloseAction.RECONNECT_NOW)
        finally:
            ws.listen(_ignore)
            if closed is not None:
                closed.cancel()
            if syncer is not None:
                syncer.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await syncer

    # --- subscriptions ------------------------------------------------------------------

    async def _sync(self, ws: ClientConnection) -> None:
        """Subscribe/unsubscribe the difference whenever `set_channels` changes the wish."""
        first = True
        while True:
            await self._changed.wait()
            self._changed.clear()
            subs = self._subscriptions
            write_together(ws, subs.change_to(self._wanted, aliases=self._options.aliases))
            if first:
                first = False
                try:
                    async with asyncio.timeout(self._options.subscribe_timeout):
                        await subs.all_confirmed()
                except TimeoutError:
                    log.warning("%s: %d subscriptions not confirmed", self.name, subs.pending)
                count = subs.confirmed_count
                if not subs.pending:
                    self._gate.worked(self)
                self._set_state(ConnectionState.CONNECTED, f"subscribed to {count} channels")
                try:
                    self._on_connected()
                except Exception:
                    log.exception("%s: on_connected failed", self.name)

    # --- helpers -----------------------------------------------------------------------

    def _received_at(self) -> datetime:
        """The clock's now(), read once per turn of the event loop: every frame handled in one
        turn arrived before it began, and a burst then costs one clock read. Each later frame
        of the turn is a microsecond later than the one before, so that times keep the order
        the frames arrived in (a start and a stop of one streamer read together must not tie;
        handling a frame takes longer than a microsecond, so the next turn's read is later)."""
        now = self._now
        if now is None:
            now = self._clock.now()
            asyncio.get_running_loop().call_soon(self._forget_now)
        else:
            now += _NEXT_FRAME
        self._now = now
        return now

    def _forget_now(self) -> None:
        self._now = None

    def _deliver(self, frame: protocol.ChannelEvent) -> None:
        try:
            event = protocol.to_stream_event(frame, self._received_at())
        except Exception:  # it never raises; if it did, one frame is lost, not the connection
            log.exception("%s: could not read a %r event", self.name, frame.event[:100])
            self._count_malformed("the parser failed on it")
            return
        if event is None:
            return
        try:
            self._on_event(event)
        except Exception:
            log.exception("%s: on_event failed for %s", self.name, event.kick_event_id)

    def _count_malformed(self, reason: str) -> None:
        """Count a skipped frame; log it at warning level, at most once a minute per
        connection, saying how many were skipped in between."""
        self.malformed_frames += 1
        now = self._clock.monotonic()
        last = self._malformed_logged_at
        if last is not None and now - last < MALFORMED_LOG_INTERVAL:
            self._malformed_unlogged += 1
            return
        more = f" (and {self._malformed_unlogged} more since)" if self._malformed_unlogged else ""
        log.warning("%s: skipped a malformed Pusher frame: %s%s", self.name, reason, more)
        self._malformed_logged_at = now
        self._malformed_unlogged = 0

    def _set_state(
        self, state: ConnectionState, detail: str, retry_at: float | None = None
    ) -> None:
        if (state, detail, retry_at) == (self.state, self.detail, self.retry_at):
            return
        self.state, self.detail, self.retry_at = state, detail, retry_at
        try:
            self._on_state(state, detail)
        except Exception:
            log.exception("%s: on_state failed", self.name)


def _ignore(_message: bytes) -> None:
    """What a socket's messages go to once its session has ended."""
