"""Typed, prefixed button payloads: what a button says it is, and nothing more.

Every button confbot draws carries an ``action_id`` naming the action and a ``value`` naming its
target:

=========================================  ==========================================
action_id                                  value
=========================================  ==========================================
``p:mute`` ``p:unmute`` ``p:deaf``         ``{conference_id}|{participant_id}|{call_id}``
``p:undeaf`` ``p:kick``
``c:lock`` ``c:unlock`` ``c:mute-all``     ``{conference_id}``
``c:kick-all``
``page:status:{page}``                     ``{conference_id}|{page}``
=========================================  ==========================================

The page number is repeated in the paging ``action_id`` because Slack wants action ids unique
within a block and "Previous" and "Next" share one; :func:`decode` reads the page from the value
and also accepts the bare ``page:status``.

Values come back from Slack and are untrusted: :func:`decode` validates every part and turns
anything malformed into :class:`~bot.errors.CommandError`. A button never carries a right: the
handler checks the clicking user's rights again, and re-resolves the target against live state.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal, get_args

from bot.domain.commands import ParticipantAction
from bot.errors import CommandError

ConferenceButtonAction = Literal["lock", "unlock", "mute-all", "kick-all"]

PARTICIPANT_PREFIX: Final = "p:"
CONFERENCE_PREFIX: Final = "c:"
PAGE_ACTION_ID: Final = "page:status"

PARTICIPANT_ACTION_IDS: Final[dict[ParticipantAction, str]] = {
    action: f"{PARTICIPANT_PREFIX}{action.value}" for action in ParticipantAction
}
CONFERENCE_ACTION_IDS: Final[dict[ConferenceButtonAction, str]] = {
    action: f"{CONFERENCE_PREFIX}{action}" for action in get_args(ConferenceButtonAction)
}

#: Matches every action_id above (and nothing else); for ``app.action(ACTION_ID_PATTERN)``.
ACTION_ID_PATTERN: Final = re.compile(
    r"\A(?:p:(?:mute|unmute|deaf|undeaf|kick)"
    r"|c:(?:lock|unlock|mute-all|kick-all)"
    r"|page:status(?::[0-9]{1,4})?)\Z"
)

STALE_MESSAGE: Final = "This button is out of date; run {command} status again."

MAX_PAGE: Final = 9999
MAX_PARTICIPANT_ID: Final = 2**31 - 1
MAX_CALL_ID_LENGTH: Final = 256
MAX_VALUE_LENGTH: Final = 512  # well under Slack's 2000; the longest valid value is ~340

# Kazoo ids are 32 lowercase hex characters; the safe token admits them and test fixtures' ids.
_CONFERENCE_ID_RE: Final = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
_INT_RE: Final = re.compile(r"\A[0-9]{1,10}\Z")
# SIP Call-IDs may hold most printable ASCII; "|" separates value fields, so it is kept out.
_CALL_ID_RE: Final = re.compile(rf"\A[\x21-\x7b\x7d\x7e]{{0,{MAX_CALL_ID_LENGTH}}}\Z")


def valid_conference_id(conference_id: str) -> bool:
    return _CONFERENCE_ID_RE.match(conference_id) is not None


def valid_call_id(call_id: str) -> bool:
    return _CALL_ID_RE.match(call_id) is not None


def _check_conference_id(conference_id: str) -> None:
    if not valid_conference_id(conference_id):
        raise ValueError(f"not a conference id: {conference_id!r}")


@dataclass(frozen=True, slots=True)
class ParticipantButton:
    """Mute/Unmute/Deaf/Undeaf/Kick one participant (``call_id`` may be empty)."""

    action: ParticipantAction
    conference_id: str
    participant_id: int
    call_id: str = ""

    def __post_init__(self) -> None:
        _check_conference_id(self.conference_id)
        if not 0 <= self.participant_id <= MAX_PARTICIPANT_ID:
            raise ValueError(f"participant id out of range: {self.participant_id}")
        if not valid_call_id(self.call_id):
            raise ValueError(f"not a usable call id: {self.call_id!r}")

    def encode(self) -> tuple[str, str]:
        return (
            PARTICIPANT_ACTION_IDS[self.action],
            f"{self.conference_id}|{self.participant_id}|{self.call_id}",
        )


@dataclass(frozen=True, slots=True)
class ConferenceButton:
    """Lock/Unlock/Mute all/Kick all on one conference."""

    action: ConferenceButtonAction
    conference_id: str

    def __post_init__(self) -> None:
        if self.action not in CONFERENCE_ACTION_IDS:
            raise ValueError(f"not a conference button action: {self.action!r}")
        _check_conference_id(self.conference_id)

    def encode(self) -> tuple[str, str]:
        return CONFERENCE_ACTION_IDS[self.action], self.conference_id


@dataclass(frozen=True, slots=True)
class PageButton:
    """Show page ``page`` (0-based) of a conference's status roster."""

    conference_id: str
    page: int

    def __post_init__(self) -> None:
        _check_conference_id(self.conference_id)
        if not 0 <= self.page <= MAX_PAGE:
            raise ValueError(f"page out of range: {self.page}")

    def encode(self) -> tuple[str, str]:
        return f"{PAGE_ACTION_ID}:{self.page}", f"{self.conference_id}|{self.page}"


Button = ParticipantButton | ConferenceButton | PageButton

_PARTICIPANT_BY_ID: Final = {v: k for k, v in PARTICIPANT_ACTION_IDS.items()}
_CONFERENCE_BY_ID: Final = {v: k for k, v in CONFERENCE_ACTION_IDS.items()}


def _int(text: str) -> int:
    if _INT_RE.match(text) is None:
        raise ValueError(f"not a number: {text!r}")
    return int(text)


def _decode(action_id: str, value: str) -> Button:
    if ACTION_ID_PATTERN.match(action_id) is None or len(value) > MAX_VALUE_LENGTH:
        raise ValueError("unknown action or oversized value")
    if action_id in _PARTICIPANT_BY_ID:
        conference_id, participant_id, call_id = value.split("|", 2)
        return ParticipantButton(
            _PARTICIPANT_BY_ID[action_id], conference_id, _int(participant_id), call_id
        )
    if action_id in _CONFERENCE_BY_ID:
        return ConferenceButton(_CONFERENCE_BY_ID[action_id], value)
    conference_id, page = value.split("|")
    return PageButton(conference_id, _int(page))


def decode(action_id: str, value: str, *, command: str = "/conf") -> Button:
    """Parse a clicked button back into its payload.

    Raises :class:`CommandError` ("This button is out of date; ...") for anything that is not
    exactly what :meth:`encode` produces.
    """
    try:
        return _decode(action_id, value)
    except (ValueError, TypeError) as exc:
        raise CommandError(STALE_MESSAGE.format(command=command)) from exc
