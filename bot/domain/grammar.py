"""The `/conf` grammar: the text after the slash command in, a `Command` value out (SPEC section 3).

Pure. The input is what Slack sends with `should_escape: true`:

- `&amp;`, `&lt;` and `&gt;` stand for `&`, `<` and `>`; each word is unescaped once, after
  splitting, so an escaped quote or space can never change how the text splits.
- A raw `<...>` is Slack's own markup (`<@U123|ada>`, `<#C123|general>`, `<!here>`, links). Typed
  text cannot contain a raw `<`, so markup is refused wherever it appears rather than guessed at:
  a mention names a Slack user, not a caller on the PBX.
- Words are split on whitespace; "...", '...', “...”, ‘...’ (and „...“) group words into one. A
  quote opens only at the start of a word and closes at its closing mark followed by whitespace or
  the end, so apostrophes inside words (`O'Brien`, `Ada’s`) are plain letters.

Command words are case-insensitive; names are kept as typed (resolution folds case later). Too
many words is an error, never silently dropped. `render` is the inverse of `parse`: it writes the
text Slack would send for a command value.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, NamedTuple, assert_never

from bot.domain import when
from bot.domain.commands import (
    Command,
    ConferenceAction,
    Everyone,
    Help,
    ListConferences,
    Lock,
    One,
    ParticipantAction,
    Right,
    Schedule,
    Schedules,
    Status,
    Unschedule,
    Unwatch,
    Watch,
)
from bot.errors import CommandError

Show = Callable[[str], str]
"""Makes untrusted text safe for the reply's markup; the Slack layer passes its escaper."""

DEFAULT_COMMAND: Final = "/conf"


def _same(text: str) -> str:
    return text


# --- usage and help ------------------------------------------------------------------------------


class HelpEntry(NamedTuple):
    """One row of the command table: who may use it, its usage (without `/conf`), what it does."""

    right: Right
    usage: str
    description: str

    @property
    def word(self) -> str:
        return self.usage.split(" ", 1)[0]


COMMAND_HELP: Final[tuple[HelpEntry, ...]] = (
    HelpEntry(Right.ANYONE, "help", "the commands you may use"),
    HelpEntry(Right.MEMBER, "list", "conferences with callers, moderators, duration, lock state"),
    HelpEntry(Right.MEMBER, "status [CONF]", "who is in the call, with buttons"),
    HelpEntry(Right.MODERATOR, "lock [CONF]", "keep new callers out"),
    HelpEntry(Right.MODERATOR, "unlock [CONF]", "let callers in again"),
    HelpEntry(Right.MODERATOR, "mute-all [CONF]", "mute everyone (moderators are spared)"),
    HelpEntry(Right.MODERATOR, "unmute-all [CONF]", "unmute everyone"),
    HelpEntry(Right.MODERATOR, "deaf-all [CONF]", "deafen everyone (moderators are spared)"),
    HelpEntry(Right.MODERATOR, "undeaf-all [CONF]", "undeafen everyone"),
    HelpEntry(Right.ADMIN, "kick-all [CONF]", "hang up on everyone"),
    HelpEntry(Right.MODERATOR, "mute WHO [CONF]", "mute one caller"),
    HelpEntry(Right.MODERATOR, "unmute WHO [CONF]", "unmute one caller"),
    HelpEntry(Right.MODERATOR, "deaf WHO [CONF]", "deafen one caller"),
    HelpEntry(Right.MODERATOR, "undeaf WHO [CONF]", "undeafen one caller"),
    HelpEntry(Right.ADMIN, "kick WHO [CONF]", "hang up on one caller"),
    HelpEntry(
        Right.ADMIN, "watch CONF [talking]", "live notices here; `talking` adds who is talking"
    ),
    HelpEntry(Right.ADMIN, "unwatch [CONF]", "stop the live notices here"),
    HelpEntry(Right.ADMIN, "schedule lock|unlock CONF WHEN", "lock or unlock later; gives an id"),
    HelpEntry(Right.MEMBER, "schedules", "scheduled actions, next run times, who made them"),
    HelpEntry(Right.ADMIN, "unschedule ID", "remove a scheduled action"),
)
"""The SPEC table in its order; `help` shows the rows the caller has the right for."""

USAGE: Final[Mapping[str, str]] = MappingProxyType({e.word: e.usage for e in COMMAND_HELP})
"""Command word -> its usage without the slash command, e.g. `"mute"` -> `"mute WHO [CONF]"`."""

COMMAND_WORDS: Final = tuple(USAGE)

_NOTES: Final = (
    ("CONF", "CONF: a conference name, id or number; optional where this channel watches one."),
    ("WHO", "WHO: a participant id, or the start of a caller's name or number."),
    ("WHEN", when.WHEN_USAGE),
)
_QUOTE_HINT: Final = 'Names with spaces need quotes, e.g. "Ada Lovelace" or "Weekly Sync".'


def usage(word: str, command: str = DEFAULT_COMMAND) -> str:
    """The usage of one command word, formatted as code: "`/conf mute WHO [CONF]`"."""
    return f"`{command} {USAGE[word]}`"


def help_lines(allowed: Callable[[Right], bool], command: str = DEFAULT_COMMAND) -> list[str]:
    """One line per command the caller may use, then what CONF, WHO and WHEN mean where used.

    `allowed(right)` says whether the caller holds a right; the Slack layer binds it to the actor.
    """
    entries = [entry for entry in COMMAND_HELP if allowed(entry.right)]
    lines = [f"`{command} {entry.usage}` — {entry.description}" for entry in entries]
    used = set(re.findall(r"[A-Z]+", " ".join(entry.usage for entry in entries)))
    lines.extend(note for placeholder, note in _NOTES if placeholder in used)
    if any(placeholder in used for placeholder in ("CONF", "WHO")):
        lines.append(_QUOTE_HINT)
    return lines


# --- tokens --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Token:
    """One word of the command, unescaped; `quoted` when it was written in quotes."""

    text: str
    quoted: bool = False


# Opening mark -> the marks that close it; the first is the one `render` writes. Smart quotes
# accept either curly mark as the closer because keyboards and autocorrect disagree on them.
_QUOTES: Final[Mapping[str, str]] = MappingProxyType(
    {'"': '"', "'": "'", "“": "”“", "„": "“”", "”": "”", "‘": "’‘", "’": "’"}
)
_MARKUP: Final = re.compile(r"<([@#!]|[a-z][a-z0-9+.-]*:)[^>]*>", re.IGNORECASE)
_ENTITIES: Final = re.compile(r"&(amp|lt|gt);")
_UNESCAPED: Final = {"amp": "&", "lt": "<", "gt": ">"}
_ECHO_LIMIT: Final = 60


def tokenize(text: str, *, command: str = DEFAULT_COMMAND, show: Show = _same) -> list[Token]:
    """Split Slack-escaped text into words; raise `CommandError` on markup or an open quote."""
    markup = _MARKUP.search(text)
    if markup is not None:
        kind = "mentions" if markup[1] in "@#!" else "links"
        raise CommandError(
            f"{kind.capitalize()} are not conference or participant names: type the name as the "
            f"PBX shows it (`{command} status` lists who is in a call)."
        )
    tokens: list[Token] = []
    index = 0
    while index < len(text):
        if text[index].isspace():
            index += 1
        elif text[index] in _QUOTES:
            end = _closing_quote(text, index)
            if end < 0:
                raise _open_quote(text[index], text[index + 1 :], command, show)
            tokens.append(Token(_unescape(text[index + 1 : end]), quoted=True))
            index = end + 1
        else:
            end = index
            while end < len(text) and not text[end].isspace():
                end += 1
            tokens.append(Token(_unescape(text[index:end])))
            index = end
    return tokens


def _closing_quote(text: str, start: int) -> int:
    """Index of the mark closing the quote opened at `start`, or -1 when there is none."""
    closers = _QUOTES[text[start]]
    for index in range(start + 1, len(text)):
        at_word_end = index + 1 == len(text) or text[index + 1].isspace()
        if text[index] in closers and at_word_end:
            return index
    return -1


def _open_quote(mark: str, rest: str, command: str, show: Show) -> CommandError:
    return CommandError(
        f"A quote is never closed (after *{mark}{_echo(rest, show)}*): end it with a matching "
        f'`{_QUOTES[mark][0]}`, e.g. `{command} kick "Ada Lovelace" Standup`.'
    )


def _unescape(text: str) -> str:
    # One pass, so "&amp;lt;" becomes "&lt;" (what the user typed), not "<".
    return _ENTITIES.sub(lambda match: _UNESCAPED[match[1]], text)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _echo(text: str, show: Show) -> str:
    """User text quoted back: trimmed to a readable length, then made safe by `show`."""
    if len(text) > _ECHO_LIMIT:
        text = text[: _ECHO_LIMIT - 1] + "…"
    return show(text)


# --- parsing -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Call:
    """A command word and the words after it, with what error messages need."""

    word: str
    args: tuple[Token, ...]
    command: str
    show: Show

    def fail(self, problem: str, hint: str = "") -> CommandError:
        message = f"`{self.word}` {problem}: {usage(self.word, self.command)}"
        return CommandError(f"{message}. {hint}" if hint else message)

    def at_most(self, count: int) -> None:
        if len(self.args) > count:
            left = self.args[count:]
            extra = " ".join(f"*{_echo(token.text, self.show)}*" for token in left[:5])
            extra += " …" if len(left) > 5 else ""
            takes_names = any(p in USAGE[self.word] for p in ("CONF", "WHO"))
            raise self.fail(f"has words left over ({extra})", _QUOTE_HINT if takes_names else "")

    def name(self, index: int, what: str) -> str:
        text = self.args[index].text
        if not text.strip():
            raise self.fail(f"got an empty {what}")
        return text

    def optional_name(self, index: int, what: str) -> str | None:
        return self.name(index, what) if len(self.args) > index else None


Parser = Callable[[_Call], Command]


def parse(text: str, *, command: str = DEFAULT_COMMAND, show: Show = _same) -> Command:
    """The command in `text` (what follows the slash command), or `CommandError` saying why not.

    `command` is the configured slash command, used in the usage shown by error messages; `show`
    makes echoed user text safe for the reply's markup.
    """
    tokens = tokenize(text, command=command, show=show)
    if not tokens:
        return Help()
    word = tokens[0].text.casefold()
    parser = _PARSERS.get(word)
    if parser is None:
        raise CommandError(_unknown_command(tokens[0].text, command, show))
    return parser(_Call(word, tuple(tokens[1:]), command, show))


def _unknown_command(word: str, command: str, show: Show) -> str:
    close = difflib.get_close_matches(word.casefold(), COMMAND_WORDS, n=3, cutoff=0.6)
    message = f"Unknown command *{_echo(word, show)}*."
    if close:
        message += f" Did you mean {_or_list([f'`{command} {c}`' for c in close])}?"
    return f"{message} `{command} help` lists the commands."


def _or_list(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def _help(call: _Call) -> Command:
    call.at_most(0)
    return Help()


def _list(call: _Call) -> Command:
    call.at_most(0)
    return ListConferences()


def _schedules(call: _Call) -> Command:
    call.at_most(0)
    return Schedules()


def _optional_conference(call: _Call) -> str | None:
    call.at_most(1)
    return call.optional_name(0, "conference name")


def _status(call: _Call) -> Command:
    return Status(_optional_conference(call))


def _unwatch(call: _Call) -> Command:
    return Unwatch(_optional_conference(call))


def _lock(action: ConferenceAction) -> Parser:
    return lambda call: Lock(action, _optional_conference(call))


def _everyone(action: ParticipantAction) -> Parser:
    return lambda call: Everyone(action, _optional_conference(call))


# Unquoted, these mean "everyone" to a person typing, never a caller whose name starts so:
# `/conf kick all` must not hang up on Allison.
_EVERYONE_WORDS: Final = frozenset({"all", "everyone", "everybody"})


def _one(action: ParticipantAction) -> Parser:
    def parse_one(call: _Call) -> Command:
        if not call.args:
            raise call.fail("needs someone")
        call.at_most(2)
        who = call.args[0]
        if not who.quoted and who.text.casefold() in _EVERYONE_WORDS:
            everyone = f"{action.value}-all"
            raise call.fail(
                f"names one caller; for everyone use {usage(everyone, call.command)}",
                f'A caller really called {who.text} can be named in quotes: "{who.text}".',
            )
        return One(action, call.name(0, "name"), call.optional_name(1, "conference name"))

    return parse_one


def _watch(call: _Call) -> Command:
    if not call.args:
        raise call.fail("needs a conference")
    call.at_most(2)
    conference = call.name(0, "conference name")
    if len(call.args) == 1:
        return Watch(conference)
    option = call.args[1].text
    if option.casefold() != "talking":
        shown = _echo(option, call.show)
        raise call.fail(f"takes only `talking` after the conference, not *{shown}*", _QUOTE_HINT)
    return Watch(conference, talking=True)


def _schedule(call: _Call) -> Command:
    if not call.args:
        raise call.fail("needs lock or unlock, a conference and WHEN", when.WHEN_USAGE)
    action_word = call.args[0].text.casefold()
    if action_word not in ("lock", "unlock"):
        shown = _echo(call.args[0].text, call.show)
        raise call.fail(f"can lock or unlock, not *{shown}*")
    if len(call.args) < 3:
        missing = "a conference and WHEN" if len(call.args) == 1 else "WHEN after the conference"
        raise call.fail(f"needs {missing}", when.WHEN_USAGE)
    conference = call.name(1, "conference name")
    when_text = " ".join(token.text for token in call.args[2:])
    _check_when(call, conference, when_text)
    return Schedule(ConferenceAction(action_word), conference, when_text)


def _check_when(call: _Call, conference: str, when_text: str) -> None:
    """Report a bad WHEN now, when it is typed, rather than when the schedule is stored."""
    try:
        when.parse_when(when_text, show=call.show)
    except CommandError as error:
        # `schedule lock at 09:00` left the conference out: "at" was taken for its name.
        if _is_when(f"{conference} {when_text}"):
            raise call.fail("needs a conference before WHEN") from None
        raise CommandError(f"{error} Usage: {usage(call.word, call.command)}") from None


def _is_when(text: str) -> bool:
    try:
        when.parse_when(text)
    except CommandError:
        return False
    return True


def _unschedule(call: _Call) -> Command:
    if not call.args:
        raise call.fail("needs the id of a schedule", f"`{call.command} schedules` lists them.")
    call.at_most(1)
    token = call.args[0]
    # Replies may show ids as "#12"; a quoted word is taken literally.
    schedule_id = token.text if token.quoted else token.text.removeprefix("#")
    if not schedule_id.strip():
        raise call.fail("got an empty id", f"`{call.command} schedules` lists them.")
    return Unschedule(schedule_id)


_PARSERS: Final[Mapping[str, Parser]] = MappingProxyType(
    {
        "help": _help,
        "list": _list,
        "status": _status,
        "lock": _lock(ConferenceAction.LOCK),
        "unlock": _lock(ConferenceAction.UNLOCK),
        **{f"{action}-all": _everyone(action) for action in ParticipantAction},
        **{str(action): _one(action) for action in ParticipantAction},
        "watch": _watch,
        "unwatch": _unwatch,
        "schedule": _schedule,
        "schedules": _schedules,
        "unschedule": _unschedule,
    }
)


# --- rendering -----------------------------------------------------------------------------------


def render(command: Command) -> str:
    """The text after the slash command that `parse` reads back as `command`, escaped as Slack
    sends it. Raises ValueError for a name no quoting can carry (one containing every closing
    quote mark followed by a space): such a name cannot be typed either.
    """
    return " ".join(_words(command))


def _words(command: Command) -> list[str]:
    match command:
        case Help():
            return ["help"]
        case ListConferences():
            return ["list"]
        case Schedules():
            return ["schedules"]
        case Status():
            return ["status", *_optional(command.conference)]
        case Unwatch():
            return ["unwatch", *_optional(command.conference)]
        case Lock():
            return [str(command.action), *_optional(command.conference)]
        case Everyone():
            return [f"{command.action}-all", *_optional(command.conference)]
        case One():
            who = _quote(command.who, force=command.who.casefold() in _EVERYONE_WORDS)
            return [str(command.action), who, *_optional(command.conference)]
        case Watch():
            return ["watch", _quote(command.conference), *(["talking"] if command.talking else [])]
        case Schedule():
            conference = _quote(command.conference)
            return ["schedule", str(command.action), conference, _escape(command.when)]
        case Unschedule():
            schedule_id = command.schedule_id
            return ["unschedule", _quote(schedule_id, force=schedule_id.startswith("#"))]
        case _:
            assert_never(command)


def _optional(name: str | None) -> list[str]:
    return [] if name is None else [_quote(name)]


def _quote(text: str, *, force: bool = False) -> str:
    """`text` as one word: bare when it can be, else in the first quote style that carries it."""
    escaped = _escape(text)
    bare = escaped and not any(c.isspace() for c in escaped) and escaped[0] not in _QUOTES
    if bare and not force:
        return escaped
    for opener, closers in _QUOTES.items():
        # A closing mark followed by whitespace inside the text would end the quote early.
        early = any(
            c in closers and i + 1 < len(escaped) and escaped[i + 1].isspace()
            for i, c in enumerate(escaped)
        )
        if not early:
            return f"{opener}{escaped}{closers[0]}"
    raise ValueError(f"{text!r} cannot be written as one quoted word")
