"""The batch write's JSON of `event_data` is exactly the text the model's `JsonField` writes.

The batch encodes a flat object with the C encoder at once and keeps it unless the text shows
something `storable_json` would change (a control character, DEL, a surrogate); whatever the
value, the result must be the same text as `JsonField.db_value`, so that rows written by the
batch and by the models cannot differ.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kickwatch.store.models import JsonField
from kickwatch.store.statements import json_text

FIELD = JsonField()
# Any code point, lone surrogates and C0 controls included (the ones a database refuses).
TEXT = st.text(alphabet=st.characters(codec=None, categories=None), max_size=20)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(TEXT, inner, max_size=3),
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.one_of(TEXT, st.integers(), st.booleans()), VALUES, max_size=6))
def test_event_data_is_written_as_json_field_writes_it(value: dict[Any, Any]) -> None:
    assert json_text(value) == FIELD.db_value(value)


def test_what_the_monitor_records_is_written_unchanged() -> None:
    data = {"source": "pusher", "livestream_id": "123", "title": 'Ünï 😀 "q" \\', "viewers": 5}
    assert json_text(data) == FIELD.db_value(data)
    assert "\\ud83d\\ude00" in json_text(data)  # a pair, kept


def test_text_a_database_refuses_is_made_storable() -> None:
    for bad in ("\ud800", "a\x00b", "\x7f", "\x0b", "\x08"):
        assert json_text({"title": bad}) == FIELD.db_value({"title": bad})
        assert "\\ufffd" in json_text({"title": bad}) or bad == "a\x00b"
