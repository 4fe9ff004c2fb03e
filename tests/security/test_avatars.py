"""Avatar downloads against real loopback servers: only https, only allowed hosts, every
redirect hop checked, the size cap enforced while reading, and an image type by header and bytes.

The servers run on 127.0.0.1 only. Kick's hosts cannot be reached from a test, so the policy is
given `127.0.0.1` as its one allowed host; `localhost` (the same server under another name)
stands for a foreign host, and its request log proves a refused URL was never fetched.
"""

from __future__ import annotations

import asyncio
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kickwatch.store.settings import Settings
from kickwatch.ui.avatars import (
    KICK_IMAGE_HOSTS,
    MAX_BYTES,
    AvatarCache,
    AvatarPolicy,
    AvatarRefused,
    host_matches,
)
from tests.security.loopback_http import (
    HUGE_BYTES,
    PNG,
    LoopbackImageServer,
    client_context,
    make_certificate,
)

LOOPBACK_ONLY = AvatarPolicy(hosts=("127.0.0.1",))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_server(certificate: tuple[Path, Path]) -> Iterator[LoopbackImageServer]:
    server = LoopbackImageServer(certificate).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def http_server() -> Iterator[LoopbackImageServer]:
    server = LoopbackImageServer().start()
    try:
        yield server
    finally:
        server.stop()


def fetch(
    certificate: tuple[Path, Path], url: str, policy: AvatarPolicy = LOOPBACK_ONLY
) -> tuple[str, bytes]:
    async def scenario() -> tuple[str, bytes]:
        async with httpx.AsyncClient(verify=client_context(certificate[0])) as http:
            return await AvatarCache(http, Path("unused"), None, policy).fetch(url, policy)

    return asyncio.run(scenario())


def refusal(certificate: tuple[Path, Path], url: str, policy: AvatarPolicy = LOOPBACK_ONLY) -> str:
    with pytest.raises(AvatarRefused) as refused:
        fetch(certificate, url, policy)
    return str(refused.value)


def test_an_image_from_an_allowed_https_host_is_fetched(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer
) -> None:
    assert fetch(certificate, https_server.base + "/a.png") == ("image/png", PNG)
    assert https_server.paths() == ["/a.png"]


def test_plain_http_is_refused_before_any_request(
    certificate: tuple[Path, Path], http_server: LoopbackImageServer
) -> None:
    assert "scheme http" in refusal(certificate, http_server.base + "/a.png")
    assert http_server.paths() == []


def test_a_host_that_is_not_allowed_is_never_contacted(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer
) -> None:
    url = f"https://localhost:{https_server.port}/a.png"
    assert "host localhost" in refusal(certificate, url)
    # Kick's own policy refuses the loopback address too.
    assert "host 127.0.0.1" in refusal(certificate, https_server.base + "/a.png", AvatarPolicy())
    assert https_server.paths() == []


def test_a_redirect_to_another_host_is_refused_before_it_is_followed(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer
) -> None:
    assert "host localhost" in refusal(certificate, https_server.base + "/redirect-other-host")
    assert https_server.paths() == ["/redirect-other-host"]
    assert set(https_server.hosts()) == {f"127.0.0.1:{https_server.port}"}


def test_a_redirect_to_plain_http_is_refused(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer
) -> None:
    assert "scheme http" in refusal(certificate, https_server.base + "/redirect-http")
    assert https_server.paths() == ["/redirect-http"]


def test_a_redirect_on_the_same_host_is_followed_and_a_loop_is_cut(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer
) -> None:
    assert fetch(certificate, https_server.base + "/redirect-same") == ("image/png", PNG)
    assert "redirects" in refusal(certificate, https_server.base + "/redirect-loop")
    assert https_server.paths().count("/redirect-loop") == LOOPBACK_ONLY.max_redirects + 1


def test_an_oversized_body_is_abandoned_while_it_streams(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer
) -> None:
    assert f"more than {MAX_BYTES} bytes" in refusal(certificate, https_server.base + "/huge.png")
    # The server was still sending when the client hung up: the body was never read whole.
    assert https_server.received.huge_bytes_sent < HUGE_BYTES


def test_a_declared_length_over_the_cap_is_refused_without_reading(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer
) -> None:
    assert "over the" in refusal(certificate, https_server.base + "/declared-big.png")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/page.html", "content type text/html"),
        ("/fake.png", "not image/png"),
        ("/gzip.png", "content encoding gzip"),
    ],
)
def test_only_an_image_as_declared_is_accepted(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer, path: str, reason: str
) -> None:
    assert reason in refusal(certificate, https_server.base + path)


def test_a_refused_avatar_falls_back_to_the_app_icon_and_a_fetched_one_is_private(
    certificate: tuple[Path, Path], https_server: LoopbackImageServer, tmp_path: Path
) -> None:
    fallback = tmp_path / "app.svg"

    async def scenario() -> tuple[Path | None, Path | None]:
        async with httpx.AsyncClient(verify=client_context(certificate[0])) as http:
            cache = AvatarCache(http, tmp_path / "avatars", fallback, lambda: LOOPBACK_ONLY)
            refused = await cache.path_for(f"https://localhost:{https_server.port}/a.png")
            fetched = await cache.path_for(https_server.base + "/a.png")
            return refused, fetched

    refused, fetched = asyncio.run(scenario())
    assert refused == fallback
    assert fetched is not None and fetched.read_bytes() == PNG
    assert stat.S_IMODE(fetched.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "avatars").stat().st_mode) == 0o700


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("files.kick.com", True),
        ("images.kick.com", True),
        ("kick.com", True),
        ("FILES.KICK.COM.", True),
        ("evilkick.com", False),
        ("files.kick.com.evil.example", False),
        ("kick.com.evil.example", False),
        ("127.0.0.1", False),
    ],
)
def test_kick_image_hosts(host: str, allowed: bool) -> None:
    assert any(host_matches(host, pattern) for pattern in KICK_IMAGE_HOSTS) is allowed


def test_the_setting_adds_hosts_and_keeps_kicks(ctx_settings: Settings) -> None:
    ctx_settings.set("system.avatar_hosts", "cdn.example.org, *.images.example.net")
    policy = AvatarPolicy.with_extra_hosts(ctx_settings.get("system.avatar_hosts"))
    policy.check(httpx.URL("https://files.kick.com/a.webp"))
    policy.check(httpx.URL("https://cdn.example.org/a.webp"))
    policy.check(httpx.URL("https://a.images.example.net/a.webp"))
    with pytest.raises(AvatarRefused):
        policy.check(httpx.URL("http://cdn.example.org/a.webp"))
    with pytest.raises(AvatarRefused):
        policy.check(httpx.URL("https://example.org/a.webp"))


@pytest.mark.parametrize("bad", ["https://cdn.example.org", "a b/c", "*", "cdn..example.org"])
def test_the_setting_takes_host_names_only(ctx_settings: Settings, bad: str) -> None:
    from kickwatch.domain.errors import ValidationError

    with pytest.raises(ValidationError, match="host names"):
        ctx_settings.set("system.avatar_hosts", bad)
