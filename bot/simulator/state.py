"""The realtime side of the PBX: which conferences run, who is in them, and the events each change
causes.

Pure and synchronous: every mutation returns the messages it published, in order, and the caller
hands them to the websocket hub. Nothing here awaits, so a mutation and its events are one atomic
step on the event loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.simulator.model import Participant, Run
from bot.simulator.payloads import (
    command_data,
    detail_read_only,
    event_data,
    idle_read_only,
    listing_read_only,
    participant_object,
    routing_key,
)


class UnknownParticipant(LookupError):
    """The conference is not running, or has no such participant."""


class ConferenceLocked(RuntimeError):
    """A locked conference refuses new callers."""


@dataclass(frozen=True)
class Message:
    """One message on Kazoo's ``conference`` exchange, as blackhole relays it."""

    name: str  # the AMQP Event-Name: "event" or "command"
    routing_key: str
    conference_id: str
    data: dict[str, Any]


class Switchboard:
    """Running conferences and their members."""

    def __init__(
        self, *, account_id: str, realm: str, layout: str, clock: Callable[[], float]
    ) -> None:
        self._account_id = account_id
        self._realm = realm
        self._layout = layout
        self._clock = clock
        self._runs: dict[str, Run] = {}
        # FreeSWITCH hands out member ids from one counter: no id repeats in any conference or run.
        self._next_member_id = 1

    def run(self, conference_id: str) -> Run | None:
        return self._runs.get(conference_id)

    def participant_objects(self, conference_id: str) -> list[dict[str, Any]]:
        """``GET .../participants``: the REST objects of everyone in the call, [] when idle."""
        run = self._runs.get(conference_id)
        if run is None:
            return []
        now = self._clock()
        return [
            participant_object(
                run, p, account_id=self._account_id, realm=self._realm, now=now, layout=self._layout
            )
            for p in run.participants.values()
        ]

    def listing_read_only(self, conference_id: str) -> dict[str, Any]:
        run = self._runs.get(conference_id)
        return idle_read_only() if run is None else listing_read_only(run, self._clock())

    def detail_read_only(self, conference_id: str) -> dict[str, Any]:
        run = self._runs.get(conference_id)
        return detail_read_only(run, self.participant_objects(conference_id), self._clock())

    def participant(self, conference_id: str, participant_id: int) -> Participant | None:
        run = self._runs.get(conference_id)
        return None if run is None else run.participants.get(participant_id)

    def join(
        self,
        conference_id: str,
        name: str,
        number: str,
        *,
        moderator: bool,
        speak: bool,
        hear: bool,
    ) -> tuple[int, list[Message]]:
        messages: list[Message] = []
        run = self._runs.get(conference_id)
        if run is None:
            run = Run(conference_id, str(uuid.uuid4()), self._clock())
            self._runs[conference_id] = run
            messages.append(self._event("conference-create", run, None))
        elif run.locked:
            raise ConferenceLocked(conference_id)
        participant = Participant(
            participant_id=self._next_member_id,
            call_id=str(uuid.uuid4()),
            name=name,
            number=number,
            moderator=moderator,
            join_time=self._clock(),
            speak=speak,
            hear=hear,
            device_id=uuid.uuid4().hex,
        )
        self._next_member_id += 1
        run.participants[participant.participant_id] = participant
        messages.append(self._event("add-member", run, participant))
        return participant.participant_id, messages

    def leave(self, conference_id: str, participant_id: int) -> list[Message]:
        run, participant = self._require(conference_id, participant_id)
        del run.participants[participant_id]
        messages = [self._event("del-member", run, participant)]
        if not run.participants:
            # The last one out ends the run; the next caller starts a new instance, unlocked.
            del self._runs[conference_id]
            messages.append(self._event("conference-destroy", run, None))
        return messages

    def set_talking(self, conference_id: str, participant_id: int, talking: bool) -> list[Message]:
        """Voice activity. FreeSWITCH announces it only for members who can speak; a muted one stays
        silent on the wire (it raises mute-detect, which Kazoo does not publish)."""
        run, participant = self._require(conference_id, participant_id)
        if participant.talking == talking:
            return []
        participant.talking = talking
        if not participant.speak:
            return []
        return [self._event("start-talking" if talking else "stop-talking", run, participant)]

    def set_speak(self, conference_id: str, participant_id: int, speak: bool) -> list[Message]:
        """Mute (speak off) or unmute. Announced even when nothing changes, as FreeSWITCH does."""
        run, participant = self._require(conference_id, participant_id)
        participant.speak = speak
        if not speak:
            participant.talking = False  # a muted member is heard by nobody, so is not talking
        return [self._event("unmute-member" if speak else "mute-member", run, participant)]

    def set_hear(self, conference_id: str, participant_id: int, hear: bool) -> list[Message]:
        run, participant = self._require(conference_id, participant_id)
        participant.hear = hear
        return [self._event("undeaf-member" if hear else "deaf-member", run, participant)]

    def set_locked(self, conference_id: str, locked: bool) -> list[Message]:
        """Lock or unlock; a conference that is not running has nothing to lock."""
        run = self._runs.get(conference_id)
        if run is None:
            return []
        run.locked = locked
        return [self._event("lock" if locked else "unlock", run, None)]

    def command(
        self, conference_id: str, application_name: str, participant_id: int | None = None
    ) -> Message:
        """The AMQP command crossbar casts to ``conference.command.{C}`` for a REST action."""
        return Message(
            "command",
            f"conference.command.{conference_id}",
            conference_id,
            command_data(application_name, conference_id, participant_id),
        )

    def _require(self, conference_id: str, participant_id: int) -> tuple[Run, Participant]:
        run = self._runs.get(conference_id)
        participant = None if run is None else run.participants.get(participant_id)
        if run is None or participant is None:
            raise UnknownParticipant(f"no participant {participant_id} in {conference_id}")
        return run, participant

    def _event(self, event: str, run: Run, participant: Participant | None) -> Message:
        data = event_data(
            event,
            run,
            participant,
            account_id=self._account_id,
            realm=self._realm,
            layout=self._layout,
        )
        call_id = None if participant is None else participant.call_id
        return Message(
            "event",
            routing_key(event, self._account_id, run.conference_id, call_id),
            run.conference_id,
            data,
        )
