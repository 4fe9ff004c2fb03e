"""Secrets and files, proven on the real `kickwatch` command in subprocesses.

A canary client secret is set with `kickwatch config set` and is the fake Kick's own client
secret, so every request for a token carries it. It must never appear in what kickwatch prints
(with `-v` logging), in the crash log, in an error's text, or in the raw bytes of the SQLite
database and its -wal and -shm files while the monitor runs. Every file and folder kickwatch
made under a fresh home must be private (0600 / 0700); a file or folder it did not make keeps
its mode.
"""

from __future__ import annotations

import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import Cli, kickwatch_command, make_cli
from tests.fakekick import CLIENT_ID, FakeKick, wait_for_sync

CANARY = "CANARY-s3cr3t-7f1d9a2c"
WRONG_CANARY = "CANARY-wrong-0b8e4d61"

# A crash on purpose: the table `config list` would print is the exception's text, so a secret
# among its values would land in the crash log and on stderr.
CRASH_SCRIPT = """
import sys
import kickwatch.cli.output as output

def broken_table(headers, rows, *args, **kwargs):
    raise RuntimeError(f"cannot print {rows!r}")

output.print_table = broken_table
from kickwatch.__main__ import main
sys.exit(main(["-v", "config", "list"]))
"""


@pytest.fixture
def kick() -> Iterator[FakeKick]:
    fake = FakeKick(client_secret=CANARY).start_in_thread()
    try:
        yield fake
    finally:
        fake.stop_thread()


def private_cli(home: Path, kick: FakeKick) -> Cli:
    """The command against the fake Kick, with no keyring and no environment key: a key file."""
    cli = make_cli(home, **kick.env(), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    cli.env.pop("KICKWATCH_MASTER_KEY")
    return cli


def everything_under(root: Path) -> list[Path]:
    return [root, *sorted(root.rglob("*"))]


def raw_bytes(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def run_monitor_until_a_change(cli: Cli, kick: FakeKick, out: Path) -> tuple[str, dict[str, bytes]]:
    """`kickwatch -v run` until alice's go-live is printed; its output and the files' bytes
    read while it was still running (the -wal and -shm files exist only then)."""
    stdout, stderr = out / "run.out", out / "run.err"
    with stdout.open("wb") as out_file, stderr.open("wb") as err_file:
        process = subprocess.Popen(
            [*kickwatch_command(), "-v", "run"], env=cli.env, stdout=out_file, stderr=err_file
        )
    try:
        channel = kick.state.channels["alice"]
        wait_for_sync(
            lambda: kick.pusher.subscribers(f"channel.{channel.channel_id}"),
            30,
            what="kickwatch run to subscribe",
        )
        kick.go_live("alice", title="canary run")
        wait_for_sync(lambda: b"is live" in stdout.read_bytes(), 30, what="the go-live line")
        files = raw_bytes(cli.home)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, stderr.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    return stdout.read_text() + stderr.read_text(), files


def test_a_secret_never_appears_in_clear_and_every_file_kickwatch_made_is_private(
    kick: FakeKick, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    home = tmp_path / "made-by-kickwatch" / "home"
    cli = private_cli(home, kick)
    kick.add_channel("alice")
    printed: list[str] = []

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        result = cli(*args)
        printed.append(result.stdout + result.stderr)
        return result

    assert run("-v", "config", "set", "auth.client_id", CLIENT_ID).returncode == 0
    assert run("-v", "config", "set", "auth.client_secret", CANARY).returncode == 0
    assert run("-v", "add", "alice").returncode == 0
    for args in (("config", "list"), ("config", "get", "auth.client_secret"), ("-v", "doctor")):
        assert run(*args).returncode == 0
    assert run("-v", "doctor", "--connection").returncode == 0

    monitor_output, files_while_running = run_monitor_until_a_change(cli, kick, out)
    printed.append(monitor_output)
    assert any(r.body and CANARY in r.body for r in kick.requests)  # it was really sent
    assert any(name.endswith("-wal") for name in files_while_running)
    assert any(name.endswith("-shm") for name in files_while_running)

    crash = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT],
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert crash.returncode == 1 and "internal error" in crash.stderr
    printed.append(crash.stdout + crash.stderr)
    crash_log = home / "logs" / "crash.log"
    assert "cannot print" in crash_log.read_text()

    # A wrong secret: Kick refuses it, and the refusal does not repeat it.
    assert run("config", "set", "auth.client_secret", WRONG_CANARY).returncode == 0
    refused = run("-v", "add", "bob")
    assert refused.returncode != 0

    for text in printed:
        assert CANARY not in text and WRONG_CANARY not in text
    for name, content in {**files_while_running, **raw_bytes(home)}.items():
        assert CANARY.encode() not in content, name
        assert WRONG_CANARY.encode() not in content, name

    made = everything_under(tmp_path / "made-by-kickwatch")
    assert {p.name for p in made} >= {"kickwatch.db", "master.key", "logs", "crash.log"}
    wrong = {
        str(p): oct(stat.S_IMODE(p.stat().st_mode))
        for p in made
        if stat.S_IMODE(p.stat().st_mode) != (0o700 if p.is_dir() else 0o600)
    }
    assert wrong == {}


def test_files_and_folders_kickwatch_did_not_make_keep_their_modes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    shared = tmp_path / "shared.db"
    shared.touch()
    shared.chmod(0o640)
    cli = make_cli(home, KICKWATCH_DB=str(shared))
    assert cli("add", "alpha", "--user-id", "1").returncode == 0
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640
