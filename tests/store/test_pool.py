"""The bounded connection pool of a process on PostgreSQL, counted in `pg_stat_activity`: threads
take turns on pooled connections, the bound holds (a thread past it waits, then gets an outage
error the writer retries), closing drops the idle ones, and a connection the server killed is
replaced instead of handed out broken."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import peewee
import psycopg
import pytest

from kickwatch.store import Database, open_database
from kickwatch.store import database as database_module
from kickwatch.store.database import BoundedPostgresqlDatabase
from tests.fakekick.waiting import wait_for_sync

pytestmark = pytest.mark.postgres
APP_NAME = f"kickwatch:{os.getpid()}"


@pytest.fixture
def counter(pg_url: str) -> Iterator[Callable[[], int]]:
    """How many server connections this process holds (its own are named after its pid)."""
    with psycopg.connect(pg_url, autocommit=True) as watcher:

        def count() -> int:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (APP_NAME,)
            ).fetchone()
            assert row is not None
            return int(row[0])

        yield count


def on_thread(function: Callable[[], object]) -> None:
    """Run `function` on a new thread and wait for it; re-raise what it raised."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            function()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    if errors:
        raise errors[0]


def query(database: Database) -> int:
    return int(database.handle.execute_sql("SELECT 1").fetchone()[0])


def test_threads_that_hand_their_connection_back_share_one_server_connection(
    pg_url: str, counter: Callable[[], int]
) -> None:
    database = open_database(pg_url)
    try:
        assert isinstance(database.handle, BoundedPostgresqlDatabase)
        database.release()  # the opening thread's connection, back to the pool
        for _ in range(5):
            on_thread(lambda: (query(database), database.release()))
        assert counter() == 1
    finally:
        database.close()
    # A backend ends a moment after its client hangs up.
    wait_for_sync(lambda: counter() == 0, 10, what="closing leaves no idle connection behind")


def test_a_thread_past_the_bound_waits_then_gets_an_outage_error_and_then_a_freed_one(
    pg_url: str, counter: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database_module, "POOL_WAIT_SECONDS", 1)
    database = open_database(pg_url, max_connections=2)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        query(database)
        holding.set()
        release.wait(30)
        database.release()

    holder = threading.Thread(target=hold)
    try:
        holder.start()  # the opening thread keeps the other connection
        assert holding.wait(10)
        with pytest.raises(peewee.OperationalError, match="all 2 database connections"):
            on_thread(lambda: query(database))
        assert counter() == 2
        release.set()
        holder.join(10)
        on_thread(lambda: (query(database), database.release()))
        assert counter() == 2
    finally:
        release.set()
        holder.join(10)
        database.close()


def test_a_connection_the_server_ended_is_replaced_not_handed_out(
    pg_url: str, counter: Callable[[], int]
) -> None:
    database = open_database(pg_url)
    try:
        query(database)
        database.release()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (APP_NAME,),
            )
        wait_for_sync(lambda: counter() == 0, 10, what="the backend ended")
        assert query(database) == 1  # a fresh connection: the pool tested the idle one first
        assert counter() == 1
    finally:
        database.close()
