"""Block Kit for everything confbot says: pure functions, values in, ``Message`` out.

No I/O and no clock: ``now`` (Unix seconds) is passed in. Every string from the PBX (caller names
and numbers, conference names and numbers) goes through :func:`bot.slack.escape.untrusted`; every
mrkdwn text object is ``verbatim`` so Slack does not auto-parse names, links or channels either.
Nothing here accepts a PIN, a bridge password or a token, so nothing here can show one.

Slack limits kept here (checked by the tests with ``slack_sdk.models.blocks``): at most 50 blocks a
message, section text at most 3000 characters, button text under 75, button values under 2000,
block ids unique within a message, action ids unique within a block.

``status`` layout, one page::

    section   "*Standup* · :lock: Locked" / counts and running time      block_id "head"
    actions   Lock|Unlock, Mute all, Kick all (confirm)                  block_id "conf"
    divider                                                              block_id "div"
    per participant (2 blocks):
      section  "*Ada* · +1 555 0100" / badges, time in call               block_id "p{id}"
      actions  Mute|Unmute, Deaf|Undeaf, Kick (danger, confirm)          block_id "pa{id}"
    context   "Page 2 of 5 · participants 23–44 of 90 · `/conf status` refreshes"  "pager-ctx"
    actions   Previous, Next (only when there is more than one page)    block_id "pager"

Four fixed blocks plus the pager leave 44 for participants: ``PARTICIPANTS_PER_PAGE`` = 22. A
section with an overflow menu would fit twice as many, but an overflow menu has one confirm dialog
for all its options and hides the state-dependent labels, while the spec wants real buttons and a
confirmation for Kick only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bot.domain.commands import ConferenceAction, ParticipantAction
from bot.domain.model import Attendee, Conference, Meeting, Participant
from bot.slack import buttons
from bot.slack.escape import ELLIPSIS, mrkdwn, untrusted

Block = dict[str, Any]

MAX_BLOCKS: Final = 50
MAX_SECTION_TEXT: Final = 3000
MAX_BUTTON_TEXT: Final = 75
MAX_FALLBACK_TEXT: Final = 3000

NAME_LIMIT: Final = 80
NUMBER_LIMIT: Final = 40
CONFERENCE_NAME_LIMIT: Final = 80

_STATUS_FIXED_BLOCKS: Final = 4  # head, conference actions, divider, pager context
_STATUS_PAGER_BLOCKS: Final = 1  # Previous/Next
_BLOCKS_PER_PARTICIPANT: Final = 2  # section + actions
PARTICIPANTS_PER_PAGE: Final = (
    MAX_BLOCKS - _STATUS_FIXED_BLOCKS - _STATUS_PAGER_BLOCKS
) // _BLOCKS_PER_PARTICIPANT

#: Live message and summary: at most this many people listed by name; the rest are counted.
LIST_MAX_PEOPLE: Final = 100
#: Live message, summary and list: at most this many sections of listed lines.
LIST_MAX_SECTIONS: Final = 10
#: `/conf list`: at most this many conferences listed.
LIST_MAX_CONFERENCES: Final = 200

MODERATOR: Final = ":star:"
MUTED: Final = ":mute:"
DEAF: Final = ":hear_no_evil:"
TALKING: Final = ":speaking_head_in_silhouette:"
LOCKED: Final = ":lock:"
UNLOCKED: Final = ":unlock:"
RUNNING: Final = ":large_green_circle:"
IDLE: Final = ":white_circle:"
ENDED: Final = ":checkered_flag:"
WARNING: Final = ":warning:"
DONE: Final = ":white_check_mark:"

PAST_TENSE: Final[dict[ParticipantAction | ConferenceAction, str]] = {
    ParticipantAction.MUTE: "muted",
    ParticipantAction.UNMUTE: "unmuted",
    ParticipantAction.DEAF: "deafened",
    ParticipantAction.UNDEAF: "undeafened",
    ParticipantAction.KICK: "kicked",
    ConferenceAction.LOCK: "locked",
    ConferenceAction.UNLOCK: "unlocked",
}

_ACTOR_RE: Final = re.compile(r"\A[UW][A-Z0-9]{1,31}\Z")
_WORD_RE: Final = re.compile(r"\A[a-z][a-z -]{0,39}\Z")
_LOOKS_LIKE_ALL: Final = frozenset({"everyone", "everybody", "all"})
_PARTIAL_ENTITY_RE: Final = re.compile(r"&[a-z]{0,4}\Z")


@dataclass(frozen=True, slots=True)
class Message:
    """What to post: ``text``, the notification fallback (escaped mrkdwn), and ``blocks``."""

    text: str
    blocks: list[Block] = field(default_factory=list)


# --------------------------------------------------------------------------- small pieces


def format_duration(seconds: float) -> str:
    """``45s``, ``12m``, ``1h 05m`` (hours keep counting past a day: ``26h 00m``)."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _fit(text: str, limit: int) -> str:
    """Cut our own mrkdwn to ``limit`` characters without leaving half an entity."""
    if len(text) <= limit:
        return text
    cut = _PARTIAL_ENTITY_RE.sub("", text[: limit - len(ELLIPSIS)])
    return cut.rstrip() + ELLIPSIS


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _section(text: str, block_id: str) -> Block:
    return {"type": "section", "block_id": block_id, "text": _md(_fit(text, MAX_SECTION_TEXT))}


def _context(text: str, block_id: str) -> Block:
    return {"type": "context", "block_id": block_id, "elements": [_md(_fit(text, 2000))]}


def _actions(elements: list[dict[str, Any]], block_id: str) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": elements}


def _confirm(title: str, text: str, confirm: str) -> dict[str, Any]:
    return {
        "title": _plain(title),
        "text": _md(_fit(text, 300)),
        "confirm": _plain(confirm),
        "deny": _plain("Cancel"),
        "style": "danger",
    }


def _button(
    label: str,
    button: buttons.Button,
    *,
    danger: bool = False,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    action_id, value = button.encode()
    element: dict[str, Any] = {
        "type": "button",
        "text": _plain(label),
        "action_id": action_id,
        "value": value,
    }
    if danger:
        element["style"] = "danger"
    if confirm is not None:
        element["confirm"] = confirm
    return element


def _conference_name(conference: Conference) -> str:
    return untrusted(conference.name or conference.conference_id, limit=CONFERENCE_NAME_LIMIT)


def _names(names: Sequence[str], limit: int = NAME_LIMIT) -> str:
    """``Ada``, ``Ada and Grace``, ``Ada, Grace and 3 others`` (names escaped)."""
    if not names:
        raise ValueError("no names to list")
    shown = [untrusted(n, limit=limit) for n in names[:2]]
    rest = len(names) - len(shown)
    if rest == 0:
        return " and ".join(shown)
    return f"{shown[0]}, {shown[1]} and {_plural(rest, 'other')}"


def _who(name: str, number: str, fallback: str) -> tuple[str, str]:
    """Escaped (display name, number to show beside it or "")."""
    if name.strip():
        shown_number = untrusted(number, limit=NUMBER_LIMIT) if number.strip() else ""
        return untrusted(name, limit=NAME_LIMIT), shown_number
    if number.strip():
        return untrusted(number, limit=NAME_LIMIT), ""
    return fallback, ""


def _participant_who(p: Participant) -> tuple[str, str]:
    return _who(p.name, p.number, f"Caller {p.participant_id}")


def _running_seconds(conference: Conference, now: float) -> float | None:
    if conference.meeting is not None:
        return conference.meeting.duration(now)
    joined = [p.joined_at for p in conference.participants.values() if p.joined_at is not None]
    return max(0.0, now - min(joined)) if joined else None


def _counts(conference: Conference) -> str:
    count = len(conference.participants)
    return (
        f"{count} in the call ({_plural(conference.member_count, 'member')}, "
        f"{_plural(conference.moderator_count, 'moderator')})"
    )


def _lock_state(conference: Conference) -> str:
    return f"{LOCKED} Locked" if conference.locked else f"{UNLOCKED} Unlocked"


def _pack(lines: Sequence[str], *, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Join lines into as few texts of at most ``limit`` characters as possible, in order."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = _fit(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _listing(
    lines: Sequence[str],
    *,
    prefix: str,
    max_lines: int,
    max_sections: int,
) -> list[Block]:
    """Sections listing ``lines``; what does not fit is counted in a final "…and N more"."""
    chunks = _pack(lines[:max_lines])[:max_sections]
    shown = sum(chunk.count("\n") + 1 for chunk in chunks)
    blocks = [_section(chunk, f"{prefix}-{i}") for i, chunk in enumerate(chunks)]
    if len(lines) > shown:
        blocks.append(_context(f"{ELLIPSIS}and {len(lines) - shown} more", f"{prefix}-more"))
    return blocks


# --------------------------------------------------------------------------- status


def page_count(participants: int) -> int:
    """How many status pages a roster of ``participants`` takes (at least one)."""
    return max(1, math.ceil(participants / PARTICIPANTS_PER_PAGE))


def _participant_blocks(
    conference: Conference, name: str, p: Participant, now: float
) -> list[Block]:
    who, number = _participant_who(p)
    title = f"*{who}*" + (f" · {number}" if number else "")
    details = []
    if p.is_moderator:
        details.append(f"{MODERATOR} moderator")
    if p.muted:
        details.append(f"{MUTED} muted")
    if p.deaf:
        details.append(f"{DEAF} deaf")
    if p.talking:
        details.append(f"{TALKING} talking")
    if p.joined_at is not None:
        details.append(f"in call {format_duration(now - p.joined_at)}")
    text = title + ("\n" + " · ".join(details) if details else "")

    call_id = p.call_id if buttons.valid_call_id(p.call_id) else ""

    def target(action: ParticipantAction) -> buttons.ParticipantButton:
        return buttons.ParticipantButton(
            action, conference.conference_id, p.participant_id, call_id
        )

    kick_confirm = _confirm(
        "Kick participant?",
        f"Kick *{who}* from *{name}*? They can call back in unless the conference is locked.",
        "Kick",
    )
    elements = [
        _button("Unmute", target(ParticipantAction.UNMUTE))
        if p.muted
        else _button("Mute", target(ParticipantAction.MUTE)),
        _button("Undeaf", target(ParticipantAction.UNDEAF))
        if p.deaf
        else _button("Deaf", target(ParticipantAction.DEAF)),
        _button("Kick", target(ParticipantAction.KICK), danger=True, confirm=kick_confirm),
    ]
    return [
        _section(text, f"p{p.participant_id}"),
        _actions(elements, f"pa{p.participant_id}"),
    ]


def _lock_button(conference: Conference) -> dict[str, Any]:
    if conference.locked:
        return _button("Unlock", buttons.ConferenceButton("unlock", conference.conference_id))
    return _button("Lock", buttons.ConferenceButton("lock", conference.conference_id))


def status(conference: Conference, now: float, *, page: int = 0, command: str = "/conf") -> Message:
    """The `/conf status` roster: one page of participants with their buttons.

    ``page`` is 0-based and clamped to the pages that exist now (a roster can shrink between a
    click on "Next" and its rendering).
    """
    name = _conference_name(conference)
    hint = f"`{mrkdwn(command)} status` refreshes this list"
    roster = conference.roster()
    if not roster:
        return Message(
            text=f"No one is in {name} ({'locked' if conference.locked else 'unlocked'})",
            blocks=[
                _section(f"No one is in *{name}* · {_lock_state(conference)}", "head"),
                _actions([_lock_button(conference)], "conf"),
                _context(hint, "pager-ctx"),
            ],
        )

    pages = page_count(len(roster))
    page = min(max(page, 0), pages - 1)
    start = page * PARTICIPANTS_PER_PAGE
    shown = roster[start : start + PARTICIPANTS_PER_PAGE]

    running = _running_seconds(conference, now)
    facts = _counts(conference)
    if running is not None:
        facts += f" · running {format_duration(running)}"
    kick_all_confirm = _confirm(
        "Kick everyone?",
        f"Disconnect everyone in *{name}* ({_plural(len(roster), 'caller')} now)?",
        "Kick all",
    )
    conference_id = conference.conference_id
    blocks: list[Block] = [
        _section(f"*{name}* · {_lock_state(conference)}\n{facts}", "head"),
        _actions(
            [
                _lock_button(conference),
                _button("Mute all", buttons.ConferenceButton("mute-all", conference_id)),
                _button(
                    "Kick all",
                    buttons.ConferenceButton("kick-all", conference_id),
                    danger=True,
                    confirm=kick_all_confirm,
                ),
            ],
            "conf",
        ),
        {"type": "divider", "block_id": "div"},
    ]
    for p in shown:
        blocks.extend(_participant_blocks(conference, name, p, now))

    footer = hint
    if pages > 1:
        first, last = start + 1, start + len(shown)
        footer = (
            f"Page {page + 1} of {pages} · participants {first}–{last} of {len(roster)} · {hint}"
        )
    blocks.append(_context(footer, "pager-ctx"))
    if pages > 1:
        pager = []
        if page > 0:
            pager.append(_button("Previous", buttons.PageButton(conference_id, page - 1)))
        if page < pages - 1:
            pager.append(_button("Next", buttons.PageButton(conference_id, page + 1)))
        blocks.append(_actions(pager, "pager"))

    text = f"{name}: {facts}, {'locked' if conference.locked else 'unlocked'}"
    if pages > 1:
        text += f" (page {page + 1} of {pages})"
    return Message(text=_fit(text, MAX_FALLBACK_TEXT), blocks=blocks)


# --------------------------------------------------------------------------- live notices


def _markers(p: Participant) -> str:
    marks = [
        mark
        for flag, mark in (
            (p.is_moderator, MODERATOR),
            (p.muted, MUTED),
            (p.deaf, DEAF),
            (p.talking, TALKING),
        )
        if flag
    ]
    return " ".join(marks)


def live(conference: Conference, now: float, *, command: str = "/conf") -> Message:
    """The live status message of a watched conference, edited in place; no buttons."""
    name = _conference_name(conference)
    roster = conference.roster()
    lock = _lock_state(conference)
    if not roster:
        return Message(
            text=f"No one is in {name}",
            blocks=[_section(f"{IDLE} No one is in *{name}* · {lock}", "head")],
        )

    running = _running_seconds(conference, now)
    head = f"{RUNNING} *{name}* · {_counts(conference)}"
    if running is not None:
        head += f" · running {format_duration(running)}"
    head += f" · {lock}"
    talking = [p.name or p.number or f"Caller {p.participant_id}" for p in roster if p.talking]
    if talking:
        head += f"\n{TALKING} {_names(talking)} {'is' if len(talking) == 1 else 'are'} talking"

    lines = []
    for p in roster:
        who, number = _participant_who(p)
        line = f"• *{who}*" + (f" {number}" if number else "")
        marks = _markers(p)
        lines.append(f"{line} {marks}" if marks else line)

    blocks = [_section(head, "head")]
    blocks.extend(
        _listing(lines, prefix="roster", max_lines=LIST_MAX_PEOPLE, max_sections=LIST_MAX_SECTIONS)
    )
    blocks.append(
        _context(
            f"{MODERATOR} moderator  {MUTED} muted  {DEAF} deaf  {TALKING} talking"
            f" · `{mrkdwn(command)} status` for controls",
            "legend",
        )
    )
    text = f"{name}: {len(roster)} in the call"
    if running is not None:
        text += f", running {format_duration(running)}"
    if conference.locked:
        text += ", locked"
    if talking:
        text += f"; {_names(talking)} {'is' if len(talking) == 1 else 'are'} talking"
    return Message(text=_fit(text, MAX_FALLBACK_TEXT), blocks=blocks)


def summary(name: str, meeting: Meeting, now: float) -> Message:
    """What the live message becomes when the conference empties."""
    shown_name = untrusted(name, limit=CONFERENCE_NAME_LIMIT)
    duration = format_duration(meeting.duration(now))
    attendees: list[Attendee] = sorted(
        meeting.attendees.values(), key=lambda a: (-a.talk_seconds, a.name.casefold(), a.key)
    )
    took_part = "1 person" if len(attendees) == 1 else f"{len(attendees)} people"
    head = (
        f"{ENDED} *{shown_name}* ended · lasted {duration} · "
        f"peak {meeting.peak} in the call · {took_part} took part"
    )
    total_talk = sum(a.talk_seconds for a in attendees)
    lines = []
    for a in attendees:
        who, number = _who(a.name, a.number, "(unknown)")
        line = f"• *{who}*" + (f" {number}" if number else "")
        if a.talk_seconds >= 1:
            share = round(100 * a.talk_seconds / total_talk)
            line += f" · talked {format_duration(a.talk_seconds)} ({share}%)"
        else:
            line += " · did not talk"
        lines.append(line)
    blocks = [_section(head, "head")]
    if lines:
        blocks.extend(
            _listing(
                lines, prefix="people", max_lines=LIST_MAX_PEOPLE, max_sections=LIST_MAX_SECTIONS
            )
        )
    else:
        blocks.append(_context("No one took part.", "people-none"))
    text = f"{shown_name} ended after {duration}: {took_part} took part, peak {meeting.peak}"
    return Message(text=_fit(text, MAX_FALLBACK_TEXT), blocks=blocks)


def joined_line(names: Sequence[str], conference_name: str) -> str:
    """``Ada, Grace and 3 others joined *Standup*``."""
    return f"{_names(names)} joined *{untrusted(conference_name, limit=CONFERENCE_NAME_LIMIT)}*"


def left_line(names: Sequence[str], conference_name: str) -> str:
    """``Ada and Grace left *Standup*``."""
    return f"{_names(names)} left *{untrusted(conference_name, limit=CONFERENCE_NAME_LIMIT)}*"


def talking_line(names: Sequence[str], conference_name: str) -> str:
    """``Ada is talking in *Standup*`` / ``Ada and Grace are talking in *Standup*``."""
    verb = "is" if len(names) == 1 else "are"
    conference = untrusted(conference_name, limit=CONFERENCE_NAME_LIMIT)
    return f"{_names(names)} {verb} talking in *{conference}*"


# --------------------------------------------------------------------------- replies


def _conference_line(conference: Conference, now: float) -> str:
    name = _conference_name(conference)
    numbers = ", ".join(untrusted(n, limit=NUMBER_LIMIT) for n in conference.numbers[:3])
    if len(conference.numbers) > 3:
        numbers += f" +{len(conference.numbers) - 3} more"
    if conference.running:
        parts = [
            f"{RUNNING} *{name}*",
            f"{_plural(conference.member_count, 'member')}, "
            f"{_plural(conference.moderator_count, 'moderator')}",
        ]
        running = _running_seconds(conference, now)
        if running is not None:
            parts.append(f"running {format_duration(running)}")
    else:
        parts = [f"{IDLE} *{name}*", "idle"]
    if conference.locked:
        parts.append(f"{LOCKED} locked")
    if numbers:
        parts.append(f"dial {numbers}")
    return " · ".join(parts)


def conference_list(conferences: Sequence[Conference], now: float) -> Message:
    """`/conf list`: running conferences first, then by name."""
    if not conferences:
        return Message(
            text="No conferences found.",
            blocks=[_section("No conferences found.", "head")],
        )
    ordered = sorted(
        conferences,
        key=lambda c: (not c.running, (c.name or c.conference_id).casefold(), c.conference_id),
    )
    running = sum(1 for c in ordered if c.running)
    head = f"*Conferences* · {len(ordered)} in all, {running} running"
    lines = [_conference_line(c, now) for c in ordered]
    blocks = [_section(head, "head")]
    blocks.extend(
        _listing(lines, prefix="list", max_lines=LIST_MAX_CONFERENCES, max_sections=MAX_BLOCKS - 2)
    )
    return Message(text=f"{len(ordered)} conferences, {running} running", blocks=blocks)


def help_text(entries: Sequence[tuple[str, str]], command: str) -> Message:
    """The commands the caller may use, from ``(usage, description)`` pairs.

    ``usage`` may leave out the slash command (``"status [CONF]"``) or include it; descriptions
    are our own mrkdwn (backticks and bold stay live).
    """
    shown_command = mrkdwn(command)
    if not entries:
        text = f"There is no `{shown_command}` command you can use here."
        return Message(text=text, blocks=[_section(text, "head")])
    lines = []
    words: dict[str, None] = {}
    for usage, description in entries:
        bare = usage.strip()
        if bare == command or bare.startswith(command + " "):
            bare = bare.removeprefix(command).strip()
        lines.append(f"`{mrkdwn(f'{command} {bare}'.strip())}` — {mrkdwn(description)}")
        if bare:
            words[bare.split()[0]] = None
    blocks = [_section(f"*What you can do with `{shown_command}`*", "head")]
    blocks.extend(_listing(lines, prefix="help", max_lines=len(lines), max_sections=MAX_BLOCKS - 2))
    verbs = ", ".join(mrkdwn(word) for word in words)
    return Message(
        text=_fit(f"{shown_command} commands: {verbs}", MAX_FALLBACK_TEXT), blocks=blocks
    )


def audit_line(
    actor_user_id: str,
    verb: str,
    conference_name: str,
    target: str | None = None,
    *,
    everyone: bool = False,
    preposition: str | None = None,
) -> str:
    """The channel line left by an action that changed a conference.

    ``<@U123> locked *Standup*``, ``<@U123> kicked Ada from *Standup*``,
    ``<@U123> muted everyone in *Standup*`` (``everyone=True``). ``actor_user_id`` must be a Slack
    user id (the only mention we ever write); ``verb`` and ``preposition`` are our own lower-case
    words (see ``PAST_TENSE``; the preposition defaults to "from" after "kicked", else "in");
    ``target`` is a caller's name and is escaped. A caller who calls themselves "everyone" is
    shown in quotes, so that kicking them cannot read as kicking everyone: pass ``everyone=True``
    for the real thing.
    """
    if _ACTOR_RE.match(actor_user_id) is None:
        raise ValueError(f"not a Slack user id: {actor_user_id!r}")
    for word in (verb, preposition):
        if word is not None and _WORD_RE.match(word) is None:
            raise ValueError(f"not wording of ours: {word!r}")
    conference = untrusted(conference_name, limit=CONFERENCE_NAME_LIMIT)
    if preposition is None:
        preposition = "from" if verb == "kicked" else "in"
    if everyone:
        return f"<@{actor_user_id}> {verb} everyone {preposition} *{conference}*"
    if target is None:
        return f"<@{actor_user_id}> {verb} *{conference}*"
    who = untrusted(target, limit=NAME_LIMIT)
    if who.casefold() in _LOOKS_LIKE_ALL:
        who = f"“{who}”"
    return f"<@{actor_user_id}> {verb} {who} {preposition} *{conference}*"


def listing(title: str, lines: Sequence[str], *, empty: str) -> Message:
    """A titled list of our own mrkdwn lines (PBX parts already escaped), e.g. `schedules`."""
    if not lines:
        return result(empty)
    blocks = [_section(title, "title")]
    blocks.extend(_listing(lines, prefix="item", max_lines=len(lines), max_sections=MAX_BLOCKS - 2))
    return Message(text=_fit(f"{title}: {len(lines)}", MAX_FALLBACK_TEXT), blocks=blocks)


def error(text: str) -> Message:
    """An ephemeral refusal or failure. ``text`` is our mrkdwn; PBX parts already escaped."""
    return Message(
        text=_fit(text, MAX_FALLBACK_TEXT),
        blocks=[_section(f"{WARNING} {text}", "error")],
    )


def result(text: str) -> Message:
    """An ephemeral success. ``text`` is our mrkdwn; PBX parts already escaped."""
    return Message(
        text=_fit(text, MAX_FALLBACK_TEXT),
        blocks=[_section(f"{DONE} {text}", "result")],
    )
