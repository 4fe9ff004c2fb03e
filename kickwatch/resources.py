"""Find the files kickwatch ships (icons, the .desktop entry, AppStream metadata) on disk.

The files live in the repository's top-level `resources/` folder; a wheel installs them as the
package `kickwatch.resources_data`, and the PyInstaller bundle puts them under
`<_MEIPASS>/kickwatch/resources_data`. `resource_path` hides those three layouts behind one call
and always returns a real filesystem path (Qt, desktop-notifier and the autostart writer need a
path, not a `Traversable`). No Qt here: the headless runner and the CLI use it too.
"""

from __future__ import annotations

import importlib.util
import sys
from enum import StrEnum
from functools import cache
from pathlib import Path, PurePosixPath

APP_ID = "io.github.kickwatch.Kickwatch"
DESKTOP_FILE = f"{APP_ID}.desktop"
METAINFO_FILE = f"{APP_ID}.metainfo.xml"
APP_ICON_SVG = "kickwatch.svg"
PNG_ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)

_PACKAGE = "kickwatch.resources_data"


class TrayState(StrEnum):
    """The tray icon variants shipped as `tray-<state>.svg`."""

    IDLE = "idle"
    LIVE = "live"
    DEGRADED = "degraded"
    ERROR = "error"
    PAUSED = "paused"


class ResourceNotFoundError(FileNotFoundError):
    """A shipped resource is missing: the installation is broken, not the user's input."""


@cache
def resources_dir() -> Path:
    """The folder that holds the shipped resources in this installation."""
    for candidate in _candidates():
        # The marker file rules out an unrelated `resources` folder next to an installed package.
        if (candidate / APP_ICON_SVG).is_file():
            return candidate
    tried = ", ".join(str(c) for c in _candidates()) or "(nothing)"
    raise ResourceNotFoundError(f"kickwatch resources not found; looked in: {tried}")


def resource_path(name: str) -> Path:
    """The path of a shipped file, e.g. `resource_path("tray-live.svg")`.

    `name` is relative to the resources folder, with `/` as separator; it may not leave it.
    """
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts or not relative.parts:
        raise ValueError(f"not a resource name: {name!r}")
    path = resources_dir().joinpath(*relative.parts)
    if not path.exists():
        raise ResourceNotFoundError(f"kickwatch resource missing: {path}")
    return path


def icon_path(size: int | None = None) -> Path:
    """The app icon: the SVG when `size` is None, else the PNG rendered at `size` pixels."""
    if size is None:
        return resource_path(APP_ICON_SVG)
    if size not in PNG_ICON_SIZES:
        raise ValueError(f"no {size}px app icon; sizes: {PNG_ICON_SIZES}")
    return resource_path(f"icons/hicolor/{size}x{size}/apps/{APP_ID}.png")


def tray_icon_path(state: TrayState | str) -> Path:
    """The tray icon SVG for one state (idle, live, degraded, error, paused)."""
    return resource_path(f"tray-{TrayState(state).value}.svg")


def _candidates() -> list[Path]:
    """Where the resources may be, most specific layout first."""
    found: list[Path] = []
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root:
        found.append(Path(bundle_root) / "kickwatch" / "resources_data")
    try:
        spec = importlib.util.find_spec(_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.submodule_search_locations:
        # A namespace package (no __init__.py); installed wheels and editable installs.
        found.extend(Path(location) for location in spec.submodule_search_locations)
    # Running from a source checkout with nothing installed: kickwatch/../resources.
    found.append(Path(__file__).resolve().parent.parent / "resources")
    return found
