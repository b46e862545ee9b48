"""The `/conf` grammar (SPEC section 3): every command, every refusal, quoting and Slack escapes."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

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
from bot.domain.grammar import (
    COMMAND_HELP,
    COMMAND_WORDS,
    USAGE,
    Token,
    help_lines,
    parse,
    render,
    tokenize,
    usage,
)
from bot.errors import CommandError

LOCK, UNLOCK = ConferenceAction.LOCK, ConferenceAction.UNLOCK
MUTE, UNMUTE = ParticipantAction.MUTE, ParticipantAction.UNMUTE
DEAF, UNDEAF, KICK = ParticipantAction.DEAF, ParticipantAction.UNDEAF, ParticipantAction.KICK


def error(text: str, **kw: object) -> str:
    with pytest.raises(CommandError) as caught:
        parse(text, **kw)  # type: ignore[arg-type]
    return str(caught.value)


# --- every command -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("HELP", Help()),
        ("list", ListConferences()),
        ("status", Status()),
        ("status Standup", Status("Standup")),
        ("status 1000", Status("1000")),
        ("lock", Lock(LOCK)),
        ("lock Standup", Lock(LOCK, "Standup")),
        ("unlock Standup", Lock(UNLOCK, "Standup")),
        ("mute-all", Everyone(MUTE)),
        ("mute-all Standup", Everyone(MUTE, "Standup")),
        ("unmute-all Standup", Everyone(UNMUTE, "Standup")),
        ("deaf-all Standup", Everyone(DEAF, "Standup")),
        ("undeaf-all", Everyone(UNDEAF)),
        ("kick-all Standup", Everyone(KICK, "Standup")),
        ("mute ada", One(MUTE, "ada")),
        ("mute ada Standup", One(MUTE, "ada", "Standup")),
        ("unmute 12 Standup", One(UNMUTE, "12", "Standup")),
        ("deaf +4420 Standup", One(DEAF, "+4420", "Standup")),
        ("undeaf ada", One(UNDEAF, "ada")),
        ("kick ada Standup", One(KICK, "ada", "Standup")),
        ("watch Standup", Watch("Standup")),
        ("watch Standup talking", Watch("Standup", talking=True)),
        ("watch Standup TALKING", Watch("Standup", talking=True)),
        ("watch talking", Watch("talking")),
        ("unwatch", Unwatch()),
        ("unwatch Standup", Unwatch("Standup")),
        ("schedule lock Standup weekdays 09:05", Schedule(LOCK, "Standup", "weekdays 09:05")),
        (
            "schedule unlock Standup at 2026-03-01T10:00Z",
            Schedule(UNLOCK, "Standup", "at 2026-03-01T10:00Z"),
        ),
        ("schedule lock Standup 5m after start", Schedule(LOCK, "Standup", "5m after start")),
        ("schedule lock Standup at start", Schedule(LOCK, "Standup", "at start")),
        ("schedule lock Standup mon,wed,fri 09:05", Schedule(LOCK, "Standup", "mon,wed,fri 09:05")),
        ("schedule lock Standup in   90s", Schedule(LOCK, "Standup", "in 90s")),
        ("schedules", Schedules()),
        ("unschedule 12", Unschedule("12")),
        ("unschedule #12", Unschedule("12")),
        ('unschedule "#12"', Unschedule("#12")),
        ("unschedule a1b2-c3", Unschedule("a1b2-c3")),
    ],
)
def test_every_command(text: str, command: Command) -> None:
    assert parse(text) == command


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("LIST", ListConferences()),
        ("Status Standup", Status("Standup")),
        ("MUTE-ALL", Everyone(MUTE)),
        ("Kick ada", One(KICK, "ada")),
        ("SCHEDULE LOCK Standup DAILY 09:00", Schedule(LOCK, "Standup", "DAILY 09:00")),
        ("Unwatch", Unwatch()),
    ],
)
def test_command_words_are_case_insensitive_and_names_are_kept(text: str, command: Command) -> None:
    assert parse(text) == command


# --- quoting, escapes, whitespace ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ('kick "Ada Lovelace" Standup', One(KICK, "Ada Lovelace", "Standup")),
        ("kick 'Ada Lovelace' Standup", One(KICK, "Ada Lovelace", "Standup")),
        ("kick “Ada Lovelace” Standup", One(KICK, "Ada Lovelace", "Standup")),
        ("kick ‘Ada Lovelace’ Standup", One(KICK, "Ada Lovelace", "Standup")),
        ("kick „Ada Lovelace“ Standup", One(KICK, "Ada Lovelace", "Standup")),
        ("kick ”Ada Lovelace” Standup", One(KICK, "Ada Lovelace", "Standup")),
        ("kick “Ada Lovelace“ Standup", One(KICK, "Ada Lovelace", "Standup")),
        ('status "Weekly Sync"', Status("Weekly Sync")),
        ("status “Weekly Sync”", Status("Weekly Sync")),
        ('mute "Ada Lovelace" "Weekly Sync"', One(MUTE, "Ada Lovelace", "Weekly Sync")),
        ('watch "Weekly Sync" talking', Watch("Weekly Sync", talking=True)),
        (
            'schedule lock "Weekly Sync" weekdays 09:05',
            Schedule(LOCK, "Weekly Sync", "weekdays 09:05"),
        ),
        ("mute O'Brien", One(MUTE, "O'Brien")),
        ("mute O’Brien", One(MUTE, "O’Brien")),
        ("mute 'O'Brien' Standup", One(MUTE, "O'Brien", "Standup")),
        ("mute ‘Ada’s phone’", One(MUTE, "Ada’s phone")),
        ("mute 'Ada \"the\" Countess'", One(MUTE, 'Ada "the" Countess')),
        ('mute "Ada "the" Countess"', One(MUTE, 'Ada "the', 'Countess"')),  # use other quotes
        ('mute "Ada  Lovelace"', One(MUTE, "Ada  Lovelace")),  # inner spacing is kept
        ('"mute" ada', One(MUTE, "ada")),
        ("mute\tada\nStandup", One(MUTE, "ada", "Standup")),
        ("mute\u00a0ada", One(MUTE, "ada")),  # Slack may send a no-break space
        ("  status   Standup  ", Status("Standup")),
    ],
)
def test_quotes_group_words(text: str, command: Command) -> None:
    assert parse(text) == command


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("status R&amp;D", Status("R&D")),
        ("status &lt;Ops&gt;", Status("<Ops>")),
        ('status "R&amp;D Weekly"', Status("R&D Weekly")),
        ("status &amp;lt;b&amp;gt;", Status("&lt;b&gt;")),  # unescaped once: what was typed
        ("mute &lt;@U123&gt;", One(MUTE, "<@U123>")),  # typed text that looks like a mention
        ("status a&quot;b", Status("a&quot;b")),  # Slack escapes only & < >
        ("status a<b", Status("a<b")),  # a lone < (console input) is a letter
    ],
)
def test_slack_escapes_are_undone(text: str, command: Command) -> None:
    assert parse(text) == command


@pytest.mark.parametrize(
    "text",
    [
        "status <@U123|ada>",
        "mute <@U123> Standup",
        "status <#C123|general>",
        "status <!here>",
        "status <!channel>",
        "status <!subteam^S123|@team>",
        'kick "Ada <@U123|ada>" Standup',
    ],
)
def test_mentions_are_refused(text: str) -> None:
    message = error(text)
    assert message.startswith("Mentions are not conference or participant names")
    assert "`/conf status`" in message


@pytest.mark.parametrize(
    "text", ["status <http://example.com|example.com>", "status <mailto:a@b.c|a@b.c>"]
)
def test_links_are_refused(text: str) -> None:
    assert error(text).startswith("Links are not conference or participant names")


@pytest.mark.parametrize(
    ("text", "mark", "closer"),
    [
        ('kick "Ada Lovelace Standup', '"', '"'),
        ("kick 'Ada Lovelace Standup", "'", "'"),
        ("kick “Ada Lovelace Standup", "“", "”"),
        ("kick ‘Ada Lovelace Standup", "‘", "’"),
        ('kick "Ada Lovelace"Standup', '"', '"'),
        ('kick "Ada Lovelace“ Standup', '"', '"'),  # straight quotes close only with straight
        ('"', '"', '"'),
    ],
)
def test_unterminated_quote_is_an_error(text: str, mark: str, closer: str) -> None:
    message = error(text)
    assert message.startswith(f"A quote is never closed (after *{mark}")
    assert f"end it with a matching `{closer}`" in message
    assert '`/conf kick "Ada Lovelace" Standup`' in message


def test_tokens_know_whether_they_were_quoted() -> None:
    assert tokenize("a \"b c\" ''") == [
        Token("a"),
        Token("b c", quoted=True),
        Token("", quoted=True),
    ]


# --- refusals, each with its usage ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mute", "`mute` needs someone: `/conf mute WHO [CONF]`"),
        ("unmute", "`unmute` needs someone: `/conf unmute WHO [CONF]`"),
        ("deaf", "`deaf` needs someone: `/conf deaf WHO [CONF]`"),
        ("undeaf", "`undeaf` needs someone: `/conf undeaf WHO [CONF]`"),
        ("KICK", "`kick` needs someone: `/conf kick WHO [CONF]`"),
        ("watch", "`watch` needs a conference: `/conf watch CONF [talking]`"),
        (
            "unschedule",
            "`unschedule` needs the id of a schedule: `/conf unschedule ID`. "
            "`/conf schedules` lists them.",
        ),
        ("list Standup", "`list` has words left over (*Standup*): `/conf list`"),
        ("schedules x", "`schedules` has words left over (*x*): `/conf schedules`"),
        ("help me", "`help` has words left over (*me*): `/conf help`"),
        ('status ""', "`status` got an empty conference name: `/conf status [CONF]`"),
        ('mute "  "', "`mute` got an empty name: `/conf mute WHO [CONF]`"),
        ('mute ada ""', "`mute` got an empty conference name: `/conf mute WHO [CONF]`"),
        ("unschedule #", "`unschedule` got an empty id: `/conf unschedule ID`"),
        ('watch ""', "`watch` got an empty conference name: `/conf watch CONF [talking]`"),
    ],
)
def test_refusals_show_the_usage(text: str, message: str) -> None:
    assert error(text).startswith(message)


@pytest.mark.parametrize(
    ("text", "word", "left_over"),
    [
        ("status Weekly Sync", "status", "*Sync*"),
        ("lock Weekly Sync", "lock", "*Sync*"),
        ("unlock Weekly Sync", "unlock", "*Sync*"),
        ("mute-all Weekly Sync", "mute-all", "*Sync*"),
        ("unmute-all a b", "unmute-all", "*b*"),
        ("deaf-all a b", "deaf-all", "*b*"),
        ("undeaf-all a b", "undeaf-all", "*b*"),
        ("kick-all a b", "kick-all", "*b*"),
        ("kick Ada Lovelace Standup", "kick", "*Standup*"),
        ("mute a b c d", "mute", "*c* *d*"),
        ("unwatch Weekly Sync", "unwatch", "*Sync*"),
        ("watch Standup talking loudly", "watch", "*loudly*"),
        ("unschedule 1 2", "unschedule", "*2*"),
    ],
)
def test_too_many_words_are_never_ignored(text: str, word: str, left_over: str) -> None:
    message = error(text)
    assert message.startswith(f"`{word}` has words left over ({left_over}): {usage(word)}")
    if word != "unschedule":
        assert 'Names with spaces need quotes, e.g. "Ada Lovelace"' in message


def test_watch_takes_only_talking() -> None:
    message = error("watch Weekly Sync")
    assert message.startswith(
        "`watch` takes only `talking` after the conference, not *Sync*: "
        "`/conf watch CONF [talking]`"
    )
    assert "Names with spaces need quotes" in message


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("schedule", "`schedule` needs lock or unlock, a conference and WHEN: "),
        ("schedule mute Standup at 09:00", "`schedule` can lock or unlock, not *mute*: "),
        ("schedule lock", "`schedule` needs a conference and WHEN: "),
        ("schedule lock Standup", "`schedule` needs WHEN after the conference: "),
        ("schedule lock at 09:00", "`schedule` needs a conference before WHEN: "),
        ("schedule lock daily 09:00", "`schedule` needs a conference before WHEN: "),
        ("schedule unlock at start", "`schedule` needs a conference before WHEN: "),
    ],
)
def test_schedule_refusals_show_the_usage(text: str, start: str) -> None:
    message = error(text)
    assert message.startswith(start)
    assert "`/conf schedule lock|unlock CONF WHEN`" in message


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("schedule lock Standup tomorrow", "*tomorrow* is not a WHEN I understand"),
        ("schedule lock Standup at 25:00", "the hour must be 00 to 23"),
        ("schedule lock Standup at 2026-02-30T10:00", "*2026-02-30* is not a date"),
        ("schedule lock Standup in 0s", "the delay must be more than zero"),
        ("schedule lock Standup mnday 09:00", "Unknown day *mnday*"),
    ],
)
def test_bad_when_is_reported_when_typed(text: str, reason: str) -> None:
    message = error(text)
    assert reason in message
    assert message.endswith("Usage: `/conf schedule lock|unlock CONF WHEN`")


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("muet ada", "Did you mean `/conf mute` or `/conf unmute`?"),
        ("stauts", "Did you mean `/conf status`?"),
        ("lsit", "Did you mean `/conf list`?"),
        ("unschedul 3", "Did you mean `/conf unschedule`, `/conf schedule` or `/conf schedules`?"),
        ("kickall", "`/conf kick-all`"),
    ],
)
def test_unknown_command_suggests_close_words(text: str, suggestion: str) -> None:
    message = error(text)
    assert message.startswith(f"Unknown command *{text.split()[0]}*.")
    assert suggestion in message
    assert message.endswith("`/conf help` lists the commands.")


def test_unknown_command_without_close_words() -> None:
    assert error("frobnicate") == "Unknown command *frobnicate*. `/conf help` lists the commands."


def test_configured_command_name_appears_in_messages() -> None:
    assert error("mute", command="/meet") == "`mute` needs someone: `/meet mute WHO [CONF]`"
    assert error("lsit", command="/meet").endswith("`/meet help` lists the commands.")


def test_echoed_user_text_goes_through_show_and_is_trimmed() -> None:
    def show(text: str) -> str:
        return text.replace("<", "&lt;").replace(">", "&gt;")

    message = error("&lt;!channel&gt;", show=show)
    assert message.startswith("Unknown command *&lt;!channel&gt;*.")
    message = error("watch Standup &lt;!here&gt;", show=show)
    assert "not *&lt;!here&gt;*" in message
    message = error("x" * 500)
    assert "x" * 59 + "…" in message
    assert "x" * 61 not in message


# --- properties ----------------------------------------------------------------------------------

_AWKWARD = st.sampled_from(
    [
        '"',
        "'",
        "“",
        "”",
        "‘",
        "’",
        "„",
        " ",
        "\t",
        "\n",
        "<",
        ">",
        "&",
        "&amp;",
        "&lt;",
        "<@U1>",
        "<#C1|x>",
        "<!here>",
        "<http://x|y>",
        "mute",
        "kick",
        "schedule",
        "lock",
        "at",
        "in",
        "5m",
        "09:05",
        "talking",
        "#",
        "-all",
        "Ada",
        "ß",
        "\u00a0",
        "\x00",
    ]
)


@given(st.one_of(st.text(), st.lists(st.one_of(_AWKWARD, st.text(max_size=3))).map("".join)))
def test_parse_raises_only_command_error(text: str) -> None:
    with contextlib.suppress(CommandError):
        parse(text)


_NAMES = st.text(min_size=1).filter(lambda s: bool(s.strip()))
_OPTIONAL_NAMES = st.none() | _NAMES
_WHENS = st.sampled_from(
    [
        "at 09:05",
        "at 2026-03-01T10:00",
        "at 2026-03-01T10:00:30+02:00",
        "in 5m",
        "in 90 s",
        "daily 09:00",
        "weekdays at 09:05",
        "mon,Wed,FRI 09:05",
        "at start",
        "5m after start",
    ]
)
_COMMANDS: st.SearchStrategy[Command] = st.one_of(
    st.just(Help()),
    st.just(ListConferences()),
    st.just(Schedules()),
    st.builds(Status, _OPTIONAL_NAMES),
    st.builds(Lock, st.sampled_from(ConferenceAction), _OPTIONAL_NAMES),
    st.builds(Everyone, st.sampled_from(ParticipantAction), _OPTIONAL_NAMES),
    st.builds(One, st.sampled_from(ParticipantAction), _NAMES, _OPTIONAL_NAMES),
    st.builds(Watch, _NAMES, st.booleans()),
    st.builds(Unwatch, _OPTIONAL_NAMES),
    st.builds(Schedule, st.sampled_from(ConferenceAction), _NAMES, _WHENS),
    st.builds(Unschedule, _NAMES),
)


@given(_COMMANDS)
def test_parse_reads_back_what_render_writes(command: Command) -> None:
    try:
        text = render(command)
    except ValueError:
        assume(False)  # a name no quote style can carry cannot be typed either
    assert parse(text) == command


def test_render_quotes_and_escapes() -> None:
    assert render(One(KICK, "Ada Lovelace", "Standup")) == 'kick "Ada Lovelace" Standup'
    assert render(Status("R&D <Ops>")) == 'status "R&amp;D &lt;Ops&gt;"'
    assert render(Status('say "hi" there')) == "status 'say \"hi\" there'"
    assert render(Everyone(MUTE)) == "mute-all"
    assert render(Watch("Standup", talking=True)) == "watch Standup talking"
    assert render(Unschedule("#3")) == 'unschedule "#3"'
    assert render(Schedule(LOCK, "Weekly Sync", "weekdays 09:05")) == (
        'schedule lock "Weekly Sync" weekdays 09:05'
    )


def test_render_refuses_a_name_no_quote_can_carry() -> None:
    with pytest.raises(ValueError):
        render(Status("a\" b' c” d’ e"))


# --- usage and help ------------------------------------------------------------------------------

_SAMPLE_ARGS = {
    "schedule": " lock Standup at 09:00",
    "unschedule": " 1",
    "watch": " Standup",
    **{word: " ada" for word in ("mute", "unmute", "deaf", "undeaf", "kick")},
}


def test_help_table_follows_the_spec_order() -> None:
    assert COMMAND_WORDS == (
        "help", "list", "status", "lock", "unlock", "mute-all", "unmute-all", "deaf-all",
        "undeaf-all", "kick-all", "mute", "unmute", "deaf", "undeaf", "kick", "watch",
        "unwatch", "schedule", "schedules", "unschedule",
    )  # fmt: skip


@pytest.mark.parametrize("entry", COMMAND_HELP, ids=lambda e: e.word)
def test_help_rights_match_the_commands(entry: object) -> None:
    assert isinstance(entry, tuple)
    right, usage_text, description = entry
    word = usage_text.split()[0]
    assert parse(word + _SAMPLE_ARGS.get(word, "")).right == right
    assert USAGE[word] == usage_text
    assert description


def test_help_shows_only_what_the_caller_may_use() -> None:
    member = help_lines(lambda right: right in (Right.ANYONE, Right.MEMBER))
    joined = "\n".join(member)
    assert member[:4] == [
        "`/conf help` — the commands you may use",
        "`/conf list` — conferences with callers, moderators, duration, lock state",
        "`/conf status [CONF]` — who is in the call, with buttons",
        "`/conf schedules` — scheduled actions, next run times, who made them",
    ]
    assert "mute" not in joined
    assert "CONF: a conference name" in joined
    assert "WHO:" not in joined
    assert "WHEN is one of" not in joined


def test_help_for_a_guest_is_just_help() -> None:
    assert help_lines(lambda right: right is Right.ANYONE, "/meet") == [
        "`/meet help` — the commands you may use"
    ]


def test_help_for_an_admin_shows_everything_with_notes() -> None:
    lines = help_lines(lambda right: True, "/meet")
    commands = [line for line in lines if line.startswith("`/meet ")]
    assert len(commands) == len(COMMAND_HELP)
    assert commands[-1].startswith("`/meet unschedule ID`")
    notes = "\n".join(lines[len(commands) :])
    assert re.search(r"CONF: .*WHO: .*WHEN is one of", notes, re.DOTALL)
    assert "Names with spaces need quotes" in notes


def test_usage_formats_one_word() -> None:
    assert usage("mute") == "`/conf mute WHO [CONF]`"
    assert usage("kick-all", "/meet") == "`/meet kick-all [CONF]`"


@pytest.mark.parametrize("word", ["all", "ALL", "everyone", "Everybody"])
def test_one_caller_commands_refuse_a_bare_everyone_word(word: str) -> None:
    with pytest.raises(CommandError) as info:
        parse(f"kick {word} Standup")
    assert "kick-all" in str(info.value)
    assert parse(f'kick "{word}" Standup') == One(ParticipantAction.KICK, word, "Standup")
