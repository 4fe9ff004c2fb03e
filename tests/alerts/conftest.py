"""Fixtures of the alert tests: a real loopback HTTP receiver that Apprise posts to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.alerts.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running receiver, taken down after the test."""
    server = Receiver()
    yield server
    server.down()
