"""Store fixtures: a SQLite file and a real PostgreSQL server, one fresh database per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kickwatch.store import Database, Repository, open_database
from tests.clock import ManualClock
from tests.services import require
from tests.store.postgres import PostgresServer, find_bindir, start_server

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the session (skipped, or failed under strict, if absent)."""
    require(find_bindir() is not None, "PostgreSQL server binaries (initdb) are not installed")
    server = start_server()
    yield server
    server.close()


@pytest.fixture
def own_pg_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of this test alone: it may be stopped, killed and started on purpose."""
    require(find_bindir() is not None, "PostgreSQL server binaries (initdb) are not installed")
    server = start_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(pg_server: PostgresServer) -> str:
    """A URL of a fresh, empty database on the test server."""
    name = f"kw_test_{next(_names)}"
    pg_server.sql(f"CREATE DATABASE {name}")
    return pg_server.url(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """Each store test runs on a SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "kickwatch.db")
    return str(request.getfixturevalue("pg_url"))


@dataclass
class Store:
    database: Database
    repository: Repository
    clock: ManualClock


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An open, migrated database with a repository on a manual clock."""
    database = open_database(db_url)
    clock = ManualClock()
    yield Store(database, Repository(database, clock), clock)
    database.close()
