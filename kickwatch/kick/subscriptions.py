"""The channel subscriptions of one Pusher socket: what was asked, what the server confirmed.

`Subscriptions.change_to` turns the wanted channel ids into the `pusher:subscribe` and
`pusher:unsubscribe` frames of the difference, and `write_together` sends such frames in one
transport write: the WebSocket library's sans-I/O protocol frames each message (masking
included), and its output goes out in one `writelines` instead of one write per message, so
subscribing a thousand channels costs one system call. Confirmations are counted as they come
(`confirm`), and `all_confirmed` waits for the last one without rescanning the set each time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from websockets.asyncio.client import ClientConnection
from websockets.protocol import State

from kickwatch.kick import protocol


class Subscriptions:
    """Requested, pending and confirmed channel names of one socket."""

    def __init__(self) -> None:
        self._requested: dict[str, int | None] = {}  # name -> the id of a `channel.{id}`
        self._pending: set[str] = set()  # requested, not confirmed yet
        self._confirmed: set[str] = set()
        self._confirmed_ids: set[int] = set()
        self._all_confirmed = asyncio.Event()

    @property
    def confirmed_ids(self) -> frozenset[int]:
        """Ids whose `channel.{id}` the server confirmed."""
        return frozenset(self._confirmed_ids)

    @property
    def confirmed_count(self) -> int:
        """How many `confirmed_ids` there are."""
        return len(self._confirmed_ids)

    @property
    def confirmed_names(self) -> frozenset[str]:
        """Every confirmed channel name (aliases included)."""
        return frozenset(self._confirmed)

    @property
    def pending(self) -> int:
        """Subscriptions sent and not confirmed yet."""
        return len(self._pending)

    def change_to(self, channel_ids: Iterable[int], *, aliases: bool) -> list[str]:
        """The frames that make the subscriptions `channel_ids` (`channel_{id}` too with
        `aliases`), recording them as sent: subscriptions first, each list sorted by name."""
        ids = list(channel_ids)
        wanted: dict[str, int | None] = {protocol.channel_name(i): i for i in ids}
        if aliases:
            wanted.update((protocol.alias_channel_name(i), None) for i in ids)
        frames = []
        for name in sorted(wanted.keys() - self._requested.keys()):
            self._requested[name] = wanted[name]
            self._pending.add(name)
            frames.append(protocol.encode_subscribe(name))
        for name in sorted(self._requested.keys() - wanted.keys()):
            channel_id = self._requested.pop(name)
            self._pending.discard(name)
            self._confirmed.discard(name)
            if channel_id is not None:
                self._confirmed_ids.discard(channel_id)
            frames.append(protocol.encode_unsubscribe(name))
        if not self._pending:
            self._all_confirmed.set()
        return frames

    def confirm(self, name: str) -> None:
        """The server confirmed `name` (ignored unless it was requested on this socket)."""
        if name not in self._requested:
            return
        channel_id = self._requested[name]
        self._confirmed.add(name)
        if channel_id is not None:
            self._confirmed_ids.add(channel_id)
        self._pending.discard(name)
        if not self._pending:
            self._all_confirmed.set()

    async def all_confirmed(self) -> None:
        """Return when no subscription is pending."""
        while self._pending:
            self._all_confirmed.clear()
            await self._all_confirmed.wait()

    def clear(self) -> None:
        """Forget everything (the socket is gone; a new one subscribes afresh)."""
        self._requested.clear()
        self._pending.clear()
        self._confirmed.clear()
        self._confirmed_ids.clear()


def write_together(ws: ClientConnection, frames: list[str]) -> None:
    """Send `frames` as text messages in one transport write (nothing on a closing socket:
    the next session subscribes afresh)."""
    if not frames or ws.protocol.state is not State.OPEN:
        return
    for frame in frames:
        ws.protocol.send_text(frame.encode())
    ws.transport.writelines(ws.protocol.data_to_send())
