"""What the bot knows about conferences: frozen values, replaced whole, never mutated.

The engine owns a registry `dict[str, Conference]`; everything else reads these frozen values.
Times are Unix seconds (floats) passed in from outside; nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

EMPTY: Mapping[int, Participant] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Participant:
    """One caller in one run of a conference, as Kazoo last reported them."""

    participant_id: int
    name: str
    number: str
    call_id: str = ""
    is_moderator: bool = False
    muted: bool = False
    deaf: bool = False
    talking: bool = False
    joined_at: float | None = None
    # Talk time already finished; the current stretch runs from `talking_since`.
    talk_seconds: float = 0.0
    talking_since: float | None = None

    def talk_time(self, now: float) -> float:
        """Seconds this participant has talked, counting a stretch still under way."""
        if self.talking_since is None:
            return self.talk_seconds
        return self.talk_seconds + max(0.0, now - self.talking_since)

    def same_flags(self, other: Participant) -> bool:
        return (
            self.is_moderator == other.is_moderator
            and self.muted == other.muted
            and self.deaf == other.deaf
            and self.talking == other.talking
        )


@dataclass(frozen=True, slots=True)
class Attendee:
    """Someone who took part in a meeting, kept after they leave for the summary."""

    key: str
    name: str
    number: str
    talk_seconds: float = 0.0
    first_joined: float | None = None


@dataclass(frozen=True, slots=True)
class Meeting:
    """One run of a conference: from its first participant to its emptying."""

    meeting_id: str
    started_at: float
    peak: int = 0
    attendees: Mapping[str, Attendee] = field(default_factory=dict)
    ended_at: float | None = None

    def duration(self, now: float) -> float:
        end = self.ended_at if self.ended_at is not None else now
        return max(0.0, end - self.started_at)


@dataclass(frozen=True, slots=True)
class Conference:
    """A conference the bot knows: its document facts and, while it runs, its live state."""

    conference_id: str
    name: str
    numbers: tuple[str, ...] = ()
    locked: bool = False
    participants: Mapping[int, Participant] = field(default_factory=lambda: EMPTY)
    meeting: Meeting | None = None
    # True once a REST snapshot or an event told us the live state; False for a document only.
    tracked: bool = False

    @property
    def running(self) -> bool:
        return bool(self.participants)

    @property
    def member_count(self) -> int:
        return sum(1 for p in self.participants.values() if not p.is_moderator)

    @property
    def moderator_count(self) -> int:
        return sum(1 for p in self.participants.values() if p.is_moderator)

    def roster(self) -> list[Participant]:
        """Participants in join order (then id), the order a roster is shown in."""
        return sorted(
            self.participants.values(),
            key=lambda p: (p.joined_at if p.joined_at is not None else 0.0, p.participant_id),
        )


def attendee_key(participant: Participant) -> str:
    """Who a participant is across rejoins within one meeting: caller number, else name."""
    return participant.number or participant.name or f"#{participant.participant_id}"
