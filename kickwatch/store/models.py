"""peewee models of the three entities of the data model, bound through one DatabaseProxy.

The tables themselves are created by `kickwatch.store.schema` (so the constraints carry the data
model's names); these classes only map rows. Timestamps are stored as naive UTC and come back
as aware UTC datetimes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import peewee

from kickwatch.domain.text import storable_json

database_proxy = peewee.DatabaseProxy()


class UtcDateTimeField(peewee.DateTimeField):
    """A timestamp stored as naive UTC, returned as an aware UTC datetime."""

    def db_value(self, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(UTC).replace(tzinfo=None)
            if isinstance(database_proxy.obj, peewee.SqliteDatabase):
                return value.isoformat(sep=" ", timespec="microseconds")
            return value
        return super().db_value(value)  # type: ignore[no-untyped-call]

    def python_value(self, value: Any) -> Any:
        value = super().python_value(value)  # type: ignore[no-untyped-call]
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value


class JsonField(peewee.TextField):
    """A JSON document stored as text (valid JSON is also checked by the database)."""

    def db_value(self, value: Any) -> Any:
        if value is None:
            return None
        # Strict JSON only: NaN, Infinity and lone surrogates would fail the JSON check.
        return json.dumps(storable_json(value), separators=(",", ":"), allow_nan=False)

    def python_value(self, value: Any) -> Any:
        if value is None:
            return None
        return json.loads(value) if isinstance(value, str) else value


class BaseModel(peewee.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Streamer(BaseModel):
    """A Kick.com content creator being monitored."""

    id = peewee.AutoField()
    kick_user_id = peewee.BigIntegerField(unique=True)
    kick_channel_id = peewee.BigIntegerField(null=True, unique=True)
    username = peewee.TextField(unique=True)
    slug = peewee.TextField(null=True)
    display_name = peewee.TextField()
    profile_picture_url = peewee.TextField(null=True)
    status = peewee.TextField(default="unknown")
    last_seen_online = UtcDateTimeField(null=True)
    last_status_update = UtcDateTimeField(null=True)
    current_broadcast_started_at = UtcDateTimeField(null=True)
    current_livestream_id = peewee.TextField(null=True)
    current_title = peewee.TextField(null=True)
    current_category = peewee.TextField(null=True)
    current_viewers = peewee.IntegerField(null=True)
    notify_on_start = peewee.BooleanField(default=True)
    notify_on_end = peewee.BooleanField(default=False)
    is_favorite = peewee.BooleanField(default=False)
    is_muted = peewee.BooleanField(default=False)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    is_active = peewee.BooleanField(default=True)

    class Meta:
        table_name = "streamer"


class StatusEvent(BaseModel):
    """A recorded status change (or connection test) of a streamer."""

    id = peewee.AutoField()
    streamer = peewee.ForeignKeyField(
        Streamer, null=True, column_name="streamer_id", on_delete="CASCADE", backref="events"
    )
    event_type = peewee.TextField()
    previous_status = peewee.TextField()
    new_status = peewee.TextField()
    kick_event_id = peewee.TextField(null=True, unique=True)
    event_timestamp = UtcDateTimeField()
    received_timestamp = UtcDateTimeField()
    processed_timestamp = UtcDateTimeField()
    event_data = JsonField(default=dict)
    livestream_id = peewee.TextField(null=True)
    broadcast_started_at = UtcDateTimeField(null=True)
    synthetic = peewee.BooleanField(default=False)

    class Meta:
        table_name = "status_event"


class Configuration(BaseModel):
    """One setting, `category.name`; sensitive values are Fernet tokens."""

    key = peewee.TextField(primary_key=True)
    value = peewee.TextField()
    description = peewee.TextField(default="")
    category = peewee.TextField()
    is_encrypted = peewee.BooleanField(default=False)
    updated_at = UtcDateTimeField()
    updated_by = peewee.TextField()

    class Meta:
        table_name = "configuration"


class QuarantinedChange(BaseModel):
    """A change the database refused for good, with the reason, kept for the user to inspect."""

    id = peewee.AutoField()
    streamer_id = peewee.BigIntegerField(null=True)
    change_kind = peewee.TextField()
    reason = peewee.TextField()
    change_data = JsonField()
    quarantined_at = UtcDateTimeField()

    class Meta:
        table_name = "quarantined_change"


class AlertTarget(BaseModel):
    """Where alerts go: an Apprise URL, stored only as a Fernet token beside its masked form."""

    id = peewee.AutoField()
    name = peewee.TextField(unique=True)
    url_token = peewee.TextField()
    url_masked = peewee.TextField()
    streamers = peewee.TextField(default="")  # usernames, comma-separated; empty: every one
    on_start = peewee.BooleanField(default=True)
    on_end = peewee.BooleanField(default=True)
    on_change = peewee.BooleanField(default=True)  # live title/category changes
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "alert_target"


class AlertDelivery(BaseModel):
    """The outbox: one change (a status_event or a stream_change id) for one target, pending,
    sent or failed."""

    id = peewee.AutoField()
    target = peewee.ForeignKeyField(
        AlertTarget, column_name="target_id", on_delete="CASCADE", backref="deliveries"
    )
    status_event_id = peewee.BigIntegerField(null=True)  # a start or an end
    stream_change_id = peewee.BigIntegerField(null=True)  # or a live title/category change
    state = peewee.TextField(default="pending")
    attempts = peewee.IntegerField(default=0)
    message = JsonField()
    last_error = peewee.TextField(null=True)
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    sent_at = UtcDateTimeField(null=True)
    claimed_by = peewee.TextField(null=True)  # the process sending it now
    claimed_until = UtcDateTimeField(null=True)

    class Meta:
        table_name = "alert_delivery"


MODELS = (Streamer, StatusEvent, Configuration, QuarantinedChange, AlertTarget, AlertDelivery)


class StreamerRuleRow(BaseModel):
    """One streamer's rule (migration 6): keyword and category filters, change alerts, a sound
    and opening the stream; keywords and categories are JSON arrays of text."""

    streamer = peewee.ForeignKeyField(
        Streamer, primary_key=True, column_name="streamer_id", on_delete="CASCADE"
    )
    keywords = JsonField(default=list)
    categories = JsonField(default=list)
    title_changes = peewee.BooleanField(default=False)
    sound_path = peewee.TextField(null=True)
    open_on_live = peewee.BooleanField(default=False)
    updated_at = UtcDateTimeField()

    class Meta:
        table_name = "streamer_rule"


class StreamChangeRow(BaseModel):
    """A change of a live stream's title or category (migration 6), recorded once."""

    id = peewee.AutoField()
    streamer = peewee.ForeignKeyField(Streamer, column_name="streamer_id", on_delete="CASCADE")
    change_type = peewee.TextField()
    previous_value = peewee.TextField()
    new_value = peewee.TextField()
    source = peewee.TextField()
    livestream_id = peewee.TextField(null=True)
    broadcast_started_at = UtcDateTimeField(null=True)
    changed_at = UtcDateTimeField()
    recorded_at = UtcDateTimeField()

    class Meta:
        table_name = "stream_change"
