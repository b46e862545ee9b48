"""The scripted meeting: callers join, talk, one of them is muted, and they all leave.

It behaves like people on a call, not like a test fixture: someone the bot kicked simply stays gone,
a caller refused by a locked room gives up, and a muted caller who talks is not heard (no talking
event).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.simulator.state import ConferenceLocked, UnknownParticipant

if TYPE_CHECKING:
    from bot.simulator.simulator import KazooSimulator

MODERATOR = ("Ada Lovelace", "+15550100")
MEMBERS = (
    ("Grace Hopper", "+15550101"),
    ("Alan Turing", "+15550102"),
    ("Katherine Johnson", "+15550103"),
)


class _Meeting:
    def __init__(self, sim: KazooSimulator, conference_id: str, pace: float) -> None:
        self._sim = sim
        self._conference_id = conference_id
        self._pace = pace
        self._ids: dict[str, int] = {}

    async def pause(self, seconds: float) -> None:
        # With pace 0 this still yields once, so websocket writers get to run between steps.
        await asyncio.sleep(seconds * self._pace)

    def join(self, name: str, number: str, *, moderator: bool = False) -> None:
        # A locked room: this caller hears the locked prompt and hangs up.
        with contextlib.suppress(ConferenceLocked):
            self._ids[name] = self._sim.join(self._conference_id, name, number, moderator=moderator)

    def act(self, name: str, change: Callable[[str, int], None]) -> None:
        participant_id = self._ids.get(name)
        if participant_id is None:
            return
        try:
            change(self._conference_id, participant_id)
        except UnknownParticipant:
            del self._ids[name]  # kicked (or the conference ended) while the script was not looking

    async def talk(self, name: str, seconds: float) -> None:
        self.act(name, self._sim.start_talking)
        await self.pause(seconds)
        self.act(name, self._sim.stop_talking)

    def leave(self, name: str) -> None:
        self.act(name, self._sim.leave)
        self._ids.pop(name, None)


async def run_meeting(sim: KazooSimulator, conference_id: str, *, pace: float = 1.0) -> None:
    """One meeting, about 22 s at pace 1; everyone has left when it returns."""
    meeting = _Meeting(sim, conference_id, pace)
    (grace, _), (alan, _), (katherine, _) = MEMBERS
    ada = MODERATOR[0]
    meeting.join(*MODERATOR, moderator=True)
    await meeting.pause(2)
    meeting.join(*MEMBERS[0])
    await meeting.pause(1)
    meeting.join(*MEMBERS[1])
    await meeting.pause(1)
    await meeting.talk(ada, 3)
    await meeting.pause(0.5)
    await meeting.talk(grace, 2)
    meeting.join(*MEMBERS[2])  # a latecomer
    await meeting.pause(1)
    await meeting.talk(alan, 2)
    # Alan's line is noisy: he mutes himself (a DTMF mute, not a REST one).
    meeting.act(alan, lambda c, p: sim.set_muted(c, p, True))
    await meeting.pause(1)
    await meeting.talk(katherine, 2)
    await meeting.pause(1)
    await meeting.talk(ada, 2)
    for name in (katherine, alan, grace, ada):
        await meeting.pause(1)
        meeting.leave(name)
