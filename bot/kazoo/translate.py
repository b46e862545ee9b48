"""Kazoo wire models -> domain events and values. The only place that knows both vocabularies."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.events import (
    ConferenceEnded,
    ConferenceInfo,
    ConferenceSnapshot,
    ConferenceStarted,
    Event,
    LockChanged,
    ParticipantFlags,
    ParticipantJoined,
    ParticipantLeft,
)
from bot.domain.model import Conference, Meeting, Participant
from bot.kazoo import models as wire


def participant(p: wire.ParticipantWire | wire.ParticipantEvent) -> Participant:
    """A domain participant from either layout; missing flags mean Kazoo's defaults."""
    joined_at = p.joined_at_unix if isinstance(p, wire.ParticipantWire) else None
    speak, hear = p.speak, p.hear
    return Participant(
        participant_id=p.member_id or 0,
        name=p.caller_id_name or "",
        number=p.caller_id_number or "",
        call_id=p.call_id or "",
        is_moderator=bool(p.is_moderator),
        muted=speak is False,
        deaf=hear is False,
        talking=bool(p.talking),
        joined_at=joined_at,
    )


def event(frame: wire.EventFrame, at: float) -> Event | None:
    """The domain event a websocket frame reports, or None for events the bot does not track."""
    data = frame.data
    conference_id = data.conference_id or _conference_from_key(frame.routing_key)
    if not conference_id:
        return None
    if isinstance(data, wire.ParticipantEvent):
        return _participant_event(conference_id, data, at)
    if isinstance(data, wire.Lock | wire.Unlock):
        return LockChanged(conference_id, isinstance(data, wire.Lock), at)
    if isinstance(data, wire.ConferenceCreate):
        return ConferenceStarted(conference_id, at, data.instance_id)
    if isinstance(data, wire.ConferenceDestroy):
        return ConferenceEnded(conference_id, at)
    return None


# Flag events: the flag each one names and the value it sets. The event name is authoritative for
# its own flag (a legacy payload may lack the vars); the other flags ride along when present.
_FLAG_EVENTS: dict[str, tuple[str, bool]] = {
    "mute-member": ("muted", True),
    "unmute-member": ("muted", False),
    "deaf-member": ("deaf", True),
    "undeaf-member": ("deaf", False),
    "start-talking": ("talking", True),
    "stop-talking": ("talking", False),
}


def _participant_event(conference_id: str, data: wire.ParticipantEvent, at: float) -> Event | None:
    member_id = data.member_id
    if member_id is None:
        return None
    if isinstance(data, wire.AddMember):
        return ParticipantJoined(conference_id, participant(data), at, data.instance_id)
    if isinstance(data, wire.DelMember):
        return ParticipantLeft(conference_id, member_id, at, data.call_id or "")
    named = _FLAG_EVENTS.get(getattr(data, "event", ""))
    if named is None:
        return None
    # This runs for every talking event: read each flag once, the nested layout first.
    speak, hear, talking, moderator = data.speak, data.hear, data.talking, data.is_moderator
    flags = {
        "muted": None if speak is None else not speak,
        "deaf": None if hear is None else not hear,
        "talking": talking,
    }
    flags[named[0]] = named[1]
    return ParticipantFlags(
        conference_id,
        member_id,
        at,
        muted=flags["muted"],
        deaf=flags["deaf"],
        talking=flags["talking"],
        is_moderator=moderator,
    )


def _conference_from_key(routing_key: str | None) -> str | None:
    # conference.event.{event}.{account}.{conference}.{call}
    parts = (routing_key or "").split(".")
    return parts[4] if len(parts) >= 6 and parts[0] == "conference" else None


def info(doc: wire.ConferenceDoc) -> ConferenceInfo:
    numbers = list(doc.conference_numbers)
    for group in (doc.member.numbers, doc.moderator.numbers):
        numbers.extend(n for n in group if n not in numbers)
    conference_id = doc.id or ""
    return ConferenceInfo(conference_id, doc.name or conference_id, tuple(numbers))


def directory(docs: Sequence[wire.ConferenceDoc]) -> tuple[ConferenceInfo, ...]:
    return tuple(info(doc) for doc in docs if doc.id)


def _instance_id(
    doc: wire.ConferenceDoc, participants: Sequence[wire.ParticipantWire]
) -> str | None:
    if doc.read_only is not None and doc.read_only.uuid:
        return doc.read_only.uuid
    return next((p.conference_uuid for p in participants if p.conference_uuid), None)


def snapshot(
    doc: wire.ConferenceDoc, participants: Sequence[wire.ParticipantWire], at: float
) -> ConferenceSnapshot:
    """The REST truth about one conference, for the reducer to diff against what it knew."""
    locked = doc.read_only.lock_state if doc.read_only is not None else False
    return ConferenceSnapshot(
        info(doc),
        locked,
        tuple(participant(p) for p in participants),
        at,
        _instance_id(doc, participants),
    )


def conference(
    doc: wire.ConferenceDoc,
    participants: Sequence[wire.ParticipantWire],
    now: float,
    *,
    fallback: Conference | None = None,
) -> Conference:
    """A conference as Kazoo shows it now, for `status` and `list` (not tracked by the engine)."""
    facts = info(doc)
    people = {p.participant_id: p for p in map(participant, participants)}
    realtime = doc.read_only
    meeting = None
    if people:
        joins = [p.joined_at for p in people.values() if p.joined_at is not None]
        started = realtime.started_at_unix if realtime is not None else None
        if started is None:
            started = min(joins) if joins else now
        meeting = Meeting(meeting_id=_instance_id(doc, participants) or "", started_at=started)
    return Conference(
        conference_id=facts.conference_id or (fallback.conference_id if fallback else ""),
        name=facts.name or (fallback.name if fallback else ""),
        numbers=facts.numbers or (fallback.numbers if fallback else ()),
        locked=realtime.lock_state if realtime is not None else False,
        participants=people,
        meeting=meeting,
    )


# Names the service layer uses.
conference_from_rest = conference
directory_from_rest = directory
