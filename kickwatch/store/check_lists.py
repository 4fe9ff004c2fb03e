"""CHECK constraints of SQLite tables with their lists of values spelled out as comparisons.

SQLite evaluates `column IN ('a', 'b', 'c')` in a CHECK constraint by building a temporary
table of the list for every row it checks (a list of one or two values is compared directly).
`status_event` has three such lists, so each insert built, filled and cleared three tables: a
tenth of the instructions of a batch write. `(column = 'a' OR column = 'b' OR column = 'c')` is
the same rule, NULL included (a CHECK that is NULL passes either way), evaluated in place.

Migration 11 rewrites the stored definitions of existing tables by SQLite's documented way of
changing a CHECK constraint without rebuilding the table (`PRAGMA writable_schema`, then a new
`schema_version`), which leaves every stored row as it is: the rule is the same. PostgreSQL
evaluates a list of constants at once and keeps its definitions.
"""

from __future__ import annotations

import logging
import re

import peewee

log = logging.getLogger(__name__)

# `column IN ('a', 'b', 'c', ...)`: three or more quoted values, none holding a quote (`NOT IN`
# is left alone).
_LIST = re.compile(r"\b(?!NOT\b)(\w+) IN \(('[^']*'(?:, '[^']*'){2,})\)")
_VALUE = re.compile(r"'[^']*'")


def spelled_out(sql: str) -> str:
    """`sql` with every `column IN (list of three or more quoted values)` written as one
    comparison per value, joined by OR; anything else unchanged."""

    def comparisons(match: re.Match[str]) -> str:
        column = match.group(1)
        values = _VALUE.findall(match.group(2))
        return "(" + " OR ".join(f"{column} = {value}" for value in values) + ")"

    return _LIST.sub(comparisons, sql)


def spell_out_check_lists(handle: peewee.Database) -> list[str]:
    """Inside a transaction on SQLite: rewrite the stored definition of every table whose
    CHECK constraints hold a list of three or more values; returns the tables rewritten.

    Refused (a connection in SQLite's defensive mode may not write its schema) or unreadable
    afterwards, the definitions are left as they were, which is correct, only slower.
    """
    rows = handle.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL"
    ).fetchall()
    rewritten = ((name, sql, spelled_out(sql)) for name, sql in rows)
    changed = [(name, new) for name, old, new in rewritten if new != old]
    if not changed:
        return []
    try:
        with handle.atomic():  # a savepoint: undone alone if SQLite refuses
            (version,) = handle.execute_sql("PRAGMA schema_version").fetchone()
            handle.execute_sql("PRAGMA writable_schema = ON")
            try:
                for name, sql in changed:
                    handle.execute_sql(
                        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                        (sql, name),
                    )
                handle.execute_sql(f"PRAGMA schema_version = {int(version) + 1}")
            finally:
                handle.execute_sql("PRAGMA writable_schema = OFF")
            # The schema is read again (as opening a database reads it): the new definitions
            # must parse.
            handle.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except peewee.DatabaseError as exc:
        log.warning("CHECK constraints kept as they were (%s): writes are slower", exc)
        return []
    return [name for name, _sql in changed]
