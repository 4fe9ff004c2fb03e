"""`kickwatch service install|status|uninstall`: a systemd user unit, systemctl or not."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from kickwatch.cli.systemd_service import (
    ServiceError,
    exec_start,
    render_unit,
    service_for_platform,
)
from tests.cli.helpers import Cli, kickwatch_command, make_cli

FAKE_SYSTEMCTL = """#!/bin/sh
echo "$@" >> "{log}"
if [ "$2" = "is-active" ]; then echo active; fi
exit 0
"""


def service_cli(tmp_path: Path, bin_dir: Path) -> Cli:
    bin_dir.mkdir(exist_ok=True)
    cli = make_cli(tmp_path / "home", XDG_CONFIG_HOME=str(tmp_path / "config"), PATH=str(bin_dir))
    cli.env.pop("KICKWATCH_MASTER_KEY")
    return cli


def unit_path(tmp_path: Path) -> Path:
    return tmp_path / "config" / "systemd" / "user" / "kickwatch.service"


def test_install_without_systemctl_writes_a_private_unit_and_prints_the_commands(
    tmp_path: Path,
) -> None:
    cli = service_cli(tmp_path, tmp_path / "bin")

    result = cli("service", "install")

    assert result.returncode == 0, result.stderr
    unit = unit_path(tmp_path)
    text = unit.read_text(encoding="utf-8")
    assert exec_start(kickwatch_command()) in text.splitlines()
    assert text.splitlines()[5].endswith('"run"')
    for line in ("Restart=on-failure", "RestartSec=5", "StandardOutput=journal"):
        assert line in text.splitlines()
    assert f'Environment="KICKWATCH_HOME={tmp_path / "home"}"' in text
    assert "MASTER_KEY" not in text
    assert stat.S_IMODE(unit.stat().st_mode) == 0o600
    for folder in (unit.parent, unit.parent.parent, unit.parent.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert "systemctl was not found" in result.stdout
    assert "systemctl --user enable --now kickwatch" in result.stdout
    assert "loginctl enable-linger $USER" in result.stdout

    status = cli("service", "status")
    assert status.returncode == 0
    assert "runs this installation" in status.stdout

    removed = cli("service", "uninstall")
    assert removed.returncode == 0, removed.stderr
    assert not unit.exists()
    assert cli("service", "status").returncode == 1


def test_a_fake_systemctl_is_called_for_reload_status_and_removal(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "systemctl.log"
    fake = bin_dir / "systemctl"
    fake.write_text(FAKE_SYSTEMCTL.format(log=log), encoding="utf-8")
    fake.chmod(0o755)
    cli = service_cli(tmp_path, bin_dir)

    installed = cli("service", "install")
    status = cli("service", "status")
    removed = cli("service", "uninstall")

    assert installed.returncode == 0, installed.stderr
    assert "systemctl --user daemon-reload: done" in installed.stdout
    assert "systemctl --user enable --now kickwatch" in installed.stdout
    assert "is-active kickwatch: active" in status.stdout
    assert removed.returncode == 0, removed.stderr
    assert log.read_text(encoding="utf-8").splitlines() == [
        "--user daemon-reload",
        "--user is-active kickwatch",
        "--user disable --now kickwatch",
        "--user daemon-reload",
    ]


def test_the_master_key_is_refused_unless_an_owner_only_environment_file_holds_it(
    tmp_path: Path,
) -> None:
    cli = service_cli(tmp_path, tmp_path / "bin")
    cli.env["KICKWATCH_MASTER_KEY"] = "s3cret-key"
    secrets = tmp_path / "kickwatch.env"
    secrets.write_text("KICKWATCH_MASTER_KEY=s3cret-key\n", encoding="utf-8")

    refused = cli("service", "install")
    secrets.chmod(0o644)
    readable = cli("service", "install", "--environment-file", str(secrets))
    secrets.chmod(0o600)
    accepted = cli("service", "install", "--environment-file", str(secrets))

    assert refused.returncode == 2
    assert "--environment-file" in refused.stderr and "s3cret" not in refused.stderr
    assert readable.returncode == 2 and "chmod 600" in readable.stderr
    assert accepted.returncode == 0, accepted.stderr
    text = unit_path(tmp_path).read_text(encoding="utf-8")
    assert f"EnvironmentFile={secrets}" in text.splitlines()
    assert "s3cret" not in text


def test_a_database_url_with_a_password_counts_as_a_secret(tmp_path: Path) -> None:
    cli = service_cli(tmp_path, tmp_path / "bin")
    cli.env["KICKWATCH_DB"] = "postgresql://kw:hunter2@db.example/kickwatch"

    result = cli("service", "install")

    assert result.returncode == 2
    assert "KICKWATCH_DB" in result.stderr and "hunter2" not in result.stderr
    assert not unit_path(tmp_path).exists()


def test_a_unit_for_another_installation_is_reported_by_status(tmp_path: Path) -> None:
    cli = service_cli(tmp_path, tmp_path / "bin")
    unit = unit_path(tmp_path)
    unit.parent.mkdir(parents=True)
    unit.write_text(render_unit(["/elsewhere/kickwatch"], {}, None), encoding="utf-8")

    status = cli("service", "status")

    assert status.returncode == 1
    assert "another installation" in status.stdout


def test_paths_are_quoted_for_systemd() -> None:
    line = exec_start(['/opt/my apps/kick%watch$1/bin/py"x\\', "-m", "kickwatch"])
    assert line == ('ExecStart="/opt/my apps/kick%%watch$$1/bin/py\\"x\\\\" "-m" "kickwatch" "run"')
    unit = render_unit(["/x"], {"KICKWATCH_HOME": "/h/50%$HOME"}, Path("/e/%n.env"))
    assert 'Environment="KICKWATCH_HOME=/h/50%%$HOME"' in unit.splitlines()
    assert "EnvironmentFile=/e/%%n.env" in unit.splitlines()
    with pytest.raises(ServiceError, match="line break"):
        exec_start(["/x\n[Service]"])


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_other_systems_are_told_to_use_start_at_login(platform: str, tmp_path: Path) -> None:
    service = service_for_platform({"HOME": str(tmp_path)}, platform=platform)
    with pytest.raises(ServiceError, match="start-at-login"):
        service.install({"KICKWATCH_MASTER_KEY": "k"}, None, None)
    with pytest.raises(ServiceError, match="not supported here"):
        service.status()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_accepts_the_unit(tmp_path: Path) -> None:
    cli = service_cli(tmp_path, tmp_path / "bin")
    assert cli("service", "install").returncode == 0
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit_path(tmp_path))],
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
