"""The notifier wrapper (mapping to desktop-notifier, body escaping where the server reads markup),
the recording fake and the avatar cache."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from kickwatch.platform.notifier import (
    DBusBodyMarkupProbe,
    DesktopNotifierBackend,
    Notification,
    NotificationButton,
    NullNotifier,
    RecordingNotifier,
    escape_body_markup,
)
from kickwatch.ui.avatars import AvatarCache


class CapturingNative:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send_notification(self, notification: Any) -> str:
        self.sent.append(notification)
        return "native-1"


def backend_with(native: CapturingNative, *, markup: bool) -> DesktopNotifierBackend:
    """A backend whose server does (or does not) read the body as markup."""

    async def reads_markup() -> bool:
        return markup

    backend = DesktopNotifierBackend("kickwatch", body_markup=reads_markup)
    backend._notifier = native  # type: ignore[assignment]
    return backend


def test_notifications_map_to_desktop_notifier(tmp_path: Path) -> None:
    native = CapturingNative()
    backend = backend_with(native, markup=True)
    pressed: list[str] = []
    icon = tmp_path / "avatar.png"
    note = Notification(
        "Alice is live",
        "Speedruns · Retro",
        icon=icon,
        buttons=(NotificationButton("Open", lambda: pressed.append("open")),),
        on_clicked=lambda: pressed.append("click"),
        sound=True,
    )
    assert asyncio.run(backend.notify(note)) == "native-1"
    [sent] = native.sent
    assert (sent.title, sent.message) == ("Alice is live", "Speedruns · Retro")
    assert sent.icon.path == icon
    assert sent.sound is not None
    [button] = sent.buttons
    assert button.title == "Open"
    button.on_pressed()
    sent.on_clicked()
    assert pressed == ["open", "click"]


def test_an_url_icon_and_no_sound(tmp_path: Path) -> None:
    native = CapturingNative()
    backend = backend_with(native, markup=True)
    asyncio.run(backend.notify(Notification("x", icon="https://files.kick.com/a.webp")))
    assert native.sent[0].icon.uri == "https://files.kick.com/a.webp"
    assert native.sent[0].sound is None


def test_a_failing_action_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    native = CapturingNative()
    backend = backend_with(native, markup=True)

    def broken() -> None:
        raise RuntimeError("boom")

    asyncio.run(backend.notify(Notification("x", on_clicked=broken)))
    native.sent[0].on_clicked()
    assert "notification action failed" in caplog.text


def test_recording_and_null_notifiers() -> None:
    recorder = RecordingNotifier()
    asyncio.run(recorder.notify(Notification("one", buttons=(NotificationButton("Mute", print),))))
    assert recorder.titles == ["one"]
    with pytest.raises(LookupError):
        recorder.press("Open")
    assert asyncio.run(NullNotifier().notify(Notification("nothing"))) == ""


def avatar_transport(requests: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        requests.append(str(request.url))
        if request.url.path.endswith(".png"):
            return httpx.Response(
                200, content=b"\x89PNG fake", headers={"content-type": "image/png"}
            )
        if request.url.path.endswith(".html"):
            return httpx.Response(200, text="<html>", headers={"content-type": "text/html"})
        return httpx.Response(404)

    return httpx.MockTransport(handle)


def test_avatars_are_downloaded_once_and_fall_back_to_the_app_icon(tmp_path: Path) -> None:
    requests: list[str] = []
    fallback = tmp_path / "app.svg"

    async def scenario() -> list[Path | None]:
        async with httpx.AsyncClient(transport=avatar_transport(requests)) as http:
            cache = AvatarCache(http, tmp_path / "avatars", fallback)
            first, second = await asyncio.gather(
                cache.path_for("https://files.kick.com/a.png"),
                cache.path_for("https://files.kick.com/a.png"),
            )
            again = await cache.path_for("https://files.kick.com/a.png")
            missing = await cache.path_for("https://files.kick.com/gone.png.404")
            not_image = await cache.path_for("https://files.kick.com/page.html")
            none = await cache.path_for(None)
            return [first, second, again, missing, not_image, none]

    first, second, again, missing, not_image, none = asyncio.run(scenario())
    assert first == second == again
    assert first is not None and first.read_bytes() == b"\x89PNG fake"
    assert requests.count("https://files.kick.com/a.png") == 1
    assert missing == not_image == none == fallback


HOSTILE = '<b>x</b> <a href="http://127.0.0.1:1/">y</a> <img src="file:///etc/passwd">'


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        (
            HOSTILE,
            '&lt;b&gt;x&lt;/b&gt; &lt;a href="http://127.0.0.1:1/"&gt;y&lt;/a&gt; '
            '&lt;img src="file:///etc/passwd"&gt;',
        ),
        ("Fish & chips <3", "Fish &amp; chips &lt;3"),
        ("already &amp; escaped", "already &amp;amp; escaped"),
        ("plain · text 'quoted'", "plain · text 'quoted'"),
    ],
)
def test_body_markup_is_escaped_once(text: str, escaped: str) -> None:
    assert escape_body_markup(text) == escaped


def test_the_body_is_escaped_for_a_server_that_reads_markup_and_the_summary_never() -> None:
    native = CapturingNative()
    backend = backend_with(native, markup=True)
    asyncio.run(backend.notify(Notification("Tom & <Jerry> is live", HOSTILE + " & <3")))
    [sent] = native.sent
    assert sent.title == "Tom & <Jerry> is live"  # plain text by the specification
    assert sent.message == escape_body_markup(HOSTILE + " & <3")
    assert "<" not in sent.message


def test_a_server_without_body_markup_gets_the_plain_text() -> None:
    native = CapturingNative()
    backend = backend_with(native, markup=False)
    asyncio.run(backend.notify(Notification("Alice is live", "Fish & chips <3")))
    assert native.sent[0].message == "Fish & chips <3"


def test_plain_text_backends_keep_the_text_as_it_is() -> None:
    recorder = RecordingNotifier()
    asyncio.run(recorder.notify(Notification("A & B", "Fish & chips <3")))
    assert (recorder.sent[0].title, recorder.sent[0].body) == ("A & B", "Fish & chips <3")


def test_an_unanswered_capability_question_means_escaping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No session bus at all: the probe cannot ask, and the safe answer is "markup".
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/kickwatch-test-bus")
    probe = DBusBodyMarkupProbe()
    try:
        assert asyncio.run(probe()) is True
    finally:
        probe.close()
