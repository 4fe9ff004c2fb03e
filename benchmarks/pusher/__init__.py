"""The Pusher client benchmark's parts: Kick-shaped frames, a frame blaster, a counting proxy,
soketi and the publisher, and the client runners whose processes are measured.

`benchmarks/pusher_bench.py` drives them; every client runs in a process of its own so that its
CPU time and memory are its own.
"""
