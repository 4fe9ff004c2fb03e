"""Each timing or size the monitor takes from a setting has one default: the options dataclass a
test builds without settings starts where a fresh installation's settings start. (The channels
per connection are tied to the pool's constant in `tests/kick/test_pusher_pool.py`.)"""

from __future__ import annotations

import pytest

from kickwatch.monitor.leasing import LeaseOptions
from kickwatch.monitor.monitor import MonitorOptions
from kickwatch.monitor.shared import SharedOptions
from kickwatch.store.settings import spec_for

DEFAULTS = {
    "MonitorOptions.reconcile_interval": (
        "monitoring.reconcile_interval",
        MonitorOptions().reconcile_interval,
    ),
    "MonitorOptions.retention_days": ("database.retention_days", MonitorOptions().retention_days),
    "SharedOptions.refresh_interval": (
        "monitoring.reconcile_interval",
        SharedOptions().refresh_interval,
    ),
    "LeaseOptions.lease_seconds": ("monitoring.lease_seconds", LeaseOptions().lease_seconds),
}


@pytest.mark.parametrize(("key", "default"), DEFAULTS.values(), ids=DEFAULTS.keys())
def test_an_options_default_is_the_default_of_its_setting(key: str, default: float) -> None:
    assert spec_for(key).default == default
