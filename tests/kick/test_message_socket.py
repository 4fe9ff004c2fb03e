"""`MessageSocket` against a raw WebSocket server on loopback that writes exactly the bytes a test
gives it: whole messages however the frames are cut, frames that come with the handshake kept,
and every frame against the rules still refused by the `websockets` protocol."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.client import ClientProtocol
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.uri import parse_uri

from kickwatch.kick.message_socket import MessageSocket
from tests.fakekick.waiting import wait_for

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, BINARY, CONT, CLOSE, PING, PONG = 1, 2, 0, 8, 9, 10


def frame(payload: bytes, opcode: int = TEXT, *, fin: bool = True, mask: bytes = b"") -> bytes:
    """One frame as a server (or, with `mask`, a client) writes it."""
    head = bytes([(0x80 if fin else 0) | opcode])
    flag = 0x80 if mask else 0
    size = len(payload)
    if size < 126:
        head += bytes([flag | size])
    elif size < 1 << 16:
        head += struct.pack("!BH", flag | 126, size)
    else:
        head += struct.pack("!BQ", flag | 127, size)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + payload


class RawServer:
    """Accepts one WebSocket client, answers its handshake (plus `with_handshake`), then writes
    what `write` is given, records what the client sends and closes the TCP connection when the
    client's close frame comes, as a server does."""

    def __init__(self, with_handshake: bytes = b"") -> None:
        self.with_handshake = with_handshake
        self.received = bytearray()
        self.connected = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/app/key"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)

    async def stop(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: "
            + accept
            + b"\r\n\r\n"
            + self.with_handshake
        )
        self._writer = writer
        self.connected.set()
        while data := await reader.read(65536):
            self.received += data
            if client_closed(bytes(self.received)):
                writer.close()
                return


def client_closed(sent: bytes) -> bool:
    """Whether the client's frames in `sent` (always masked) include a close frame."""
    pos = 0
    while len(sent) - pos >= 6:
        if sent[pos] & 0x0F == CLOSE:
            return True
        size, pos = sent[pos + 1] & 0x7F, pos + 2
        if size == 126:
            size, pos = struct.unpack_from("!H", sent, pos)[0], pos + 2
        elif size == 127:
            size, pos = struct.unpack_from("!Q", sent, pos)[0], pos + 8
        pos += 4 + size
    return False


@asynccontextmanager
async def socket_to(
    server: RawServer, max_size: int | None = 1 << 20
) -> AsyncIterator[tuple[MessageSocket, list[bytes]]]:
    await server.start()
    try:
        async with connect(
            server.url, create_connection=MessageSocket, max_size=max_size, compression=None
        ) as ws:
            socket = cast(MessageSocket, ws)
            messages: list[bytes] = []
            await asyncio.wait_for(server.connected.wait(), 5)
            yield socket, messages
    finally:
        await server.stop()


SHORT = b'{"event":"pusher:pong","data":{}}'
MEDIUM = b'{"event":"App\\\\Events\\\\StreamerIsLive","data":"' + b"x" * 300 + b'"}'
LONG = b"[" + b"1," * 40_000 + b"1]"  # a 64-bit length

# Every kind of frame a server may send, and the messages they make.
STREAM = b"".join(
    [
        frame(SHORT),
        frame(MEDIUM),
        frame(b"\x00\x01binary", BINARY),
        frame(b"ab", TEXT, fin=False),
        frame(b"ping!", PING),  # control frames may come between the fragments of a message
        frame(b"cd", CONT, fin=False),
        frame(b"ef", CONT),
        frame(LONG),
        frame(b"", TEXT),
        *(frame(b"e" * size) for size in (125, 126, 256, 65_535)),  # the lengths' edges
        frame(b"unsolicited", PONG),
        frame(MEDIUM),
    ]
)
EDGES = [b"e" * size for size in (125, 126, 256, 65_535)]
MESSAGES = [SHORT, MEDIUM, b"\x00\x01binary", b"abcdef", LONG, b"", *EDGES, MEDIUM]


@pytest.mark.parametrize("piece", [1, 2, 3, 5, 126, 300, 4096, len(STREAM)])
async def test_messages_cut_anywhere_arrive_whole_and_in_order(piece: int) -> None:
    server = RawServer()
    async with socket_to(server) as (socket, messages):
        socket.listen(messages.append)
        for start in range(0, len(STREAM), piece):  # as the transport would hand them over
            socket.data_received(STREAM[start : start + piece])
        assert messages == MESSAGES
        await wait_for(lambda: len(server.received) >= 2)  # the answer to the ping
        # The protocol answered the ping (a masked pong carrying its payload).
        head = server.received[:2]
        assert head[0] == 0x80 | PONG and head[1] == 0x80 | len(b"ping!")


async def test_frames_that_come_with_the_handshake_are_handed_over_when_listened_to() -> None:
    # The response's read ends inside a frame: the protocol must get the response alone.
    cut = frame(MEDIUM)
    server = RawServer(with_handshake=frame(SHORT) + cut[:100])
    async with socket_to(server) as (socket, messages):
        socket.listen(messages.append)
        server.write(cut[100:] + frame(b"ab", fin=False) + frame(b"cd", CONT) + frame(SHORT))
        await wait_for(lambda: len(messages) == 4)
        assert messages == [SHORT, MEDIUM, b"abcd", SHORT]


async def test_frames_from_the_network_arrive_whole_however_the_writes_are_cut() -> None:
    server = RawServer()
    async with socket_to(server) as (socket, messages):
        socket.listen(messages.append)
        for start in range(0, len(STREAM), 997):
            server.write(STREAM[start : start + 997])
            await asyncio.sleep(0)
        await wait_for(lambda: len(messages) == len(MESSAGES))
        assert messages == MESSAGES


async def refused(sent: bytes, max_size: int = 1 << 20) -> tuple[list[bytes], int | None]:
    """The messages handed over before the client failed the connection over `sent`, and the
    close code it sent."""
    server = RawServer()
    async with socket_to(server, max_size=max_size) as (socket, messages):
        socket.listen(messages.append)
        server.write(sent)
        await asyncio.wait_for(socket.wait_closed(), 5)
        closing = socket.close_exc.sent
        return messages, None if closing is None else closing.code


async def test_a_masked_frame_from_the_server_fails_the_connection() -> None:
    masked = frame(SHORT, mask=b"\x01\x02\x03\x04")
    assert await refused(frame(SHORT) + masked + frame(SHORT)) == (
        [SHORT],
        CloseCode.PROTOCOL_ERROR,
    )


async def test_a_frame_over_max_size_closes_the_connection_by_its_header_alone() -> None:
    # Only the head of a 10 MB frame is sent: it is refused before its payload arrives.
    head = struct.pack("!BBQ", 0x81, 127, 10_000_000)
    assert await refused(frame(SHORT) + head + b"x" * 100, max_size=1000) == (
        [SHORT],
        CloseCode.MESSAGE_TOO_BIG,
    )


async def test_a_short_frame_over_max_size_is_refused_too() -> None:
    sent = frame(b"0123456789") + frame(b"0123456789!")
    assert await refused(sent, max_size=10) == ([b"0123456789"], CloseCode.MESSAGE_TOO_BIG)


async def test_a_text_frame_inside_a_fragmented_message_fails_the_connection() -> None:
    sent = frame(b"ab", fin=False) + frame(SHORT)
    assert await refused(sent) == ([], CloseCode.PROTOCOL_ERROR)


async def test_a_close_frame_ends_the_connection_with_its_code_after_the_messages_before_it() -> (
    None
):
    server = RawServer()
    async with socket_to(server) as (socket, messages):
        socket.listen(messages.append)
        close = frame(struct.pack("!H", 4200) + b"restarting", CLOSE)
        server.write(frame(SHORT) + close + frame(MEDIUM))
        await wait_for(lambda: bool(server.received))  # the close is answered
        await server.stop()
        await asyncio.wait_for(socket.wait_closed(), 5)
        assert messages == [SHORT]
        assert socket.close_exc.rcvd is not None
        assert socket.close_exc.rcvd.code == 4200
        assert socket.close_exc.rcvd.reason == "restarting"


# -- the same messages as websockets' own reader, for any frames cut anywhere -----------------

_CONTROL = st.tuples(st.sampled_from([PING, PONG]), st.binary(max_size=125))


@st.composite
def _stream(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """Server frames as bytes: whole and fragmented messages, text and binary, with control
    frames between them and between the fragments; and the messages they carry."""
    frames: list[bytes] = []
    messages: list[bytes] = []
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            kind, payload = draw(_CONTROL)
            frames.append(frame(payload, kind))
        # Mostly short and 16-bit lengths; now and then the edges and a 64-bit one.
        if draw(st.integers(0, 3)) == 0:
            size = draw(st.sampled_from([0, 1, 125, 126, 256, 1_000, 65_535, 65_536]))
            payload = b"y" * size
        else:
            payload = draw(st.binary(max_size=400))
        opcode = draw(st.sampled_from([TEXT, BINARY]))
        parts = draw(st.integers(1, 3))
        if parts == 1 or len(payload) < parts:
            frames.append(frame(payload, opcode))
        else:
            step = len(payload) // parts
            pieces = [payload[i * step : (i + 1) * step] for i in range(parts - 1)]
            pieces.append(payload[(parts - 1) * step :])
            for index, piece in enumerate(pieces):
                last = index == parts - 1
                frames.append(frame(piece, opcode if index == 0 else CONT, fin=last))
                if not last and draw(st.booleans()):
                    kind, extra = draw(_CONTROL)
                    frames.append(frame(extra, kind))
        messages.append(payload)
    return b"".join(frames), messages


def _websockets_reads(stream: bytes) -> list[bytes]:
    """The messages `websockets`' own protocol reads from `stream` (the reference)."""
    reader = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=None)
    reader.receive_data(stream)
    messages: list[bytes] = []
    parts: list[bytes] = []
    for event in reader.events_received():
        assert isinstance(event, Frame)
        if event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT):
            parts.append(bytes(event.data))
            if event.fin:
                messages.append(b"".join(parts))
                parts = []
    return messages


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=_stream(), cuts=st.lists(st.integers(0, 200_000), max_size=12))
def test_any_frames_cut_anywhere_arrive_as_websockets_reads_them(
    stream: tuple[bytes, list[bytes]], cuts: list[int]
) -> None:
    data, expected = stream
    assert _websockets_reads(data) == expected
    points = sorted({0, len(data), *(cut % (len(data) + 1) for cut in cuts)})

    async def read() -> list[bytes]:
        server = RawServer()
        async with socket_to(server, max_size=None) as (socket, messages):
            socket.listen(messages.append)
            for start, stop in itertools.pairwise(points):
                socket.data_received(data[start:stop])
            return messages

    assert asyncio.run(read()) == expected
