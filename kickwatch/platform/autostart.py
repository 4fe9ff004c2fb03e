"""Start kickwatch at login, behind one small `Autostart` interface with one implementation each.

Linux and other freedesktop systems get an XDG autostart entry generated from the shipped
`.desktop` file; macOS a LaunchAgent plist; Windows a value under the current user's `Run` key
(winreg imported only there); anything else the null implementation. `autostart_for_platform` is
the only place that looks at the platform; every path and the launch command are injectable so the
tests run in a temporary folder. Writing is atomic and nothing is started now: the entry takes
effect at the next login. A failure a user can meet (read-only folder, registry denied) is an
`AutostartError` with a message a person understands.
"""

from __future__ import annotations

import os
import plistlib
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from kickwatch.domain.errors import KickwatchError
from kickwatch.paths import write_private
from kickwatch.resources import APP_ID, DESKTOP_FILE, ResourceNotFoundError, resource_path

RUN_KEY_PATH = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE_NAME = "kickwatch"
_NOT_WINDOWS = "The Windows registry is only available on Windows."

# Used only when the shipped .desktop file cannot be found (a broken installation).
_FALLBACK_DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Name=kickwatch
Comment=Get notified when the Kick.com streamers you follow go live or offline
Exec=kickwatch
Icon=io.github.kickwatch.Kickwatch
Terminal=false
StartupNotify=false
Categories=Network;AudioVideo;
"""


class AutostartError(KickwatchError):
    """Start at login could not be changed or is not available here."""


@runtime_checkable
class Autostart(Protocol):
    """Start-at-login for the current user; changes take effect at the next login."""

    def is_enabled(self) -> bool:
        """Whether kickwatch is set to start at login."""
        ...

    def enable(self) -> None:
        """Start kickwatch at login (rewrites the entry, so it follows a moved installation)."""
        ...

    def disable(self) -> None:
        """Stop starting kickwatch at login; nothing happens if it was not enabled."""
        ...

    def describe(self) -> str:
        """Where the setting lives, for the doctor command and the settings dialog."""
        ...


def launch_command(
    *,
    platform: str = sys.platform,
    executable: str = sys.executable,
    frozen: bool | None = None,
) -> list[str]:
    """The command that starts this installation of kickwatch.

    In a PyInstaller bundle that is the bundle's executable. Otherwise it is the `kickwatch`
    script installed next to the running interpreter (pip, pipx, a venv), else
    `python -m kickwatch`. On Windows `pythonw` is preferred so that no console window opens.
    """
    if frozen is None:
        frozen = bool(getattr(sys, "frozen", False))
    interpreter = Path(executable)
    if frozen:
        return [str(interpreter)]
    if platform == "win32":
        pythonw = interpreter.with_name("pythonw.exe")
        if pythonw.is_file():
            return [str(pythonw), "-m", "kickwatch"]
        script = interpreter.parent / "kickwatch.exe"
    else:
        script = interpreter.parent / "kickwatch"
    if script.is_file():
        return [str(script)]
    return [str(interpreter), "-m", "kickwatch"]


class NullAutostart:
    """Start at login where kickwatch does not know how: always off, enabling fails politely."""

    def is_enabled(self) -> bool:
        return False

    def enable(self) -> None:
        raise AutostartError("Start at login is not available on this system.")

    def disable(self) -> None:
        return None

    def describe(self) -> str:
        return "Start at login is not available on this system."


class XdgAutostart:
    """An XDG autostart entry: `<autostart_dir>/io.github.kickwatch.Kickwatch.desktop`."""

    def __init__(
        self,
        autostart_dir: Path,
        command: Sequence[str],
        template: Path | None = None,
    ) -> None:
        self.path = autostart_dir / DESKTOP_FILE
        self._command = list(command)
        self._template = template

    def is_enabled(self) -> bool:
        try:
            entry = _desktop_entry_values(self.path.read_text(encoding="utf-8"))
        except (FileNotFoundError, UnicodeDecodeError):
            return False
        except OSError as error:
            raise AutostartError(f"Cannot read {self.path}: {error.strerror}") from error
        # Desktop settings panels switch an entry off in place rather than deleting it.
        return (
            entry.get("Hidden", "false").lower() != "true"
            and entry.get("X-GNOME-Autostart-enabled", "true").lower() != "false"
        )

    def enable(self) -> None:
        _write_atomically(self.path, self.render().encode("utf-8"))

    def disable(self) -> None:
        _remove(self.path)

    def describe(self) -> str:
        return f"XDG autostart entry {self.path}"

    def render(self) -> str:
        """The autostart entry: the shipped .desktop file, launching this installation."""
        template = self._read_template()
        exec_line = " ".join(_desktop_exec_quote(arg) for arg in self._command)
        overrides = {
            "Exec": exec_line,
            "TryExec": _desktop_escape(self._command[0]),
            "X-GNOME-Autostart-enabled": "true",
        }
        lines: list[str] = []
        group = ""
        for line in template.splitlines():
            stripped = line.strip()
            if stripped.startswith("["):
                if group == "Desktop Entry":
                    lines.extend(f"{key}={value}" for key, value in overrides.items())
                    overrides = {}
                group = stripped.strip("[]")
            elif group == "Desktop Entry" and "=" in stripped and not stripped.startswith("#"):
                key = stripped.split("=", 1)[0].strip()
                if key in overrides:
                    lines.append(f"{key}={overrides.pop(key)}")
                    continue
                if key == "Hidden" or key.startswith("X-GNOME-Autostart"):
                    continue
            lines.append(line)
        if group == "Desktop Entry":
            lines.extend(f"{key}={value}" for key, value in overrides.items())
        return "\n".join(lines) + "\n"

    def _read_template(self) -> str:
        try:
            template = self._template or resource_path(DESKTOP_FILE)
            return template.read_text(encoding="utf-8")
        except (ResourceNotFoundError, FileNotFoundError):
            return _FALLBACK_DESKTOP_ENTRY


class LaunchAgentAutostart:
    """A macOS LaunchAgent: `~/Library/LaunchAgents/io.github.kickwatch.Kickwatch.plist`."""

    def __init__(self, launch_agents_dir: Path, command: Sequence[str]) -> None:
        self.path = launch_agents_dir / f"{APP_ID}.plist"
        self._command = list(command)

    def is_enabled(self) -> bool:
        try:
            with self.path.open("rb") as file:
                agent = plistlib.load(file)
        except FileNotFoundError:
            return False
        except plistlib.InvalidFileException:
            return False
        except OSError as error:
            raise AutostartError(f"Cannot read {self.path}: {error.strerror}") from error
        return (
            isinstance(agent, dict)
            and agent.get("Label") == APP_ID
            and not agent.get("Disabled", False)
        )

    def enable(self) -> None:
        _write_atomically(self.path, plistlib.dumps(self.agent(), fmt=plistlib.FMT_XML))

    def disable(self) -> None:
        _remove(self.path)

    def describe(self) -> str:
        return f"LaunchAgent {self.path}"

    def agent(self) -> dict[str, object]:
        """The LaunchAgent's keys: run once at login in the GUI session, never restarted."""
        return {
            "Label": APP_ID,
            "ProgramArguments": self._command,
            "RunAtLoad": True,
            "KeepAlive": False,
            "ProcessType": "Interactive",
            "LimitLoadToSessionType": "Aqua",
        }


class RunKey(Protocol):
    """The values of the current user's `Run` registry key (a fake one in tests)."""

    def read(self, name: str) -> str | None: ...

    def write(self, name: str, value: str) -> None: ...

    def delete(self, name: str) -> None: ...


class WinregRunKey:
    """`HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run` through winreg.

    winreg is imported inside each method, so this module loads everywhere; the
    `sys.platform` checks also let mypy skip the Windows-only calls on other platforms.
    """

    def read(self, name: str) -> str | None:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH) as key:
                    value, _kind = winreg.QueryValueEx(key, name)
            except FileNotFoundError:
                return None
            return str(value)
        raise AutostartError(_NOT_WINDOWS)

    def write(self, name: str, value: str) -> None:
        if sys.platform == "win32":
            import winreg

            with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, RUN_KEY_PATH) as key:
                winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)
            return
        raise AutostartError(_NOT_WINDOWS)

    def delete(self, name: str) -> None:
        if sys.platform == "win32":
            import winreg

            try:
                with winreg.OpenKey(
                    winreg.HKEY_CURRENT_USER, RUN_KEY_PATH, 0, winreg.KEY_SET_VALUE
                ) as key:
                    winreg.DeleteValue(key, name)
            except FileNotFoundError:
                pass
            return
        raise AutostartError(_NOT_WINDOWS)


class WindowsRunAutostart:
    """A `kickwatch` value under the current user's `Run` key holding the launch command.

    Task Manager's "Disable" is kept in a separate `StartupApproved` key that this does not read,
    so `is_enabled` reports the value being present.
    """

    def __init__(self, command: Sequence[str], run_key: RunKey | None = None) -> None:
        self._command = list(command)
        self._run_key: RunKey = run_key if run_key is not None else WinregRunKey()

    def is_enabled(self) -> bool:
        try:
            return self._run_key.read(RUN_VALUE_NAME) is not None
        except OSError as error:
            raise AutostartError(f"Cannot read the Run registry key: {error}") from error

    def enable(self) -> None:
        try:
            self._run_key.write(RUN_VALUE_NAME, subprocess.list2cmdline(self._command))
        except OSError as error:
            raise AutostartError(f"Cannot write the Run registry key: {error}") from error

    def disable(self) -> None:
        try:
            self._run_key.delete(RUN_VALUE_NAME)
        except OSError as error:
            raise AutostartError(f"Cannot change the Run registry key: {error}") from error

    def describe(self) -> str:
        return f"registry value HKCU\\{RUN_KEY_PATH}\\{RUN_VALUE_NAME}"


def autostart_for_platform(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    home: Path | None = None,
    command: Sequence[str] | None = None,
) -> Autostart:
    """The start-at-login implementation for this platform; the one place that asks which."""
    if home is None:
        home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    if command is None:
        command = launch_command(platform=platform)
    if platform == "win32":
        return WindowsRunAutostart(command)
    if platform == "darwin":
        return LaunchAgentAutostart(home / "Library" / "LaunchAgents", command)
    if platform.startswith(("linux", "freebsd", "openbsd", "netbsd", "dragonfly", "sunos")):
        config_home = environ.get("XDG_CONFIG_HOME", "")
        # The XDG spec says to ignore a relative XDG_CONFIG_HOME.
        config_dir = Path(config_home) if os.path.isabs(config_home) else home / ".config"
        return XdgAutostart(config_dir / "autostart", command)
    return NullAutostart()


def _desktop_entry_values(text: str) -> dict[str, str]:
    """The keys of the `[Desktop Entry]` group (untranslated ones only matter here)."""
    values: dict[str, str] = {}
    group = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            group = line.strip("[]")
        elif group == "Desktop Entry" and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def _desktop_escape(value: str) -> str:
    """Escape a string value for a desktop entry (the key-file level escapes)."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


def _desktop_exec_quote(arg: str) -> str:
    """Quote one argument of `Exec=` as the Desktop Entry spec requires, then escape it."""
    arg = arg.replace("%", "%%")
    reserved = set(" \t\n\"'\\><~|&;$*?#()`")
    if arg and not reserved.intersection(arg):
        return _desktop_escape(arg)
    quoted = "".join("\\" + char if char in '"`$\\' else char for char in arg)
    return _desktop_escape(f'"{quoted}"')


def _write_atomically(path: Path, data: bytes) -> None:
    try:
        write_private(path, data)  # private like every file kickwatch writes
    except OSError as error:
        raise AutostartError(f"Cannot write {path}: {error.strerror or error}") from error


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        raise AutostartError(f"Cannot remove {path}: {error.strerror or error}") from error
