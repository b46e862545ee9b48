"""Domain events (what Kazoo told us) and changes (what that meant for the bot's state).

Events flow in: the Kazoo layer translates websocket frames and REST snapshots into them. Changes
flow out of the reducer to whoever publishes notices. Both are frozen values carrying their time.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.model import Conference, Meeting, Participant

# --- events: Kazoo -> engine -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ParticipantJoined:
    conference_id: str
    participant: Participant
    at: float
    instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class ParticipantLeft:
    conference_id: str
    participant_id: int
    at: float
    call_id: str = ""


@dataclass(frozen=True, slots=True)
class ParticipantFlags:
    """Flags after a mute/deaf/talking event; `None`: the event says nothing of that flag."""

    conference_id: str
    participant_id: int
    at: float
    muted: bool | None = None
    deaf: bool | None = None
    talking: bool | None = None
    is_moderator: bool | None = None


@dataclass(frozen=True, slots=True)
class LockChanged:
    conference_id: str
    locked: bool
    at: float


@dataclass(frozen=True, slots=True)
class ConferenceStarted:
    conference_id: str
    at: float
    instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class ConferenceEnded:
    conference_id: str
    at: float


@dataclass(frozen=True, slots=True)
class ConferenceInfo:
    """Document facts of one conference, from the REST listing."""

    conference_id: str
    name: str
    numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConferenceSnapshot:
    """The whole live state of one conference from REST: the truth after a gap."""

    info: ConferenceInfo
    locked: bool
    participants: tuple[Participant, ...]
    at: float
    instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class DirectoryListed:
    """The account's conference documents: names and numbers for the grammar and `list`."""

    conferences: tuple[ConferenceInfo, ...]
    at: float


@dataclass(frozen=True, slots=True)
class ConferenceRestored:
    """State saved by a previous owner (or before a restart), to diff the next snapshot against."""

    conference: Conference
    at: float


Event = (
    ParticipantJoined
    | ParticipantLeft
    | ParticipantFlags
    | LockChanged
    | ConferenceStarted
    | ConferenceEnded
    | ConferenceSnapshot
    | DirectoryListed
    | ConferenceRestored
)

# --- changes: engine -> notices -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeetingStarted:
    conference: Conference
    at: float


@dataclass(frozen=True, slots=True)
class MeetingEnded:
    conference: Conference
    meeting: Meeting
    at: float


@dataclass(frozen=True, slots=True)
class Joined:
    conference: Conference
    participant: Participant
    at: float
    # True when found by a REST resync rather than announced by an event.
    resync: bool = False


@dataclass(frozen=True, slots=True)
class Left:
    conference: Conference
    participant: Participant
    at: float
    resync: bool = False


@dataclass(frozen=True, slots=True)
class FlagsChanged:
    conference: Conference
    before: Participant
    after: Participant
    at: float


@dataclass(frozen=True, slots=True)
class LockedChanged:
    conference: Conference
    locked: bool
    at: float


Change = MeetingStarted | MeetingEnded | Joined | Left | FlagsChanged | LockedChanged
