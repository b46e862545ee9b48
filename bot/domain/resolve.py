"""Which conference and which participant a user means (SPEC section 3, CONF and WHO).

Pure: the caller passes the conferences it knows (the engine's snapshot or a REST listing) and
the conference ids the channel watches. Every refusal is a `CommandError` saying what to type.

Names and numbers come from the PBX and are hostile (`<!channel>`, `@here`, `*`, `<http://x|y>`);
every one that reaches a message goes through `show`, which the Slack layer sets to its escaper.
The user's own reference is echoed through `show` too: it was unescaped by the grammar.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import Final

from bot.domain.model import Conference, Participant
from bot.errors import CommandError

Show = Callable[[str], str]

ROSTER_LIMIT: Final = 10
"""How many people an error message lists before it says "and N more"."""

_ECHO_LIMIT: Final = 60


def _same(text: str) -> str:
    return text


# --- conferences ---------------------------------------------------------------------------------


def resolve_conference(
    ref: str | None,
    conferences: Sequence[Conference],
    watched: Sequence[str] = (),
    *,
    show: Show = _same,
    command: str = "/conf",
) -> Conference:
    """The conference `ref` names: its id, its name (case-insensitive, exact) or one of its numbers.

    `ref=None` means "the one this channel watches" (`watched` holds conference ids). A name
    several conferences share is ambiguous (Kazoo names are not unique): the error lists them with
    their numbers and ids, and nothing is done.
    """
    if ref is None:
        return _watched_default(conferences, watched, show, command)
    key = ref.strip()
    if not key:
        raise CommandError(f"A conference name cannot be empty. `{command} list` shows them all.")
    folded = key.casefold()
    # Ids are unique, so an id match settles it before names (which are not) are considered.
    for conference in conferences:
        if conference.conference_id.casefold() == folded:
            return conference
    matches = [
        conference
        for conference in conferences
        if conference.name.strip().casefold() == folded
        or key in (number.strip() for number in conference.numbers)
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = "; ".join(_describe_conference(conference, show) for conference in matches)
        raise CommandError(
            f"*{_echo(key, show)}* matches {len(matches)} conferences: {listed}. "
            "Use a number or the id instead."
        )
    raise CommandError(_unknown_conference(key, conferences, show, command))


def _watched_default(
    conferences: Sequence[Conference], watched: Sequence[str], show: Show, command: str
) -> Conference:
    ids = set(watched)
    known = [conference for conference in conferences if conference.conference_id in ids]
    if len(known) == 1:
        return known[0]
    if known:
        names = ", ".join(f"*{show(conference.name)}*" for conference in known)
        raise CommandError(f"Which conference? This channel watches several: {names}. Name one.")
    if ids:
        raise CommandError(
            "Which conference? The one this channel watches is no longer on the PBX. "
            f"Name one; `{command} list` shows them all."
        )
    raise CommandError(
        "Which conference? This channel watches none, so name one; "
        f"`{command} list` shows them all."
    )


def _unknown_conference(
    key: str, conferences: Sequence[Conference], show: Show, command: str
) -> str:
    # Close matches are found on folded names and shown in their own spelling (first one wins).
    by_fold: dict[str, str] = {}
    for conference in conferences:
        by_fold.setdefault(conference.name.strip().casefold(), conference.name)
    close = difflib.get_close_matches(key.casefold(), list(by_fold), n=3, cutoff=0.6)
    message = f"No conference called *{_echo(key, show)}*."
    if close:
        return f"{message} Did you mean {_or_list([f'*{show(by_fold[c])}*' for c in close])}?"
    return f"{message} Try `{command} list`."


def _describe_conference(conference: Conference, show: Show) -> str:
    numbers = ", ".join(show(number) for number in conference.numbers)
    where = f"{numbers}; " if numbers else ""
    return f"*{show(conference.name)}* ({where}id {show(conference.conference_id)})"


# --- participants --------------------------------------------------------------------------------


def resolve_participant(ref: str, conference: Conference, *, show: Show = _same) -> Participant:
    """The participant `ref` names in `conference`.

    A participant id (all digits, equal to one) wins; otherwise `ref` is a case-insensitive prefix
    of a caller name or number, which must pick out one person. When several match and exactly
    one of them has the whole name or number, that one is meant: otherwise "Ada" could never be
    told apart from "Adam". A leading `+` is ignored on both sides when comparing numbers.
    """
    key = ref.strip()
    if not key:
        raise CommandError("Who? Give a participant id, or the start of a name or number.")
    roster = conference.roster()
    for participant in roster:
        # Compare as text: int() would accept "007" or "٣" and needs no length guard this way.
        if str(participant.participant_id) == key:
            return participant
    folded, digits = key.casefold(), key.lstrip("+")
    candidates = [p for p in roster if _matches(p, folded, digits, _startswith)]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise CommandError(_nobody(key, conference, roster, show))
    exact = [p for p in candidates if _matches(p, folded, digits, str.__eq__)]
    if len(exact) == 1:
        return exact[0]
    raise CommandError(
        f"*{_echo(key, show)}* matches {len(candidates)} people in *{show(conference.name)}*: "
        f"{_people(candidates, show)}. Use more of the name, the number, or the id."
    )


def _startswith(text: str, prefix: str) -> bool:
    return text.startswith(prefix)


def _matches(
    participant: Participant, folded: str, digits: str, test: Callable[[str, str], bool]
) -> bool:
    if test(participant.name.strip().casefold(), folded):
        return True
    # An empty `digits` (the user typed "+") would be a prefix of every number.
    return bool(digits) and test(participant.number.strip().lstrip("+"), digits)


def _nobody(key: str, conference: Conference, roster: Sequence[Participant], show: Show) -> str:
    name = show(conference.name)
    if not roster:
        return f"Nobody is in *{name}* right now."
    return f"Nobody in *{name}* matches *{_echo(key, show)}*. In the call: {_people(roster, show)}."


def _people(people: Sequence[Participant], show: Show) -> str:
    shown = [_describe_participant(p, show) for p in people[:ROSTER_LIMIT]]
    if len(people) > ROSTER_LIMIT:
        shown.append(f"and {len(people) - ROSTER_LIMIT} more")
    return ", ".join(shown)


def _describe_participant(participant: Participant, show: Show) -> str:
    name = show(participant.name) if participant.name.strip() else "(no name)"
    number = f"{show(participant.number)}, " if participant.number.strip() else ""
    return f"*{name}* ({number}id {participant.participant_id})"


# --- text ----------------------------------------------------------------------------------------


def _or_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _echo(text: str, show: Show) -> str:
    """The user's reference quoted back: trimmed to a readable length, then made safe."""
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 1] + "…"
    return show(text)
