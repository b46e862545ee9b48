"""The reducer: (conference state, event) -> (new state, changes). Pure; time comes in the events.

Rules that keep notices honest:
- a join for a participant already present (same call) is a flag update, never a second join;
- a REST snapshot after a gap yields exactly the joins, leaves and flag changes that were missed;
- a meeting is one run of a conference: it starts with its first participant (or Kazoo's
  conference-create) and ends when the last one leaves (or conference-destroy), whichever comes
  first, so a reused conference id starts a new meeting rather than continuing yesterday's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from dataclasses import replace
from types import MappingProxyType

from bot.domain.events import (
    Change,
    ConferenceEnded,
    ConferenceInfo,
    ConferenceRestored,
    ConferenceSnapshot,
    ConferenceStarted,
    DirectoryListed,
    Event,
    FlagsChanged,
    Joined,
    Left,
    LockChanged,
    LockedChanged,
    MeetingEnded,
    MeetingStarted,
    ParticipantFlags,
    ParticipantJoined,
    ParticipantLeft,
)
from bot.domain.model import EMPTY, Attendee, Conference, Meeting, Participant, attendee_key

Registry = MutableMapping[str, Conference]


def reduce(registry: Registry, event: Event) -> list[Change]:
    """Apply one event to the registry (owned by the single writer) and return what changed."""
    if isinstance(event, DirectoryListed):
        return _apply_directory(registry, event)
    if isinstance(event, ConferenceRestored):
        # Only into a registry that knows nothing newer: live state always wins over saved.
        known = registry.get(event.conference.conference_id)
        if known is None or known.meeting is None:
            registry[event.conference.conference_id] = event.conference
        return []
    conference_id = (
        event.info.conference_id if isinstance(event, ConferenceSnapshot) else (event.conference_id)
    )
    current = registry.get(conference_id)
    new, changes = apply(current, event)
    if new is not None:
        registry[conference_id] = new
    return changes


def apply(conference: Conference | None, event: Event) -> tuple[Conference | None, list[Change]]:
    """Apply one conference event to one conference; `None` means not known yet."""
    if isinstance(event, DirectoryListed | ConferenceRestored):
        raise TypeError(f"{type(event).__name__} applies to the registry, not one conference")
    if isinstance(event, ConferenceSnapshot):
        return _apply_snapshot(conference, event)
    conf = conference or Conference(conference_id=event.conference_id, name=event.conference_id)
    if isinstance(event, ParticipantFlags):
        return _apply_flags(conf, event)
    if isinstance(event, ParticipantJoined):
        return _apply_join(conf, event)
    if isinstance(event, ParticipantLeft):
        return _apply_leave(conf, event)
    if isinstance(event, LockChanged):
        if conf.locked == event.locked:
            return replace(conf, tracked=True), []
        conf = replace(conf, locked=event.locked, tracked=True)
        return conf, [LockedChanged(conf, event.locked, event.at)]
    if isinstance(event, ConferenceStarted):
        return _ensure_meeting(replace(conf, tracked=True), event.at, event.instance_id)
    if isinstance(event, ConferenceEnded):
        return _end_meeting(conf, event.at, resync=False)
    raise TypeError(f"unknown event {event!r}")


# --- participants ---------------------------------------------------------------------------------


def _set_talking(participant: Participant, talking: bool, at: float) -> Participant:
    if talking == participant.talking:
        return participant
    if talking:
        return replace(participant, talking=True, talking_since=at)
    return replace(
        participant,
        talking=False,
        talking_since=None,
        talk_seconds=participant.talk_time(at),
    )


def _with_flags(participant: Participant, event: ParticipantFlags) -> Participant:
    # Built directly rather than through dataclasses.replace: this is the hot path of every
    # talking event, and replace() costs several times a plain constructor call.
    p = participant
    muted = p.muted if event.muted is None else event.muted
    deaf = p.deaf if event.deaf is None else event.deaf
    moderator = p.is_moderator if event.is_moderator is None else event.is_moderator
    talking = p.talking if event.talking is None else event.talking
    if (muted, deaf, moderator, talking) == (p.muted, p.deaf, p.is_moderator, p.talking):
        return p
    talk_seconds, talking_since = p.talk_seconds, p.talking_since
    if talking != p.talking:
        if talking:
            talking_since = event.at
        else:
            talk_seconds, talking_since = p.talk_time(event.at), None
    return Participant(
        p.participant_id,
        p.name,
        p.number,
        p.call_id,
        moderator,
        muted,
        deaf,
        talking,
        p.joined_at,
        talk_seconds,
        talking_since,
    )


def _apply_flags(conf: Conference, event: ParticipantFlags) -> tuple[Conference, list[Change]]:
    before = conf.participants.get(event.participant_id)
    if before is None:
        # A flag event for someone we never saw join (joined during a gap): the next snapshot
        # brings them in with their name; inventing a nameless participant would announce noise.
        return conf, []
    after = _with_flags(before, event)
    if after is before:
        return conf, []
    conf = _put(conf, after)
    return conf, [FlagsChanged(conf, before, after, event.at)]


def _apply_join(conf: Conference, event: ParticipantJoined) -> tuple[Conference, list[Change]]:
    incoming = event.participant
    if incoming.joined_at is None:
        incoming = replace(incoming, joined_at=event.at)
    existing = conf.participants.get(incoming.participant_id)
    changes: list[Change] = []
    if existing is not None:
        if not incoming.call_id or existing.call_id == incoming.call_id:
            # The same call announced twice (a replay, or a resync that raced the event).
            flags = ParticipantFlags(
                conf.conference_id,
                incoming.participant_id,
                event.at,
                muted=incoming.muted,
                deaf=incoming.deaf,
                talking=incoming.talking,
                is_moderator=incoming.is_moderator,
            )
            return _apply_flags(conf, flags)
        conf, changes = _remove(conf, existing, event.at, resync=False)
    conf, started = _ensure_meeting(replace(conf, tracked=True), event.at, event.instance_id)
    changes.extend(started)
    if incoming.talking and incoming.talking_since is None:
        incoming = replace(incoming, talking_since=event.at)
    conf = _add(conf, incoming)
    changes.append(Joined(conf, incoming, event.at))
    return conf, changes


def _apply_leave(conf: Conference, event: ParticipantLeft) -> tuple[Conference, list[Change]]:
    existing = conf.participants.get(event.participant_id)
    if existing is None or (
        event.call_id and existing.call_id and event.call_id != existing.call_id
    ):
        return conf, []
    conf, changes = _remove(conf, existing, event.at, resync=False)
    if not conf.participants:
        conf, ended = _end_meeting(conf, event.at, resync=False)
        changes.extend(ended)
    return conf, changes


def _put(conf: Conference, participant: Participant) -> Conference:
    participants = _copy(conf.participants)
    participants[participant.participant_id] = participant
    return Conference(
        conf.conference_id,
        conf.name,
        conf.numbers,
        conf.locked,
        MappingProxyType(participants),
        conf.meeting,
        conf.tracked,
    )


def _copy(participants: Mapping[int, Participant]) -> dict[int, Participant]:
    # mappingproxy.copy() copies the dict underneath in C; dict(proxy) walks it item by item.
    if isinstance(participants, MappingProxyType):
        copied: dict[int, Participant] = participants.copy()
        return copied
    return dict(participants)


def _add(conf: Conference, participant: Participant) -> Conference:
    conf = _put(conf, participant)
    meeting = conf.meeting
    if meeting is None:
        return conf
    key = attendee_key(participant)
    attendees = dict(meeting.attendees)
    if key not in attendees:
        attendees[key] = Attendee(
            key=key,
            name=participant.name,
            number=participant.number,
            first_joined=participant.joined_at,
        )
    peak = max(meeting.peak, len(conf.participants))
    return replace(conf, meeting=replace(meeting, attendees=attendees, peak=peak))


def _remove(
    conf: Conference, participant: Participant, at: float, *, resync: bool
) -> tuple[Conference, list[Change]]:
    participants = _copy(conf.participants)
    participants.pop(participant.participant_id, None)
    gone = _set_talking(participant, False, at)
    meeting = conf.meeting
    if meeting is not None:
        key = attendee_key(participant)
        attendees = dict(meeting.attendees)
        record = attendees.get(key) or Attendee(
            key=key, name=participant.name, number=participant.number
        )
        attendees[key] = replace(record, talk_seconds=record.talk_seconds + gone.talk_seconds)
        meeting = replace(meeting, attendees=attendees)
    conf = replace(conf, participants=MappingProxyType(participants), meeting=meeting)
    return conf, [Left(conf, gone, at, resync=resync)]


# --- meetings -----------------------------------------------------------------------------------


def _meeting_id(conf: Conference, at: float, instance_id: str | None) -> str:
    return instance_id or f"{conf.conference_id}@{at:.3f}"


def _ensure_meeting(
    conf: Conference, at: float, instance_id: str | None
) -> tuple[Conference, list[Change]]:
    if conf.meeting is not None:
        return conf, []
    meeting = Meeting(meeting_id=_meeting_id(conf, at, instance_id), started_at=at)
    conf = replace(conf, meeting=meeting)
    return conf, [MeetingStarted(conf, at)]


def _end_meeting(conf: Conference, at: float, *, resync: bool) -> tuple[Conference, list[Change]]:
    changes: list[Change] = []
    for participant in conf.roster():
        conf, left = _remove(conf, participant, at, resync=resync)
        changes.extend(left)
    meeting = conf.meeting
    conf = replace(conf, participants=EMPTY, meeting=None, locked=False, tracked=True)
    if meeting is not None:
        ended = replace(meeting, ended_at=at)
        changes.append(MeetingEnded(conf, ended, at))
    return conf, changes


# --- snapshots ----------------------------------------------------------------------------------


def _apply_snapshot(
    conference: Conference | None, event: ConferenceSnapshot
) -> tuple[Conference, list[Change]]:
    info = event.info
    conf = conference or Conference(conference_id=info.conference_id, name=info.name)
    conf = replace(
        conf, name=info.name or conf.name, numbers=info.numbers or conf.numbers, tracked=True
    )
    at = event.at
    changes: list[Change] = []
    old_meeting = conf.meeting
    new_run = (
        old_meeting is not None
        and event.instance_id is not None
        and old_meeting.meeting_id != event.instance_id
        and not old_meeting.meeting_id.startswith(f"{conf.conference_id}@")
    )
    if new_run or (old_meeting is not None and not event.participants):
        # The run we knew ended during the gap (and perhaps another began).
        conf, ended = _end_meeting(conf, at, resync=True)
        changes.extend(ended)
    if conf.locked != event.locked and event.participants:
        conf = replace(conf, locked=event.locked)
        changes.append(LockedChanged(conf, event.locked, at))
    if not event.participants:
        return conf, changes
    conf, started = _ensure_meeting(conf, at, event.instance_id)
    changes.extend(started)
    seen = {p.participant_id: p for p in event.participants}
    for participant in list(conf.participants.values()):
        fresh = seen.get(participant.participant_id)
        if fresh is None or (
            fresh.call_id and participant.call_id and fresh.call_id != participant.call_id
        ):
            conf, left = _remove(conf, participant, at, resync=True)
            changes.extend(left)
    conf, merged = _merge_present(conf, event.participants, at)
    changes.extend(merged)
    return conf, changes


def _merge_present(
    conf: Conference, present: Iterable[Participant], at: float
) -> tuple[Conference, list[Change]]:
    """Joins for the new, flag changes for the known; each change carries the state after it."""
    changes: list[Change] = []
    for fresh in sorted(present, key=lambda p: (p.joined_at or 0.0, p.participant_id)):
        known = conf.participants.get(fresh.participant_id)
        if known is None:
            joined = fresh if fresh.joined_at is not None else replace(fresh, joined_at=at)
            if joined.talking and joined.talking_since is None:
                joined = replace(joined, talking_since=at)
            conf = _add(conf, joined)
            changes.append(Joined(conf, joined, at, resync=True))
            continue
        if known.same_flags(fresh):
            continue
        after = replace(
            _set_talking(known, fresh.talking, at),
            muted=fresh.muted,
            deaf=fresh.deaf,
            is_moderator=fresh.is_moderator,
        )
        conf = _put(conf, after)
        changes.append(FlagsChanged(conf, known, after, at))
    return conf, changes


def _apply_directory(registry: Registry, event: DirectoryListed) -> list[Change]:
    listed = {info.conference_id: info for info in event.conferences}
    for conference_id in list(registry):
        known = registry[conference_id]
        if conference_id not in listed and not known.running:
            del registry[conference_id]
    for info in listed.values():
        known_conf = registry.get(info.conference_id)
        registry[info.conference_id] = _with_info(known_conf, info)
    return []


def _with_info(conference: Conference | None, info: ConferenceInfo) -> Conference:
    if conference is None:
        return Conference(conference_id=info.conference_id, name=info.name, numbers=info.numbers)
    if conference.name == info.name and conference.numbers == info.numbers:
        return conference
    return replace(conference, name=info.name, numbers=info.numbers)
