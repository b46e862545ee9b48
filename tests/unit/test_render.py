"""Block Kit rendering and button payloads: valid for Slack, within its limits, inert for PBX text.

Every message is checked with slack_sdk's own block models (parse, validate, round-trip) and with
the limits Slack enforces at send time that the models do not know about.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from bot.domain.commands import ParticipantAction
from bot.domain.model import Attendee, Conference, Meeting, Participant
from bot.errors import CommandError
from bot.slack import buttons, render
from bot.slack.render import Message

CONF_ID = "0123456789abcdef0123456789abcdef"
NOW = 10_000.0

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "@here",
    "@channel please",
    "@everyone",
    "<@U999>",
    "<!subteam^S123|@devs>",
    "*bold*",
    "_it_",
    "~s~",
    "`code`",
    "```block```",
    "<http://evil|click>",
    "http://evil.example/login",
    "> quote",
    "line1\nline2\r\n> line3",
    "A" * 10_000,
    "&" * 10_000,
    "\u202eevil\u202c",
    "&lt;@U1&gt;",
    "",
]

BROADCAST_RE = re.compile(r"@(here|channel|everyone)", re.IGNORECASE)


# --------------------------------------------------------------------------- helpers


def participant(i: int, **kw: Any) -> Participant:
    defaults: dict[str, Any] = {
        "name": f"Caller {i}",
        "number": f"+1555{i:04d}",
        "call_id": f"call-{i}",
        "joined_at": 1_000.0 + i,
    }
    defaults.update(kw)
    return Participant(participant_id=i, **defaults)


def conference(n: int = 0, *, name: str = "Standup", locked: bool = False, **kw: Any) -> Conference:
    people = {i: participant(i) for i in range(n)}
    return Conference(CONF_ID, name, ("1000", "1001"), locked=locked, participants=people, **kw)


def walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def texts(message: Message) -> list[str]:
    found = [message.text]
    found += [
        d["text"]
        for d in walk(message.blocks)
        if d.get("type") in ("mrkdwn", "plain_text") and isinstance(d.get("text"), str)
    ]
    return found


def buttons_of(message: Message) -> list[dict[str, Any]]:
    return [d for d in walk(message.blocks) if d.get("type") == "button"]


def check(message: Message, *, ours_only: bool = True) -> Message:
    """Assert Slack would accept ``message``: models, limits, ids; return it for chaining."""
    assert isinstance(message.text, str) and message.text.strip()
    assert len(message.text) <= 3000
    blocks = message.blocks
    assert 1 <= len(blocks) <= 50
    block_ids = [b.get("block_id") for b in blocks]
    assert all(block_ids), "every block has an id"
    assert len(set(block_ids)) == len(block_ids), "block ids are unique"
    for b in blocks:
        parsed = Block.parse(b)
        assert parsed is not None
        parsed.validate_json()
        assert parsed.to_dict() == b, "no key was dropped or unknown to slack_sdk"
        assert len(b["block_id"]) <= 255
        if b["type"] == "actions":
            ids = [e["action_id"] for e in b["elements"]]
            assert len(set(ids)) == len(ids), "action ids unique within a block"
            assert len(b["elements"]) <= 25
    for d in walk(blocks):
        if d.get("type") in ("mrkdwn", "plain_text"):
            assert 1 <= len(d["text"]) <= 3000
        if d.get("type") == "mrkdwn":
            assert d.get("verbatim") is True
    for button in buttons_of(message):
        assert len(button["text"]["text"]) < 75
        assert len(button["value"]) <= 2000
        assert len(button["action_id"]) <= 255
        assert buttons.ACTION_ID_PATTERN.match(button["action_id"])
        decoded = buttons.decode(button["action_id"], button["value"])
        assert decoded.encode() == (button["action_id"], button["value"])
    if ours_only:
        for text in texts(message):
            assert "<" not in text, "no PBX text can open a mention or link"
            assert BROADCAST_RE.search(text) is None
    return message


def status_pages(conf: Conference) -> list[Message]:
    first = check(render.status(conf, NOW))
    pages = render.page_count(len(conf.participants))
    return [first] + [check(render.status(conf, NOW, page=p)) for p in range(1, pages)]


def shown_participant_ids(message: Message) -> list[int]:
    return [
        int(b["block_id"][1:])
        for b in message.blocks
        if b["type"] == "section" and re.fullmatch(r"p\d+", b["block_id"])
    ]


# --------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "0s"),
        (0, "0s"),
        (45, "45s"),
        (59.9, "59s"),
        (60, "1m"),
        (720, "12m"),
        (3599, "59m"),
        (3600, "1h 00m"),
        (3900, "1h 05m"),
        (26 * 3600, "26h 00m"),
    ],
)
def test_format_duration(seconds: float, shown: str) -> None:
    assert render.format_duration(seconds) == shown


# --------------------------------------------------------------------------- status


def test_participants_per_page_fills_but_never_exceeds_fifty_blocks() -> None:
    per_page = render.PARTICIPANTS_PER_PAGE
    assert per_page == 22
    full_page = render.status(conference(3 * per_page), NOW, page=1)
    assert len(full_page.blocks) <= 50
    assert len(full_page.blocks) + 2 > 50, "one more participant would not fit"


@pytest.mark.parametrize("size", [0, 1, 22, 23, 24, 25, 200])
def test_status_pages_cover_every_participant_exactly_once(size: int) -> None:
    conf = conference(size)
    pages = status_pages(conf)
    assert len(pages) == max(1, -(-size // render.PARTICIPANTS_PER_PAGE))
    seen = [pid for page in pages for pid in shown_participant_ids(page)]
    assert seen == [p.participant_id for p in conf.roster()]


def test_status_pager_buttons_and_context() -> None:
    conf = conference(50)
    first, middle, last = (render.status(conf, NOW, page=p) for p in (0, 1, 2))

    def pager(message: Message) -> dict[str, buttons.Button]:
        block = next(b for b in message.blocks if b["block_id"] == "pager")
        return {
            e["text"]["text"]: buttons.decode(e["action_id"], e["value"]) for e in block["elements"]
        }

    assert pager(first) == {"Next": buttons.PageButton(CONF_ID, 1)}
    assert pager(middle) == {
        "Previous": buttons.PageButton(CONF_ID, 0),
        "Next": buttons.PageButton(CONF_ID, 2),
    }
    assert pager(last) == {"Previous": buttons.PageButton(CONF_ID, 1)}
    context = next(b for b in middle.blocks if b["block_id"] == "pager-ctx")
    assert "Page 2 of 3 · participants 23–44 of 50" in context["elements"][0]["text"]
    assert "(page 2 of 3)" in middle.text


def test_single_page_has_no_pager() -> None:
    message = check(render.status(conference(3), NOW))
    assert "pager" not in [b["block_id"] for b in message.blocks]
    assert "Page" not in json.dumps(message.blocks)


@pytest.mark.parametrize(("asked", "shown"), [(-3, 0), (99, 2)])
def test_status_page_is_clamped(asked: int, shown: int) -> None:
    conf = conference(50)
    assert render.status(conf, NOW, page=asked) == render.status(conf, NOW, page=shown)


def test_status_participant_section_and_buttons_follow_state() -> None:
    ada = participant(
        7,
        name="Ada Lovelace",
        number="+44 20 7946 0000",
        is_moderator=True,
        muted=True,
        deaf=True,
        talking=True,
        joined_at=NOW - 12 * 60,
    )
    grace = participant(8, name="Grace", number="", joined_at=None)
    conf = Conference(CONF_ID, "Standup", participants={7: ada, 8: grace})
    message = check(render.status(conf, NOW))
    by_id = {b["block_id"]: b for b in message.blocks}

    assert by_id["p7"]["text"]["text"] == (
        "*Ada Lovelace* · +44 20 7946 0000\n"
        ":star: moderator · :mute: muted · :hear_no_evil: deaf · "
        ":speaking_head_in_silhouette: talking · in call 12m"
    )
    assert by_id["p8"]["text"]["text"] == "*Grace*"

    ada_buttons = by_id["pa7"]["elements"]
    assert [e["text"]["text"] for e in ada_buttons] == ["Unmute", "Undeaf", "Kick"]
    assert [e["action_id"] for e in ada_buttons] == ["p:unmute", "p:undeaf", "p:kick"]
    assert all(e["value"] == f"{CONF_ID}|7|call-7" for e in ada_buttons)
    kick = ada_buttons[2]
    assert kick["style"] == "danger"
    assert kick["confirm"]["confirm"]["text"] == "Kick"
    assert kick["confirm"]["deny"]["text"] == "Cancel"
    assert "*Ada Lovelace*" in kick["confirm"]["text"]["text"]
    assert "*Standup*" in kick["confirm"]["text"]["text"]
    assert [e["text"]["text"] for e in by_id["pa8"]["elements"]] == ["Mute", "Deaf", "Kick"]
    assert "style" not in by_id["pa8"]["elements"][0]


def test_status_head_and_conference_buttons() -> None:
    people = {
        0: participant(0, is_moderator=True, joined_at=NOW - 3900),
        1: participant(1, joined_at=NOW - 60),
    }
    conf = Conference(CONF_ID, "Standup", participants=people)
    message = check(render.status(conf, NOW))
    head = message.blocks[0]["text"]["text"]
    assert head == (
        "*Standup* · :unlock: Unlocked\n2 in the call (1 member, 1 moderator) · running 1h 05m"
    )
    conf_buttons = message.blocks[1]["elements"]
    assert [e["text"]["text"] for e in conf_buttons] == ["Lock", "Mute all", "Kick all"]
    assert [e["action_id"] for e in conf_buttons] == ["c:lock", "c:mute-all", "c:kick-all"]
    assert conf_buttons[2]["confirm"]["confirm"]["text"] == "Kick all"
    assert conf_buttons[2]["style"] == "danger"
    assert message.text.startswith("Standup: 2 in the call")

    locked = check(render.status(conference(2, locked=True), NOW))
    assert locked.blocks[1]["elements"][0]["action_id"] == "c:unlock"
    assert ":lock: Locked" in locked.blocks[0]["text"]["text"]


def test_status_running_time_prefers_the_meeting() -> None:
    meeting = Meeting("m1", started_at=NOW - 600)
    conf = conference(1, meeting=meeting)
    assert "running 10m" in render.status(conf, NOW).blocks[0]["text"]["text"]


@pytest.mark.parametrize("locked", [False, True])
def test_idle_status(locked: bool) -> None:
    message = check(render.status(conference(0, locked=locked), NOW))
    assert message.blocks[0]["text"]["text"].startswith("No one is in *Standup*")
    action_ids = [e["action_id"] for e in buttons_of(message)]
    assert action_ids == (["c:unlock"] if locked else ["c:lock"])


def test_status_command_name_is_configurable() -> None:
    message = render.status(conference(1), NOW, command="/bridge")
    assert "`/bridge status`" in json.dumps(message.blocks, ensure_ascii=False)


def test_status_drops_an_unusable_call_id_rather_than_failing() -> None:
    odd = participant(1, call_id="has|pipe and space")
    conf = Conference(CONF_ID, "Standup", participants={1: odd})
    message = check(render.status(conf, NOW))
    assert buttons_of(message)[3]["value"] == f"{CONF_ID}|1|"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_status_is_inert_with_hostile_pbx_text(hostile: str) -> None:
    people = {
        1: participant(1, name=hostile, number=hostile),
        2: participant(2, name="", number=hostile),
    }
    conf = Conference(CONF_ID, hostile, (hostile,), participants=people)
    message = check(render.status(conf, NOW))
    by_id = {b["block_id"]: b for b in message.blocks}
    assert by_id["p1"]["text"]["text"].count("\n") == 1, "a name cannot add lines"
    assert by_id["p2"]["text"]["text"].count("\n") == 1
    for text in texts(message):
        assert "\u202e" not in text
        for marked in ("*bold*", "_it_", "~s~", "`code`", "```"):
            assert marked not in text


# --------------------------------------------------------------------------- live


@pytest.mark.parametrize("size", [0, 1, 24, 25, 200])
def test_live_fits_and_counts_the_overflow(size: int) -> None:
    message = check(render.live(conference(size), NOW))
    assert not buttons_of(message)
    listed = sum(
        b["text"]["text"].count("• ")
        for b in message.blocks
        if re.fullmatch(r"roster-\d+", b["block_id"])
    )
    assert listed == min(size, render.LIST_MAX_PEOPLE)
    more = [b for b in message.blocks if b["block_id"] == "roster-more"]
    if size > render.LIST_MAX_PEOPLE:
        assert more[0]["elements"][0]["text"] == f"…and {size - render.LIST_MAX_PEOPLE} more"
    else:
        assert not more


def test_live_worst_case_names_still_fit() -> None:
    people = {i: participant(i, name="&" * 500, number="<" * 500) for i in range(200)}
    conf = Conference(CONF_ID, "&" * 500, participants=people)
    message = check(render.live(conf, NOW))
    assert len(message.blocks) <= 50


def test_live_shows_state_and_talkers() -> None:
    people = {
        1: participant(1, name="Ada", talking=True, is_moderator=True, joined_at=NOW - 300),
        2: participant(2, name="Grace", muted=True, deaf=True, joined_at=NOW - 200),
        3: participant(3, name="Alan", talking=True, joined_at=NOW - 10),
    }
    conf = Conference(CONF_ID, "Standup", locked=True, participants=people)
    message = check(render.live(conf, NOW))
    head = message.blocks[0]["text"]["text"]
    assert "*Standup*" in head and ":lock: Locked" in head
    assert "Ada and Alan are talking" in head
    roster = message.blocks[1]["text"]["text"].split("\n")
    assert roster[0] == "• *Ada* +15550001 :star: :speaking_head_in_silhouette:"
    assert roster[1] == "• *Grace* +15550002 :mute: :hear_no_evil:"
    assert "Ada and Alan are talking" in message.text
    assert "locked" in message.text


def test_live_idle() -> None:
    message = check(render.live(conference(0), NOW))
    assert "No one is in *Standup*" in message.blocks[0]["text"]["text"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_live_is_inert_with_hostile_pbx_text(hostile: str) -> None:
    people = {i: participant(i, name=hostile, number=hostile, talking=True) for i in range(3)}
    check(render.live(Conference(CONF_ID, hostile, participants=people), NOW))


# --------------------------------------------------------------------------- summary and lines


def meeting_with(attendees: list[Attendee], **kw: Any) -> Meeting:
    return Meeting(
        "m1",
        started_at=NOW - 2520,
        peak=kw.pop("peak", 3),
        attendees={a.key: a for a in attendees},
        **kw,
    )


def test_summary_sorts_by_talk_time() -> None:
    meeting = meeting_with(
        [
            Attendee("1", "Grace", "+1 2", talk_seconds=60),
            Attendee("2", "Ada", "+1 1", talk_seconds=180),
            Attendee("3", "Alan", "", talk_seconds=0),
        ],
        ended_at=NOW,
    )
    message = check(render.summary("Standup", meeting, NOW + 999))
    assert message.blocks[0]["text"]["text"] == (
        ":checkered_flag: *Standup* ended · lasted 42m · peak 3 in the call · 3 people took part"
    )
    assert message.blocks[1]["text"]["text"].split("\n") == [
        "• *Ada* +1 1 · talked 3m (75%)",
        "• *Grace* +1 2 · talked 1m (25%)",
        "• *Alan* · did not talk",
    ]
    assert message.text == "Standup ended after 42m: 3 people took part, peak 3"


def test_summary_of_nobody_and_of_a_crowd() -> None:
    check(render.summary("Standup", meeting_with([], peak=0), NOW))
    crowd = [Attendee(str(i), "&" * 200, "<" * 100, talk_seconds=i) for i in range(250)]
    message = check(render.summary("<!channel>", meeting_with(crowd), NOW))
    assert message.blocks[-1]["elements"][0]["text"] == "…and 150 more"


@pytest.mark.parametrize(
    ("names", "line"),
    [
        (["Ada"], "Ada joined *Standup*"),
        (["Ada", "Grace"], "Ada and Grace joined *Standup*"),
        (["Ada", "Grace", "Alan"], "Ada, Grace and 1 other joined *Standup*"),
        (["Ada", "Grace", "a", "b", "c"], "Ada, Grace and 3 others joined *Standup*"),
    ],
)
def test_joined_line(names: list[str], line: str) -> None:
    assert render.joined_line(names, "Standup") == line
    assert render.left_line(names, "Standup") == line.replace("joined", "left")


def test_talking_line() -> None:
    assert render.talking_line(["Ada"], "Standup") == "Ada is talking in *Standup*"
    assert render.talking_line(["Ada", "Grace"], "Standup") == (
        "Ada and Grace are talking in *Standup*"
    )
    assert render.talking_line(["A", "B", "C", "D"], "Standup") == (
        "A, B and 2 others are talking in *Standup*"
    )


def test_lines_need_names() -> None:
    with pytest.raises(ValueError):
        render.joined_line([], "Standup")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_lines_are_inert(hostile: str) -> None:
    for line in (
        render.joined_line([hostile, hostile, hostile], hostile),
        render.left_line([hostile], hostile),
        render.talking_line([hostile, hostile], hostile),
    ):
        assert "<" not in line and "\n" not in line
        assert BROADCAST_RE.search(line) is None
        assert len(line) < 400


# --------------------------------------------------------------------------- list, help, replies


def test_conference_list_orders_running_first() -> None:
    board = Conference("board", "board", ("2000",))
    standup = conference(2, locked=True)
    alpha = Conference("alpha", "Alpha", ("3000", "3001", "3002", "3003", "3004"))
    message = check(render.conference_list([board, alpha, standup], NOW))
    lines = message.blocks[1]["text"]["text"].split("\n")
    assert lines[0].startswith(":large_green_circle: *Standup* · 2 members, 0 moderators")
    assert ":lock: locked" in lines[0] and "dial 1000, 1001" in lines[0]
    assert lines[1] == ":white_circle: *Alpha* · idle · dial 3000, 3001, 3002 +2 more"
    assert lines[2] == ":white_circle: *board* · idle · dial 2000"
    assert message.text == "3 conferences, 1 running"


def test_conference_list_empty_and_huge() -> None:
    check(render.conference_list([], NOW))
    many = [Conference(f"c{i}", "&" * 300, ("<" * 50,) * 5) for i in range(500)]
    message = check(render.conference_list(many, NOW))
    assert message.blocks[-1]["block_id"] == "list-more"


def test_help_text() -> None:
    entries = [("help", "show this"), ("/conf status [CONF]", "who is in the call")]
    message = check(render.help_text(entries, "/conf"))
    body = message.blocks[1]["text"]["text"]
    assert body == "`/conf help` — show this\n`/conf status [CONF]` — who is in the call"
    assert message.text == "/conf commands: help, status"
    check(render.help_text([], "/conf"))


def test_audit_lines() -> None:
    assert render.audit_line("U123", "locked", "Standup") == "<@U123> locked *Standup*"
    assert render.audit_line("U123", "kicked", "Standup", "Ada") == (
        "<@U123> kicked Ada from *Standup*"
    )
    assert render.audit_line("W9", "muted", "Standup", everyone=True) == (
        "<@W9> muted everyone in *Standup*"
    )
    assert render.audit_line("U1", "muted", "Standup", "Ada", preposition="on") == (
        "<@U1> muted Ada on *Standup*"
    )
    assert render.audit_line("U1", "kicked", "Standup", "Everyone") == (
        "<@U1> kicked “Everyone” from *Standup*"
    )
    assert render.PAST_TENSE[ParticipantAction.DEAF] == "deafened"


@pytest.mark.parametrize("actor", ["<!channel>", "U12>", "u123", "", "C123", "U" + "1" * 40])
def test_audit_line_rejects_anything_but_a_user_id(actor: str) -> None:
    with pytest.raises(ValueError):
        render.audit_line(actor, "locked", "Standup")


def test_audit_line_rejects_foreign_wording() -> None:
    with pytest.raises(ValueError):
        render.audit_line("U1", "<!here>", "Standup")


@pytest.mark.parametrize("hostile", HOSTILE)
def test_audit_line_is_inert_apart_from_the_actor(hostile: str) -> None:
    line = render.audit_line("U123", "kicked", hostile, hostile)
    rest = line.removeprefix("<@U123> ")
    assert "<" not in rest and "\n" not in rest
    assert BROADCAST_RE.search(rest) is None


def test_error_and_result() -> None:
    failed = check(render.error("No conference called *Nope*."))
    assert failed.blocks[0]["text"]["text"] == ":warning: No conference called *Nope*."
    assert failed.text == "No conference called *Nope*."
    done = check(render.result("Muted *Ada*."))
    assert done.blocks[0]["text"]["text"] == ":white_check_mark: Muted *Ada*."
    long = check(render.error("x" * 5000))
    assert len(long.blocks[0]["text"]["text"]) == 3000


def test_no_render_function_takes_a_secret() -> None:
    secretive = re.compile(r"pin|password|secret|token", re.IGNORECASE)
    for name, function in inspect.getmembers(render, inspect.isfunction):
        if function.__module__ != render.__name__:
            continue
        for parameter in inspect.signature(function).parameters:
            assert not secretive.search(parameter), f"{name}({parameter})"


# --------------------------------------------------------------------------- buttons


conference_ids = st.one_of(
    st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
)
call_ids = st.from_regex(r"[\x21-\x7b\x7d\x7e]{0,256}", fullmatch=True)


@given(
    st.sampled_from(list(ParticipantAction)),
    conference_ids,
    st.integers(0, 2**31 - 1),
    call_ids,
)
def test_participant_button_round_trip(
    action: ParticipantAction, conference_id: str, participant_id: int, call_id: str
) -> None:
    button = buttons.ParticipantButton(action, conference_id, participant_id, call_id)
    action_id, value = button.encode()
    assert action_id == f"p:{action.value}"
    assert buttons.ACTION_ID_PATTERN.match(action_id)
    assert len(value) <= 2000
    assert buttons.decode(action_id, value) == button


@given(st.sampled_from(["lock", "unlock", "mute-all", "kick-all"]), conference_ids)
def test_conference_button_round_trip(action: Any, conference_id: str) -> None:
    button = buttons.ConferenceButton(action, conference_id)
    assert buttons.decode(*button.encode()) == button
    assert button.encode() == (f"c:{action}", conference_id)


@given(conference_ids, st.integers(0, buttons.MAX_PAGE))
def test_page_button_round_trip(conference_id: str, page: int) -> None:
    button = buttons.PageButton(conference_id, page)
    action_id, value = button.encode()
    assert buttons.ACTION_ID_PATTERN.match(action_id)
    assert buttons.decode(action_id, value) == button
    assert buttons.decode(buttons.PAGE_ACTION_ID, value) == button


@pytest.mark.parametrize(
    ("action_id", "value"),
    [
        ("p:mute", f"{CONF_ID}|1"),
        ("p:mute", f"{CONF_ID}|-1|x"),
        ("p:mute", f"{CONF_ID}|1.5|x"),
        ("p:mute", f"{CONF_ID}|٣|x"),
        ("p:mute", f"{CONF_ID}| 1|x"),
        ("p:mute", f"{CONF_ID}|{'9' * 11}|x"),
        ("p:kick", f"{CONF_ID}|1|{'x' * 300}"),
        ("p:kick", f"{CONF_ID}|1|a b"),
        ("p:kick", f"{CONF_ID}|1|a|b"),
        ("p:kick", f"{CONF_ID}|1|x\n"),
        ("p:kick", "../admin|1|x"),
        ("p:nuke", f"{CONF_ID}|1|x"),
        ("P:MUTE", f"{CONF_ID}|1|x"),
        ("p:mute ", f"{CONF_ID}|1|x"),
        ("c:lock", ""),
        ("c:lock", "../etc/passwd"),
        ("c:lock", "a" * 65),
        ("c:lock", f"{CONF_ID}\n"),
        ("c:lock", f"{CONF_ID}|1"),
        ("c:explode", CONF_ID),
        ("page:status", f"{CONF_ID}|-1"),
        ("page:status", f"{CONF_ID}|10000"),
        ("page:status", f"{CONF_ID}|1|2"),
        ("page:status", CONF_ID),
        ("page:status:99999", f"{CONF_ID}|1"),
        ("", ""),
        ("c:lock", "a" * 5000),
    ],
)
def test_decode_rejects_tampered_buttons(action_id: str, value: str) -> None:
    with pytest.raises(
        CommandError, match=r"^This button is out of date; run /conf status again\.$"
    ):
        buttons.decode(action_id, value)


def test_decode_names_the_configured_command() -> None:
    with pytest.raises(CommandError, match="run /bridge status again"):
        buttons.decode("p:mute", "bad", command="/bridge")


@given(st.text(max_size=40), st.text(max_size=400))
def test_decode_never_fails_otherwise(action_id: str, value: str) -> None:
    try:
        button = buttons.decode(action_id, value)
    except CommandError:
        return
    assert button.encode()[1] == value


@given(st.sampled_from(["p:mute", "p:kick", "c:lock", "page:status:1"]), st.text(max_size=80))
def test_decode_fuzz_near_valid_actions(action_id: str, tail: str) -> None:
    value = f"{CONF_ID}|{tail}" if action_id[0] != "c" else tail
    try:
        button = buttons.decode(action_id, value)
    except CommandError:
        return
    assert button.encode()[1] == value


def test_action_id_pattern() -> None:
    pattern = buttons.ACTION_ID_PATTERN
    for action_id in [
        *buttons.PARTICIPANT_ACTION_IDS.values(),
        *buttons.CONFERENCE_ACTION_IDS.values(),
        "page:status",
        "page:status:12",
    ]:
        assert pattern.match(action_id), action_id
    for action_id in ["p:mute2", "x", "c:lock\n", "page:status:", "page:statusx", "c:unmute-all"]:
        assert not pattern.match(action_id), action_id


def test_buttons_refuse_to_encode_what_they_could_not_decode() -> None:
    with pytest.raises(ValueError):
        buttons.ParticipantButton(ParticipantAction.MUTE, "bad id", 1)
    with pytest.raises(ValueError):
        buttons.ParticipantButton(ParticipantAction.MUTE, CONF_ID, -1)
    with pytest.raises(ValueError):
        buttons.ParticipantButton(ParticipantAction.MUTE, CONF_ID, 1, "a|b")
    with pytest.raises(ValueError):
        buttons.ConferenceButton("explode", CONF_ID)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        buttons.PageButton(CONF_ID, -1)
