"""The player command never goes through a shell: a stream address full of shell syntax reaches
the player as one argument, and nothing in it runs.

The player here is the Python interpreter writing its arguments to a file, started the way
kickwatch starts players (`QProcess.startDetached`, through `StreamOpener`). Were a shell
involved, `;`, `$(...)`, backquotes, `|` and `&&` would run the `touch` commands and split the
address into several arguments.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from kickwatch.ui.opener import StreamOpener, player_arguments
from tests.fakekick import wait_for_sync

WRITE_ARGV = (
    "import sys, pathlib; pathlib.Path(sys.argv[-1]).write_text(chr(10).join(sys.argv[1:-1]))"
)


def recorder(into: list[Any]) -> Any:
    """A stand-in for the browser or the process starter that records its call and succeeds."""

    def record(*args: Any) -> bool:
        into.append(args)
        return True

    return record


def hostile_url(markers: Path) -> str:
    return (
        f"https://kick.com/x; touch {markers}/semicolon $(touch {markers}/dollar) "
        f"`touch {markers}/backquote` | touch {markers}/pipe && touch {markers}/and '\"{{url}}"
    )


@pytest.mark.parametrize("quoting", ["{url}", "'{url}'", '"{url}"'])
def test_a_hostile_address_is_one_argument_and_runs_nothing(
    qapp: Any, tmp_path: Path, quoting: str
) -> None:
    markers = tmp_path / "markers"
    markers.mkdir()
    written = tmp_path / "argv.txt"
    template = " ".join(
        [shlex.quote(sys.executable), "-c", shlex.quote(WRITE_ARGV), quoting, str(written)]
    )
    errors: list[str] = []
    opened: list[object] = []
    opener = StreamOpener(lambda: template, open_url=recorder(opened), on_error=errors.append)
    url = hostile_url(markers)

    opener.open(url)

    wait_for_sync(written.exists, 30, what="the player to write its arguments")
    wait_for_sync(lambda: written.read_text() == url, 5, what="the whole address")
    assert list(markers.iterdir()) == []
    assert errors == [] and opened == []


def test_the_address_replaces_the_placeholder_once_and_is_not_read_again() -> None:
    argv = player_arguments("streamlink {url} best", "https://kick.com/a {url} $(id)")
    assert argv == ["streamlink", "https://kick.com/a {url} $(id)", "best"]


def test_a_template_shlex_cannot_read_starts_nothing_and_opens_the_browser(qapp: Any) -> None:
    started: list[Any] = []
    opened: list[object] = []
    errors: list[str] = []
    opener = StreamOpener(
        lambda: "mpv '{url}",
        open_url=recorder(opened),
        start_detached=recorder(started),
        on_error=errors.append,
    )
    opener.open("https://kick.com/alice")
    assert started == [] and len(opened) == 1 and len(errors) == 1
