"""`kickwatch run` as a systemd user service, behind one small `Service` interface.

`SystemdUserService` writes `kickwatch.service` into the user unit folder
(`$XDG_CONFIG_HOME/systemd/user`, else `~/.config/systemd/user`), checks it and removes it, and
calls `systemctl --user` when it is on PATH (through an injectable runner, so tests record the
calls); without systemctl it says which commands to run instead and never fails for it.
Everywhere else `UnsupportedService` says to use the start-at-login setting;
`service_for_platform` is the only place that asks which platform this is. Secrets (the master
key, a database URL with a password) are never written into the unit: they belong in an
`EnvironmentFile=` that only the user can read.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from kickwatch.domain.errors import KickwatchError, ValidationError
from kickwatch.paths import write_private

UNIT_NAME = "kickwatch.service"
SERVICE_NAME = "kickwatch"
ENABLE_COMMAND = "systemctl --user enable --now kickwatch"
LINGER_COMMAND = "loginctl enable-linger $USER"
PLAIN_VARIABLES = ("KICKWATCH_HOME", "KICKWATCH_DB")
SYSTEMCTL_TIMEOUT = 30.0

Runner = Callable[[Sequence[str]], "CommandResult"]


class ServiceError(KickwatchError):
    """The service cannot be installed, checked or removed (or not on this system)."""


@dataclass(frozen=True)
class CommandResult:
    """What a `systemctl` call printed and how it ended."""

    returncode: int
    output: str


@dataclass(frozen=True)
class Report:
    """Lines to show the user, and whether everything is as it should be."""

    lines: tuple[str, ...]
    ok: bool = True


class Service(Protocol):
    """Running `kickwatch run` in the background for the current user."""

    def install(
        self, environ: Mapping[str, str], db_override: str | None, environment_file: Path | None
    ) -> Report:
        """Write (or rewrite) the service for this installation, with the variables of
        `environ` it needs (`db_override` is --db) and the secrets in `environment_file`."""
        ...

    def status(self) -> Report:
        """Whether the service exists, runs this installation, and is active."""
        ...

    def uninstall(self) -> Report:
        """Stop and remove the service; nothing happens if there is none."""
        ...


class UnsupportedService:
    """Where there is no systemd user manager: the start-at-login setting does the job."""

    MESSAGE = (
        "a kickwatch service is not supported here; use the start-at-login setting "
        "(kickwatch config set system.start_at_login true)"
    )

    def install(
        self, environ: Mapping[str, str], db_override: str | None, environment_file: Path | None
    ) -> Report:
        raise ServiceError(self.MESSAGE)

    def status(self) -> Report:
        raise ServiceError(self.MESSAGE)

    def uninstall(self) -> Report:
        raise ServiceError(self.MESSAGE)


def service_environment(
    environ: Mapping[str, str], db_override: str | None, environment_file: Path | None
) -> dict[str, str]:
    """The `Environment=` values for the unit: KICKWATCH_HOME and KICKWATCH_DB when set now.

    Relative paths are made absolute (the service does not start in this folder). A secret
    without an EnvironmentFile to hold it is a ValidationError saying how to provide one.
    """
    values: dict[str, str] = {}
    home = environ.get("KICKWATCH_HOME")
    if home:
        values["KICKWATCH_HOME"] = os.path.abspath(home)
    db = db_override or environ.get("KICKWATCH_DB")
    secrets: list[str] = []
    if environ.get("KICKWATCH_MASTER_KEY"):
        secrets.append("KICKWATCH_MASTER_KEY")
    if db:
        if "://" not in db:
            values["KICKWATCH_DB"] = os.path.abspath(db)
        elif _has_password(db):
            secrets.append("KICKWATCH_DB")
        else:
            values["KICKWATCH_DB"] = db
    if secrets and environment_file is None:
        names = " and ".join(secrets)
        raise ValidationError(
            names,
            "holds a secret, which kickwatch does not write into the unit; put "
            f"{'them' if len(secrets) > 1 else 'it'} in a file only you can read "
            "(NAME=value lines, chmod 600) and run: kickwatch service install "
            "--environment-file FILE",
        )
    return values


def _has_password(url: str) -> bool:
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return True  # unparsable: treat as secret rather than risk writing it out


def check_environment_file(path: Path) -> Path:
    """The absolute path of an EnvironmentFile that exists and only its owner can read."""
    path = Path(os.path.abspath(path))
    try:
        info = path.stat()
    except OSError as exc:
        raise ValidationError("--environment-file", f"{path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ValidationError("--environment-file", f"{path} is not a file")
    if info.st_mode & 0o077:
        raise ValidationError(
            "--environment-file",
            f"{path} can be read by others (mode {stat.S_IMODE(info.st_mode):o}); "
            f"run: chmod 600 {path}",
        )
    return path


def systemd_quote(arg: str, *, in_exec: bool) -> str:
    """One argument in double quotes for a unit file; `$` is doubled in ExecStart lines."""
    if any(char in arg for char in "\n\r\0"):
        raise ServiceError(f"{arg!r} cannot be written into a systemd unit (line break)")
    quoted = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if in_exec:
        quoted = quoted.replace("$", "$$")
    return f'"{quoted}"'


def exec_start(command: Sequence[str]) -> str:
    """The `ExecStart=` line that runs `kickwatch run` with `command`."""
    return "ExecStart=" + " ".join(systemd_quote(arg, in_exec=True) for arg in [*command, "run"])


def render_unit(
    command: Sequence[str], environment: Mapping[str, str], environment_file: Path | None
) -> str:
    """The text of `kickwatch.service`."""
    lines = [
        "[Unit]",
        "Description=kickwatch: Kick.com live alerts (headless monitor)",
        "",
        "[Service]",
        "Type=exec",
        exec_start(command),
        "Restart=on-failure",
        "RestartSec=5",
        "StandardOutput=journal",
        "StandardError=journal",
    ]
    for key, value in environment.items():
        lines.append("Environment=" + systemd_quote(f"{key}={value}", in_exec=False))
    if environment_file is not None:
        path = str(environment_file)
        if any(char in path for char in "\n\r\0"):
            raise ServiceError(f"{path!r} cannot be written into a systemd unit (line break)")
        lines.append("EnvironmentFile=" + path.replace("%", "%%"))
    lines += ["", "[Install]", "WantedBy=default.target", ""]
    return "\n".join(lines)


def run_command(args: Sequence[str]) -> CommandResult:
    """Run a command, its output combined; a failure to run it is a result, not an error."""
    try:
        done = subprocess.run(
            list(args),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=SYSTEMCTL_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return CommandResult(-1, f"no answer within {SYSTEMCTL_TIMEOUT:.0f} s")
    except OSError as exc:
        return CommandResult(-1, exc.strerror or str(exc))
    return CommandResult(done.returncode, done.stdout.strip())


class SystemdUserService:
    """`kickwatch.service` in a systemd user unit folder."""

    def __init__(
        self,
        unit_dir: Path,
        command: Sequence[str],
        systemctl: str | None,
        runner: Runner = run_command,
    ) -> None:
        self.unit_dir = unit_dir
        self.path = unit_dir / UNIT_NAME
        self._command = list(command)
        self._systemctl = systemctl
        self._run = runner

    def install(
        self, environ: Mapping[str, str], db_override: str | None, environment_file: Path | None
    ) -> Report:
        if environment_file is not None:
            environment_file = check_environment_file(environment_file)
        environment = service_environment(environ, db_override, environment_file)
        text = render_unit(self._command, environment, environment_file)
        _write_private(self.path, text)
        lines = [f"wrote {self.path}"]
        if self._systemctl is None:
            lines += [
                "systemctl was not found; where systemd runs, load and start the service with:",
                "  systemctl --user daemon-reload",
            ]
        else:
            lines.append(self._systemctl_line("daemon-reload"))
            lines.append("to start kickwatch now and at every login:")
        lines += [
            f"  {ENABLE_COMMAND}",
            "on a home server, to keep it running while you are logged out:",
            f"  {LINGER_COMMAND}",
            "its log: journalctl --user -u kickwatch",
        ]
        return Report(tuple(lines))

    def status(self) -> Report:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Report((f"{self.path}: not installed (kickwatch service install)",), ok=False)
        except (OSError, UnicodeDecodeError) as exc:
            raise ServiceError(f"cannot read {self.path}: {exc}") from None
        expected = exec_start(self._command)
        found = [line.strip() for line in text.splitlines() if line.startswith("ExecStart=")]
        ok = found == [expected]
        lines = [
            f"{self.path}: installed, runs this installation"
            if ok
            else f"{self.path}: installed for another installation "
            f"({found[0] if found else 'no ExecStart'}); run kickwatch service install again"
        ]
        if self._systemctl is None:
            lines.append("systemctl was not found: cannot tell whether the service is running")
        else:
            result = self._run([self._systemctl, "--user", "is-active", SERVICE_NAME])
            lines.append(f"systemctl --user is-active kickwatch: {result.output or 'no answer'}")
        return Report(tuple(lines), ok=ok)

    def uninstall(self) -> Report:
        if not self.path.exists():
            return Report((f"{self.path}: not installed; nothing to remove",))
        lines: list[str] = []
        if self._systemctl is not None:
            lines.append(self._systemctl_line("disable", "--now", SERVICE_NAME))
        try:
            self.path.unlink()
        except OSError as exc:
            raise ServiceError(f"cannot remove {self.path}: {exc.strerror or exc}") from None
        lines.append(f"removed {self.path}")
        if self._systemctl is not None:
            lines.append(self._systemctl_line("daemon-reload"))
        else:
            lines.append("systemctl was not found; where systemd runs, stop the service with:")
            lines.append("  systemctl --user disable --now kickwatch")
        return Report(tuple(lines))

    def _systemctl_line(self, *args: str) -> str:
        assert self._systemctl is not None
        result = self._run([self._systemctl, "--user", *args])
        shown = "systemctl --user " + " ".join(args)
        if result.returncode == 0:
            return f"{shown}: done"
        detail = result.output.splitlines()[0] if result.output else f"exit {result.returncode}"
        return f"{shown} failed ({detail}); run it yourself where the user manager runs"


def service_for_platform(
    environ: Mapping[str, str] = os.environ,
    platform: str = sys.platform,
    command: Sequence[str] | None = None,
) -> Service:
    """The service implementation for this system; the one place that asks which it is."""
    if not platform.startswith("linux"):
        return UnsupportedService()
    from kickwatch.platform.autostart import launch_command

    home = Path(environ["HOME"]) if environ.get("HOME") else Path.home()
    config_home = environ.get("XDG_CONFIG_HOME", "")
    # The XDG spec says to ignore a relative XDG_CONFIG_HOME.
    config_dir = Path(config_home) if os.path.isabs(config_home) else home / ".config"
    systemctl = shutil.which("systemctl", path=environ.get("PATH", os.defpath))
    return SystemdUserService(
        config_dir / "systemd" / "user",
        command if command is not None else launch_command(platform=platform),
        systemctl,
    )


def _write_private(path: Path, text: str) -> None:
    """Write `text` to `path` atomically with mode 0600."""
    try:
        write_private(path, text.encode("utf-8"))
    except OSError as exc:
        raise ServiceError(f"cannot write {path}: {exc.strerror or exc}") from None
