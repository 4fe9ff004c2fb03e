"""Shared test set-up: Qt offscreen before anything imports it, strict service checks, stores."""

from __future__ import annotations

import os

# Qt aborts the process without a display; tests always run offscreen unless a test says so.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.pop("PYTHON_KEYRING_BACKEND", None)

pytest_plugins = ["tests.store.fixtures"]
