"""Everything that talks to Kick: the Pusher WebSocket client, the REST client, and the pure
protocol parsing underneath them.

`protocol` and `timestamps` are pure and tested with recorded frames; `pusher` and `rest` are
thin I/O layers around them. Nothing here imports Qt or touches the database.
"""
