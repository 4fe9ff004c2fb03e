"""Everything that talks to Kick: the Pusher WebSocket client, the REST client, and the pure
protocol parsing underneath them.

`protocol`, `payloads` and `timestamps` are pure and tested with recorded frames and fuzzed
with mutations of them; `bounded_json` and `numeric` read untrusted JSON and numbers for them.
`pusher` and `rest` are thin I/O layers around them; the Pusher client's parts are in
`pusher_pool` (many channels over several sockets), `reconnect` (when its sockets may connect),
`keepalive`, `subscriptions`, `outcome` and `pusher_options`. Nothing here imports Qt or touches
the database.
"""
