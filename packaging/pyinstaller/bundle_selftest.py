"""A self-test the frozen bundle runs on request: is everything loaded by name really in it?

PyInstaller only sees static imports, so a bundle can build fine and still miss a Qt plugin (the
offscreen or xcb platform, the SVG icon engine), a resource file, a keyring backend found through
entry points, or desktop-notifier's D-Bus backend. This imports and exercises each of them inside
the bundle and prints one line per check; the exit status is the number of failures. It needs no
display (it forces the offscreen platform) and no D-Bus session.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable


def _check(name: str, action: Callable[[], str]) -> bool:
    try:
        detail = action()
    except Exception as error:  # any failure is a finding, reported by name
        print(f"FAIL  {name}: {type(error).__name__}: {error}")
        return False
    print(f"ok    {name}: {detail}")
    return True


def _imports(*modules: str) -> Callable[[], str]:
    def action() -> str:
        for module in modules:
            importlib.import_module(module)
        return ", ".join(modules)

    return action


def _qt_icons() -> str:
    from PySide6.QtGui import QGuiApplication, QIcon, QImageReader
    from PySide6.QtWidgets import QApplication, QSystemTrayIcon

    from kickwatch.resources import TrayState, icon_path, tray_icon_path

    _app = QApplication.instance() or QApplication(sys.argv[:1])
    formats = {bytes(f.data()).decode() for f in QImageReader.supportedImageFormats()}
    missing = {"svg", "png", "jpeg", "webp"} - formats
    if missing:
        raise RuntimeError(f"image formats missing: {sorted(missing)}")
    paths = [icon_path(), icon_path(22), *(tray_icon_path(state) for state in TrayState)]
    for path in paths:
        image = QIcon(str(path)).pixmap(22, 22).toImage()
        if image.isNull() or not any(
            image.pixelColor(x, y).alpha()
            for x in range(image.width())
            for y in range(image.height())
        ):
            raise RuntimeError(f"{path.name} renders empty")
    tray = QSystemTrayIcon(QIcon(str(tray_icon_path(TrayState.LIVE))))
    tray.setToolTip("kickwatch self-test")
    del tray
    platform = QGuiApplication.platformName()
    return f"{len(paths)} icons rendered on {platform}; images: {', '.join(sorted(formats))}"


def _kickwatch_modules() -> str:
    import pkgutil

    import kickwatch

    names = [info.name for info in pkgutil.walk_packages(kickwatch.__path__, "kickwatch.")]
    for name in names:
        importlib.import_module(name)
    if "kickwatch.cli" not in names:
        raise RuntimeError(f"kickwatch.cli not found among {names}")
    return f"{len(names)} modules import"


def _no_gtk() -> str:
    base = getattr(sys, "_MEIPASS", "")
    if not base:
        return "skipped: not running from a bundle"
    bundled = [name for _, _, files in os.walk(base) for name in files if "gtk" in name.lower()]
    if bundled:
        raise RuntimeError(f"GTK files bundled: {bundled[:5]}")
    return "no GTK libraries or theme plugin in the bundle"


def _keyring_backends() -> str:
    # keyring finds even its own backends through entry points: metadata and modules both needed.
    from importlib.metadata import entry_points

    import keyring.backend

    points = {point.name: point for point in entry_points(group="keyring.backends")}
    if "SecretService" not in points:
        raise RuntimeError(
            f"keyring entry points missing (metadata not bundled?): {sorted(points)}"
        )
    for point in points.values():
        point.load()
    viable = sorted(type(ring).__module__ for ring in keyring.backend.get_all_keyring())
    return f"{len(points)} backends load; viable here: {viable or 'none'}"


def _apprise() -> str:
    # Apprise lists its plugins folder to find its services: without the files there it knows none.
    from kickwatch.alerts.apprise_io import check_url, known_schemes

    schemes = known_schemes()
    missing = {"discord", "ntfy", "tgram", "json", "mailto"} - schemes
    if missing:
        raise RuntimeError(f"Apprise services missing: {sorted(missing)} of {len(schemes)}")
    check_url("json://127.0.0.1:9/selftest")
    return f"{len(schemes)} URL schemes, json:// accepted"


def run_selftest() -> int:
    """Run every check; the number of failures is the exit status."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    checks = [
        ("kickwatch", _kickwatch_modules),
        ("Qt + plugins + resources", _qt_icons),
        ("no GTK", _no_gtk),
        ("keyring", _keyring_backends),
        ("secret service", _imports("secretstorage", "jeepney", "jeepney.io.blocking")),
        ("notifier", _imports("desktop_notifier", "desktop_notifier.backends.dbus", "dbus_fast")),
        ("asyncio glue", _imports("qasync", "websockets.asyncio.client", "httpx", "peewee")),
        ("alert targets (Apprise)", _apprise),
    ]
    failures = sum(not _check(name, action) for name, action in checks)
    print("bundle self-test:", "passed" if not failures else f"{failures} failed")
    return failures
