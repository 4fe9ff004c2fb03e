"""Target URLs shown without their secrets: the masked form, the parts to redact, default names.

An Apprise URL carries its tokens anywhere: in the user part (`mailto://user:password@host`),
in what Apprise calls the host (`discord://webhook_id/token`, `ntfy://topic`), in the path and
in the query. The masked form keeps the scheme and a host only when it names a machine (a domain
name, an IP address, `localhost`) and puts `****` in place of everything else, one per path
segment: `discord://****/****`, `json://127.0.0.1:8080/****`. Pure string work, no Apprise.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, unquote

from kickwatch.domain.errors import ValidationError

MASK = "****"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_MIN_SECRET = 3  # shorter fragments are redacted only as part of the whole URL


def _split(url: str) -> tuple[str, str, str, str, str]:
    """scheme, user part, host[:port], path, query+fragment ('' where absent)."""
    match = _SCHEME.match(url.strip())
    if match is None:
        return "", "", "", url.strip(), ""
    scheme, rest = match.group(1).lower(), match.group(2)
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    main, tail = rest[:cut], rest[cut:]
    authority, _, path = main.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    if not at:
        userinfo, hostport = "", authority
    return scheme, userinfo, hostport, path, tail


def _machine(hostport: str) -> str | None:
    """`hostport` when it names a machine (kept in the masked form), else None."""
    host, port = hostport, ""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
        return hostport if not port or port.isdigit() else None
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        if not port.isdigit():
            return None
    if host.lower() == "localhost" or _DOMAIN.match(host):
        return hostport
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return None
    return hostport


def mask_target_url(url: str) -> str:
    """The URL as it may be shown: scheme, and host when it names a machine; `****` elsewhere."""
    scheme, userinfo, hostport, path, tail = _split(url)
    if not scheme:
        return MASK
    host = _machine(hostport) if hostport else ""
    shown = f"{scheme}://" + (f"{MASK}@" if userinfo else "") + (MASK if host is None else host)
    shown += "".join(f"/{MASK}" for segment in path.split("/") if segment)
    if tail:
        shown += f"?{MASK}" if tail.startswith("?") else f"#{MASK}"
    return shown


def secret_parts(url: str) -> list[str]:
    """Every fragment of `url` that must not appear in a log line, longest first."""
    scheme, userinfo, hostport, path, tail = _split(url)
    parts: set[str] = {url.strip()}
    if scheme:
        parts.add(url.strip().split("://", 1)[1])
    for piece in (userinfo, *userinfo.split(":", 1)):
        parts.add(piece)
    if hostport and _machine(hostport) is None:
        parts.update({hostport, *hostport.split(":")})
    parts.update(path.split("/"))
    parts.add(path)
    if tail:
        parts.add(tail[1:])
        parts.update(value for _, value in parse_qsl(tail.lstrip("?#"), keep_blank_values=False))
    parts.update({unquote(part) for part in parts})
    return sorted((p for p in parts if len(p) >= _MIN_SECRET), key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret fragment (and every URL in it) masked."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return re.sub(
        r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+",
        lambda match: mask_target_url(match.group(0)),
        text,
    )


def default_name(url: str, taken: set[str]) -> str:
    """A name for a target added without one: the scheme, with the host when it is shown."""
    scheme, _, hostport, _, _ = _split(url)
    host = _machine(hostport) if hostport else None
    base = scheme or "target"
    if host:
        base += "-" + re.sub(r"[^A-Za-z0-9.-]+", "-", host.split(":")[0].strip("[]")).strip("-")
    base = base[:60]
    name, number = base, 2
    while name.lower() in {t.lower() for t in taken}:
        name, number = f"{base}-{number}", number + 1
    return name


def validate_name(name: str) -> str:
    """A target name: 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit."""
    value = name.strip()
    if not _NAME.match(value):
        raise ValidationError(
            "name",
            f"{value[:40]!r} is not a valid target name (1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit)",
        )
    return value
