"""Every rule of the notification policy, driven with an explicit clock (no Qt, no sleeps)."""

from __future__ import annotations

from datetime import UTC, time, timedelta, timezone

from kickwatch.monitor.events import ReconcileCompleted, ResumedFromSleep
from kickwatch.monitor.policy import (
    Decision,
    DecisionKind,
    NotificationPolicy,
    PolicySettings,
    Reason,
    in_quiet_hours,
)
from kickwatch.store.settings import SPEC_BY_KEY
from tests.policy.factories import T0, at, ended, started, streamer

WINDOW = 2.0


def policy(**overrides: object) -> NotificationPolicy:
    return NotificationPolicy(PolicySettings(**overrides))  # type: ignore[arg-type]


def shown(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.shown]


def run_until(p: NotificationPolicy, seconds: float) -> list[Decision]:
    """Tick at every deadline up to T0 + seconds, collecting what is shown."""
    out: list[Decision] = []
    while (deadline := p.next_deadline()) is not None and deadline <= at(seconds):
        out.extend(p.tick(deadline))
    return shown(out)


# -- going live -----------------------------------------------------------------------------


def test_a_go_live_is_shown_after_the_short_group_window() -> None:
    p = policy()
    alice = streamer(1, "alice")
    assert p.decide(started(alice), T0) == []
    assert p.next_deadline() == at(WINDOW)
    assert p.tick(at(WINDOW - 0.1)) == []
    [decision] = p.tick(at(WINDOW))
    assert decision.kind is DecisionKind.LIVE
    assert decision.title == "Alice is live"
    assert decision.body == "Morning stream · Just Chatting"
    assert decision.sound is True
    assert decision.streamer == alice
    assert p.next_deadline() is None


def test_zero_group_window_shows_a_go_live_at_once() -> None:
    p = policy(group_window_seconds=0)
    [decision] = p.decide(started(streamer()), T0)
    assert decision.kind is DecisionKind.LIVE


def test_sound_follows_the_sounds_setting() -> None:
    p = policy(sounds=False, group_window_seconds=0)
    [decision] = p.decide(started(streamer()), T0)
    assert decision.sound is False


def test_streams_already_live_at_start_up_are_not_announced() -> None:
    p = policy()
    [decision] = p.decide(started(streamer(), initial=True), T0)
    assert decision.reason is Reason.ALREADY_LIVE
    assert run_until(p, 60) == []


def test_streams_already_live_are_announced_when_the_setting_asks() -> None:
    p = policy(alert_already_live=True)
    p.decide(started(streamer(), initial=True), T0)
    assert [d.kind for d in run_until(p, 60)] == [DecisionKind.LIVE]


def test_notify_on_start_off_shows_nothing() -> None:
    p = policy()
    [decision] = p.decide(started(streamer(notify_on_start=False)), T0)
    assert decision.reason is Reason.NOTIFY_OFF
    assert run_until(p, 60) == []


def test_a_muted_streamer_is_never_announced() -> None:
    p = policy()
    [decision] = p.decide(started(streamer(is_muted=True)), T0)
    assert decision.reason is Reason.MUTED
    [end] = p.decide(ended(streamer(is_muted=True, notify_on_end=True)), at(500))
    assert end.reason is Reason.MUTED


def test_pause_silences_until_its_end() -> None:
    p = policy(paused_until=at(600), group_window_seconds=0)
    [decision] = p.decide(started(streamer(1)), at(10))
    assert decision.reason is Reason.PAUSED
    [later] = p.decide(started(streamer(2)), at(600))
    assert later.kind is DecisionKind.LIVE


# -- quiet hours ----------------------------------------------------------------------------


def test_quiet_hours_wrapping_midnight() -> None:
    start, end = time(23, 0), time(7, 0)
    day = T0.replace(hour=0, minute=0)
    assert in_quiet_hours(day.replace(hour=23, minute=30), start, end, UTC)
    assert in_quiet_hours(day.replace(hour=3), start, end, UTC)
    assert not in_quiet_hours(day.replace(hour=7), start, end, UTC)
    assert not in_quiet_hours(day.replace(hour=12), start, end, UTC)
    assert in_quiet_hours(day.replace(hour=23), start, end, UTC)


def test_quiet_hours_within_one_day_and_empty_window() -> None:
    day = T0.replace(hour=0, minute=0)
    assert in_quiet_hours(day.replace(hour=13), time(12), time(14), UTC)
    assert not in_quiet_hours(day.replace(hour=14), time(12), time(14), UTC)
    assert not in_quiet_hours(day.replace(hour=13), time(12), time(12), UTC)


def test_quiet_hours_use_the_local_time_zone() -> None:
    plus_two = timezone(timedelta(hours=2))
    # 22:00 UTC is 00:00 at UTC+2: inside 23:00-07:00 there, outside in UTC.
    night = T0.replace(hour=22)
    assert in_quiet_hours(night, time(23), time(7), plus_two)
    assert not in_quiet_hours(night, time(23), time(7), UTC)


def quiet(**overrides: object) -> NotificationPolicy:
    settings = {
        "quiet_hours_enabled": True,
        "quiet_hours_start": time(11),
        "quiet_hours_end": time(13),
        "group_window_seconds": 0,
    }
    settings.update(overrides)
    return policy(**settings)


def test_quiet_hours_silence_ordinary_streamers() -> None:
    [decision] = quiet().decide(started(streamer()), T0)
    assert decision.reason is Reason.QUIET_HOURS


def test_quiet_hours_let_favourites_through() -> None:
    [decision] = quiet().decide(started(streamer(is_favorite=True)), T0)
    assert decision.kind is DecisionKind.LIVE


def test_quiet_hours_hold_favourites_too_when_the_setting_is_off() -> None:
    p = quiet(quiet_hours_favorites=False)
    [decision] = p.decide(started(streamer(is_favorite=True)), T0)
    assert decision.reason is Reason.QUIET_HOURS


def test_quiet_hours_disabled_do_nothing() -> None:
    [decision] = quiet(quiet_hours_enabled=False).decide(started(streamer()), T0)
    assert decision.kind is DecisionKind.LIVE


# -- going offline: grace period ------------------------------------------------------------


def test_offline_alerts_wait_out_the_grace_period() -> None:
    p = policy(offline_grace_seconds=90)
    bob = streamer(2, "bob", notify_on_end=True)
    assert p.decide(ended(bob), T0) == []
    assert p.next_deadline() == at(90)
    assert p.tick(at(89)) == []
    [decision] = p.tick(at(90))
    assert decision.kind is DecisionKind.OFFLINE
    assert decision.title == "Bob went offline"
    assert decision.sound is False


def test_an_end_then_a_start_within_the_grace_period_show_nothing() -> None:
    p = policy(offline_grace_seconds=90, restart_cooldown_seconds=0)
    bob = streamer(2, "bob", notify_on_end=True)
    p.decide(ended(bob), T0)
    [decision] = p.decide(started(bob), at(30))
    assert decision.reason is Reason.GRACE
    assert run_until(p, 600) == []


def test_a_restart_is_silent_even_when_offline_alerts_are_off() -> None:
    p = policy(offline_grace_seconds=90, restart_cooldown_seconds=0)
    carol = streamer(3, "carol", notify_on_end=False)
    [end] = p.decide(ended(carol), T0)
    assert end.reason is Reason.NOTIFY_OFF
    [start] = p.decide(started(carol), at(60))
    assert start.reason is Reason.GRACE


def test_a_start_after_the_grace_period_is_announced() -> None:
    p = policy(offline_grace_seconds=90, restart_cooldown_seconds=0)
    bob = streamer(2, "bob", notify_on_end=True)
    p.decide(ended(bob), T0)
    p.tick(at(90))
    p.decide(started(bob), at(100))
    assert [d.kind for d in run_until(p, 200)] == [DecisionKind.LIVE]


def test_zero_grace_shows_offline_at_once() -> None:
    p = policy(offline_grace_seconds=0)
    [decision] = p.decide(ended(streamer(notify_on_end=True)), T0)
    assert decision.kind is DecisionKind.OFFLINE


def test_offline_alerts_are_off_by_default_per_streamer() -> None:
    p = policy()
    [decision] = p.decide(ended(streamer()), T0)
    assert decision.reason is Reason.NOTIFY_OFF
    assert run_until(p, 600) == []


def test_an_end_found_at_start_up_is_not_announced() -> None:
    p = policy()
    [decision] = p.decide(ended(streamer(notify_on_end=True), initial=True), T0)
    assert decision.reason is Reason.ALREADY_LIVE


def test_quiet_hours_at_the_end_of_the_grace_period_hold_the_offline_alert() -> None:
    p = quiet(offline_grace_seconds=60)
    p.decide(ended(streamer(notify_on_end=True)), T0.replace(hour=10, minute=59, second=30))
    [decision] = p.tick(T0.replace(hour=11, minute=0, second=30))
    assert decision.reason is Reason.QUIET_HOURS


# -- restart cooldown -----------------------------------------------------------------------


def test_one_restart_never_produces_two_live_alerts() -> None:
    p = policy(offline_grace_seconds=30, restart_cooldown_seconds=300)
    dave = streamer(4, "dave")
    p.decide(started(dave), T0)
    assert [d.kind for d in run_until(p, 10)] == [DecisionKind.LIVE]
    p.decide(ended(dave), at(100))
    [again] = p.decide(started(dave), at(200))  # after grace, inside cooldown
    assert again.reason is Reason.COOLDOWN
    assert run_until(p, 400) == []


def test_a_go_live_after_the_cooldown_is_announced_again() -> None:
    p = policy(offline_grace_seconds=30, restart_cooldown_seconds=300)
    dave = streamer(4, "dave")
    p.decide(started(dave), T0)
    run_until(p, 10)
    p.decide(ended(dave), at(100))
    p.decide(started(dave), at(400))
    assert [d.kind for d in run_until(p, 500)] == [DecisionKind.LIVE]


# -- grouping -------------------------------------------------------------------------------


def test_a_burst_of_go_lives_becomes_one_grouped_notification() -> None:
    p = policy(group_threshold=3)
    for sid in range(1, 4):
        assert p.decide(started(streamer(sid)), at(sid * 0.5)) == []
    [decision] = run_until(p, 10)
    assert decision.kind is DecisionKind.GROUP_LIVE
    assert decision.title == "3 streamers are live"
    assert decision.body == "Streamer1, Streamer2, Streamer3"
    assert len(decision.streamers) == 3


def test_fewer_go_lives_than_the_threshold_are_shown_one_by_one() -> None:
    p = policy(group_threshold=3)
    p.decide(started(streamer(1)), T0)
    p.decide(started(streamer(2)), at(1))
    assert [d.kind for d in run_until(p, 10)] == [DecisionKind.LIVE, DecisionKind.LIVE]


def test_a_big_group_names_five_and_counts_the_rest() -> None:
    p = policy(group_threshold=2)
    for sid in range(1, 9):
        p.decide(started(streamer(sid)), T0)
    [decision] = run_until(p, 10)
    assert decision.body.endswith("Streamer5 and 3 more")


def test_go_lives_outside_the_window_are_not_grouped() -> None:
    p = policy(group_threshold=2)
    p.decide(started(streamer(1)), T0)
    first = p.decide(started(streamer(2)), at(WINDOW + 1))
    assert [d.kind for d in first] == [DecisionKind.LIVE]
    assert [d.kind for d in run_until(p, 20)] == [DecisionKind.LIVE]


def test_a_stream_that_ends_before_its_go_live_is_shown_is_dropped_from_the_burst() -> None:
    p = policy()
    erin = streamer(5, "erin")
    p.decide(started(erin), T0)
    p.decide(ended(erin), at(1))
    assert run_until(p, 10) == []


# -- resume from sleep ----------------------------------------------------------------------


def test_after_resume_one_summary_replaces_the_flood() -> None:
    p = policy()
    assert p.decide(ResumedFromSleep(slept_seconds=3600), T0) == []
    for sid in range(1, 5):
        [d] = p.decide(started(streamer(sid), after_resume=True), at(1))
        assert d.reason is Reason.SUMMARISED
    p.decide(ended(streamer(9, notify_on_end=True), after_resume=True), at(1))
    [summary] = run_until(p, 60)
    assert summary.kind is DecisionKind.AWAY_SUMMARY
    assert summary.title == "While you were away"
    assert "Live: Streamer1, Streamer2, Streamer3, Streamer4" in summary.body
    assert "Went offline: Streamer9" in summary.body
    assert len(summary.streamers) == 5


def test_a_resume_with_nothing_new_shows_nothing() -> None:
    p = policy()
    p.decide(ResumedFromSleep(slept_seconds=60), T0)
    assert p.next_deadline() is not None
    assert run_until(p, 60) == []


def test_after_resume_the_summary_respects_mute_and_start_up_rules() -> None:
    p = policy()
    p.decide(ResumedFromSleep(slept_seconds=60), T0)
    p.decide(started(streamer(1, is_muted=True), after_resume=True), T0)
    p.decide(started(streamer(2, notify_on_start=False), after_resume=True), T0)
    assert run_until(p, 60) == []


# -- plumbing -------------------------------------------------------------------------------


def test_other_events_show_nothing_but_release_what_is_due() -> None:
    p = policy()
    p.decide(started(streamer()), T0)
    [decision] = p.decide(ReconcileCompleted(at=at(5), checked=1), at(5))
    assert decision.kind is DecisionKind.LIVE


def test_settings_are_read_from_the_typed_settings_lookup() -> None:
    values = {key: spec.default for key, spec in SPEC_BY_KEY.items()}
    values["system.paused_until"] = "2026-03-02T13:00:00Z"
    values["system.quiet_hours_start"] = "22:30"
    settings = PolicySettings.from_settings(values.__getitem__, timezone=UTC)
    assert settings.offline_grace_seconds == 90
    assert settings.restart_cooldown_seconds == 300
    assert settings.group_threshold == 3
    assert settings.quiet_hours_start == time(22, 30)
    assert settings.paused_until == T0 + timedelta(hours=1)
    assert settings.alert_already_live is False


def test_updated_settings_apply_to_the_next_event() -> None:
    p = policy(group_window_seconds=0)
    p.update_settings(PolicySettings(group_window_seconds=0, paused_until=at(60)))
    [decision] = p.decide(started(streamer()), T0)
    assert decision.reason is Reason.PAUSED
