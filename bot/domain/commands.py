"""The `/conf` commands as values: what the grammar produces and the service executes.

`conference` fields hold the user's reference (name, id or number) exactly as typed, or `None` when
left out; resolving it against known conferences is `bot.domain.resolve`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class Right(StrEnum):
    """Who may run a command, from least to most privileged (SPEC section 3)."""

    ANYONE = "anyone"
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class ConferenceAction(StrEnum):
    LOCK = "lock"
    UNLOCK = "unlock"


class ParticipantAction(StrEnum):
    MUTE = "mute"
    UNMUTE = "unmute"
    DEAF = "deaf"
    UNDEAF = "undeaf"
    KICK = "kick"


@dataclass(frozen=True, slots=True)
class Help:
    right: ClassVar[Right] = Right.ANYONE


@dataclass(frozen=True, slots=True)
class ListConferences:
    right: ClassVar[Right] = Right.MEMBER


@dataclass(frozen=True, slots=True)
class Status:
    conference: str | None = None
    right: ClassVar[Right] = Right.MEMBER


@dataclass(frozen=True, slots=True)
class Lock:
    """`lock` / `unlock`."""

    action: ConferenceAction
    conference: str | None = None

    @property
    def right(self) -> Right:
        return Right.MODERATOR


@dataclass(frozen=True, slots=True)
class Everyone:
    """`mute-all`, `unmute-all`, `deaf-all`, `undeaf-all`, `kick-all`."""

    action: ParticipantAction
    conference: str | None = None

    @property
    def right(self) -> Right:
        return Right.ADMIN if self.action is ParticipantAction.KICK else Right.MODERATOR


@dataclass(frozen=True, slots=True)
class One:
    """`mute WHO`, `unmute WHO`, `deaf WHO`, `undeaf WHO`, `kick WHO`."""

    action: ParticipantAction
    who: str
    conference: str | None = None

    @property
    def right(self) -> Right:
        return Right.ADMIN if self.action is ParticipantAction.KICK else Right.MODERATOR


@dataclass(frozen=True, slots=True)
class Watch:
    conference: str
    talking: bool = False
    right: ClassVar[Right] = Right.ADMIN


@dataclass(frozen=True, slots=True)
class Unwatch:
    conference: str | None = None
    right: ClassVar[Right] = Right.ADMIN


@dataclass(frozen=True, slots=True)
class Schedule:
    action: ConferenceAction
    conference: str
    when: str  # the WHEN text, parsed by `bot.domain.when`
    right: ClassVar[Right] = Right.ADMIN


@dataclass(frozen=True, slots=True)
class Schedules:
    right: ClassVar[Right] = Right.MEMBER


@dataclass(frozen=True, slots=True)
class Unschedule:
    schedule_id: str
    right: ClassVar[Right] = Right.ADMIN


Command = (
    Help
    | ListConferences
    | Status
    | Lock
    | Everyone
    | One
    | Watch
    | Unwatch
    | Schedule
    | Schedules
    | Unschedule
)
