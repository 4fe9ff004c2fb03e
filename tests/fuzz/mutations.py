"""Mutations of Kick's recorded payloads (tests/fixtures/kick), the way a broken network or a
hostile server could damage them: byte flips, truncation, inserted and duplicated bytes, deep
nesting, Unicode digits, huge integers, lone surrogates, NUL, NaN and Infinity, huge strings,
and a value of the wrong type at any key.

A `Mutator` makes every choice with one `random.Random`, which Hypothesis seeds (one draw per
example keeps Hypothesis's overhead per input small enough for tens of thousands of inputs).
Two families: `structural` replaces, deletes or adds values at random paths of a decoded sample
and encodes it again (with markers for what `json.dumps` cannot write: thousands of digits and
deep nesting), and `bytewise` damages the encoded bytes of a sample or of a structural mutation.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kick"

HUGE_DIGITS = "9" * 5000
HUGE_TEXT = "x" * 200_000
_MARKER = re.compile(r'"@@(DEEP|HUGEINT|NEGHUGEINT):(\d+)@@"')


def _sample(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text("utf-8"))


def _frame(event: str, data: Any, channel: str | None = "channel.2515504") -> dict[str, Any]:
    frame: dict[str, Any] = {"event": event, "data": data}
    if channel is not None:
        frame["channel"] = channel
    return frame


def _decoded_frame(name: str) -> dict[str, Any]:
    """A recorded whole frame with its `data` string decoded, so mutations reach inside."""
    frame = dict(_sample(name))
    frame["data"] = json.loads(frame["data"])
    return frame


# Seeds are kept as JSON text: decoding one again is the cheapest deep copy.
CHANNEL_FRAME_SEEDS = [
    json.dumps(seed)
    for seed in (
        _decoded_frame("pusher_livestream_updated.json"),
        _frame("App\\Events\\StreamerIsLive", _sample("pusher_streamer_is_live.data.json")),
        _frame(
            "App\\Events\\StreamerIsLive", _sample("pusher_streamer_is_live_74331109.data.json")
        ),
        _frame(
            "App\\Events\\StopStreamBroadcast", _sample("pusher_stop_stream_broadcast.data.json")
        ),
        _frame(
            "App\\Events\\StopStreamBroadcast",
            _sample("pusher_stop_stream_broadcast_74331109.data.json"),
        ),
        _decoded_frame("pusher_updated_livestream_event_private_livestream_updated.json"),
    )
]
FRAME_SEEDS = CHANNEL_FRAME_SEEDS + [
    json.dumps(seed)
    for seed in (
        _frame("pusher:connection_established", {"socket_id": "1.2", "activity_timeout": 120}),
        _frame("pusher_internal:subscription_succeeded", {}),
        _frame("pusher:ping", {}, None),
        _frame("pusher:pong", {}, None),
        _frame("pusher:error", {"code": 4201, "message": "Pong reply not received"}, None),
    )
]
LIVESTREAM_ITEM_SEEDS = [
    json.dumps(_sample("official_livestreams_item_docs_example.json")),
    json.dumps(
        {
            "broadcaster_user": {"id": 30111, "username": "inxxxxx", "profile_picture": ""},
            "category": {"id": 15, "name": "Just Chatting", "thumbnail": ""},
            "channel": {"slug": "inxxxxx"},
            "channel_id": 291111,
            "started_at": "2025-09-15T20:00:00Z",
            "title": "hello",
            "viewer_count": 12,
        }
    ),
]
CHANNEL_ITEM_SEEDS = [
    json.dumps(_sample("official_channels_item_docs_example.json")),
    json.dumps(_sample("official_channels_item_kick_pr80_sample.json")),
]
UNOFFICIAL_SEEDS = [
    json.dumps(_sample(name))
    for name in (
        "web_v2_channel_livestream_live.json",
        "web_v2_channel_offline.json",
        "web_v2_channel_offline_2024.json",
    )
]
ENVELOPE_SEEDS = [
    json.dumps({"data": [json.loads(s) for s in LIVESTREAM_ITEM_SEEDS], "message": "OK"}),
    json.dumps({"data": [json.loads(s) for s in CHANNEL_ITEM_SEEDS], "message": "OK"}),
    json.dumps({"data": [{"user_id": 1, "name": "a", "profile_picture": "https://x.invalid/a"}]}),
]
TIME_SEEDS = [
    "2025-09-15T21:12:45.000000Z",
    "2024-02-06 19:10:40",
    "2025-04-03T12:00:00+11:00",
    "2025-09-15T21:12:45z",
    "2025-09-15t21:12:45-0130",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "1726434765",
    "2025-09-15",
]

# Values that once escaped a parser, or that no database column takes.
NASTY: tuple[Any, ...] = (
    *("²", "5²", "١٢", "٣", "𝟓", "①", "--5", "-", "+5", "1_000", "0x10", " 7 ", "", "0", "-1"),
    *(0, -1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**4000, -(10**4200), HUGE_DIGITS),
    *("-" + HUGE_DIGITS, 1.5, -0.0, 1e308, 1e-320),
    *(float("nan"), float("inf"), float("-inf"), True, False, None),
    *("\ud800", "a\udfffb", "\udc80\ud800", "\x00", "a\x00b\x07", "\ufeff", "\u202e", HUGE_TEXT),
    *("channel.²", "channel.-5", "channel.5\n", "channel_" + HUGE_DIGITS),
    *("٢٠٢٤-٠٢-٠٦ 19:10:40", "2025-13-45T99:99:99Z", "2025-09-15T21:12:45+99:99", "1" * 12),
)
# Only in structures that may be rejected as a whole: nested deeper than the parser allows, or
# an integer literal longer than Python's int() takes.
REJECTED = (
    "@@DEEP:33@@",
    "@@DEEP:2000@@",
    "@@DEEP:100000@@",
    10**5000,
    "@@HUGEINT:5000@@",
    "@@NEGHUGEINT:4400@@",
)
CONTAINERS = ("[]", "{}", "[null]", '{"id": null}', '[[["x"]]]', '{"name": ["a"]}')
CHARACTERS = (
    "aZ09 -_.:/\\\"'"  # plain, and JSON's specials
    "²³¹½①٠١٢٣۴߀०๑𝟓"  # digits that are not ASCII digits
    "\x00\x01\x07\x1b\x7f\x85\u2028\u2029\ufeff\u202e"  # controls and odd separators
    "\ud800\udbff\udc00\udfff"  # lone surrogates
    "éß漢👏🌟"
)
INSERTS = (
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",  # a UTF-8-encoded surrogate
    b"\x00",
    b"\\u0000",
    b"\\ud800",
    b"[",
    b"{",
    b"]",
    b'"',
    b"\\",
    b",",
    b":",
    b"NaN",
    b"-Infinity",
    "²".encode(),
    "٣".encode(),
    b"9" * 400,
    b"[" * 40,
)


class Mutator:
    """Mutated inputs, every choice made by `rng`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    # --- values ----------------------------------------------------------------------------

    def nasty(self, rejectable: bool = False) -> Any:
        """One value a parser must survive; with `rejectable`, also values that make the whole
        JSON text invalid."""
        rng = self.rng
        kind = rng.randrange(8)
        if kind <= 2:
            return rng.choice(NASTY + REJECTED) if rejectable else rng.choice(NASTY)
        if kind == 3:
            return rng.choice((rng.randrange(-(2**70), 2**70), rng.randrange(-9, 10**12)))
        if kind == 4:
            return rng.choice((rng.uniform(-1e20, 1e20), rng.random(), float(rng.randrange(99))))
        if kind == 5:
            return "".join(rng.choice(CHARACTERS) for _ in range(rng.randrange(12)))
        if kind == 6:
            return json.loads(rng.choice(CONTAINERS))
        return "".join(rng.choice("0123456789-") for _ in range(rng.randrange(1, 25)))

    # --- structures ------------------------------------------------------------------------

    def structural(self, seed: str, *, rejectable: bool = True, under: str | None = None) -> Any:
        """The seed decoded, with one to three values replaced, deleted or added; only below
        the key `under` when given (so the shape around it stays)."""
        rng = self.rng
        value = json.loads(seed)
        root = value[under] if under is not None else value
        for _ in range(rng.randrange(1, 4)):
            found = list(paths(root))
            if not found:
                break
            container, key = rng.choice(found)
            action = rng.randrange(5)
            if action <= 2:
                container[key] = self.nasty(rejectable)
            elif action == 3:
                del container[key]
            elif isinstance(container, dict):
                container[rng.choice(("id", "channel_id", "is_live", "x"))] = self.nasty(rejectable)
            else:
                container.append(self.nasty(rejectable))
        return value

    def text_of(self, value: Any) -> str:
        """`value` as JSON text (NaN and Infinity included, ASCII or not), markers expanded."""
        return encode(value, ensure_ascii=self.rng.random() < 0.5)

    # --- bytes -----------------------------------------------------------------------------

    def bytewise(self, data: bytes) -> bytes:
        """`data` damaged one to four times."""
        rng = self.rng
        damaged = bytearray(data)
        for _ in range(rng.randrange(1, 5)):
            op = rng.randrange(5)
            index = rng.randrange(len(damaged) + 1)
            if op == 0 and damaged:
                damaged[min(index, len(damaged) - 1)] ^= 1 << rng.randrange(8)
            elif op == 1:
                del damaged[index:]
            elif op == 2:
                del damaged[index : index + rng.randrange(1, 17)]
            elif op == 3:
                damaged[index:index] = rng.choice(INSERTS)
            else:
                damaged[index:index] = damaged[index : index + rng.randrange(1, 65)]
        return bytes(damaged)

    # --- what each parser is given ---------------------------------------------------------

    def frame(self) -> str | bytes:
        """What `parse_frame` may be given: a mutated frame as text, damaged bytes, or damaged
        bytes read back as text with lone surrogates where they were not UTF-8."""
        rng = self.rng
        kind = rng.randrange(4)
        text = self.frame_text(rng.choice(FRAME_SEEDS), rejectable=True)
        if kind == 0:
            return text
        if kind == 1:
            text = rng.choice(FRAME_SEEDS)
        data = self.bytewise(text.encode("utf-8", "surrogatepass"))
        return data.decode("utf-8", "surrogateescape") if rng.random() < 0.3 else data

    def channel_frame(self) -> str:
        """A channel-event frame mutated only inside `data`, with nothing that makes the text
        invalid, so it always parses: what `to_stream_event` sees on a live socket."""
        return self.frame_text(self.rng.choice(CHANNEL_FRAME_SEEDS), rejectable=False, under="data")

    def frame_text(self, seed: str, *, rejectable: bool, under: str | None = None) -> str:
        frame = self.structural(seed, rejectable=rejectable, under=under)
        if isinstance(frame, dict) and "data" in frame and self.rng.random() < 0.7:
            frame["data"] = self.text_of(frame["data"])  # JSON in a string, like Kick
        return self.text_of(frame)

    def body(self, seeds: list[str]) -> tuple[str, Any]:
        """A REST body: ("text", bytes for the client's decoder) or ("object", a decoded value,
        possibly holding what JSON cannot carry, such as NaN or a 5,000-digit int)."""
        rng = self.rng
        value = self.structural(rng.choice(seeds))
        if rng.random() < 0.25:
            return "object", value
        data = self.text_of(value).encode("utf-8", "surrogatepass")
        return "text", self.bytewise(data) if rng.random() < 0.3 else data

    def time_value(self) -> Any:
        """What `parse_kick_time` may be given: damaged timestamps and anything else."""
        rng = self.rng
        kind = rng.randrange(4)
        if kind == 0:
            return rng.choice(TIME_SEEDS)
        if kind == 3:
            return self.nasty()
        damaged = self.bytewise(rng.choice(TIME_SEEDS).encode())
        return damaged.decode("utf-8", "surrogateescape")


def paths(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key) in `value`, iteratively."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, child in node.items():
                yield node, key
                stack.append(child)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                yield node, index
                stack.append(child)


def encode(value: Any, ensure_ascii: bool = True) -> str:
    """`value` as JSON text the way Python writes it (NaN and Infinity included), with the
    markers for huge integers and deep nesting expanded."""
    if _is_huge_int(value):
        value = "@@HUGEINT:5000@@"
    for container, key in list(paths(value)):
        if _is_huge_int(container[key]):  # json.dumps cannot write them: a marker instead
            container[key] = "@@HUGEINT:5000@@"
    text = json.dumps(value, allow_nan=True, ensure_ascii=ensure_ascii)
    return _MARKER.sub(_expand, text) if "@@" in text else text


def _is_huge_int(value: Any) -> bool:
    """Whether `str(value)` would exceed Python's 4,300-digit limit (14,250 bits: 4,290 digits)."""
    return isinstance(value, int) and value.bit_length() > 14_250


def _expand(match: re.Match[str]) -> str:
    kind, size = match.group(1), int(match.group(2))
    if kind == "DEEP":
        return "[" * size + "]" * size
    return ("-" if kind == "NEGHUGEINT" else "") + "9" * size
