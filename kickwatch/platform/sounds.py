"""Custom alert sounds: whether a file is one that notification services can play.

A rule's sound must exist, be a readable regular file, and be a sound by its content, not only
by its name: WAV, Ogg (Vorbis/Opus), FLAC, MP3, AIFF or Core Audio. The first bytes are read and
compared with each format's signature, so a renamed text file is refused with a sentence that
says why. Which of these a desktop really plays is the notification service's choice
(`kickwatch.platform.notifier` falls back to the default sound where files are not supported).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kickwatch.domain.errors import ValidationError
from kickwatch.domain.rules import validate_sound_path_text
from kickwatch.domain.validation import shorten

SOUND_SUFFIXES = (".wav", ".ogg", ".oga", ".opus", ".flac", ".mp3", ".aiff", ".aif", ".caf")
MAX_SOUND_BYTES = 20 * 1024 * 1024  # an alert sound is a few seconds; larger is a mistake
_HEADER_BYTES = 12


class SoundFileError(ValidationError):
    """A sound path that cannot be used: missing, unreadable, or not a sound."""

    def __init__(self, rule: str) -> None:
        super().__init__("sound", rule)


def sound_format(header: bytes) -> str | None:
    """The sound format whose signature starts `header`, or None."""
    if header[:4] == b"RIFF" and header[8:12] == b"WAVE":
        return "WAV"
    if header[:4] == b"OggS":
        return "Ogg"
    if header[:4] == b"fLaC":
        return "FLAC"
    if header[:3] == b"ID3" or (
        len(header) >= 2 and header[0] == 0xFF and header[1] & 0xE0 == 0xE0
    ):
        return "MP3"
    if header[:4] == b"FORM" and header[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if header[:4] == b"caff":
        return "Core Audio"
    return None


def check_sound_file(text: str | None) -> str | None:
    """The absolute path of a usable sound file, or None for no sound of its own.

    Raises SoundFileError with a sentence a person understands. Blocking (reads the file's
    first bytes): keep it off the GUI thread.
    """
    value = validate_sound_path_text(text)
    if value is None:
        return None
    path = Path(value.strip()).expanduser()
    shown = shorten(str(path), 80)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SoundFileError(f"{shown} does not exist") from None
    except OSError as exc:
        raise SoundFileError(f"{shown} cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise SoundFileError(f"{shown} is not a file")
    if info.st_size > MAX_SOUND_BYTES:
        raise SoundFileError(
            f"{shown} is {info.st_size // (1024 * 1024)} MiB; an alert sound may have at most "
            f"{MAX_SOUND_BYTES // (1024 * 1024)} MiB"
        )
    if not os.access(path, os.R_OK):
        raise SoundFileError(f"{shown} cannot be read (permission denied)")
    try:
        with path.open("rb") as handle:
            header = handle.read(_HEADER_BYTES)
    except OSError as exc:
        raise SoundFileError(f"{shown} cannot be read ({exc.strerror or exc})") from None
    if sound_format(header) is None:
        raise SoundFileError(
            f"{shown} is not a sound file (WAV, Ogg, FLAC, MP3, AIFF or CAF expected)"
        )
    resolved = str(path.resolve())
    return validate_sound_path_text(resolved)
