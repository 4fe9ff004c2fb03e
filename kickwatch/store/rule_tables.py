"""Migration 6: the per-streamer rules and the changes of live streams' titles and categories.

`streamer_rule` holds at most one rule per streamer (its primary key is the streamer's id, and
the rule goes with the streamer: ON DELETE CASCADE). Keywords and categories are JSON arrays
of text, bounded in length; the flags are booleans; a sound is a path of bounded length.
`stream_change` records each change of a live stream's title or category once, apart from
`status_event`, whose event types the data model fixes. The same rules hold on SQLite and
PostgreSQL: CHECKs in the tables (SQLite's also check the types PostgreSQL's columns enforce).
"""

from __future__ import annotations

# Written out, not read from the domain: a migration never changes, whatever the domain's
# MAX_TITLE, MAX_CATEGORY, MAX_SOUND_PATH and EventSource become later.
TITLE_LIMIT = 300
CATEGORY_LIMIT = 100
SOUND_PATH_LIMIT = 1024
LIST_LIMIT = 4000  # characters of a JSON array: 20 terms of at most 100 characters fit
LIVESTREAM_ID_LIMIT = 64
SOURCES = "('pusher', 'official_api', 'unofficial_api', 'user')"

_TS_GLOB = "'[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]*'"


def _json_array(column: str, dialect: str) -> str:
    if dialect == "sqlite":
        return f"json_valid({column}) AND json_type({column}) = 'array'"
    return f"jsonb_typeof({column}::jsonb) = 'array'"


def _sqlite_types(table: str, rules: list[str]) -> str:
    """SQLite: the types PostgreSQL's columns enforce, as CHECKs named after the table."""
    return "".join(
        f",\n            CONSTRAINT chk_{table}_type_{number} CHECK ({rule})"
        for number, rule in enumerate(rules, 1)
    )


def rule_tables(dialect: str) -> list[str]:
    """The DDL of migration 6 for `dialect` ("sqlite" or "postgresql")."""
    sqlite = dialect == "sqlite"
    pk = "INTEGER PRIMARY KEY AUTOINCREMENT" if sqlite else "BIGSERIAL PRIMARY KEY"
    false = "0" if sqlite else "FALSE"
    length = "length" if sqlite else "char_length"
    rule_types = (
        _sqlite_types(
            "streamer_rule",
            [
                "typeof(streamer_id) = 'integer'",
                *(
                    f"typeof({flag}) = 'integer' AND {flag} IN (0, 1)"
                    for flag in ("title_changes", "open_on_live")
                ),
                f"typeof(updated_at) = 'text' AND updated_at GLOB {_TS_GLOB}"
                " AND julianday(updated_at) IS NOT NULL",
            ],
        )
        if sqlite
        else ""
    )
    change_types = (
        _sqlite_types(
            "stream_change",
            [
                "typeof(streamer_id) = 'integer'",
                *(
                    f"typeof({column}) = 'text' AND {column} GLOB {_TS_GLOB}"
                    f" AND julianday({column}) IS NOT NULL"
                    for column in ("changed_at", "recorded_at")
                ),
                "broadcast_started_at IS NULL OR (typeof(broadcast_started_at) = 'text'"
                f" AND broadcast_started_at GLOB {_TS_GLOB})",
            ],
        )
        if sqlite
        else ""
    )
    return [
        f"""CREATE TABLE streamer_rule (
            streamer_id BIGINT NOT NULL CONSTRAINT pk_streamer_rule PRIMARY KEY
                CONSTRAINT fk_streamer_rule_streamer REFERENCES streamer (id) ON DELETE CASCADE,
            keywords TEXT NOT NULL DEFAULT '[]',
            categories TEXT NOT NULL DEFAULT '[]',
            title_changes BOOLEAN NOT NULL DEFAULT {false},
            sound_path TEXT,
            open_on_live BOOLEAN NOT NULL DEFAULT {false},
            updated_at TIMESTAMP NOT NULL,
            CONSTRAINT chk_rule_keywords CHECK ({length}(keywords) <= {LIST_LIMIT}
                AND {_json_array("keywords", dialect)}),
            CONSTRAINT chk_rule_categories CHECK ({length}(categories) <= {LIST_LIMIT}
                AND {_json_array("categories", dialect)}),
            CONSTRAINT chk_rule_sound_path CHECK (sound_path IS NULL
                OR ({length}(trim(sound_path)) > 0 AND {length}(sound_path) <= {SOUND_PATH_LIMIT})){
            rule_types
        }
        )""",
        f"""CREATE TABLE stream_change (
            id {pk},
            streamer_id BIGINT NOT NULL CONSTRAINT fk_stream_change_streamer
                REFERENCES streamer (id) ON DELETE CASCADE,
            change_type TEXT NOT NULL
                CONSTRAINT chk_stream_change_type CHECK (change_type IN ('title', 'category')),
            previous_value TEXT NOT NULL,
            new_value TEXT NOT NULL,
            source TEXT NOT NULL CONSTRAINT chk_stream_change_source CHECK (source IN {SOURCES}),
            livestream_id TEXT CONSTRAINT chk_stream_change_livestream_id
                CHECK (livestream_id IS NULL OR {length}(livestream_id) <= {LIVESTREAM_ID_LIMIT}),
            broadcast_started_at TIMESTAMP,
            changed_at TIMESTAMP NOT NULL,
            recorded_at TIMESTAMP NOT NULL,
            CONSTRAINT chk_stream_change_values CHECK (
                {length}(trim(new_value)) > 0 AND previous_value <> new_value
                AND {length}(previous_value) <= (CASE change_type WHEN 'title' THEN {TITLE_LIMIT}
                    ELSE {CATEGORY_LIMIT} END)
                AND {length}(new_value) <= (CASE change_type WHEN 'title' THEN {TITLE_LIMIT}
                    ELSE {CATEGORY_LIMIT} END)),
            CONSTRAINT chk_stream_change_order CHECK (recorded_at >= changed_at){change_types}
        )""",
        "CREATE INDEX idx_stream_change_streamer ON stream_change (streamer_id, changed_at)",
        "CREATE INDEX idx_stream_change_changed_at ON stream_change (changed_at)",
    ]
