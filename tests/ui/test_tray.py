"""The tray: icon state, badge, tooltip and menu contents, from the view-model to the QMenu."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMenu

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.status import Status
from kickwatch.monitor.events import ConnectionState, ConnectionStateChanged
from kickwatch.resources import TrayState, tray_icon_path
from kickwatch.ui.tray import IconCache, TrayIcon, TrayMenu, render_icon
from kickwatch.ui.tray_model import (
    TOP_LEVEL_LIVE,
    TrayViewModel,
    format_countdown,
    format_moment,
    format_uptime,
    format_viewers,
    live_entry,
    pause_until_tomorrow,
)
from tests.policy.factories import T0, streamer


def live(n: int) -> list[StreamerRecord]:
    return [
        replace(
            streamer(i, f"s{i:03d}"),
            current_viewers=1500 + i,
            current_broadcast_started_at=T0 - timedelta(minutes=65),
        )
        for i in range(1, n + 1)
    ]


def model(streamers: list[StreamerRecord] | None = None) -> TrayViewModel:
    current = streamers or []
    return TrayViewModel(lambda: current, UTC)


def checked(m: TrayViewModel, at: datetime = T0) -> TrayViewModel:
    """`m` after a successful check at `at` while connected."""
    m.connection_state = ConnectionState.CONNECTED
    m.check_completed(at)
    return m


def watching(statuses: list[Status]) -> TrayViewModel:
    """A view-model over streamers in these statuses, none of them live."""
    everyone = [replace(streamer(i, f"s{i}"), status=s) for i, s in enumerate(statuses, 1)]
    return TrayViewModel(lambda: [], UTC, lambda: everyone)


# -- view-model -----------------------------------------------------------------------------


def test_nobody_live_is_idle() -> None:
    m = checked(model())
    assert m.icon_state(T0) is TrayState.IDLE
    assert m.tooltip(T0).splitlines()[0] == "kickwatch — nobody live"


def test_before_any_successful_check_nobody_live_is_status_unknown() -> None:
    m = watching([Status.OFFLINE, Status.OFFLINE])
    m.connection_state = ConnectionState.CONNECTED
    assert m.tooltip(T0).splitlines()[0] == "kickwatch — status unknown"
    assert "Not checked yet" in m.tooltip(T0)
    m.check_failed(T0, "Kick answered 503")
    assert m.headline(0) == "status unknown"
    m.check_completed(T0 + timedelta(minutes=1))
    assert m.headline(0) == "nobody live"


def test_disconnected_with_never_seen_streamers_is_status_unknown() -> None:
    m = checked(watching([Status.OFFLINE, Status.UNKNOWN]))
    assert m.headline(0) == "nobody live"  # connected: pushes would tell
    m.connection_state = ConnectionState.RECONNECTING
    assert m.headline(0) == "status unknown"
    assert m.placeholder() == "Status unknown while Kick is unreachable."
    known = checked(watching([Status.OFFLINE, Status.OFFLINE]))
    known.connection_state = ConnectionState.RECONNECTING
    assert known.headline(0) == "nobody live"


def test_without_streamers_the_tray_says_so() -> None:
    m = checked(watching([]))
    assert m.tooltip(T0).splitlines()[0] == "kickwatch — no streamers to watch"
    assert m.menu_header(0) == "No streamers to watch"


def test_an_outage_says_since_when_and_when_the_next_attempt_is() -> None:
    zone = timezone(timedelta(hours=-2))  # T0 is 12:00 UTC, 10:00 here
    m = TrayViewModel(lambda: [], zone)
    m.check_completed(T0 + timedelta(minutes=1))
    m.connection_changed(
        ConnectionStateChanged(
            ConnectionState.RECONNECTING,
            "cannot reach Kick's Pusher (OSError); reconnecting in 12.0 s",
            since=T0 + timedelta(minutes=2),
            retry_at=T0 + timedelta(minutes=2, seconds=12),
        )
    )
    now = T0 + timedelta(minutes=2)
    assert m.status_line(now) == "Kick unreachable since 10:02, retrying in 12 s"
    assert m.status_line(now + timedelta(seconds=0.5)).endswith("retrying in 12 s")
    assert m.status_line(now + timedelta(seconds=11.5)).endswith("retrying in 1 s")
    assert m.status_line(now + timedelta(seconds=12)).endswith("retrying now")
    assert m.tooltip(now + timedelta(seconds=3)).splitlines()[1:] == [
        "Kick unreachable since 10:02, retrying in 9 s",
        "Last checked 10:01",
    ]
    assert m.icon_state(now) is TrayState.DEGRADED


def test_a_countdown_ticks_when_its_text_changes_and_only_while_it_runs() -> None:
    m = checked(model())
    assert m.next_tick(T0) is None
    m.connection_changed(
        ConnectionStateChanged(
            ConnectionState.RECONNECTING, since=T0, retry_at=T0 + timedelta(seconds=12.25)
        )
    )
    assert m.next_tick(T0) == 0.25
    assert m.next_tick(T0 + timedelta(seconds=0.25)) == 1.0
    assert m.next_tick(T0 + timedelta(seconds=12.25)) is None  # "retrying now"
    m.connection_changed(ConnectionStateChanged(ConnectionState.CONNECTED, since=T0))
    assert m.next_tick(T0) is None


def test_a_failed_check_says_when_and_that_it_failed() -> None:
    m = checked(model(), T0.replace(minute=1))
    assert m.check_lines(T0) == ["Last checked 12:01"]
    m.check_failed(T0.replace(minute=5), "Kick answered 503")
    assert m.check_lines(T0) == [
        "Last checked 12:05: failed (Kick answered 503)",
        "Last successful check 12:01",
    ]
    assert "Last checked 12:05: failed" in m.tooltip(T0)
    assert m.problem_lines(T0)[-2:] == m.check_lines(T0)
    m.check_completed(T0.replace(minute=7))
    assert m.check_lines(T0) == ["Last checked 12:07"]
    assert m.problem_lines(T0) == []


def test_times_from_another_day_carry_their_date() -> None:
    assert format_moment(T0, T0 + timedelta(hours=1), UTC) == "12:00"
    assert format_moment(T0, T0 + timedelta(days=1), UTC) == "2026-03-02 12:00"
    assert format_countdown(0.2) == "1 s"
    assert format_countdown(58.5) == "59 s"
    assert format_countdown(59.5) == "1 min"
    assert format_countdown(65) == "1 min 5 s"
    assert format_countdown(120) == "2 min"


def test_live_state_with_count_badge() -> None:
    m = model(live(3))
    assert m.icon_state(T0) is TrayState.LIVE
    assert m.badge(3) == "3"
    assert m.badge(150) == "99+"
    assert m.badge(0) == ""


def test_reconnecting_rate_limited_and_database_trouble_are_degraded() -> None:
    m = model(live(2))
    for state in (ConnectionState.RECONNECTING, ConnectionState.RATE_LIMITED):
        m.connection_state = state
        assert m.icon_state(T0) is TrayState.DEGRADED
    m.connection_state = ConnectionState.CONNECTED
    m.database_problem = "database is locked"
    assert m.icon_state(T0) is TrayState.DEGRADED
    assert "Database unavailable: database is locked" in m.tooltip(T0)


def test_a_fatal_error_shows_the_error_icon() -> None:
    m = checked(model(live(2)))
    m.connection_state = ConnectionState.STOPPED
    assert m.icon_state(T0) is TrayState.ERROR
    m.connection_state = ConnectionState.CONNECTED
    m.fatal_error = "credentials rejected"
    assert m.icon_state(T0) is TrayState.ERROR
    assert "Stopped: credentials rejected" in m.tooltip(T0)


def test_pause_shows_the_paused_icon_until_it_ends() -> None:
    m = model(live(1))
    m.paused_until = T0 + timedelta(minutes=15)
    assert m.icon_state(T0) is TrayState.PAUSED
    assert "Notifications paused until 12:15" in m.tooltip(T0)
    assert m.icon_state(T0 + timedelta(minutes=15)) is TrayState.LIVE


def test_tooltip_has_count_state_and_last_check() -> None:
    m = checked(model(live(2)), T0.replace(hour=11, minute=58))
    assert m.tooltip(T0) == "kickwatch — 2 live\nConnected\nLast checked 11:58"
    assert m.tooltip(T0, 0).splitlines()[0] == "kickwatch — nobody live"


def test_live_entry_shows_name_category_viewers_uptime_and_title() -> None:
    [record] = live(1)
    entry = live_entry(record, T0)
    assert entry.text == "S001 · Just Chatting · 1.5k viewers · 1h 05m — Morning stream"
    assert entry.url == "https://kick.com/s001"
    assert entry.tooltip == "Morning stream"


def test_ampersands_are_escaped_for_menus() -> None:
    record = replace(streamer(1, "a"), current_title="Q&A", current_category=None)
    assert live_entry(record, T0).text == "A — Q&&A"


def test_number_and_time_formats() -> None:
    assert format_viewers(None) == ""
    assert format_viewers(1) == "1 viewer"
    assert format_viewers(999) == "999 viewers"
    assert format_uptime(T0 - timedelta(minutes=7), T0) == "7m"
    assert format_uptime(None, T0) == ""


def test_pause_until_tomorrow_is_six_in_the_morning_local_time() -> None:
    zone = timezone(timedelta(hours=-5))
    until = pause_until_tomorrow(datetime(2026, 3, 2, 23, 30, tzinfo=zone), zone)
    assert until == datetime(2026, 3, 3, 6, 0, tzinfo=zone)


# -- Qt rendering ---------------------------------------------------------------------------


def test_icons_render_from_every_svg_with_a_badge(qapp: Any) -> None:
    for state in TrayState:
        assert not render_icon(tray_icon_path(state), "").isNull()
    badged = render_icon(tray_icon_path(TrayState.LIVE), "7", 64).toImage()
    plain = render_icon(tray_icon_path(TrayState.LIVE), "", 64).toImage()
    assert QColor(badged.pixel(50, 58)) != QColor(plain.pixel(50, 58))
    cache = IconCache()
    assert cache.icon(TrayState.LIVE, "3") is cache.icon(TrayState.LIVE, "3")


def texts(menu: QMenu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_menu_lists_live_streamers_then_commands(qapp: Any) -> None:
    menu = TrayMenu(checked(model(live(2))), lambda: T0)
    menu.rebuild()
    items = texts(menu)
    assert items[0] == "Live now (2)"
    assert items[1].startswith("S001 · Just Chatting")
    assert items[2].startswith("S002")
    assert items[3:] == ["Pause notifications", "Settings…", "History…", "Quit"]
    pause = next(a.menu() for a in menu.actions() if a.text() == "Pause notifications")
    assert texts(pause) == ["For 15 minutes", "For 1 hour", "Until tomorrow"]


def test_menu_when_nobody_is_live(qapp: Any) -> None:
    menu = TrayMenu(checked(model()), lambda: T0)
    menu.rebuild()
    assert texts(menu)[0] == "Nobody is live"
    assert not menu.actions()[0].isEnabled()


def test_menu_says_status_unknown_and_what_is_wrong(qapp: Any) -> None:
    now = [T0]
    m = model()
    m.check_failed(T0 - timedelta(minutes=1), "Kick answered 503")
    m.connection_changed(
        ConnectionStateChanged(
            ConnectionState.RECONNECTING, since=T0, retry_at=T0 + timedelta(seconds=30)
        )
    )
    menu = TrayMenu(m, lambda: now[0])
    menu.rebuild()
    assert texts(menu)[:3] == [
        "Status unknown",
        "Kick unreachable since 12:00, retrying in 30 s",
        "Last checked 11:59: failed (Kick answered 503)",
    ]
    entries = [a for a in menu.actions() if not a.isSeparator()]
    assert not any(a.isEnabled() for a in entries[:3])
    status = entries[1]
    now[0] = T0 + timedelta(seconds=10)
    menu.refresh_status()  # the open menu's entry is updated in place
    assert status.text() == "Kick unreachable since 12:00, retrying in 20 s"
    assert status in menu.actions()
    m.connection_changed(ConnectionStateChanged(ConnectionState.CONNECTED, since=now[0]))
    m.check_completed(now[0])
    menu.refresh_status()
    assert texts(menu)[:2] == ["Nobody is live", "Pause notifications"]


def test_choosing_a_live_streamer_asks_to_open_its_stream(qtbot: Any) -> None:
    menu = TrayMenu(model(live(1)), lambda: T0)
    menu.rebuild()
    with qtbot.waitSignal(menu.stream_open_requested) as blocker:
        menu.actions()[1].trigger()
    assert blocker.args == ["https://kick.com/s001"]


def test_menu_commands_emit_their_signals(qtbot: Any) -> None:
    menu = TrayMenu(model(), lambda: T0)
    menu.rebuild()
    actions = {a.text(): a for a in menu.actions()}
    for label, signal in (
        ("Settings…", menu.settings_requested),
        ("History…", menu.history_requested),
        ("Quit", menu.quit_requested),
    ):
        with qtbot.waitSignal(signal):
            actions[label].trigger()
    pause = actions["Pause notifications"].menu()
    with qtbot.waitSignal(menu.pause_requested) as blocker:
        pause.actions()[1].trigger()
    assert blocker.args == [T0 + timedelta(hours=1)]


def test_paused_menu_offers_resume(qtbot: Any) -> None:
    m = model()
    m.paused_until = T0 + timedelta(hours=1)
    menu = TrayMenu(m, lambda: T0)
    menu.rebuild()
    [resume] = [a for a in menu.actions() if a.text().startswith("Resume")]
    assert resume.text() == "Resume notifications (paused until 13:00)"
    with qtbot.waitSignal(menu.pause_requested) as blocker:
        resume.trigger()
    assert blocker.args == [None]


def test_many_live_streamers_overflow_into_a_lazy_submenu(qapp: Any) -> None:
    menu = TrayMenu(model(live(200)), lambda: T0)
    started = time.perf_counter()
    menu.aboutToShow.emit()
    elapsed = time.perf_counter() - started
    items = texts(menu)
    assert items[0] == "Live now (200)"
    assert len([t for t in items if t.startswith("S0")]) == TOP_LEVEL_LIVE
    more = next(a.menu() for a in menu.actions() if a.text() == "175 more live")
    assert more.isEmpty()
    more.aboutToShow.emit()
    assert len(more.actions()) == 175
    assert elapsed < 0.2  # the benchmark holds the real goal (50 ms)


def test_tray_icon_follows_the_model(qapp: Any) -> None:
    streamers: list[StreamerRecord] = []
    m = checked(TrayViewModel(lambda: streamers, UTC))
    tray = TrayIcon(m, lambda: T0)
    assert tray.state is TrayState.IDLE
    streamers.extend(live(4))
    tray.refresh()
    assert (tray.state, tray.badge) == (TrayState.LIVE, "4")
    assert tray.tray.toolTip().startswith("kickwatch — 4 live")
    m.connection_state = ConnectionState.RECONNECTING
    tray.refresh()
    assert tray.state is TrayState.DEGRADED
    assert not tray.tray.icon().isNull()
