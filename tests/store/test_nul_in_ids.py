"""What a batch reads of its streamers and stored ids is what the table holds, text of every kind.

SQLite 3.40's `json_each`, by which a batch passes a set of Kick ids or livestream ids as one
parameter, ends a string at an escaped NUL: such an id is looked for by itself
(`statements.holding_nul`), so a repeat of it is still recognised.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kickwatch.store.known import Known
from kickwatch.store.statements import statements_for
from tests.store.fixtures import Store
from tests.store.test_batch_statements import add_streamers
from tests.store.workloads import broadcasts

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# Text a foreign writer, or Kick, may have left in a column: NUL and other control characters,
# quotes and backslashes, JSON's own escapes, separators JavaScript treats as line ends, DEL,
# characters outside the BMP, and text that looks like a number or like JSON.
AWKWARD = [
    "nul\x00inside",
    'quote " and \\ backslash',
    "\\u0000 written out",
    "line\u2028para\u2029end",
    "del\x7f and \x1f unit",
    "emoji \U0001f3ae and é",
    "0042",
    '{"a": [1, 2]}',
    "",
]


@sqlite_only
def test_text_of_every_kind_reads_back_into_the_batch_exactly(store: Store) -> None:
    ids = add_streamers(store, len(AWKWARD))
    handle = store.database.handle
    with handle.atomic():
        for streamer_id, text in zip(ids, AWKWARD, strict=True):
            # Written past the application's own cleaning, as another program could have.
            handle.execute_sql(
                "UPDATE streamer SET current_title = ?, current_category = ?,"
                " current_viewers = ?, current_livestream_id = ? WHERE id = ?",
                (text, text[::-1], 2**62 + streamer_id, text, streamer_id),
            )
    expected = {record.id: record for record in store.repository.all_streamers()}

    known = Known(store.database, statements_for("sqlite"))
    with handle.atomic():
        known.load_streamers(ids)
    assert {sid: state.record() for sid, state in known.streamers.items()} == expected
    assert [known.streamers[sid].current_title for sid in ids] == AWKWARD


@sqlite_only
def test_kick_event_ids_of_every_kind_are_found_stored(store: Store) -> None:
    (streamer_id,) = add_streamers(store, 1)
    changes = broadcasts(store.clock.now() - timedelta(minutes=5), [streamer_id], len(AWKWARD))
    changes = [
        replace(change, kick_event_id=f"{text}#{number}")
        for number, (change, text) in enumerate(zip(changes, AWKWARD, strict=True))
    ]
    store.repository.apply_changes(changes)
    keys = [change.kick_event_id for change in changes]

    known = Known(store.database, statements_for("sqlite"))
    with store.database.handle.atomic():
        known.load_event_ids([*keys, "never-stored"])
    assert known.event_ids == set(keys)
    # The next batch holding them again records none of them twice.
    result = store.repository.apply_changes(changes)
    assert result.duplicates == len(changes)
    assert store.repository.count_events() == len(changes)


@sqlite_only
def test_a_repeat_of_a_broadcast_whose_livestream_id_holds_nul_is_recognised(
    store: Store,
) -> None:
    (streamer_id,) = add_streamers(store, 1)
    began = store.clock.now() - timedelta(minutes=30)
    start, end = broadcasts(began, [streamer_id], 2)
    odd = {"livestream_id": "live\x00stream", "kick_event_id": None}
    start = replace(start, **odd, broadcast_started_at=began)
    end = replace(end, **odd, event_timestamp=began + timedelta(minutes=20))
    store.repository.apply_changes([start, end])
    assert store.repository.count_events() == 2

    # The start again, received later (a reconnect's replay): history has it already.
    again = replace(start, received_timestamp=store.clock.now())
    result = store.repository.apply_changes([again])
    assert result.duplicates == 1
    assert store.repository.count_events() == 2
