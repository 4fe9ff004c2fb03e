"""`kickwatch import FILE` in a subprocess, looking names up on the fake Kick."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import Cli, make_cli
from tests.fakekick import FakeKick
from tests.fakekick.fixtures import fake_kick_thread

__all__ = ["fake_kick_thread"]


def cli_for(kick: FakeKick, tmp_path: Path) -> Cli:
    return make_cli(tmp_path / "home", **kick.env())


def test_import_adds_new_names_keeps_known_ones_and_reports_each_and_a_summary(
    fake_kick_thread: FakeKick, tmp_path: Path
) -> None:
    fake_kick_thread.add_channel("alpha")
    fake_kick_thread.add_channel("beta")
    cli = cli_for(fake_kick_thread, tmp_path)
    assert cli("add", "alpha").returncode == 0
    listing = tmp_path / "follows.txt"
    listing.write_text("# mine\nalpha\nhttps://kick.com/Beta\n\nghost\nbeta\n", encoding="utf-8")

    result = cli("import", str(listing))

    assert result.returncode == 1, result.stderr
    assert "added beta" in result.stdout
    assert "alpha: alpha is already monitored; nothing changed" in result.stdout
    assert "ghost" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout.strip().splitlines()[-1] == (
        f"imported {listing}: 3 names, 1 added, 1 already monitored, 1 failed"
    )
    stored = cli("list", "--json")
    assert '"username": "beta"' in stored.stdout and "ghost" not in stored.stdout


def test_import_of_a_saved_following_page_from_stdin_exits_0_and_can_be_repeated(
    fake_kick_thread: FakeKick, tmp_path: Path
) -> None:
    fake_kick_thread.add_channel("alpha")
    fake_kick_thread.add_channel("beta")
    cli = cli_for(fake_kick_thread, tmp_path)
    page = (
        '<html><body><a href="https://kick.com/following">Following</a>'
        '<a class="c" href="https://kick.com/alpha"><img alt="a"></a>'
        '<a href="/beta?x=1">b</a><a href="https://kick.com/categories/irl">IRL</a></body></html>'
    )

    first = cli("import", "-", input=page)
    again = cli("import", "-", input=page)

    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().endswith("2 names, 2 added, 0 already monitored, 0 failed")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("2 names, 0 added, 2 already monitored, 0 failed")


def test_entries_that_are_not_names_are_skipped_with_their_line_and_exit_1(
    fake_kick_thread: FakeKick, tmp_path: Path
) -> None:
    fake_kick_thread.add_channel("alpha")
    cli = cli_for(fake_kick_thread, tmp_path)

    result = cli("import", "-", input="channel,note\nalpha,x\nno way!,y\n")

    assert result.returncode == 1
    assert "added alpha" in result.stdout
    assert "stdin, line 3: 'no way!' is not a Kick username" in result.stderr
    assert result.stdout.strip().endswith("1 added, 0 already monitored, 0 failed, 1 entry skipped")


def test_unusable_files_are_one_line_and_exit_2_without_a_lookup(tmp_path: Path) -> None:
    cli = make_cli(tmp_path / "home", KICKWATCH_API_URL="http://127.0.0.1:9")
    files = {
        "missing.txt": None,
        "empty.txt": b"\n# nothing\n\n",
        "binary.bin": b"\x7fELF\x02\x01\x00\x00",
        "latin1.txt": b"caf\xe9\n",
        "nohead.csv": b"id,follower\n1,alpha\n",
        "allbad.txt": b"not a name!\n",
    }
    for name, data in files.items():
        path = tmp_path / name
        if data is not None:
            path.write_bytes(data)
        result = cli("import", str(path))
        assert result.returncode == 2, (name, result.stderr)
        assert result.stdout == ""
        assert result.stderr.count("\n") <= 2 and "Traceback" not in result.stderr
        assert result.stderr.splitlines()[-1].startswith(f"kickwatch: error: {path}")
    assert cli("import", str(tmp_path)).returncode == 2  # a folder


def test_too_many_names_is_refused_before_any_lookup(tmp_path: Path) -> None:
    cli = make_cli(tmp_path / "home", KICKWATCH_API_URL="http://127.0.0.1:9")
    many = tmp_path / "many.txt"
    many.write_text("\n".join(f"name{i}" for i in range(5001)), encoding="utf-8")

    result = cli("import", str(many))

    assert result.returncode == 2
    assert "5,001 channel names, more than the 5,000" in result.stderr
