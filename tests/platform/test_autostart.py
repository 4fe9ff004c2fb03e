"""Start at login: the XDG entry, the macOS LaunchAgent, the Windows Run value and the null one.

Every implementation writes into a temporary folder (or a fake registry); nothing here touches
the real session. The XDG entry is checked with `desktop-file-validate` when it is installed
(required under `KICKWATCH_TEST_STRICT=1`).
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest

from kickwatch.platform.autostart import (
    Autostart,
    AutostartError,
    LaunchAgentAutostart,
    NullAutostart,
    WindowsRunAutostart,
    XdgAutostart,
    autostart_for_platform,
    launch_command,
)
from kickwatch.resources import APP_ID, DESKTOP_FILE

STRICT = os.environ.get("KICKWATCH_TEST_STRICT") == "1"
COMMAND = ["/opt/kick watch/bin/kickwatch"]


def require_tool(name: str) -> str:
    """The tool's path; skip (or fail under KICKWATCH_TEST_STRICT=1) when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (Debian: apt-get install desktop-file-utils)"
        if STRICT:
            pytest.fail(f"KICKWATCH_TEST_STRICT=1: {message}")
        pytest.skip(message)
    return path


def desktop_values(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


# XDG -----------------------------------------------------------------------------------------


def test_xdg_enable_writes_entry_that_launches_this_installation(tmp_path: Path) -> None:
    autostart = XdgAutostart(tmp_path / "autostart", COMMAND)

    autostart.enable()

    entry = tmp_path / "autostart" / DESKTOP_FILE
    values = desktop_values(entry)
    assert values["Exec"] == '"/opt/kick watch/bin/kickwatch"'
    assert values["TryExec"] == "/opt/kick watch/bin/kickwatch"
    assert values["X-GNOME-Autostart-enabled"] == "true"
    assert values["Icon"] == APP_ID
    assert values["Type"] == "Application"
    assert values["Name"] == "kickwatch"  # taken from the shipped .desktop file
    assert list(values).count("Exec") == 1
    assert entry.stat().st_mode & 0o777 == 0o600
    assert autostart.is_enabled()


def test_xdg_entry_passes_desktop_file_validate(tmp_path: Path) -> None:
    validate = require_tool("desktop-file-validate")
    command = ["/home/o'neil/$HOME/bin/python3", "-m", "kickwatch", "--tray", "100%", "a\\b"]
    autostart = XdgAutostart(tmp_path, command)
    autostart.enable()

    result = subprocess.run(
        [validate, str(tmp_path / DESKTOP_FILE)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout
    exec_line = desktop_values(tmp_path / DESKTOP_FILE)["Exec"]
    # Quoting rule first (\$), then the string escape doubles each backslash.
    assert exec_line == (
        '"/home/o\'neil/\\\\$HOME/bin/python3" -m kickwatch --tray 100%% "a\\\\\\\\b"'
    )


def test_xdg_disable_removes_entry_and_is_idempotent(tmp_path: Path) -> None:
    autostart = XdgAutostart(tmp_path, COMMAND)
    autostart.enable()

    autostart.disable()
    autostart.disable()

    assert not (tmp_path / DESKTOP_FILE).exists()
    assert not autostart.is_enabled()


def test_xdg_is_disabled_before_enable_and_when_switched_off_by_the_desktop(
    tmp_path: Path,
) -> None:
    autostart = XdgAutostart(tmp_path, COMMAND)
    assert not autostart.is_enabled()
    autostart.enable()
    entry = tmp_path / DESKTOP_FILE

    entry.write_text(
        entry.read_text().replace(
            "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"
        )
    )
    assert not autostart.is_enabled()

    autostart.enable()  # re-enabling repairs the switch instead of adding a second one
    assert autostart.is_enabled()
    assert entry.read_text().count("X-GNOME-Autostart-enabled") == 1

    entry.write_text(entry.read_text() + "Hidden=true\n")
    assert not autostart.is_enabled()


def test_xdg_uses_given_template_and_keeps_other_groups(tmp_path: Path) -> None:
    template = tmp_path / "template.desktop"
    template.write_text(
        "[Desktop Entry]\nType=Application\nName=kw\nExec=old\nHidden=true\n\n"
        "[Desktop Action Pause]\nName=Pause\nExec=kickwatch pause\n"
    )
    autostart = XdgAutostart(tmp_path / "autostart", ["/usr/bin/kickwatch"], template=template)

    text = autostart.render()

    assert "Exec=old" not in text
    assert "Hidden" not in text
    assert "Exec=kickwatch pause" in text  # another group's Exec is left alone
    main_group = text.split("[Desktop Action Pause]")[0]
    assert "Exec=/usr/bin/kickwatch\n" in main_group
    assert "X-GNOME-Autostart-enabled=true" in main_group


def test_xdg_enable_reports_unwritable_folder_as_autostart_error(tmp_path: Path) -> None:
    blocker = tmp_path / "autostart"
    blocker.write_text("a file where the folder should be")
    autostart = XdgAutostart(blocker, COMMAND)

    with pytest.raises(AutostartError, match="Cannot write"):
        autostart.enable()


# macOS ---------------------------------------------------------------------------------------


def test_launch_agent_plist_round_trips(tmp_path: Path) -> None:
    command = ["/Applications/kickwatch.app/Contents/MacOS/kickwatch"]
    autostart = LaunchAgentAutostart(tmp_path / "LaunchAgents", command)
    assert not autostart.is_enabled()

    autostart.enable()

    path = tmp_path / "LaunchAgents" / f"{APP_ID}.plist"
    with path.open("rb") as file:
        agent = plistlib.load(file)
    assert agent == {
        "Label": APP_ID,
        "ProgramArguments": command,
        "RunAtLoad": True,
        "KeepAlive": False,
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",
    }
    assert path.read_bytes().startswith(b"<?xml")
    assert autostart.is_enabled()
    assert str(path) in autostart.describe()


def test_launch_agent_disabled_key_and_disable(tmp_path: Path) -> None:
    autostart = LaunchAgentAutostart(tmp_path, ["/usr/local/bin/kickwatch"])
    autostart.enable()
    path = tmp_path / f"{APP_ID}.plist"
    agent = plistlib.loads(path.read_bytes())
    path.write_bytes(plistlib.dumps({**agent, "Disabled": True}))
    assert not autostart.is_enabled()

    autostart.disable()
    autostart.disable()

    assert not path.exists()
    assert not autostart.is_enabled()


def test_launch_agent_ignores_a_broken_plist(tmp_path: Path) -> None:
    (tmp_path / f"{APP_ID}.plist").write_text("not a plist")

    assert not LaunchAgentAutostart(tmp_path, ["kickwatch"]).is_enabled()


# Windows (with a fake registry) --------------------------------------------------------------


class FakeRunKey:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def read(self, name: str) -> str | None:
        return self.values.get(name)

    def write(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)


def test_windows_run_value_holds_quoted_command() -> None:
    run_key = FakeRunKey()
    command = [r"C:\Program Files\Python311\pythonw.exe", "-m", "kickwatch"]
    autostart = WindowsRunAutostart(command, run_key=run_key)
    assert not autostart.is_enabled()

    autostart.enable()

    assert run_key.values == {"kickwatch": r'"C:\Program Files\Python311\pythonw.exe" -m kickwatch'}
    assert autostart.is_enabled()
    autostart.disable()
    autostart.disable()
    assert run_key.values == {}
    assert not autostart.is_enabled()


# Null and the factory ------------------------------------------------------------------------


def test_null_autostart_is_off_and_refuses_to_enable() -> None:
    autostart = NullAutostart()

    assert not autostart.is_enabled()
    autostart.disable()
    with pytest.raises(AutostartError, match="not available"):
        autostart.enable()
    assert "not available" in autostart.describe()
    assert isinstance(autostart, Autostart)


def test_factory_uses_xdg_config_home_on_linux(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": str(tmp_path / "cfg"), "HOME": "/nonexistent"}

    autostart = autostart_for_platform(environ, "linux", home=tmp_path, command=COMMAND)
    autostart.enable()

    assert isinstance(autostart, XdgAutostart)
    assert (tmp_path / "cfg" / "autostart" / DESKTOP_FILE).is_file()


def test_factory_ignores_relative_xdg_config_home(tmp_path: Path) -> None:
    environ = {"XDG_CONFIG_HOME": "relative/cfg"}

    autostart = autostart_for_platform(environ, "linux", home=tmp_path, command=COMMAND)

    assert isinstance(autostart, XdgAutostart)
    assert autostart.path == tmp_path / ".config" / "autostart" / DESKTOP_FILE


def test_factory_home_defaults_to_environ_home(tmp_path: Path) -> None:
    autostart = autostart_for_platform({"HOME": str(tmp_path)}, "freebsd14", command=COMMAND)

    assert isinstance(autostart, XdgAutostart)
    assert autostart.path.is_relative_to(tmp_path)


def test_factory_picks_launch_agent_on_macos(tmp_path: Path) -> None:
    autostart = autostart_for_platform({}, "darwin", home=tmp_path, command=COMMAND)

    assert isinstance(autostart, LaunchAgentAutostart)
    assert autostart.path == tmp_path / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


def test_factory_picks_run_key_on_windows_and_null_elsewhere(tmp_path: Path) -> None:
    assert isinstance(
        autostart_for_platform({}, "win32", home=tmp_path, command=COMMAND), WindowsRunAutostart
    )
    assert isinstance(
        autostart_for_platform({}, "emscripten", home=tmp_path, command=COMMAND), NullAutostart
    )


# The launch command --------------------------------------------------------------------------


def test_launch_command_in_a_bundle_is_the_bundle_executable() -> None:
    assert launch_command(platform="linux", executable="/opt/kickwatch/kickwatch", frozen=True) == [
        "/opt/kickwatch/kickwatch"
    ]


def test_launch_command_prefers_the_script_next_to_the_interpreter(tmp_path: Path) -> None:
    (tmp_path / "python3").touch()
    (tmp_path / "kickwatch").touch()

    command = launch_command(platform="linux", executable=str(tmp_path / "python3"), frozen=False)

    assert command == [str(tmp_path / "kickwatch")]


def test_launch_command_falls_back_to_python_dash_m(tmp_path: Path) -> None:
    python = tmp_path / "python3"

    command = launch_command(platform="linux", executable=str(python), frozen=False)

    assert command == [str(python), "-m", "kickwatch"]


def test_launch_command_on_windows_prefers_pythonw(tmp_path: Path) -> None:
    (tmp_path / "pythonw.exe").touch()
    (tmp_path / "kickwatch.exe").touch()

    command = launch_command(
        platform="win32", executable=str(tmp_path / "python.exe"), frozen=False
    )

    assert command == [str(tmp_path / "pythonw.exe"), "-m", "kickwatch"]
