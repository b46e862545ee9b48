"""Conference state as plain JSON-able values, so a live meeting survives a restart or a failover.

The notices save the state they last showed with the message anchor; the next owner restores it
into the engine before its first REST resync, and the reducer's snapshot diff then yields exactly
the joins, leaves and endings that happened while no one was watching.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from bot.domain.model import Attendee, Conference, Meeting, Participant


def participant_to_dict(p: Participant) -> dict[str, Any]:
    return {
        "id": p.participant_id,
        "name": p.name,
        "number": p.number,
        "call": p.call_id,
        "mod": p.is_moderator,
        "muted": p.muted,
        "deaf": p.deaf,
        "talking": p.talking,
        "joined": p.joined_at,
        "talk": p.talk_seconds,
        "since": p.talking_since,
    }


def participant_from_dict(d: dict[str, Any]) -> Participant:
    return Participant(
        participant_id=int(d["id"]),
        name=str(d.get("name", "")),
        number=str(d.get("number", "")),
        call_id=str(d.get("call", "")),
        is_moderator=bool(d.get("mod", False)),
        muted=bool(d.get("muted", False)),
        deaf=bool(d.get("deaf", False)),
        talking=bool(d.get("talking", False)),
        joined_at=_float(d.get("joined")),
        talk_seconds=float(d.get("talk") or 0.0),
        talking_since=_float(d.get("since")),
    )


def conference_to_dict(conference: Conference) -> dict[str, Any]:
    meeting = conference.meeting
    return {
        "id": conference.conference_id,
        "name": conference.name,
        "numbers": list(conference.numbers),
        "locked": conference.locked,
        "participants": [participant_to_dict(p) for p in conference.roster()],
        "meeting": None
        if meeting is None
        else {
            "id": meeting.meeting_id,
            "started": meeting.started_at,
            "peak": meeting.peak,
            "attendees": [
                {
                    "key": a.key,
                    "name": a.name,
                    "number": a.number,
                    "talk": a.talk_seconds,
                    "first": a.first_joined,
                }
                for a in meeting.attendees.values()
            ],
        },
    }


def conference_from_dict(d: dict[str, Any]) -> Conference:
    """The inverse of `conference_to_dict`; raises KeyError/ValueError/TypeError on bad input."""
    people = [participant_from_dict(p) for p in d.get("participants", [])]
    raw_meeting = d.get("meeting")
    meeting = None
    if raw_meeting is not None:
        attendees = {
            str(a["key"]): Attendee(
                key=str(a["key"]),
                name=str(a.get("name", "")),
                number=str(a.get("number", "")),
                talk_seconds=float(a.get("talk") or 0.0),
                first_joined=_float(a.get("first")),
            )
            for a in raw_meeting.get("attendees", [])
        }
        meeting = Meeting(
            meeting_id=str(raw_meeting["id"]),
            started_at=float(raw_meeting["started"]),
            peak=int(raw_meeting.get("peak", 0)),
            attendees=attendees,
        )
    return Conference(
        conference_id=str(d["id"]),
        name=str(d.get("name", "")),
        numbers=tuple(str(n) for n in d.get("numbers", [])),
        locked=bool(d.get("locked", False)),
        participants=MappingProxyType({p.participant_id: p for p in people}),
        meeting=meeting,
        tracked=True,
    )


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
