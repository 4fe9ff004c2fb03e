"""How the command line prints: aligned tables for people, JSON and CSV for programs."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from kickwatch.domain.records import StreamerRecord, iso


def print_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO = sys.stdout
) -> None:
    """Columns padded to their widest cell."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    out.write(line.rstrip() + "\n")
    for row in cells:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def print_json(value: Any, out: TextIO = sys.stdout) -> None:
    """Indented JSON, UTF-8 kept readable."""
    json.dump(value, out, indent=2, ensure_ascii=False)
    out.write("\n")


def print_csv(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO = sys.stdout
) -> None:
    """RFC 4180 CSV with a header row."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(
            [
                iso(v) if isinstance(v, datetime) else json.dumps(v) if isinstance(v, dict) else v
                for v in row
            ]
        )


def streamer_json(record: StreamerRecord) -> dict[str, Any]:
    """A streamer with the data model's field names (plus the Kick extras), ISO timestamps."""
    return {
        "id": record.id,
        "kick_user_id": record.kick_user_id,
        "kick_channel_id": record.kick_channel_id,
        "username": record.username,
        "slug": record.slug,
        "display_name": record.display_name,
        "profile_picture_url": record.profile_picture_url,
        "status": str(record.status),
        "last_seen_online": iso(record.last_seen_online),
        "last_status_update": iso(record.last_status_update),
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "is_active": record.is_active,
        "notify_on_start": record.notify_on_start,
        "notify_on_end": record.notify_on_end,
        "is_favorite": record.is_favorite,
        "is_muted": record.is_muted,
    }
