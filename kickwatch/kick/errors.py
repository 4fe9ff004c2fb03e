"""Errors of talking to Kick, each with a message a person can act on.

They are `KickwatchError`s, so the CLI and GUI show their message and never a traceback.
Messages never contain a client secret or an access token: callers build them from status
codes and fixed sentences only.
"""

from __future__ import annotations

from kickwatch.domain.errors import KickwatchError, NotFoundError

BLOCKED_MESSAGE = (
    "Kick blocked this lookup (HTTP 403). Add Kick API credentials "
    "(kickwatch config set auth.client_id … / auth.client_secret …) "
    "or give --user-id/--channel-id by hand."
)


class KickBlockedError(KickwatchError):
    """Kick (usually Cloudflare in front of kick.com/api) answered 403: the lookup is blocked."""

    def __init__(self, message: str = BLOCKED_MESSAGE) -> None:
        super().__init__(message)


class ChannelNotFoundError(NotFoundError):
    """No Kick channel has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no Kick channel named {name}")
        self.name = name


class KickAuthError(KickwatchError):
    """Kick rejected the API client id/secret, even after fetching a fresh token."""

    def __init__(
        self,
        message: str = (
            "Kick rejected the API credentials: check auth.client_id and auth.client_secret "
            "(create an app at kick.com → Settings → Developer)."
        ),
    ) -> None:
        super().__init__(message)


class KickUnavailableError(KickwatchError):
    """Kick did not answer usefully: timeouts, server errors or rate limits after retries."""


class KickAnswerError(KickUnavailableError):
    """Kick answered, but with something kickwatch cannot read: not JSON, nested too deeply, or
    without the ids it needs. One such answer fails only the lookup that asked for it."""
