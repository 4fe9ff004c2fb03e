"""The one place kickwatch talks to Apprise: URL validation, sending, and its log lines kept clean.

Apprise writes target URLs into its own log lines ("Could not load Discord URL: discord://...",
the JSON plugin's "POST URL"), so a filter on the `apprise` logger rewrites every record before
any handler sees it: each URL masked, each fragment of a known target URL replaced by `****`.
While kickwatch validates or sends, the warnings Apprise logs for that call are captured instead
(they become the reason kickwatch reports, already redacted). `send` blocks (Apprise's `notify`
does network I/O): callers run it on a worker thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import warnings
from collections.abc import Callable, Iterator

import apprise

from kickwatch.alerts.message import AlertKind, AlertMessage
from kickwatch.alerts.urls import mask_target_url, redact, secret_parts
from kickwatch.domain.errors import ValidationError

APPRISE_LOGGER = "apprise"
SERVICES_HELP = "https://github.com/caronc/apprise/wiki"


class TargetUrlError(ValidationError):
    """A target URL Apprise cannot use; the message shows it masked."""

    def __init__(self, rule: str) -> None:
        super().__init__("target URL", rule)


class _LogGuard(logging.Filter):
    """Redacts Apprise's log records; captures those of a call that asked (module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: list[str] = []
        # A context variable, not the thread: Apprise may log from its own worker threads, which
        # run in a copy of the caller's context.
        self._capture: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
            "kickwatch_apprise_capture", default=None
        )

    def protect(self, url: str) -> None:
        """Redact the fragments of `url` from every later record."""
        parts = secret_parts(url)
        with self._lock:
            merged = set(self._secrets) | set(parts)
            self._secrets = sorted(merged, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """`text` with every known secret and every URL masked."""
        with self._lock:
            secrets = self._secrets
        return redact(text, secrets)

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[str]]:
        """Collect (instead of logging) what Apprise warns about on this thread."""
        said: list[str] = []
        token = self._capture.set(said)
        try:
            yield said
        finally:
            self._capture.reset(token)

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record, self.redact)
        said = self._capture.get()
        if said is not None:
            if record.levelno >= logging.WARNING:
                said.append(record.msg)
            return False
        return True


class _RedactOnly(logging.Filter):
    """Redacts the records of the HTTP libraries Apprise sends with (urllib3 logs the path it
    posts to, where many services keep their token); nothing is captured or dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact_record(record, GUARD.redact)
        return True


def _redact_record(record: logging.LogRecord, redact: Callable[[str], str]) -> None:
    """Replace the record's text by its redacted form, formatted once; its arguments and any
    traceback (which could quote a URL) are dropped."""
    try:
        text = record.getMessage()
    except Exception:  # a record that cannot be formatted says nothing
        text = str(record.msg)
    record.msg = redact(text)
    record.args = None
    record.exc_info = None
    record.exc_text = None


GUARD = _LogGuard()
_TRANSPORT_GUARD = _RedactOnly()
# Libraries whose log lines may carry what a target URL holds.
TRANSPORT_LOGGERS = ("urllib3", "requests", "httpx", "httpcore")
logging.getLogger(APPRISE_LOGGER).addFilter(GUARD)


def _guard_transport_loggers() -> None:
    """Put the redacting filter on every logger of the HTTP libraries (a filter on a logger does
    not apply to its children, so each one that exists is named)."""
    names = [
        name
        for name in list(logging.root.manager.loggerDict)
        if name.split(".")[0] in TRANSPORT_LOGGERS
    ]
    for name in names:
        logger = logging.getLogger(name)
        if _TRANSPORT_GUARD not in logger.filters:
            logger.addFilter(_TRANSPORT_GUARD)


_loaded = threading.Lock()


def _load_plugins() -> None:
    """Load Apprise's plugins once (they are found by listing its plugins folder), and guard
    the loggers of the HTTP libraries they use.

    Its e-mail plugin imports `imghdr` for PGP support, deprecated since Python 3.11: a warning
    kickwatch can do nothing about, kept out of the log (and out of tests, where warnings fail).
    """
    with _loaded:
        manager = apprise.apprise.N_MGR
        if not manager:
            with warnings.catch_warnings():
                warnings.filterwarnings(
                    "ignore", message="'imghdr' is deprecated", category=DeprecationWarning
                )
                manager.load_modules()  # type: ignore[no-untyped-call]
        _guard_transport_loggers()  # every time: a plugin may have imported more of them


def _asset(avatar_url: str | None = None) -> apprise.AppriseAsset:
    """Apprise's settings for one message: kickwatch's name, the avatar as the image (for the
    services that show one), and nothing ever written to disk."""
    return apprise.AppriseAsset(
        app_id="kickwatch",
        app_desc="kickwatch",
        app_url="https://kick.com",
        image_url_mask=avatar_url or "",
        image_url_logo=avatar_url or "",
        storage_mode="memory",
        async_mode=False,  # notify on the calling thread, the one that owns the send
    )


def known_schemes() -> set[str]:
    """Every URL scheme this Apprise can send to."""
    _load_plugins()
    schemas: list[str] = apprise.apprise.N_MGR.schemas()  # type: ignore[no-untyped-call]
    return {str(scheme).lower() for scheme in schemas}


def check_url(url: str) -> str:
    """`url` stripped, once Apprise accepts it; TargetUrlError (masked) otherwise."""
    text = url.strip()
    if not text:
        raise TargetUrlError("is empty")
    GUARD.protect(text)
    shown = mask_target_url(text)
    if "://" not in text:
        raise TargetUrlError(
            f"{shown} is not a URL: an Apprise URL looks like discord://webhook_id/token, "
            f"ntfy://topic or tgram://bot_token/chat_id (every service: {SERVICES_HELP})"
        )
    scheme = text.split("://", 1)[0].lower()
    if scheme not in known_schemes():
        raise TargetUrlError(
            f"unknown scheme {scheme}:// (Apprise knows no such service; every service and "
            f"its URL: {SERVICES_HELP})"
        )
    with GUARD.capture() as said:
        plugin = apprise.Apprise.instantiate(text, asset=_asset())
    if plugin is None:
        reason = f": {said[0]}" if said else ""
        raise TargetUrlError(f"{shown} is not a valid {scheme}:// URL{reason}")
    return text


def send(url: str, message: AlertMessage) -> str | None:
    """Send `message` to `url` (blocking); None when it was accepted, else why not (redacted)."""
    _load_plugins()
    GUARD.protect(url)
    with GUARD.capture() as said:
        notifier = apprise.Apprise(asset=_asset(message.avatar_url))
        if not notifier.add(url):
            return "the target URL is no longer accepted by Apprise"
        try:
            accepted = notifier.notify(
                title=message.title,
                body=message.body,
                body_format=apprise.NotifyFormat.TEXT,
                notify_type=(
                    apprise.NotifyType.SUCCESS
                    if message.kind is AlertKind.START
                    else apprise.NotifyType.INFO
                ),
            )
        except Exception as exc:  # a plugin bug must not end the worker thread
            return GUARD.redact(f"{type(exc).__name__}: {exc}")
    if accepted:
        return None
    return said[-1] if said else "the service did not accept the message"
