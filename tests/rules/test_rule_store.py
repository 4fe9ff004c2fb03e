"""Rules and recorded stream changes in the database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kickwatch.domain.errors import NotFoundError, ValidationError
from kickwatch.domain.records import StreamerRecord
from kickwatch.domain.rules import ChangeKind, DetailsSeen, StreamerRule
from kickwatch.domain.status import EventType
from kickwatch.store import StatusChange, StatusObservation
from kickwatch.store.rules import RuleStore, RuleWatcher
from tests.store.fixtures import Store


def rules(store: Store) -> RuleStore:
    return RuleStore(store.database, store.clock)


def add(store: Store, name: str = "alpha", user_id: int = 1) -> StreamerRecord:
    return store.repository.add_streamer(name, user_id, kick_channel_id=100 + user_id)


def go_live(
    store: Store, streamer: StreamerRecord, livestream: int = 500, title: str = "Warm-up"
) -> None:
    now = store.clock.now()
    store.repository.apply_changes(
        [
            StatusChange(
                streamer_id=streamer.id,
                event_type=EventType.STREAM_START,
                received_timestamp=now,
                event_timestamp=now - timedelta(minutes=5),
                kick_event_id=f"{streamer.kick_channel_id}:{livestream}:start",
                livestream_id=str(livestream),
                broadcast_started_at=now - timedelta(minutes=5),
                title=title,
                category="Just Chatting",
            )
        ]
    )


def seen(
    store: Store,
    streamer: StreamerRecord,
    *,
    title: str | None = None,
    category: str | None = None,
    livestream: str | None = "500",
    source: str = "pusher",
) -> DetailsSeen:
    return DetailsSeen(
        streamer_id=streamer.id,
        seen_at=store.clock.now(),
        source=source,
        title=title,
        category=category,
        livestream_id=livestream,
    )


# -- rules ----------------------------------------------------------------------------------


def test_a_rule_is_stored_normalised_and_read_back(store: Store) -> None:
    alpha = add(store)
    stored = rules(store).set_rule(
        "Alpha",
        keywords=[" Elden  Ring ", "elden ring", "speedrun"],
        categories=["Chess"],
        title_changes=True,
        sound_path="/home/me/bell.ogg",
        open_on_live=True,
    )
    assert stored == StreamerRule(
        alpha.id, ("Elden Ring", "speedrun"), ("Chess",), True, "/home/me/bell.ogg", True
    )
    assert rules(store).get_rule("alpha") == stored
    assert rules(store).all_rules() == {alpha.id: stored}
    assert rules(store).rules_by_username() == [("alpha", stored)]


def test_fields_left_out_keep_their_value_and_empty_ones_clear_it(store: Store) -> None:
    add(store)
    store_rules = rules(store)
    store_rules.set_rule("alpha", keywords=["a"], sound_path="/s/bell.wav", open_on_live=True)
    changed = store_rules.set_rule("alpha", title_changes=True, sound_path="")
    assert changed.keywords == ("a",) and changed.open_on_live and changed.title_changes
    assert changed.sound_path is None


def test_a_rule_that_asks_for_nothing_is_removed(store: Store) -> None:
    alpha = add(store)
    store_rules = rules(store)
    store_rules.set_rule("alpha", keywords=["a"])
    assert store_rules.set_rule("alpha", keywords=[]) == StreamerRule(alpha.id)
    assert store_rules.get_rule("alpha") is None


def test_clear_says_whether_there_was_a_rule(store: Store) -> None:
    add(store)
    store_rules = rules(store)
    assert store_rules.clear_rule("alpha") is False
    store_rules.set_rule("alpha", open_on_live=True)
    assert store_rules.clear_rule("alpha") is True
    assert store_rules.get_rule("alpha") is None


def test_a_rule_of_an_unknown_streamer_is_a_clear_error(store: Store) -> None:
    with pytest.raises(NotFoundError, match="no streamer named ghost"):
        rules(store).set_rule("ghost", open_on_live=True)
    with pytest.raises(NotFoundError):
        rules(store).get_rule("ghost")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"keywords": [f"k{i}" for i in range(21)]}, "at most 20"),
        ({"keywords": ["x" * 101]}, "longer than 100"),
        ({"categories": ["c" * 101]}, "longer than 100"),
        ({"categories": ["bad\x00name"]}, "control characters"),
        ({"sound_path": "/" + "s" * 1024}, "longer than 1024"),
    ],
)
def test_rules_outside_the_limits_are_refused_with_a_reason(
    store: Store, fields: dict[str, object], message: str
) -> None:
    add(store)
    with pytest.raises(ValidationError, match=message):
        rules(store).set_rule("alpha", **fields)  # type: ignore[arg-type]
    assert rules(store).get_rule("alpha") is None


def test_removing_a_streamer_removes_its_rule_and_changes(store: Store) -> None:
    alpha = add(store)
    rules(store).set_rule("alpha", title_changes=True)
    go_live(store, alpha)
    assert rules(store).record_details([seen(store, alpha, title="Ranked")])
    store.repository.remove_streamer("alpha")
    assert rules(store).all_rules() == {}
    assert rules(store).count_changes() == 0


def test_the_watcher_notices_a_rule_written_elsewhere(store: Store) -> None:
    add(store)
    watcher = RuleWatcher(store.database)
    assert watcher.changed() is False
    assert watcher.changed() is False
    rules(store).set_rule("alpha", keywords=["a"])
    assert watcher.changed() is True
    assert watcher.changed() is False
    store.clock.advance(1)
    rules(store).set_rule("alpha", open_on_live=True)
    assert watcher.changed() is True


# -- changes of live streams ----------------------------------------------------------------


def test_a_new_title_of_the_live_broadcast_is_recorded_once(store: Store) -> None:
    alpha = add(store)
    go_live(store, alpha, title="Warm-up")
    store.clock.advance(60)
    [(record, changes)] = rules(store).record_details([seen(store, alpha, title="Ranked")])
    assert record.current_title == "Ranked"
    [one] = changes
    assert (one.kind, one.previous, one.value, one.source) == (
        ChangeKind.TITLE,
        "Warm-up",
        "Ranked",
        "pusher",
    )
    assert one.livestream_id == "500" and one.streamer == "alpha"
    # The duplicate frame, and the same title after a restart (a new store on the same data).
    assert rules(store).record_details([seen(store, alpha, title="Ranked")]) == []
    assert (
        RuleStore(store.database, store.clock).record_details(
            [seen(store, alpha, title="Ranked", source="official_api")]
        )
        == []
    )
    assert rules(store).count_changes() == 1


def test_a_stale_stored_title_does_not_repeat_a_recorded_change(store: Store) -> None:
    alpha = add(store)
    go_live(store, alpha, title="Warm-up")
    rules(store).record_details([seen(store, alpha, title="Ranked")])
    # A slow poll wrote the old title back as the streamer's current one.
    store.repository.apply_changes(
        [StatusObservation(alpha.id, True, store.clock.now(), title="Warm-up")]
    )
    assert rules(store).record_details([seen(store, alpha, title="Ranked")]) == []
    assert rules(store).count_changes() == 1


def test_title_and_category_changes_are_recorded_together(store: Store) -> None:
    alpha = add(store)
    go_live(store, alpha)
    [(record, changes)] = rules(store).record_details(
        [seen(store, alpha, title="Blitz", category="Chess")]
    )
    assert [(c.kind, c.previous, c.value) for c in changes] == [
        (ChangeKind.TITLE, "Warm-up", "Blitz"),
        (ChangeKind.CATEGORY, "Just Chatting", "Chess"),
    ]
    assert (record.current_title, record.current_category) == ("Blitz", "Chess")


def test_what_was_unknown_is_learnt_without_a_change(store: Store) -> None:
    alpha = add(store)
    now = store.clock.now()
    store.repository.apply_changes(
        [
            StatusChange(
                streamer_id=alpha.id,
                event_type=EventType.STREAM_START,
                received_timestamp=now,
                event_timestamp=now,
                livestream_id="500",
                title="Warm-up",
            )
        ]
    )
    assert rules(store).record_details([seen(store, alpha, category="Chess")]) == []
    [(_record, [change])] = rules(store).record_details([seen(store, alpha, category="Poker")])
    assert (change.previous, change.value) == ("Chess", "Poker")


def test_nothing_is_recorded_for_another_broadcast_or_an_offline_streamer(store: Store) -> None:
    alpha = add(store)
    beta = add(store, "beta", 2)
    go_live(store, alpha)
    assert rules(store).record_details([seen(store, alpha, title="New", livestream="501")]) == []
    assert rules(store).record_details([seen(store, beta, title="New")]) == []
    assert rules(store).count_changes() == 0


def test_changes_of_the_last_broadcast_do_not_count_for_the_next(store: Store) -> None:
    alpha = add(store)
    go_live(store, alpha, 500, title="Warm-up")
    rules(store).record_details([seen(store, alpha, title="Ranked")])
    store.clock.advance(3600)
    now = store.clock.now()
    store.repository.apply_changes(
        [
            StatusChange(
                streamer_id=alpha.id,
                event_type=EventType.STREAM_END,
                received_timestamp=now,
                event_timestamp=now,
                livestream_id="500",
            )
        ]
    )
    store.clock.advance(60)
    go_live(store, alpha, 600, title="Ranked")
    # The new broadcast began with the title the last one ended on: no change.
    assert rules(store).record_details([seen(store, alpha, title="Ranked", livestream="600")]) == []
    [(_record, [change])] = rules(store).record_details(
        [seen(store, alpha, title="Warm-up", livestream="600")]
    )
    assert (change.previous, change.value, change.livestream_id) == ("Ranked", "Warm-up", "600")


def test_a_very_long_title_is_stored_cut_like_a_status_title(store: Store) -> None:
    alpha = add(store)
    go_live(store, alpha)
    [(_record, [change])] = rules(store).record_details([seen(store, alpha, title="T" * 2000)])
    assert len(change.value) == 300 and change.value.endswith("…")


def test_an_unknown_source_is_refused(store: Store) -> None:
    alpha = add(store)
    go_live(store, alpha)
    with pytest.raises(ValidationError, match="source"):
        rules(store).record_details([seen(store, alpha, title="X", source="carrier pigeon")])


def test_changes_are_listed_and_counted_by_streamer_kind_and_time(store: Store) -> None:
    alpha, beta = add(store), add(store, "beta", 2)
    go_live(store, alpha)
    go_live(store, beta, 700)
    first = store.clock.now()
    rules(store).record_details([seen(store, alpha, title="A2")])
    store.clock.advance(10)
    rules(store).record_details([seen(store, beta, category="Chess", livestream="700")])
    store.clock.advance(10)
    rules(store).record_details([seen(store, alpha, title="A3", category="Poker")])
    everything = rules(store).changes()
    # Newest first; the title and category changed at once come in reverse order of recording.
    assert [(c.streamer, c.value) for c in everything] == [
        ("alpha", "Poker"),
        ("alpha", "A3"),
        ("beta", "Chess"),
        ("alpha", "A2"),
    ]
    assert [c.value for c in rules(store).changes(username="alpha", newest_first=False)][:1] == [
        "A2"
    ]
    assert rules(store).count_changes(kind=ChangeKind.CATEGORY) == 2
    assert rules(store).count_changes(since=first + timedelta(seconds=5)) == 3
    assert rules(store).count_changes(until=first + timedelta(seconds=5)) == 1
    assert len(rules(store).changes(limit=2, offset=1)) == 2


def test_retention_deletes_old_changes(store: Store) -> None:
    alpha = add(store)
    go_live(store, alpha)
    rules(store).record_details([seen(store, alpha, title="Old")])
    store.clock.advance(3 * 86400)
    assert rules(store).delete_changes_older_than(2) == 1
    assert rules(store).count_changes() == 0
