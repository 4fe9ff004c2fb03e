"""The import file parser: lists, CSV and saved kick.com pages, hostile HTML included."""

from __future__ import annotations

import pytest

from kickwatch.domain.follow_import import (
    ImportFileError,
    decode,
    parse_follow_list,
)


def names(text: str) -> tuple[str, ...]:
    return parse_follow_list(text).names


def test_a_list_takes_names_and_urls_and_ignores_blank_lines_comments_and_duplicates() -> None:
    text = (
        "# who I follow\n\nxQc\n  https://kick.com/Trainwreckstv/videos?tab=1  \n"
        "@amouranth # the comment goes\nwww.kick.com/xqc\n\n"
    )
    result = parse_follow_list(text)
    assert result.kind == "list"
    assert result.names == ("xqc", "trainwreckstv", "amouranth")
    assert result.rejected == ()


def test_a_list_rejects_entries_that_are_not_names_with_their_line() -> None:
    result = parse_follow_list("good\nbad name!\nhttps://kick.com/categories\n")
    assert result.names == ("good",)
    assert [(r.line, "kick.com page" in r.reason) for r in result.rejected] == [
        (2, False),
        (3, True),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "Username,followed since\nxqc,2024\nhttps://kick.com/Foo,2025\n",
        "id;CHANNEL\n1;xqc\n2;foo\n",
        "url\thandle\nhttps://kick.com/xqc\tx\nkick.com/foo\ty\n",
        '"slug"\n"xqc"\n# skipped\n\n"foo"\n',
    ],
)
def test_csv_with_a_known_header_column_gives_that_column(text: str) -> None:
    result = parse_follow_list(text)
    assert result.kind == "csv"
    assert result.names == ("xqc", "foo")


def test_csv_rows_without_the_column_are_skipped_and_bad_cells_rejected() -> None:
    result = parse_follow_list("x,name\n1\n2,\n3,bad!\n4,ok\n")
    assert result.names == ("ok",)
    assert [r.line for r in result.rejected] == [4]


def test_csv_without_a_known_column_is_an_error() -> None:
    with pytest.raises(ImportFileError, match="no column named"):
        parse_follow_list("id,follower\n1,xqc\n")


FOLLOWING_PAGE = """<!DOCTYPE html>
<html><head><title>Following</title>
<link href="https://kick.com/notalink" rel="stylesheet">
<script>var s = '<a href="https://kick.com/inscript">x</a>';</script>
</head><body>
<nav><a href="https://kick.com/following">Following</a>
<a href="/browse">Browse</a> <a href="/categories/just-chatting">Cats</a>
<a href='https://kick.com/search?q=x'>Search</a></nav>
<!-- <a href="https://kick.com/commented">hidden</a> -->
<div class="card"><a class="x" data-href="https://kick.com/decoy" href="https://kick.com/xqc">
  <div><span><img src="a.png" alt="xqc"></span><p>xQc</p></div></a></div>
<div><a
  href = "/Trainwreckstv" title="t">Trainwreck</a></div>
<a target=_blank href=http://www.kick.com/amouranth?ref=following#top>A</a>
<a href="https&#58;&#x2F;&#x2F;kick.com&#x2F;entity?a=1&amp;b=2">E</a>
<a href="//kick.com/protocolrelative">P</a>
<a href="https://KICK.COM/xqc/">dup</a>
<a href="https://kick.com/video/123">vod</a><a href="https://kick.com/xqc/clips/c1">clip</a>
<a href="https://kick.com.evil.example/fake">evil</a><a href="https://evil.example/kick.com/x">e</a>
<a href="javascript:alert(1)">js</a><a href="relative-name">rel</a><a href="https://kick.com/">home</a>
<a href="https://kick.com/bad.name">file</a><a href="mailto:x@kick.com">mail</a>
<a href="https://[::1/x">broken</a><a>no href</a><a href="">empty</a>
<A HREF="https://kick.com/UpperTag">U</A>
</body></html>
"""


def test_a_saved_following_page_gives_each_channel_once_and_nothing_else() -> None:
    result = parse_follow_list(FOLLOWING_PAGE)
    assert result.kind == "html"
    assert result.names == (
        "xqc",
        "trainwreckstv",
        "amouranth",
        "entity",
        "protocolrelative",
        "uppertag",
    )


def test_an_html_fragment_of_anchors_is_html() -> None:
    assert names('<a href="https://kick.com/one">1</a><a href="/two">2</a>') == ("one", "two")


def test_unclosed_and_broken_html_does_not_raise() -> None:
    found = names('<html><a href="/one"<a href="/two"><div <a href=\'/three')
    assert set(found) <= {"one", "two", "three"}


def test_more_names_than_the_cap_is_an_error() -> None:
    text = "\n".join(f"name{i}" for i in range(11))
    assert len(parse_follow_list(text, max_names=11).names) == 11
    with pytest.raises(ImportFileError, match="more than the 10"):
        parse_follow_list(text, max_names=10)


def test_decode_takes_utf8_with_or_without_a_byte_order_mark() -> None:
    assert decode(b"xqc\n") == "xqc\n"
    assert decode(b"\xef\xbb\xbfusername\nxqc\n") == "username\nxqc\n"


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"\x89PNG\r\n\x1a\n\x00\x00", "binary"), (b"caf\xe9\n", "not UTF-8")],
)
def test_decode_refuses_binary_and_other_encodings(data: bytes, message: str) -> None:
    with pytest.raises(ImportFileError, match=message):
        decode(data)
