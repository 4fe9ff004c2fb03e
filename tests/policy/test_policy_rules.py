"""Per-streamer rules in the notification policy: filters, change alerts, sounds, opening."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import ChangeKind, StreamChange, StreamerRule
from kickwatch.monitor.events import StreamDetailsChanged
from kickwatch.monitor.policy import (
    Decision,
    DecisionKind,
    NotificationPolicy,
    PolicySettings,
    Reason,
)
from tests.policy.factories import T0, at, started, streamer


def policy(**overrides: Any) -> NotificationPolicy:
    return NotificationPolicy(PolicySettings(group_window_seconds=0, **overrides))


def rule(sid: int = 1, **fields: Any) -> StreamerRule:
    return StreamerRule(streamer_id=sid, **fields)


def live(
    p: NotificationPolicy, record: StreamerRecord, r: StreamerRule | None, **kw: Any
) -> Decision:
    [decision] = p.decide(started(record, rule=r, **kw), T0)
    return decision


def change(
    record: StreamerRecord, kind: ChangeKind, before: str, after: str, change_id: int = 1
) -> StreamChange:
    return StreamChange(
        id=change_id,
        streamer_id=record.id,
        streamer=record.username,
        kind=kind,
        previous=before,
        value=after,
        source="pusher",
        changed_at=T0,
        recorded_at=T0,
    )


def changed(
    record: StreamerRecord, r: StreamerRule | None, *changes: StreamChange, initial: bool = False
) -> StreamDetailsChanged:
    return StreamDetailsChanged(record, changes, r, initial)


# -- keyword and category filters ------------------------------------------------------------


def test_a_title_with_one_of_the_keywords_is_announced_whatever_its_case() -> None:
    alice = streamer(1, "alice", current_title="ELDEN RING no-hit run")
    decision = live(policy(), alice, rule(keywords=("speedrun", "elden ring")))
    assert decision.kind is DecisionKind.LIVE
    assert decision.title == "Alice is live"


def test_a_title_without_any_keyword_is_not_announced() -> None:
    alice = streamer(1, "alice", current_title="Morning coffee", current_category="Just Chatting")
    decision = live(policy(), alice, rule(keywords=("elden",)))
    assert decision.kind is DecisionKind.SUPPRESSED
    assert decision.reason is Reason.NO_MATCH
    assert decision.opens == ()


def test_keywords_match_inside_words_and_across_unicode_case() -> None:
    assert rule(keywords=("STRASSE",)).matches("Auf der Straße", None) is True
    assert rule(keywords=("straße",)).matches("AUF DER STRASSE", None) is True
    assert rule(keywords=("ΣΟΦΙΑ",)).matches("σοφια live", None) is True
    assert rule(keywords=("run",)).matches("Speedrunning", None) is True


def test_a_category_in_the_list_is_announced_and_one_outside_it_is_not() -> None:
    r = rule(categories=("Slots & Casino", "chess"))
    p = policy()
    chess = streamer(1, "alice", current_title="Blitz", current_category="Chess")
    assert live(p, chess, r).kind is DecisionKind.LIVE
    cooking = streamer(2, "bob", current_title="Blitz", current_category="Cooking")
    suppressed = live(p, cooking, rule(2, categories=("Slots & Casino", "chess")))
    assert suppressed.reason is Reason.NO_MATCH


def test_either_a_keyword_or_a_category_is_enough() -> None:
    r = rule(keywords=("tournament",), categories=("Chess",))
    assert r.matches("Tournament day", "Poker")
    assert r.matches("Casual games", "chess")
    assert not r.matches("Casual games", "Poker")
    assert not r.matches(None, None)


def test_a_rule_without_filters_announces_every_stream() -> None:
    decision = live(policy(), streamer(current_title=None, current_category=None), rule())
    assert decision.kind is DecisionKind.LIVE


def test_a_filtered_out_start_does_not_use_up_the_restart_cooldown() -> None:
    p = policy(restart_cooldown_seconds=300, offline_grace_seconds=0)
    r = rule(keywords=("tournament",))
    off_topic = streamer(current_title="Warm-up")
    assert live(p, off_topic, r).reason is Reason.NO_MATCH
    on_topic = streamer(current_title="Tournament final")
    [decision] = p.decide(started(on_topic, at(10), rule=r), at(10))
    assert decision.kind is DecisionKind.LIVE


# -- sounds and opening -------------------------------------------------------------------------


def test_a_rule_sound_is_chosen_for_the_live_alert() -> None:
    decision = live(policy(), streamer(), rule(sound_path="/sounds/bell.ogg"))
    assert decision.sound is True
    assert decision.sound_file == "/sounds/bell.ogg"


def test_a_rule_sound_plays_even_when_live_alerts_are_silent() -> None:
    p = policy(sounds=False)
    assert live(p, streamer(1), rule(1, sound_path="/s/bell.wav")).sound is True
    plain = live(p, streamer(2, "bob"), None)
    assert (plain.sound, plain.sound_file) == (False, None)


def test_without_a_rule_sound_the_default_sound_follows_the_setting() -> None:
    decision = live(policy(), streamer(), rule(keywords=("morning",)))
    assert (decision.sound, decision.sound_file) == (True, None)


def test_open_on_live_asks_to_open_the_stream_once() -> None:
    p = policy()
    alice = streamer(1, "alice")
    decision = live(p, alice, rule(open_on_live=True))
    assert decision.opens == ("https://kick.com/alice",)
    # The same broadcast reported again within the cooldown opens nothing more.
    [again] = p.decide(started(alice, at(30), rule=rule(open_on_live=True)), at(30))
    assert again.reason is Reason.COOLDOWN and again.opens == ()


def test_without_open_on_live_nothing_is_opened() -> None:
    assert live(policy(), streamer(), rule(keywords=("morning",))).opens == ()
    assert live(policy(), streamer(), None).opens == ()


def test_a_group_alert_opens_only_the_streams_whose_rule_asks() -> None:
    p = NotificationPolicy(PolicySettings(group_window_seconds=2, group_threshold=2))
    alice, bob = streamer(1, "alice"), streamer(2, "bob")
    p.decide(started(alice, rule=rule(1, open_on_live=True)), T0)
    p.decide(started(bob, rule=None), T0)
    [group] = p.tick(at(2))
    assert group.kind is DecisionKind.GROUP_LIVE
    assert group.opens == ("https://kick.com/alice",)


def test_a_muted_streamer_stays_silent_and_opens_nothing_despite_its_rule() -> None:
    r = rule(open_on_live=True, sound_path="/s/bell.wav", title_changes=True)
    muted = streamer(is_muted=True)
    decision = live(policy(), muted, r)
    assert decision.reason is Reason.MUTED and decision.opens == ()
    [shown] = policy().decide(changed(muted, r, change(muted, ChangeKind.TITLE, "A", "B")), T0)
    assert shown.reason is Reason.MUTED


def test_a_disabled_streamer_stays_silent_whatever_its_rule() -> None:
    r = rule(open_on_live=True, title_changes=True)
    disabled = streamer(is_active=False)
    decision = live(policy(), disabled, r)
    assert decision.reason is Reason.DISABLED and decision.opens == ()
    [shown] = policy().decide(
        changed(disabled, r, change(disabled, ChangeKind.TITLE, "A", "B")), T0
    )
    assert shown.reason is Reason.DISABLED


def test_quiet_hours_hold_back_rule_alerts_too() -> None:
    p = policy(
        quiet_hours_enabled=True,
        quiet_hours_start=time(11, 0),
        quiet_hours_end=time(13, 0),
        timezone=UTC,
    )
    r = rule(open_on_live=True)
    decision = live(p, streamer(), r)
    assert decision.reason is Reason.QUIET_HOURS and decision.opens == ()


# -- changes of a live stream -----------------------------------------------------------------


def test_a_title_change_is_announced_once_when_the_rule_asks() -> None:
    p = policy()
    alice = streamer(1, "alice", current_title="Ranked grind")
    event = changed(
        alice, rule(title_changes=True), change(alice, ChangeKind.TITLE, "Warm-up", "Ranked grind")
    )
    [decision] = p.decide(event, T0)
    assert decision.kind is DecisionKind.CHANGED
    assert decision.title == "Alice changed the stream title"
    assert decision.body == "Ranked grind"
    assert decision.opens == ()
    assert p.next_deadline() is None  # nothing held back to be shown a second time
    assert p.tick(at(3600)) == []


def test_a_category_change_names_the_new_category() -> None:
    alice = streamer(1, "alice", current_category="Chess")
    [decision] = policy().decide(
        changed(
            alice,
            rule(title_changes=True),
            change(alice, ChangeKind.CATEGORY, "Just Chatting", "Chess"),
        ),
        T0,
    )
    assert decision.title == "Alice now streams Chess"
    assert decision.body == "Was Just Chatting"


def test_a_title_and_category_change_together_make_one_alert() -> None:
    alice = streamer(1, "alice", current_title="Blitz", current_category="Chess")
    [decision] = policy().decide(
        changed(
            alice,
            rule(title_changes=True),
            change(alice, ChangeKind.TITLE, "Coffee", "Blitz", 1),
            change(alice, ChangeKind.CATEGORY, "Just Chatting", "Chess", 2),
        ),
        T0,
    )
    assert (decision.title, decision.body) == ("Alice now streams Chess", "New title: Blitz")


def test_changes_are_not_announced_without_the_rule_asking() -> None:
    alice = streamer()
    one = change(alice, ChangeKind.TITLE, "A", "B")
    for r in (None, rule(title_changes=False, open_on_live=True)):
        [decision] = policy().decide(changed(alice, r, one), T0)
        assert decision.reason is Reason.CHANGES_OFF


def test_a_change_to_a_title_the_filter_does_not_want_is_not_announced() -> None:
    r = rule(title_changes=True, keywords=("tournament",))
    off = streamer(current_title="Lunch break")
    [decision] = policy().decide(
        changed(off, r, change(off, ChangeKind.TITLE, "Tournament", "Lunch break")), T0
    )
    assert decision.reason is Reason.NO_MATCH
    on = streamer(current_title="Tournament round 2")
    [shown] = policy().decide(
        changed(on, r, change(on, ChangeKind.TITLE, "Lunch", "Tournament round 2")), T0
    )
    assert shown.kind is DecisionKind.CHANGED


def test_a_change_found_at_start_up_is_not_announced_unless_asked() -> None:
    alice = streamer()
    event = changed(
        alice, rule(title_changes=True), change(alice, ChangeKind.TITLE, "A", "B"), initial=True
    )
    [decision] = policy().decide(event, T0)
    assert decision.reason is Reason.ALREADY_LIVE
    [shown] = policy(alert_already_live=True).decide(event, T0)
    assert shown.kind is DecisionKind.CHANGED


def test_a_change_alert_uses_the_rule_sound() -> None:
    alice = streamer()
    r = rule(title_changes=True, sound_path="/s/chime.flac")
    [decision] = policy(sounds=False).decide(
        changed(alice, r, change(alice, ChangeKind.TITLE, "A", "B")), T0
    )
    assert (decision.sound, decision.sound_file) == (True, "/s/chime.flac")


def test_a_paused_policy_shows_no_change_alert() -> None:
    alice = streamer()
    p = policy(paused_until=datetime(2030, 1, 1, tzinfo=UTC))
    [decision] = p.decide(
        changed(alice, rule(title_changes=True), change(alice, ChangeKind.TITLE, "A", "B")), T0
    )
    assert decision.reason is Reason.PAUSED
