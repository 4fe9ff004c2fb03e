"""How a Pusher connection attempt or session ended, in words for the user.

`Outcome` carries the close or error code, the reason shown to the user, whether the session got
`connection_established` (the connection broke, rather than the attempt failing) and whether it
was healthy. `failed_attempt` maps what the WebSocket library raises to an `Outcome` (None for
anything unexpected, which the caller logs as a bug), and `closed_while_reading` words a close
seen by the receive loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import CloseCode

from kickwatch.kick import protocol
from kickwatch.kick.protocol import CloseAction


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a session ended (see the module)."""

    code: int | None
    reason: str
    established: bool = False
    healthy: bool = False
    action: CloseAction | None = None  # overrides classify_close(code)

    @property
    def what_next(self) -> CloseAction:
        """What the client does now."""
        return self.action or protocol.classify_close(self.code)


def failed_attempt(exc: Exception) -> Outcome | None:
    """The outcome of an attempt that raised `exc`; None when `exc` is no network trouble."""
    if isinstance(exc, InvalidURI):
        return Outcome(
            None,
            "the Pusher URL is not a ws:// or wss:// URL: fix KICKWATCH_PUSHER_URL/"
            "monitoring.pusher_url",
            action=CloseAction.FATAL,
        )
    if isinstance(exc, InvalidStatus):
        return Outcome(None, f"Pusher refused the connection (HTTP {exc.response.status_code})")
    if isinstance(exc, ConnectionClosed):
        code = exc.rcvd.code if exc.rcvd is not None else None
        reason = exc.rcvd.reason if exc.rcvd is not None else ""
        return Outcome(code, protocol.close_reason(code, reason))
    if isinstance(exc, OSError | TimeoutError | InvalidHandshake):
        return Outcome(None, f"cannot reach Kick's Pusher ({type(exc).__name__})")
    return None


def too_big(exc: ConnectionClosed) -> bool:
    """Whether the client closed the socket over a frame beyond its `max_size`."""
    return exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG


def closed_while_reading(exc: ConnectionClosed, max_size: int) -> tuple[int | None, str]:
    """The code and words for a socket that closed while the client was reading."""
    if too_big(exc):
        return CloseCode.MESSAGE_TOO_BIG, (
            f"Pusher sent a frame of more than {max_size} bytes, which closes the connection"
        )
    code = exc.rcvd.code if exc.rcvd is not None else None
    reason = exc.rcvd.reason if exc.rcvd is not None else ""
    return code, protocol.close_reason(code, reason)
