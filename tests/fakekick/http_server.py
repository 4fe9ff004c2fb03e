"""Real HTTP servers for the fake Kick: the token service, the official API and kick.com's
unofficial channel API, each on its own free port of 127.0.0.1 (stdlib `ThreadingHTTPServer`
in a thread), so a client that mixes up the bases gets a 404.

All three answer from the shared `FakeKickState` and one `FakeHttpControl`, which tests use to
inject faults (status codes with `Retry-After`, slow answers), block the unofficial API the way
Cloudflare does, expire or revoke tokens, and read the request log.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakekick.state import FakeChannel, FakeKickState

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kick"
NOT_FOUND_BODY = {"message": "No query results for model [App\\Models\\Channel]."}
UNAUTHORIZED_BODY = {"data": {}, "message": "Unauthorized"}
OAUTH_ERROR_BODY = {"error": "Invalid request"}


def cloudflare_html() -> str:
    """Cloudflare's "Just a moment..." challenge page, as recorded."""
    return (FIXTURES / "error_cloudflare_403_challenge.TRUNCATED.html.txt").read_text("utf-8")


def policy_json() -> str:
    """The edge's "Request blocked by security policy." body, as recorded."""
    return (FIXTURES / "error_403_security_policy.json").read_text("utf-8").strip()


@dataclass(frozen=True)
class RecordedRequest:
    """One request a fake server answered."""

    role: str  # "auth", "api" or "web"
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: str
    status: int


@dataclass
class Fault:
    """An injected answer for requests whose path starts with `path`, `count` times."""

    path: str
    status: int | None = None  # None: answer normally (after `delay`)
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    count: int = 1


class FakeHttpControl:
    """Knobs and the request log shared by the three fake HTTP servers (thread-safe)."""

    def __init__(self, state: FakeKickState, *, client_id: str, client_secret: str) -> None:
        self.state = state
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_lifetime: Any = 3600  # sent as `expires_in`; a str or None works too
        self.unofficial_block: str | None = None  # None, "cloudflare" or "policy"
        self.tokens: dict[str, float] = {}  # token → expiry (time.monotonic)
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.lock = threading.Lock()

    def fail(
        self,
        path: str,
        status: int,
        *,
        count: int = 1,
        retry_after: str | None = None,
        body: str = '{"data": null, "message": "Internal server error"}',
    ) -> None:
        """Answer the next `count` requests under `path` with `status` (and `Retry-After`)."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            self.faults.append(Fault(path, status, body, headers, count=count))

    def slow(self, path: str, seconds: float, *, count: int = 1) -> None:
        """Delay the next `count` answers under `path` by `seconds`."""
        with self.lock:
            self.faults.append(Fault(path, None, delay=seconds, count=count))

    def revoke_tokens(self) -> None:
        """Invalidate every issued token: the next API call gets a 401."""
        with self.lock:
            self.tokens.clear()

    def expire_tokens(self) -> None:
        """Make every issued token expire now (as if its `expires_in` had run out)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = {token: now for token in self.tokens}

    def requests_to(self, path: str, role: str | None = None) -> list[RecordedRequest]:
        """Logged requests whose path starts with `path` (and of `role`, if given)."""
        with self.lock:
            return [
                r
                for r in self.requests
                if r.path.startswith(path) and (role is None or r.role == role)
            ]

    def clear_log(self) -> None:
        """Forget the logged requests."""
        with self.lock:
            self.requests.clear()

    def take_fault(self, path: str) -> Fault | None:
        """The first pending fault matching `path`, consuming one use of it."""
        with self.lock:
            for fault in self.faults:
                if path.startswith(fault.path):
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def issue_token(self) -> str:
        """A new valid token."""
        token = f"fake-token-{uuid.uuid4().hex}"
        with self.lock:
            lifetime = float(self.token_lifetime) if self.token_lifetime not in (None, "") else 3600
            self.tokens[token] = time.monotonic() + lifetime
        return token

    def token_valid(self, authorization: str) -> bool:
        """Whether `Authorization: Bearer <token>` carries a live token."""
        token = authorization.removeprefix("Bearer ").strip()
        with self.lock:
            expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        control = self.server.control
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        fault = control.take_fault(parts.path)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status is not None:
            status, text, headers = fault.status, fault.body, fault.headers
        else:
            status, text, headers = _route(self.server.role, method, parts.path, query, body, self)
        with control.lock:
            control.requests.append(
                RecordedRequest(
                    self.server.role, method, parts.path, query, dict(self.headers), body, status
                )
            )
        payload = text.encode("utf-8")
        self.send_response(status)
        content_type = "text/html" if payload.startswith(b"<") else "application/json"
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


Answer = tuple[int, str, dict[str, str]]


def _json(status: int, body: Any) -> Answer:
    return status, json.dumps(body), {}


def _route(
    role: str, method: str, path: str, query: dict[str, list[str]], body: str, req: _Handler
) -> Answer:
    control = req.server.control
    if role == "auth" and method == "POST" and path == "/oauth/token":
        return _token(control, parse_qs(body))
    if role == "api" and method == "GET" and path.startswith("/public/v1/"):
        if not control.token_valid(req.headers.get("Authorization", "")):
            return _json(401, UNAUTHORIZED_BODY)
        return _official(control.state, path, query)
    if role == "web" and method == "GET" and path.startswith("/api/v2/channels/"):
        if control.unofficial_block == "cloudflare":
            return 403, cloudflare_html(), {"cf-ray": "99ce0f7da9674b48-PDX"}
        if control.unofficial_block == "policy":
            return 403, policy_json(), {"cf-ray": "99ce0f7da9674b48-PDX"}
        return _unofficial(control.state, path.removeprefix("/api/v2/channels/").strip("/"))
    return _json(404, {"message": "Not Found"})


def _token(control: FakeHttpControl, form: dict[str, list[str]]) -> Answer:
    def one(name: str) -> str:
        return form.get(name, [""])[0]

    if (
        one("grant_type") != "client_credentials"
        or one("client_id") != control.client_id
        or one("client_secret") != control.client_secret
    ):
        return _json(400, OAUTH_ERROR_BODY)
    answer: dict[str, Any] = {"access_token": control.issue_token(), "token_type": "Bearer"}
    if control.token_lifetime is not None:
        answer["expires_in"] = control.token_lifetime
    return _json(200, answer)


def _iso(channel: FakeChannel) -> str | None:
    return channel.live.started_at.strftime("%Y-%m-%dT%H:%M:%SZ") if channel.live else None


def _official(state: FakeKickState, path: str, query: dict[str, list[str]]) -> Answer:
    with state.lock:
        if path == "/public/v1/users/livestreams":
            ids = query.get("user_id", [])
            if len(ids) > 100:
                return _json(400, {"data": "too many user_id values", "message": "Bad request"})
            found = [state.by_user_id(int(i)) for i in ids if i.isdigit()]
            items = [_official_livestream(c) for c in found if c is not None and c.live]
            return _json(200, {"data": items, "message": "OK"})
        if path == "/public/v1/channels":
            slugs = query.get("slug", [])
            if len(slugs) > 50:
                return _json(400, {"data": "too many slug values", "message": "Bad request"})
            channels = [state.channels.get(s.lower()) for s in slugs]
            items = [_official_channel(c) for c in channels if c is not None]
            return _json(200, {"data": items, "message": "OK"})
        if path == "/public/v1/users":
            found = [state.by_user_id(int(i)) for i in query.get("id", []) if i.isdigit()]
            items = [
                {"user_id": c.user_id, "name": c.display_name, "profile_picture": c.profile_pic}
                for c in found
                if c is not None
            ]
            return _json(200, {"data": items, "message": "OK"})
    return _json(404, {"data": None, "message": "Not Found"})


def _official_livestream(c: FakeChannel) -> dict[str, Any]:
    assert c.live is not None
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_OID, str(c.live.id))),
        "broadcaster_user": {
            "id": c.user_id,
            "username": c.display_name,
            "profile_picture": c.profile_pic,
        },
        "channel": {"slug": c.slug},
        "title": c.live.title,
        "started_at": _iso(c),
        "viewer_count": c.live.viewers,
        "thumbnail": None,
        "category": {"id": 15, "name": c.live.category, "thumbnail": ""},
    }


def _official_channel(c: FakeChannel) -> dict[str, Any]:
    live = c.live
    return {
        "broadcaster_user_id": c.user_id,
        "slug": c.slug,
        "stream_title": live.title if live else "",
        "category": {"id": 15, "name": live.category if live else "", "thumbnail": ""},
        "stream": {
            "is_live": live is not None,
            "start_time": _iso(c) or "0001-01-01T00:00:00Z",
            "viewer_count": live.viewers if live else 0,
            "thumbnail": "",
            "language": "en",
            "is_mature": False,
        },
    }


def _unofficial(state: FakeKickState, slug: str) -> Answer:
    with state.lock:
        c = state.channels.get(slug.lower())
        if c is None:
            return _json(404, NOT_FOUND_BODY)
        livestream = None
        if c.live is not None:
            livestream = {
                "id": c.live.id,
                "slug": f"{c.live.id}-fake",
                "channel_id": c.channel_id,
                "session_title": c.live.title,
                "is_live": True,
                "created_at": c.live.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                "viewer_count": c.live.viewers,
                "categories": [{"id": 15, "name": c.live.category}],
                "thumbnail": {"url": "https://images.kick.invalid/thumb.webp"},
            }
        body = {
            "id": c.channel_id,
            "user_id": c.user_id,
            "slug": c.slug,
            "is_banned": False,
            "user": {"id": c.user_id, "username": c.display_name, "profile_pic": c.profile_pic},
            "chatroom": {"id": c.channel_id + 7},
            "livestream": livestream,
        }
        return _json(200, body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test) is normal here: stay quiet."""

    def __init__(self, role: str, control: FakeHttpControl) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.role = role
        self.control = control


class FakeHttpServers:
    """The token service (`auth`), the official API (`api`) and kick.com (`web`)."""

    ROLES = ("auth", "api", "web")

    def __init__(self, control: FakeHttpControl) -> None:
        self.control = control
        self._servers: dict[str, _Server] = {}
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Listen on three free ports, each served by a thread."""
        for role in self.ROLES:
            server = _Server(role, self.control)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-kick-{role}",
                daemon=True,
            )
            thread.start()
            self._servers[role] = server
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop serving and close the sockets."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def url(self, role: str) -> str:
        """`http://127.0.0.1:PORT` of one role's server."""
        host, port = self._servers[role].server_address[:2]
        return f"http://{host!s}:{port}"
