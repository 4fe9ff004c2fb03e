"""Errors a user can cause or meet, each with a message a person understands.

A `KickwatchError` is a known condition (bad input, unreachable service, locked database); the
command line and the GUI show its message and never a traceback. Anything else is a bug.
"""


class KickwatchError(Exception):
    """Base of every error kickwatch reports to a person by its message alone."""


class ValidationError(KickwatchError, ValueError):
    """A value breaks a rule of the data model; the message names the field and the rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class NotFoundError(KickwatchError, LookupError):
    """A streamer, configuration key or other record that was asked for does not exist."""


class AlreadyExistsError(KickwatchError):
    """A record that must be unique exists already."""


class ConfigurationError(KickwatchError):
    """The configuration or its encryption key cannot be used as it is."""


class DatabaseUnavailableError(KickwatchError):
    """The database cannot be reached or is locked; the operation may succeed later."""
