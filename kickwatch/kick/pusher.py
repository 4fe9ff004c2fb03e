"""The asyncio Pusher client that receives Kick's live/offline pushes.

`PusherConnection` owns one WebSocket: it waits for `pusher:connection_established`, subscribes
to `channel.{id}` for every wanted channel (resubscribing after each reconnect), applies
`set_channels` changes live, keeps the socket alive with Pusher pings, and reconnects according
to `protocol.classify_close` until stopped; a fatal code (4000-4099) stops it with a message for
the user. `PusherPool` spreads many channels over several connections. Frames are parsed by the
pure `protocol` module; malformed ones (not UTF-8, not JSON, nested too deeply, larger than
`protocol.MAX_FRAME_BYTES`) are counted, logged and skipped, and the connection stays up. Text
frames are received as bytes, so invalid UTF-8 is the parser's to reject rather than a reason
for the WebSocket library to close. Only a frame beyond the socket's `max_size` (several times
the parser's limit) closes the connection; that is logged as a warning and does not escalate
the reconnect back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import CloseCode

from kickwatch.domain.clock import Clock, SystemClock
from kickwatch.domain.events import StreamEvent
from kickwatch.kick import protocol
from kickwatch.kick.backoff import Backoff
from kickwatch.kick.protocol import CloseAction
from kickwatch.monitor.events import ConnectionState

log = logging.getLogger(__name__)

OnEvent = Callable[[StreamEvent], None]
OnState = Callable[[ConnectionState, str], None]
OnConnected = Callable[[], None]
Sleep = Callable[[float], Awaitable[None]]

MALFORMED_LOG_INTERVAL = 60.0
# Frames up to this size are read and rejected by the parser; larger ones close the socket.
SOCKET_MAX_BYTES = 4 * protocol.MAX_FRAME_BYTES


@dataclass(frozen=True, slots=True)
class PusherOptions:
    """Timing and size knobs of a Pusher connection; tests make the delays tiny."""

    pong_timeout: float = 30.0
    default_activity_timeout: float = 120.0  # when the server does not say
    max_activity_timeout: float = 120.0  # never wait longer than this before pinging
    open_timeout: float = 10.0  # for the handshake and for connection_established
    subscribe_timeout: float = 10.0  # report connected even if some never confirm
    subscribe_batch: int = 50
    backoff: Backoff = field(default_factory=Backoff)
    min_backoff: float = 1.0  # the least wait after a 4100-4199 close
    healthy_after: float = 10.0  # a session this long resets the failure count
    max_size: int = SOCKET_MAX_BYTES  # larger than MAX_FRAME_BYTES: the parser rejects those
    aliases: bool = False  # also subscribe to `channel_{id}` (expect duplicate events)
    sleep: Sleep = asyncio.sleep  # the reconnect wait


@dataclass(frozen=True, slots=True)
class _Outcome:
    """How a session ended: the Pusher/WebSocket code, words for the user, and whether it was
    healthy (connected for a while)."""

    code: int | None
    reason: str
    healthy: bool = False
    action: CloseAction | None = None  # overrides classify_close(code)


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
    ) -> None:
        self.url = url
        self.name = name
        self.malformed_frames = 0
        self.sessions = 0  # sessions that reached connection_established
        self.state = ConnectionState.CLOSED
        self.detail = ""
        self.retry_at: float | None = None  # clock.monotonic() of the next attempt, if waiting
        self._on_event = on_event
        self._on_state = on_state
        self._on_connected = on_connected
        self._options = options or PusherOptions()
        self._clock = clock or SystemClock()
        self._wanted: frozenset[int] = frozenset(channels)
        self._requested: set[str] = set()
        self._confirmed: set[str] = set()
        self._changed = asyncio.Event()
        self._confirmations = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
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
        ids = {protocol.channel_id_of(n) for n in self._confirmed if n.startswith("channel.")}
        return frozenset(i for i in ids if i is not None)

    @property
    def subscribed_names(self) -> frozenset[str]:
        """Every confirmed channel name (aliases included)."""
        return frozenset(self._confirmed)

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
        self._requested.clear()
        self._confirmed.clear()
        self._set_state(ConnectionState.CLOSED, "stopped")

    # --- the reconnect loop -------------------------------------------------------------

    async def _run(self) -> None:
        state = ConnectionState.CONNECTING
        detail = "connecting to Kick's Pusher"
        retry_at: float | None = None
        while True:
            self._set_state(state, detail, retry_at)
            outcome = await self._connect_once()
            action = outcome.action or protocol.classify_close(outcome.code)
            if action is CloseAction.FATAL:
                log.error("%s: %s", self.name, outcome.reason)
                self._set_state(ConnectionState.STOPPED, outcome.reason)
                return
            if outcome.healthy:
                self._failures = 0
            self._failures += 1
            delay = self._delay(action)
            log.info("%s: %s; reconnecting in %.2f s", self.name, outcome.reason, delay)
            state = ConnectionState.RECONNECTING
            detail = f"{outcome.reason}; reconnecting in {delay:.1f} s"
            retry_at = self._clock.monotonic() + delay
            self._set_state(state, detail, retry_at)
            if delay > 0:
                await self._options.sleep(delay)
            else:
                await asyncio.sleep(0)

    def _delay(self, action: CloseAction) -> float:
        backoff = self._options.backoff
        if action is CloseAction.RECONNECT_NOW:
            return 0.0 if self._failures <= 1 else backoff.delay(self._failures - 1)
        if action is CloseAction.BACKOFF:
            return max(self._options.min_backoff, backoff.delay(self._failures))
        return backoff.delay(self._failures)

    async def _connect_once(self) -> _Outcome:
        options = self._options
        try:
            async with connect(
                self.url,
                open_timeout=options.open_timeout,
                close_timeout=1.0,
                ping_interval=None,  # Pusher's own pings keep the socket alive
                max_size=options.max_size,
                compression=None,
            ) as ws:
                return await self._session(ws)
        except InvalidURI:
            return _Outcome(
                None,
                "the Pusher URL is not a ws:// or wss:// URL: fix KICKWATCH_PUSHER_URL/"
                "monitoring.pusher_url",
                action=CloseAction.FATAL,
            )
        except InvalidStatus as exc:
            return _Outcome(
                None, f"Pusher refused the connection (HTTP {exc.response.status_code})"
            )
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            reason = exc.rcvd.reason if exc.rcvd is not None else ""
            return _Outcome(code, _closed_reason(code, reason))
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            return _Outcome(None, f"cannot reach Kick's Pusher ({type(exc).__name__})")
        except Exception:  # a bug must not end monitoring for good: log it and reconnect
            log.exception("%s: unexpected error", self.name)
            return _Outcome(None, "unexpected error in the Pusher client")
        finally:
            self._requested.clear()
            self._confirmed.clear()

    async def _session(self, ws: ClientConnection) -> _Outcome:
        """Read frames until the socket ends; returns why it ended."""
        options = self._options
        established_at: float | None = None
        activity = timeout = options.open_timeout
        awaiting_pong = False
        syncer: asyncio.Task[None] | None = None

        def outcome(
            code: int | None,
            reason: str,
            action: CloseAction | None = None,
            *,
            worked: bool = False,
        ) -> _Outcome:
            # `worked`: the session was fine until something that is no fault of the network.
            healthy = established_at is not None and (
                worked or self._clock.monotonic() - established_at >= options.healthy_after
            )
            return _Outcome(code, reason, healthy, action)

        try:
            while True:
                try:
                    # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                    # that races with the result, and stop() would then wait forever.
                    async with asyncio.timeout(timeout):
                        message = await ws.recv(decode=False)
                except TimeoutError:
                    if established_at is None:
                        return outcome(None, "Pusher sent no connection_established")
                    if awaiting_pong:
                        return outcome(
                            None,
                            f"no pong from Pusher within {options.pong_timeout:g} s",
                            CloseAction.RECONNECT_NOW,
                        )
                    await ws.send(protocol.encode_ping())
                    awaiting_pong, timeout = True, options.pong_timeout
                    continue
                except ConnectionClosed as exc:
                    if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                        reason = (
                            f"Pusher sent a frame of more than {options.max_size} bytes, "
                            "which closes the connection"
                        )
                        log.warning("%s: %s; reconnecting", self.name, reason)
                        return outcome(CloseCode.MESSAGE_TOO_BIG, reason, worked=True)
                    code = exc.rcvd.code if exc.rcvd is not None else None
                    reason = exc.rcvd.reason if exc.rcvd is not None else ""
                    return outcome(code, _closed_reason(code, reason))
                awaiting_pong, timeout = False, activity  # any frame proves the socket alive
                try:
                    frame = protocol.parse_frame(message)
                except protocol.MalformedFrame as exc:
                    self._count_malformed(str(exc))
                    continue
                except Exception:  # parse_frame raises only MalformedFrame; if not, skip anyway
                    log.exception("%s: the parser failed on a frame", self.name)
                    self._count_malformed("the parser failed on it")
                    continue
                if isinstance(frame, protocol.ConnectionEstablished):
                    if established_at is None:
                        established_at = self._clock.monotonic()
                        self.sessions += 1
                        self._changed.set()
                        syncer = asyncio.get_running_loop().create_task(
                            self._sync(ws), name=f"{self.name}:subscribe"
                        )
                    activity = timeout = min(
                        frame.activity_timeout or options.default_activity_timeout,
                        options.max_activity_timeout,
                    )
                elif isinstance(frame, protocol.SubscriptionSucceeded):
                    if frame.channel in self._requested:
                        self._confirmed.add(frame.channel)
                        self._confirmations.set()
                elif isinstance(frame, protocol.Ping):
                    await ws.send(protocol.encode_pong())
                elif isinstance(frame, protocol.PusherError):
                    if frame.code is not None and 4000 <= frame.code <= 4299:
                        return outcome(frame.code, _error_reason(frame.code, frame.message))
                    log.info("%s: Pusher error %s: %s", self.name, frame.code, frame.message)
                elif isinstance(frame, protocol.ChannelEvent):
                    self._deliver(frame)
        finally:
            if syncer is not None:
                syncer.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await syncer

    async def _sync(self, ws: ClientConnection) -> None:
        """Subscribe/unsubscribe the difference whenever `set_channels` changes the wish."""
        first = True
        while True:
            await self._changed.wait()
            self._changed.clear()
            wanted = self._names(self._wanted)
            added = sorted(wanted - self._requested)
            removed = sorted(self._requested - wanted)
            batch = self._options.subscribe_batch
            for start in range(0, len(added), batch):
                for name in added[start : start + batch]:
                    self._requested.add(name)
                    await ws.send(protocol.encode_subscribe(name))
                await asyncio.sleep(0)
            for name in removed:
                self._requested.discard(name)
                self._confirmed.discard(name)
                await ws.send(protocol.encode_unsubscribe(name))
            if first:
                first = False
                try:
                    async with asyncio.timeout(self._options.subscribe_timeout):
                        await self._all_confirmed()
                except TimeoutError:
                    missing = len(self._requested - self._confirmed)
                    log.warning("%s: %d subscriptions not confirmed", self.name, missing)
                count = len(self.subscribed_channels)
                self._set_state(ConnectionState.CONNECTED, f"subscribed to {count} channels")
                try:
                    self._on_connected()
                except Exception:
                    log.exception("%s: on_connected failed", self.name)

    async def _all_confirmed(self) -> None:
        while not self._requested <= self._confirmed:
            self._confirmations.clear()
            await self._confirmations.wait()

    def _names(self, ids: Iterable[int]) -> set[str]:
        names = {protocol.channel_name(i) for i in ids}
        if self._options.aliases:
            names |= {protocol.alias_channel_name(i) for i in ids}
        return names

    # --- helpers -----------------------------------------------------------------------

    def _deliver(self, frame: protocol.ChannelEvent) -> None:
        try:
            event = protocol.to_stream_event(frame, self._clock.now())
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


def _closed_reason(code: int | None, reason: str) -> str:
    if code is None:
        return "the connection to Kick's Pusher dropped"
    if protocol.classify_close(code) is CloseAction.FATAL:
        return _error_reason(code, reason)
    return f"Pusher closed the connection ({code}{': ' + reason if reason else ''})"


def _error_reason(code: int, message: str) -> str:
    if code == 4001:
        return (
            "Kick rejected the Pusher app key (4001): "
            "set KICKWATCH_PUSHER_URL/monitoring.pusher_url to the current key"
        )
    if code == 4004:
        return "Pusher refused: over its connection quota (4004); try again later"
    if protocol.classify_close(code) is CloseAction.FATAL:
        return f"Pusher refused the connection ({code}: {message or 'no reason given'})"
    return f"Pusher closed the connection ({code}{': ' + message if message else ''})"
