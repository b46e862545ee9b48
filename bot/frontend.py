"""The bot's answer to a `/conf` line or a button click, as Slack messages.

Parse, identify the actor, execute through the service, and word the result: the one place where a
`BotError` becomes text for a user. Slack (bot.slack.app) and the demo console both call this, so
they show the same messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.domain import grammar
from bot.domain.commands import Right
from bot.domain.permissions import Actor
from bot.errors import (
    BotError,
    CommandError,
    ConfigError,
    KazooAuthError,
    KazooError,
    KazooNotFound,
    KazooProtocolError,
    KazooRequestError,
    KazooUnavailable,
    PermissionDenied,
)
from bot.metrics import COMMANDS
from bot.scheduling import ScheduleInfo
from bot.service import (
    Acted,
    HelpShown,
    Listed,
    Result,
    Scheduled,
    SchedulesListed,
    Service,
    Shown,
    Unchanged,
    Unscheduled,
    Watching,
    command_word,
)
from bot.slack import buttons, render
from bot.slack.escape import untrusted
from bot.slack.reply import Reply

log = logging.getLogger("bot.frontend")


class ActorSource(Protocol):
    async def actor(self, user_id: str) -> Actor: ...


# Past-tense verb and the preposition that joins it to the conference for one participant.
_VERBS = {
    "lock": ("locked", None),
    "unlock": ("unlocked", None),
    "mute": ("muted", "in"),
    "unmute": ("unmuted", "in"),
    "deaf": ("deafened", "in"),
    "undeaf": ("undeafened", "in"),
    "kick": ("kicked", "from"),
}


class Frontend:
    def __init__(
        self,
        service: Service,
        actors: ActorSource,
        *,
        command: str = "/conf",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.actors = actors
        self.command_name = command
        self.clock = clock

    async def command(self, user_id: str, channel_id: str, text: str) -> Reply:
        word = "invalid"
        try:
            command = grammar.parse(text, command=self.command_name, show=untrusted)
            word = command_word(command)
            actor = await self.actors.actor(user_id)
            result = await self.service.execute(actor, command, channel_id)
            reply = self.present(actor, result)
        except BotError as exc:
            COMMANDS.labels(word, _outcome(exc)).inc()
            return Reply(private=render.error(self.describe(exc)))
        COMMANDS.labels(word, "ok").inc()
        return reply

    async def click(self, user_id: str, channel_id: str, action_id: str, value: str) -> Reply:
        word = f"button:{action_id.split(':')[-1] if ':' in action_id else 'invalid'}"
        try:
            reply = await self._click(user_id, channel_id, action_id, value)
        except BotError as exc:
            COMMANDS.labels(word, _outcome(exc)).inc()
            return Reply(private=render.error(self.describe(exc)))
        COMMANDS.labels(word, "ok").inc()
        return reply

    async def _click(self, user_id: str, channel_id: str, action_id: str, value: str) -> Reply:
        button = buttons.decode(action_id, value)
        actor = await self.actors.actor(user_id)
        result: Result
        if isinstance(button, buttons.PageButton):
            result = await self.service.show(actor, button.conference_id, button.page)
            return Reply(private=self.present(actor, result).private, replace_original=True)
        if isinstance(button, buttons.ParticipantButton):
            result = await self.service.press_participant(
                actor,
                button.action,
                button.conference_id,
                button.participant_id,
                button.call_id,
                channel_id,
            )
        else:
            result = await self.service.press_conference(
                actor, button.action, button.conference_id, channel_id
            )
        return self.present(actor, result)

    # --- words -----------------------------------------------------------------------------------

    def present(self, actor: Actor, result: Result) -> Reply:
        now = self.clock()
        if isinstance(result, HelpShown):
            return Reply(
                private=render.help_text(self.help_entries(result.rights), self.command_name)
            )
        if isinstance(result, Listed):
            return Reply(private=render.conference_list(result.conferences, now))
        if isinstance(result, Shown):
            return Reply(
                private=render.status(
                    result.conference, now, page=result.page, command=self.command_name
                )
            )
        if isinstance(result, Unchanged):
            return Reply(private=render.result(result.message))
        if isinstance(result, Acted):
            return self._acted(actor, result)
        if isinstance(result, Watching):
            name = untrusted(result.conference.name)
            extra = " with talking lines" if result.talking else ""
            private = (
                f"This channel now gets live notices for *{name}*{extra}."
                if result.new
                else f"This channel already watched *{name}*; talking lines are now "
                f"{'on' if result.talking else 'off'}."
            )
            line = f"<@{actor.user_id}> started watching *{name}* in this channel{extra}"
            return Reply(private=render.result(private), channel_line=line if result.new else None)
        if isinstance(result, Scheduled | SchedulesListed | Unscheduled):
            return self._schedules(actor, result)
        names = ", ".join(f"*{untrusted(c.name)}*" for c in result.conferences)
        return Reply(
            private=render.result(f"This channel no longer watches {names}."),
            channel_line=f"<@{actor.user_id}> stopped watching {names} in this channel",
        )

    def _schedules(self, actor: Actor, result: Scheduled | SchedulesListed | Unscheduled) -> Reply:
        if isinstance(result, SchedulesListed):
            lines = [_schedule_line(info, result.tz) for info in result.schedules]
            return Reply(
                private=render.listing(
                    "*Scheduled actions*",
                    lines,
                    empty=f"Nothing is scheduled. `{self.command_name} schedule lock CONF WHEN` "
                    "adds one.",
                )
            )
        info = result.schedule
        name = untrusted(info.conference_name)
        if isinstance(result, Unscheduled):
            return Reply(
                private=render.result(
                    f"Removed *{info.id}*: {info.action} *{name}* {info.describe}."
                ),
                channel_line=f"<@{actor.user_id}> removed the scheduled {info.action} of *{name}* "
                f"({info.describe}, id {info.id})",
            )
        when = (
            "every time it starts"
            if info.meeting_relative
            else f"next run {_local(info.next_run, result.tz)}"
        )
        return Reply(
            private=render.result(
                f"Scheduled *{info.id}*: {info.action} *{name}* {info.describe}; {when}. "
                f"`{self.command_name} unschedule {info.id}` removes it."
            ),
            channel_line=f"<@{actor.user_id}> scheduled a {info.action} of *{name}* "
            f"({info.describe}, id {info.id})",
        )

    def _acted(self, actor: Actor, result: Acted) -> Reply:
        verb, preposition = _VERBS[result.action]
        target = None
        if result.target is not None:
            target = result.target.name or result.target.number
        line = render.audit_line(
            actor.user_id,
            verb,
            result.conference.name,
            target,
            everyone=result.everyone,
            preposition=preposition,
        )
        # The caller reads the same sentence without their own mention in front.
        done = line.split("> ", 1)[1]
        note = " Kazoo spares moderators." if result.everyone and result.action != "kick" else ""
        return Reply(private=render.result(f"Done: {done}.{note}"), channel_line=line)

    def help_entries(self, rights: frozenset[Right]) -> list[tuple[str, str]]:
        return [
            (entry.usage, entry.description)
            for entry in grammar.COMMAND_HELP
            if entry.right in rights
        ]

    def describe(self, exc: BotError) -> str:
        if isinstance(exc, PermissionDenied):
            return f"You can't use `{exc.action}`: {exc.reason}."
        if isinstance(exc, CommandError):
            return str(exc)
        if isinstance(exc, KazooUnavailable):
            wait = f" in {exc.retry_after:.0f} seconds" if exc.retry_after else " in a minute"
            return (
                "The phone system (Kazoo) is not answering right now, so this may not have "
                f"happened. Try again{wait}, and check with `{self.command_name} status`."
            )
        if isinstance(exc, KazooAuthError):
            return (
                "confbot could not log in to the phone system (Kazoo). An admin should check "
                "KAZOO_API_KEY (or the KAZOO_USERNAME credentials)."
            )
        if isinstance(exc, KazooNotFound):
            return f"Kazoo no longer knows that conference. Try `{self.command_name} list`."
        if isinstance(exc, KazooRequestError):
            detail = exc.kazoo_message or str(exc)
            return f"Kazoo refused the request: {untrusted(detail, limit=300)}."
        if isinstance(exc, KazooProtocolError):
            return "Kazoo answered with something confbot does not understand; it has been logged."
        if isinstance(exc, KazooError | ConfigError):
            return f"confbot could not do that: {untrusted(str(exc), limit=300)}"
        return str(exc)


def _outcome(exc: BotError) -> str:
    if isinstance(exc, PermissionDenied):
        return "refused"
    if isinstance(exc, CommandError):
        return "invalid"
    if isinstance(exc, KazooError):
        return "kazoo_error"
    return "error"


def _local(ts: float | None, tz: ZoneInfo) -> str:
    """A run time as the user reads it: in their time zone, naming it."""
    if ts is None:
        return "not planned"
    moment = datetime.fromtimestamp(ts, tz)
    return f"{moment:%a} {moment.day} {moment:%b %H:%M} {moment.tzname()} ({tz.key})"


def _schedule_line(info: ScheduleInfo, tz: ZoneInfo) -> str:
    if info.meeting_relative:
        nxt = "every time it starts"
        if info.next_run is not None:
            nxt += f", next {_local(info.next_run, tz)}"
    else:
        nxt = f"next {_local(info.next_run, tz)}"
    return (
        f"• *{info.id}* {info.action} *{untrusted(info.conference_name)}* · {info.describe} · "
        f"{nxt} · by <@{info.created_by}> · reports in <#{info.channel_id}>"
    )
