"""A streamer's title is shown as the characters it is, by a real dunst, whatever its markup mode.

dunst runs on a private desktop (Xvfb and a session bus, no panel needed) with `markup = full`,
where the notification body is Pango markup and `<b>`, `<a href>` and `<img>` would be drawn,
and with `markup = no`, where dunst announces no `body-markup` and escapes the body itself.
kickwatch's notifier sends over that bus; `dunstctl history` gives back both what arrived and
`message`, the markup dunst drew, from which the visible text is read as Pango reads it.
Skips when a tool is missing, fails instead under `KICKWATCH_TEST_STRICT=1`.
"""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

import pytest

from kickwatch.platform.notifier import DBusBodyMarkupProbe, Notification, notifier_for_platform
from tests.desktop.session import (
    VirtualDesktop,
    started_desktop,
    wait_until,
)

pytestmark = pytest.mark.desktop

HOSTILE_TITLE = '<b>x</b> <a href="http://127.0.0.1:1/">y</a> <img src="file:///etc/hostname">'
PLAIN_TITLE = "Fish & chips <3 &amp; more"
NAME = "Tom & <Jerry>"


@pytest.fixture(scope="module", params=["full", "no"])
def desktop(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[VirtualDesktop]:
    folder = tmp_path_factory.mktemp("markup")
    with started_desktop(folder, panel=False, dunst_markup=request.param) as session:
        yield session


def shown_text(message: str) -> tuple[str, list[str]]:
    """The text Pango draws for `message`, and the tags it would apply."""
    root = ElementTree.fromstring(f"<markup>{message}</markup>")
    return "".join(root.itertext()), [element.tag for element in root.iter()][1:]


def send_and_read_back(
    desktop: VirtualDesktop, monkeypatch: pytest.MonkeyPatch, title: str, body: str
) -> dict[str, str]:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address)
    desktop.dunst("history-clear")

    async def send() -> None:
        notifier = notifier_for_platform("kickwatch")
        try:
            assert await notifier.notify(Notification(title, body)) != ""
        finally:
            await notifier.close()

    asyncio.run(send())
    wait_until(lambda: int(desktop.dunst("count", "displayed") or 0) >= 1, 15, "dunst to show it")
    desktop.dunst("close-all")
    wait_until(
        lambda: any(n["summary"] == title for n in desktop.notification_history()),
        15,
        "the notification in dunst's history",
    )
    [shown] = [n for n in desktop.notification_history() if n["summary"] == title]
    return shown


def test_the_probe_reads_dunsts_markup_mode(
    desktop: VirtualDesktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", desktop.bus_address)
    probe = DBusBodyMarkupProbe()

    async def ask() -> bool:
        try:
            return await probe()
        finally:
            probe.close()

    assert asyncio.run(ask()) is (desktop.dunst_markup != "no")


def test_a_hostile_title_is_shown_as_literal_text(
    desktop: VirtualDesktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = f"{NAME} is live"
    body = f"{HOSTILE_TITLE} · Just Chatting"
    shown = send_and_read_back(desktop, monkeypatch, title, body)
    text, tags = shown_text(shown["message"])
    # dunst's format is "<b>%s</b>\n%b": the bold summary is the only markup drawn.
    assert tags == ["b"]
    assert text == f"{title}\n{body}"
    assert "[image]" not in shown["message"]


def test_a_plain_title_with_ampersands_is_neither_mangled_nor_escaped_twice(
    desktop: VirtualDesktop, monkeypatch: pytest.MonkeyPatch
) -> None:
    title = "Bob is live"
    shown = send_and_read_back(desktop, monkeypatch, title, PLAIN_TITLE)
    text, tags = shown_text(shown["message"])
    assert tags == ["b"]
    assert text == f"{title}\n{PLAIN_TITLE}"
