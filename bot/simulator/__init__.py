"""A Kazoo PBX simulator: crossbar REST, blackhole websocket and scripted callers, from the
reference.

It is written from ``reference/kazoo-conferences-protocol.md`` alone and never imports
``bot.kazoo``, so that one misunderstanding of Kazoo cannot hide in both the client and the fake it
is tested against.
"""

from bot.simulator.rest import RecordedRequest
from bot.simulator.simulator import KazooSimulator
from bot.simulator.state import ConferenceLocked, UnknownParticipant

__all__ = ["ConferenceLocked", "KazooSimulator", "RecordedRequest", "UnknownParticipant"]
