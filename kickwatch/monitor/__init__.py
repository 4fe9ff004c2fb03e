"""The monitor: Pusher and REST sources in, recorded status changes and typed events out (no Qt)."""
