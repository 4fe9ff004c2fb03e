"""A private desktop for end-to-end tests: Xvfb, a session D-Bus, dunst and an xfce4-panel tray.

`VirtualDesktop.start()` brings them up in order (X server on a free display, a private session
bus, dunst as the notification daemon, xfce4-panel as the StatusNotifier host) and waits for
each to be ready by asking it, never by sleeping a fixed time. With `accessibility=True` it also
starts the AT-SPI bus (at-spi-bus-launcher) on the private session bus and switches Qt's and
GTK's accessibility on, so a screen reader's view of the apps can be read with pyatspi.
`missing_tools()` names what is not installed so the test can skip (or fail under
`KICKWATCH_TEST_STRICT=1`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

TOOLS = {
    "Xvfb": "xvfb",
    "dbus-daemon": "dbus",
    "dbus-send": "dbus",
    "dbus-monitor": "dbus",
    "dunst": "dunst",
    "dunstctl": "dunst",
    "xfce4-panel": "xfce4-panel",
    "import": "imagemagick",
}
APT_PACKAGES = ("xvfb", "dbus", "dunst", "xfce4-panel", "imagemagick")
# The screen reader's side: the accessibility bus and pyatspi for the system Python.
SYSTEM_PYTHON = "/usr/bin/python3"
ATSPI_LAUNCHERS = ("/usr/libexec/at-spi-bus-launcher", "at-spi-bus-launcher")
ATSPI_PACKAGES = ("at-spi2-core", "python3-pyatspi")

PANEL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<channel name="xfce4-panel" version="1.0">
  <property name="configver" type="int" value="2"/>
  <property name="panels" type="array">
    <value type="int" value="1"/>
    <property name="panel-1" type="empty">
      <property name="position" type="string" value="p=8;x=640;y=784"/>
      <property name="length" type="uint" value="100"/>
      <property name="position-locked" type="bool" value="true"/>
      <property name="size" type="uint" value="32"/>
      <property name="plugin-ids" type="array">
        <value type="int" value="1"/>
      </property>
    </property>
  </property>
  <property name="plugins" type="empty">
    <property name="plugin-1" type="string" value="systray"/>
  </property>
</channel>
"""

DUNSTRC = """[global]
    font = DejaVu Sans 11
    geometry = "420x6-20+20"
    width = 420
    origin = top-right
    offset = 20x20
    icon_position = left
    max_icon_size = 48
    frame_width = 2
    frame_color = "#53fc18"
    format = "<b>%s</b>\\n%b"
[urgency_normal]
    background = "#1a1a1a"
    foreground = "#ffffff"
    timeout = 0
"""


def missing_tools() -> list[str]:
    """The commands this desktop needs that are not installed, with their Debian package."""
    return [f"{tool} ({package})" for tool, package in TOOLS.items() if not shutil.which(tool)]


def atspi_launcher() -> str | None:
    """The at-spi-bus-launcher program, if installed."""
    for candidate in ATSPI_LAUNCHERS:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def missing_accessibility() -> list[str]:
    """What reading the AT-SPI tree needs that is not installed, with its Debian package."""
    missing = []
    if atspi_launcher() is None:
        missing.append("at-spi-bus-launcher (at-spi2-core)")
    probe = (
        subprocess.run(
            [SYSTEM_PYTHON, "-c", "import pyatspi"], capture_output=True, check=False, timeout=30
        )
        if Path(SYSTEM_PYTHON).exists()
        else None
    )
    if probe is None or probe.returncode != 0:
        missing.append(f"pyatspi for {SYSTEM_PYTHON} (python3-pyatspi)")
    return missing


def wait_until(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `predicate` until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class VirtualDesktop:
    """Xvfb + private session bus + dunst + xfce4-panel, torn down in reverse order."""

    def __init__(
        self, root: Path, *, dunst_markup: str | None = None, accessibility: bool = False
    ) -> None:
        self.root = root
        self.dunst_markup = dunst_markup  # dunst's `markup` setting: full, strip or no
        self.accessibility = accessibility
        self.home = root / "home"
        self.config = self.home / ".config"
        self.runtime = root / "runtime"
        self.display = ""
        self.bus_address = ""
        self._processes: list[subprocess.Popen[bytes]] = []
        self.logs = root / "logs"

    # -- environment --------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment for programs on this desktop (no inherited Qt or bus settings)."""
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
        }
        env.update(
            {
                "HOME": str(self.home),
                "XDG_CONFIG_HOME": str(self.config),
                "XDG_RUNTIME_DIR": str(self.runtime),
                "XDG_CURRENT_DESKTOP": "XFCE",
            }
        )
        if self.accessibility:
            env.update({"QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1", "QT_ACCESSIBILITY": "1"})
            env.pop("NO_AT_BRIDGE", None)
        else:
            env["NO_AT_BRIDGE"] = "1"
        if self.display:
            env["DISPLAY"] = self.display
        if self.bus_address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.bus_address
        return env

    def _spawn(self, name: str, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        self.logs.mkdir(parents=True, exist_ok=True)
        with (self.logs / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                argv,
                env=self.env(),
                stdout=kwargs.pop("stdout", log),  # type: ignore[arg-type]
                stderr=log,
                start_new_session=True,
                **kwargs,  # type: ignore[arg-type]
            )
        self._processes.append(process)
        return process

    # -- start and stop -----------------------------------------------------------------

    def start(self, *, panel: bool = True) -> None:
        """Bring the desktop up; every step waits for readiness. No tray host without `panel`."""
        for folder in (self.config, self.runtime):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._start_x()
        self._start_bus()
        if self.accessibility:
            self._start_accessibility_bus()
        self._write_configs()
        self._start_dunst()
        if panel:
            self._start_panel()

    def _start_x(self) -> None:
        read, write = os.pipe()
        self._spawn(
            "xvfb",
            ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            pass_fds=(write,),
        )
        os.close(write)
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise AssertionError(f"Xvfb did not start (see {self.logs / 'xvfb.log'})")
        self.display = f":{number}"

    def _start_bus(self) -> None:
        bus = self._spawn(
            "dbus",
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"],
            stdout=subprocess.PIPE,
        )
        assert bus.stdout is not None
        self.bus_address = bus.stdout.readline().decode().strip()
        if not self.bus_address:
            raise AssertionError("dbus-daemon printed no address")
        subprocess.run(
            ["dbus-update-activation-environment", "DISPLAY", "XDG_CONFIG_HOME", "HOME"],
            env=self.env(),
            check=False,
            capture_output=True,
            timeout=10,
        )

    def _start_accessibility_bus(self) -> None:
        launcher = atspi_launcher()
        if launcher is None:
            raise AssertionError("at-spi-bus-launcher is not installed (at-spi2-core)")
        self._spawn("atspi", [launcher, "--launch-immediately"])
        wait_until(lambda: self.name_has_owner("org.a11y.Bus"), 15, "the AT-SPI bus launcher")

    def atspi(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run tests/desktop/atspi_tree.py with the system Python on this desktop."""
        script = Path(__file__).resolve().parent / "atspi_tree.py"
        return subprocess.run(
            [SYSTEM_PYTHON, str(script), *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _write_configs(self) -> None:
        panel = self.config / "xfce4" / "xfconf" / "xfce-perchannel-xml" / "xfce4-panel.xml"
        panel.parent.mkdir(parents=True, exist_ok=True)
        panel.write_text(PANEL_XML, encoding="utf-8")
        dunst = self.config / "dunst" / "dunstrc"
        dunst.parent.mkdir(parents=True, exist_ok=True)
        config = DUNSTRC
        if self.dunst_markup is not None:
            config = config.replace(
                "[global]\n", f"[global]\n    markup = {self.dunst_markup}\n", 1
            )
        dunst.write_text(config, encoding="utf-8")

    def _start_dunst(self) -> None:
        self._spawn("dunst", ["dunst", "-config", str(self.config / "dunst" / "dunstrc")])
        wait_until(
            lambda: self.name_has_owner("org.freedesktop.Notifications"), 15, "dunst on D-Bus"
        )

    def _start_panel(self) -> None:
        self._spawn("panel", ["xfce4-panel", "--disable-wm-check"])
        wait_until(self.tray_host_registered, 30, "xfce4-panel's StatusNotifier host")

    def stop(self) -> None:
        """Stop everything started, newest first."""
        for process in reversed(self._processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self._processes):
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()
        self._processes.clear()

    # -- asking the desktop -------------------------------------------------------------

    def dbus_send(self, *args: str) -> str:
        """`dbus-send --print-reply` on this bus; the reply, or '' on error."""
        result = subprocess.run(
            ["dbus-send", "--session", "--print-reply", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return result.stdout if result.returncode == 0 else ""

    def name_has_owner(self, name: str) -> bool:
        reply = self.dbus_send(
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            f"string:{name}",
        )
        return "boolean true" in reply

    def _watcher_property(self, name: str) -> str:
        return self.dbus_send(
            "--dest=org.kde.StatusNotifierWatcher",
            "/StatusNotifierWatcher",
            "org.freedesktop.DBus.Properties.Get",
            "string:org.kde.StatusNotifierWatcher",
            f"string:{name}",
        )

    def tray_host_registered(self) -> bool:
        """Whether a StatusNotifier host (the panel's systray) is registered."""
        return "boolean true" in self._watcher_property("IsStatusNotifierHostRegistered")

    def tray_items(self) -> list[str]:
        """The registered StatusNotifier items (service names / paths)."""
        reply = self._watcher_property("RegisteredStatusNotifierItems")
        return [
            line.strip().split('"')[1]
            for line in reply.splitlines()
            if line.strip().startswith("string ")
        ]

    def dunst(self, *args: str) -> str:
        result = subprocess.run(
            ["dunstctl", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        return result.stdout

    def notification_history(self) -> list[dict[str, str]]:
        """Closed notifications as dunst keeps them: summary and body as received, appname, and
        `message`, the Pango markup dunst drew (its format applied to summary and body)."""
        data = json.loads(self.dunst("history") or '{"data": [[]]}')
        keys = ("summary", "body", "appname", "message")
        return [
            {key: item.get(key, {}).get("data", "") for key in keys}
            for item in data.get("data", [[]])[0]
        ]

    def screenshot(self, path: Path) -> None:
        """The whole screen as PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["import", "-window", "root", str(path)],
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=30,
        )


@contextlib.contextmanager
def started_desktop(
    folder: Path, *, accessibility: bool = False, panel: bool = True, **options: object
) -> Iterator[VirtualDesktop]:
    """A started `VirtualDesktop`, stopped afterwards; a test without the tools it needs skips
    (or fails under KICKWATCH_TEST_STRICT=1) with the packages to install."""
    from tests.services import require

    missing = missing_tools() + (missing_accessibility() if accessibility else [])
    if not panel:
        missing = [tool for tool in missing if not tool.startswith(("xfce4-panel", "import"))]
    packages = APT_PACKAGES + (ATSPI_PACKAGES if accessibility else ())
    require(
        not missing,
        f"the desktop test needs {', '.join(missing)}; apt-get install {' '.join(packages)}",
    )
    session = VirtualDesktop(folder, accessibility=accessibility, **options)  # type: ignore[arg-type]
    try:
        session.start(panel=panel)
        yield session
    finally:
        session.stop()
