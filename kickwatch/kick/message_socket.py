"""A `websockets` client connection that hands each received message to a callback as it is read.

`websockets` parses every frame with a generator-based reader, makes a `Frame` of it, queues it
in an assembler and wakes the `recv()` that waits for it: about 4 µs of a Pusher frame's 12 in
the receive loop. A Pusher server sends almost nothing but whole, unmasked text frames, so
`MessageSocket` reads those itself (two header bytes, a length, a slice) and passes the payload
to `listen`'s callback within `data_received`. Every other frame (ping, pong, close, binary,
fragments, a 64-bit length, anything malformed or over `max_size`) goes to the `websockets`
protocol as it is, whole, so that the protocol answers pings, runs the closing handshake and
fails a connection that breaks the rules exactly as it always does; the data frames it parses
come to the same callback, in the order they arrived.

The protocol is fed only whole frames after the opening handshake (the handshake's bytes are
split at the end of the HTTP response), so it is always at a frame boundary when the fast path
reads. Once the protocol has failed the connection or started closing it, every byte goes to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import State

OnMessage = Callable[[bytes], None]

_TEXT_WHOLE = 0x81  # FIN and the text opcode, no extension bits
_END_OF_HEAD = b"\r\n\r\n"
_MAX_HEAD = 1 << 16  # a handshake response longer than this is the protocol's to refuse
_MAX_FRAME_HEAD = 14  # two bytes, a 64-bit length and a mask
_DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)


class MessageSocket(ClientConnection):
    """A `ClientConnection` (pass it as `connect(create_connection=...)`) whose messages go to
    the callback given to `listen`, never to `recv()`. Messages read before `listen` are kept
    and handed over first. The callback runs inside `data_received` and must not raise."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held: list[bytes] = []
        self._on_message: OnMessage = self._held.append
        self._fast = False  # the protocol is open and at a frame boundary: frames are ours
        self._head = b""  # the handshake response read so far
        self._pending = bytearray()  # the start of a frame not yet whole
        self._needed = 0  # how long `_pending` must grow before it is read again
        self._fragments: list[bytes] | None = None
        limit = self.protocol.max_message_size
        self._max_size = limit if limit is not None else 1 << 62

    def listen(self, on_message: OnMessage) -> None:
        """From now on, hand every message (text or binary, as bytes) to `on_message`."""
        held, self._held = self._held, []
        self._on_message = on_message
        for message in held:
            on_message(message)

    # --- asyncio.Protocol -----------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._fast:
            if self._pending:
                self._pending += data
                if len(self._pending) < self._needed:
                    return
                data = bytes(self._pending)
                self._pending.clear()
            self._read_frames(data)
        elif self.protocol.state is State.CONNECTING:
            self._read_handshake(data)
        else:
            super().data_received(data)

    # --- websockets.Connection ------------------------------------------------------------

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode in _DATA:
            self._take_frame(event)
        else:
            super().process_event(event)

    # --- private ----------------------------------------------------------------------------

    def _read_handshake(self, data: bytes) -> None:
        """Give the protocol the handshake response and nothing after it; read the rest."""
        seen = self._head + data
        end = seen.find(_END_OF_HEAD)
        if end < 0:
            self._head = seen[-(len(_END_OF_HEAD) - 1) :] if len(seen) < _MAX_HEAD else b""
            super().data_received(data)
            return
        split = end + len(_END_OF_HEAD) - (len(seen) - len(data))
        self._head = b""
        super().data_received(data[:split])
        rest = data[split:]
        if self.protocol.state is State.OPEN:
            self._fast = True
            if rest:
                self._read_frames(rest)
        elif rest:
            super().data_received(rest)

    def _read_frames(self, data: bytes) -> None:
        """Hand over every whole frame in `data`; keep the start of the last if it is cut."""
        deliver, limit = self._on_message, self._max_size
        unfragmented = self._fragments is None
        end = len(data)
        pos = 0
        while end - pos >= 2:
            second = data[pos + 1]
            if data[pos] == _TEXT_WHOLE and second <= 126 and unfragmented:
                # Pusher's usual frame: a whole text, its length in the second byte or the
                # two after it
                if second < 126:
                    start = pos + 2
                    stop = start + second
                elif end - pos >= 4:
                    start = pos + 4
                    stop = start + (data[pos + 2] << 8 | data[pos + 3])
                else:
                    break
                if stop - start <= limit:
                    if stop > end:
                        break
                    deliver(data[start:stop])
                    pos = stop
                    continue
            frame_end = self._frame_end(data, pos)
            if frame_end is None or frame_end > end:
                if frame_end is not None and frame_end - pos > limit + _MAX_FRAME_HEAD:
                    self._give_up(data[pos:])  # the protocol refuses it by its head
                    return
                break
            # The protocol's: control frames, fragments, 64-bit lengths, anything against the
            # rules. It hands the data frames to `process_event`, in turn with the others.
            super().data_received(data[pos:frame_end])
            if self.protocol.state is not State.OPEN:
                self._give_up(data[frame_end:])
                return
            unfragmented = self._fragments is None
            pos = frame_end
        if pos < end:
            self._pending += data[pos:]
            frame_end = self._frame_end(data, pos) if end - pos >= 2 else None
            self._needed = frame_end - pos if frame_end is not None else end - pos + 1

    @staticmethod
    def _frame_end(data: bytes, pos: int) -> int | None:
        """Where the frame at `pos` ends (perhaps beyond `data`); None while its head is cut."""
        second = data[pos + 1]
        size = second & 0x7F
        head = 2
        if size == 126:
            head = 4
            if len(data) - pos < head:
                return None
            size = data[pos + 2] << 8 | data[pos + 3]
        elif size == 127:
            head = 10
            if len(data) - pos < head:
                return None
            size = int.from_bytes(data[pos + 2 : pos + 10], "big")
        if second & 0x80:
            head += 4
        return pos + head + size

    def _give_up(self, rest: bytes) -> None:
        """The protocol reads from here on (it fails or closes the connection)."""
        self._fast = False
        self._pending.clear()
        if rest:
            super().data_received(rest)

    def _take_frame(self, frame: Frame) -> None:
        """A data frame the protocol parsed: a message, or part of one."""
        data = bytes(frame.data)
        if frame.opcode is Opcode.CONT:
            if self._fragments is None:  # the protocol refuses this before it gets here
                return
            self._fragments.append(data)
            if frame.fin:
                message = b"".join(self._fragments)
                self._fragments = None
                self._on_message(message)
        elif frame.fin:
            self._on_message(data)
        else:
            self._fragments = [data]
