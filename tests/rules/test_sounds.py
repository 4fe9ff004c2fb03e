"""A rule's sound file: checked when it is set, played through the notification service's sound
support where the service plays files, the default sound where it does not."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from desktop_notifier import DEFAULT_SOUND, Capability

from kickwatch.platform.notifier import DesktopNotifierBackend, Notification
from kickwatch.platform.sounds import SoundFileError, check_sound_file, sound_format
from tests.rules.sounds import write_wav


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "WAV"),
        (b"OggS\x00\x02" + bytes(6), "Ogg"),
        (b"fLaC\x00\x00\x00\x22" + bytes(4), "FLAC"),
        (b"ID3\x04\x00\x00" + bytes(6), "MP3"),
        (b"\xff\xfb\x90\x64" + bytes(8), "MP3"),
        (b"FORM\x00\x00\x00\x00AIFF", "AIFF"),
        (b"caff\x00\x01\x00\x00" + bytes(4), "Core Audio"),
        (b"<html><body>", None),
        (b"", None),
    ],
)
def test_formats_are_told_by_their_first_bytes(header: bytes, kind: str | None) -> None:
    assert sound_format(header) == kind


def test_a_real_wav_is_accepted_as_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_wav(tmp_path / "bell.wav")
    monkeypatch.chdir(tmp_path)
    assert check_sound_file("bell.wav") == str(tmp_path / "bell.wav")
    assert check_sound_file("  ") is None
    assert check_sound_file(None) is None


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda d: d / "gone.ogg", "does not exist"),
        (lambda d: d, "is not a file"),
        (lambda d: _text(d / "song.mp3"), "is not a sound file"),
        (lambda d: _big(d / "huge.wav"), "at most 20 MiB"),
    ],
    ids=["missing", "folder", "renamed-text", "too-big"],
)
def test_a_file_that_is_not_a_playable_sound_is_refused_with_the_reason(
    tmp_path: Path, make: Any, fragment: str
) -> None:
    with pytest.raises(SoundFileError, match=fragment) as caught:
        check_sound_file(str(make(tmp_path)))
    assert str(caught.value).startswith("sound: ")


def test_an_unreadable_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bell = write_wav(tmp_path / "bell.wav")
    bell.chmod(0)
    if os.access(bell, os.R_OK):  # root reads anything: make the permission check answer no
        real = os.access
        monkeypatch.setattr(
            os, "access", lambda p, mode: False if Path(p) == bell else real(p, mode)
        )
    with pytest.raises(SoundFileError, match="cannot be read"):
        check_sound_file(str(bell))


def _text(path: Path) -> Path:
    path.write_text("just some notes\n", encoding="utf-8")
    return path


def _big(path: Path) -> Path:
    with path.open("wb") as handle:
        handle.write(b"RIFF\x00\x00\x00\x00WAVE")
        handle.truncate(21 * 1024 * 1024)
    return path


class Native:
    """desktop-notifier stand-in: captures what is sent, answers with `capabilities`."""

    def __init__(self, capabilities: frozenset[Capability]) -> None:
        self.capabilities = capabilities
        self.sent: list[Any] = []

    async def get_capabilities(self) -> frozenset[Capability]:
        return self.capabilities

    async def send_notification(self, notification: Any) -> str:
        self.sent.append(notification)
        return "id"


def backend(native: Native) -> DesktopNotifierBackend:
    async def plain() -> bool:
        return False

    made = DesktopNotifierBackend("kickwatch", body_markup=plain)
    made._notifier = native  # type: ignore[assignment]
    made.sound_file_hint = False  # a service that says what it plays (macOS, Windows)
    return made


def test_a_sound_file_is_sent_where_the_service_plays_files(tmp_path: Path) -> None:
    bell = write_wav(tmp_path / "bell.wav")
    native = Native(frozenset({Capability.SOUND, Capability.SOUND_FILE}))
    asyncio.run(backend(native).notify(Notification("x", sound=True, sound_file=str(bell))))
    [sent] = native.sent
    assert sent.sound.path == bell


def test_a_freedesktop_server_that_plays_sounds_gets_the_file(tmp_path: Path) -> None:
    bell = write_wav(tmp_path / "bell.wav")
    native = Native(frozenset({Capability.SOUND, Capability.SOUND_NAME}))
    made = backend(native)
    made.sound_file_hint = True  # desktop-notifier's D-Bus backend sends it as `sound-file`
    asyncio.run(made.notify(Notification("x", sound=True, sound_file=str(bell))))
    assert native.sent[0].sound.path == bell


def test_the_default_sound_is_played_where_files_are_not_supported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bell = write_wav(tmp_path / "bell.wav")
    native = Native(frozenset({Capability.SOUND, Capability.SOUND_NAME}))
    made = backend(native)
    with caplog.at_level(logging.INFO, logger="kickwatch.platform.notifier"):
        for _ in range(2):
            asyncio.run(made.notify(Notification("x", sound=True, sound_file=str(bell))))
    assert [sent.sound for sent in native.sent] == [DEFAULT_SOUND, DEFAULT_SOUND]
    notes = [r for r in caplog.records if "cannot play sound files" in r.getMessage()]
    assert len(notes) == 1  # said once, not with every alert


def test_a_sound_file_that_vanished_falls_back_to_the_default_sound(tmp_path: Path) -> None:
    native = Native(frozenset({Capability.SOUND_FILE}))
    note = Notification("x", sound=True, sound_file=str(tmp_path / "gone.wav"))
    asyncio.run(backend(native).notify(note))
    assert native.sent[0].sound == DEFAULT_SOUND


def test_no_sound_means_none_even_with_a_file(tmp_path: Path) -> None:
    native = Native(frozenset({Capability.SOUND_FILE}))
    asyncio.run(backend(native).notify(Notification("x", sound=False, sound_file="/s.wav")))
    assert native.sent[0].sound is None
