"""The master key without an OS keyring, on the real command: said once, looked at by doctor.

With no keyring and no KICKWATCH_MASTER_KEY, the first command that needs the key makes a key
file (0600) and warns once; later commands are quiet about it and only `kickwatch doctor` keeps
saying it. Doctor itself never makes a key file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.helpers import Cli, make_cli

WARNING = "no OS keyring available"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    cli = make_cli(tmp_path / "home", PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    cli.env.pop("KICKWATCH_MASTER_KEY")
    return cli


def test_the_key_file_warning_is_printed_once_when_the_file_is_made(cli: Cli) -> None:
    first = cli("config", "set", "auth.client_secret", "first-secret")
    assert first.returncode == 0, first.stderr
    assert first.stderr.count(WARNING) == 1
    assert str(cli.home / "master.key") in first.stderr
    assert (cli.home / "master.key").stat().st_mode & 0o777 == 0o600
    for args in (
        ("config", "get", "auth.client_secret", "--reveal"),
        ("config", "set", "auth.client_secret", "second-secret"),
        ("config", "list", "--reveal"),
        ("list",),
    ):
        result = cli(*args)
        assert result.returncode == 0 and WARNING not in result.stderr, (args, result.stderr)
    assert cli("config", "get", "auth.client_secret", "--reveal").stdout.strip() == "second-secret"
    doctor = cli("doctor")
    assert doctor.returncode == 0
    assert f"master key   warn  key file {cli.home / 'master.key'} (no OS keyring" in doctor.stdout


def test_doctor_makes_no_key_file(cli: Cli) -> None:
    for _ in range(2):
        doctor = cli("doctor")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "master key   warn  no OS keyring available: a key file" in doctor.stdout
        assert WARNING not in doctor.stderr
        assert not (cli.home / "master.key").exists()
    assert cli("config", "get", "auth.client_secret").returncode == 0  # unset: no key needed
    assert not (cli.home / "master.key").exists()
