"""The Kick channel names in a file to import: a plain list, a CSV export or a saved web page.

`decode` turns the file's bytes into text (UTF-8 only; binary data is refused) and
`parse_follow_list` finds the names in it, with no I/O: a list has one name or kick.com URL a
line (blank lines and `#` comments ignored); CSV has a header row with a `username`, `name`,
`channel`, `slug` or `url` column; HTML (a saved kick.com "Following" page) contributes the
first path segment of every anchor pointing at kick.com, except kick.com's own pages
(/categories, /browse, ...). Names are normalised with `normalize_username` and deduplicated in
the order they first appear; an entry of a list or CSV file that is not a Kick name is returned
as rejected, with its line number, while anything unusable in HTML is simply not a channel link.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

from kickwatch.domain.errors import KickwatchError, ValidationError
from kickwatch.domain.validation import normalize_username, shorten

MAX_NAMES = 5000
CSV_COLUMNS = ("username", "name", "channel", "slug", "url")
KICK_HOSTS = frozenset({"kick.com", "www.kick.com"})
# First path segments of kick.com pages that are not channels.
RESERVED_PATHS = frozenset(
    {
        "about",
        "api",
        "app",
        "browse",
        "categories",
        "category",
        "clip",
        "clips",
        "community-guidelines",
        "contact",
        "dashboard",
        "dmca-policy",
        "following",
        "help",
        "login",
        "messages",
        "notifications",
        "privacy-policy",
        "search",
        "settings",
        "signup",
        "subscriptions",
        "terms-of-service",
        "video",
        "videos",
    }
)
_HTML_SIGN = re.compile(r"<\s*(?:!doctype\b|html\b|head\b|body\b|a\s)", re.IGNORECASE)
_TRAILING_COMMENT = re.compile(r"\s+#.*$")
_DELIMITERS = ",;\t"


class ImportFileError(KickwatchError):
    """The file to import cannot be used at all (not text, no names, too many names)."""


@dataclass(frozen=True)
class Rejected:
    """An entry of a list or CSV file that is not a Kick channel name."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class FollowList:
    """The channel names found in a file, in order, and the entries that were not names."""

    names: tuple[str, ...]
    rejected: tuple[Rejected, ...]
    kind: str  # "list", "csv" or "html"


def decode(data: bytes) -> str:
    """The text of an import file: UTF-8 (a byte order mark is dropped), never binary."""
    if b"\x00" in data:
        raise ImportFileError("is a binary file, not a list of names, CSV or HTML")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"is not UTF-8 text (byte {exc.start + 1} is invalid); save it as UTF-8"
        ) from None


def parse_follow_list(text: str, *, max_names: int = MAX_NAMES) -> FollowList:
    """The channel names in `text`, whichever of the three forms it has."""
    if _HTML_SIGN.search(text):
        result = FollowList(_names_in_html(text), (), "html")
    else:
        header = _csv_header(text)
        if header is not None:
            names, rejected = _names_in_csv(text, header)
            result = FollowList(names, rejected, "csv")
        else:
            names, rejected = _names_in_list(text)
            result = FollowList(names, rejected, "list")
    if len(result.names) > max_names:
        raise ImportFileError(
            f"holds {len(result.names):,} channel names, more than the {max_names:,} one import "
            "takes; split it into smaller files"
        )
    return result


def channel_name(entry: str) -> str:
    """The channel name in one list or CSV entry (a name, `@name` or a kick.com URL).

    Raises ValidationError when it is not a Kick name or names one of kick.com's own pages.
    """
    name = normalize_username(entry)
    if name in RESERVED_PATHS:
        raise ValidationError("username", f"{name} is a kick.com page, not a channel")
    return name


def _names_in_list(text: str) -> tuple[tuple[str, ...], tuple[Rejected, ...]]:
    found = _Found()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        found.add_entry(number, _TRAILING_COMMENT.sub("", line))
    return found.result()


def _first_content_line(text: str) -> str | None:
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            return line
    return None


def _csv_header(text: str) -> tuple[str, int] | None:
    """The delimiter and the index of the name column when `text` is CSV with a header.

    A first line that has a delimiter but no known column is an error rather than a list:
    a list of names never holds a comma, semicolon or tab.
    """
    first = _first_content_line(text)
    if first is None:
        return None
    delimiter = next((d for d in _DELIMITERS if d in first), ",")
    cells = [cell.strip().strip('"').strip().lower() for cell in first.split(delimiter)]
    for column in CSV_COLUMNS:
        if column in cells:
            return delimiter, cells.index(column)
    if any(d in first for d in _DELIMITERS):
        raise ImportFileError(
            "looks like CSV but its header has no column named "
            + ", ".join(CSV_COLUMNS[:-1])
            + f" or {CSV_COLUMNS[-1]}"
        )
    return None


def _names_in_csv(
    text: str, header: tuple[str, int]
) -> tuple[tuple[str, ...], tuple[Rejected, ...]]:
    delimiter, column = header
    found = _Found()
    content = io.StringIO(text, newline="")
    reader = csv.reader(content, delimiter=delimiter)
    seen_header = False
    try:
        for row in reader:
            cells = [cell.strip() for cell in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if not seen_header:
                seen_header = True
                continue
            if column < len(cells) and cells[column]:
                found.add_entry(reader.line_num, cells[column])
    except csv.Error as exc:
        raise ImportFileError(f"is not valid CSV (line {reader.line_num}: {exc})") from None
    return found.result()


def _names_in_html(text: str) -> tuple[str, ...]:
    collector = _AnchorCollector()
    collector.feed(text)
    collector.close()
    found = _Found()
    for href in collector.hrefs:
        name = _channel_in_href(href)
        if name is not None:
            found.add(name)
    return found.result()[0]


def _channel_in_href(href: str) -> str | None:
    """The channel an anchor's (already entity-decoded) href points at, if it is one."""
    try:
        parts = urlsplit(href.strip())
    except ValueError:  # e.g. an invalid IPv6 host
        return None
    if parts.scheme or parts.netloc:
        if parts.scheme not in ("", "http", "https") or parts.hostname not in KICK_HOSTS:
            return None
    elif not parts.path.startswith("/"):
        return None  # relative to the saved file's folder, not to kick.com
    segments = [segment for segment in parts.path.split("/") if segment]
    if not segments:
        return None
    try:
        return channel_name(unquote(segments[0]))
    except ValidationError:
        return None


class _AnchorCollector(HTMLParser):
    """The `href` of every `<a>` start tag, entity references decoded by HTMLParser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        for key, value in attrs:
            if key == "href" and value:
                self.hrefs.append(value)
                return


class _Found:
    """Names in first-seen order without duplicates, and the rejected entries."""

    def __init__(self) -> None:
        self._names: dict[str, None] = {}
        self._rejected: list[Rejected] = []

    def add(self, name: str) -> None:
        self._names.setdefault(name, None)

    def add_entry(self, line: int, entry: str) -> None:
        try:
            self.add(channel_name(entry))
        except ValidationError as exc:
            self._rejected.append(Rejected(line, shorten(entry), exc.rule))

    def result(self) -> tuple[tuple[str, ...], tuple[Rejected, ...]]:
        return tuple(self._names), tuple(self._rejected)
