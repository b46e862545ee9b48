"""The demo console shows Slack's messages readably, with numbered buttons it can press."""

from __future__ import annotations

from typing import Any

from bot.console.render import CONTEXT_PREFIX, DIVIDER, ButtonRef, readable, to_text
from bot.domain.model import Conference, Participant
from bot.slack import buttons, render

CONF_ID = "0123456789abcdef0123456789abcdef"
NOW = 10_000.0


def standup(**kw: Any) -> Conference:
    people = {
        1: Participant(1, "Ada", "+1 555 0100", call_id="c1", muted=True, joined_at=NOW - 60),
        2: Participant(2, "Grace", "", call_id="c2", is_moderator=True, joined_at=NOW - 30),
    }
    return Conference(CONF_ID, "Standup", participants=people, **kw)


def test_status_as_text_with_numbered_buttons() -> None:
    text, refs = to_text(render.status(standup(), NOW).blocks)
    assert text.split("\n") == [
        "*Standup* · 🔓 Unlocked",
        "2 in the call (1 member, 1 moderator) · running 1m",
        "[1 Lock] [2 Mute all] [3 Kick all]",
        DIVIDER,
        "*Ada* · +1 555 0100",
        "🔇 muted · in call 1m",
        "[4 Unmute] [5 Deaf] [6 Kick]",
        "*Grace*",
        "★ moderator · in call 30s",
        "[7 Mute] [8 Deaf] [9 Kick]",
        f"{CONTEXT_PREFIX}`/conf status` refreshes this list",
    ]
    assert [r.number for r in refs] == list(range(1, 10))
    assert refs[3] == ButtonRef(4, "p:unmute", f"{CONF_ID}|1|c1", None, "Unmute")
    kick = refs[5]
    assert kick.action_id == "p:kick"
    assert kick.confirm_text is not None
    assert kick.confirm_text.startswith("Kick participant? Kick *Ada* from *Standup*?")
    assert refs[2].confirm_text is not None and "everyone" in refs[2].confirm_text
    for ref in refs:
        buttons.decode(ref.action_id, ref.value)


def test_numbering_continues_from_first_button() -> None:
    _, refs = to_text(render.status(standup(), NOW).blocks, first_button=10)
    assert [r.number for r in refs] == list(range(10, 19))


def test_hostile_names_show_as_typed_but_inert() -> None:
    people = {1: Participant(1, "<!channel> *x* @here", "1", joined_at=NOW)}
    conf = Conference(CONF_ID, "A & B", participants=people)
    text, _ = to_text(render.live(conf, NOW).blocks)
    assert "*A & B*" in text
    assert "<!channel> ∗x∗ @here" in text
    assert "\u2060" not in text


def test_readable_mrkdwn() -> None:
    assert readable("<@U123> locked *Standup*") == "@U123 locked *Standup*"
    assert readable("<@U123>", user_name={"U123": "ada"}.get) == "@ada"
    assert readable("<@U123|ada>") == "@ada"
    assert readable("<!here> <!channel> <!everyone>") == "@here @channel @everyone"
    assert readable("<!subteam^S1|@devs> <!subteam^S2>") == "@devs @S2"
    assert readable("<#C1|general> <#C2>") == "#general #C2"
    assert readable("<https://x.example|docs> <https://y.example>") == (
        "docs (https://x.example) https://y.example"
    )
    assert readable("<!date^1392734382^{date}|Feb 18>") == "Feb 18"
    assert readable("a &lt;b&gt; &amp;lt;") == "a <b> &lt;"


def test_header_context_divider_and_unknown_blocks() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "one"}, {"type": "image"}]},
        {"type": "divider"},
        {"type": "video"},
        {
            "type": "section",
            "fields": [{"type": "mrkdwn", "text": "f1"}, {"type": "plain_text", "text": "f2"}],
            "accessory": {
                "type": "button",
                "text": {"type": "plain_text", "text": "Go"},
                "action_id": "p:mute",
                "value": "v",
            },
        },
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Web"},
                    "url": "https://x",
                }
            ],
        },
    ]
    text, refs = to_text(blocks)
    assert text.split("\n") == [
        "Title",
        "=====",
        f"{CONTEXT_PREFIX}one  [image: ]",
        DIVIDER,
        "[video block]",
        "f1  [1 Go]",
        "f2",
        "[Web: https://x]",
    ]
    assert refs == [ButtonRef(1, "p:mute", "v", None, "Go")]


def test_no_ansi_unless_asked() -> None:
    blocks = render.status(standup(), NOW).blocks
    plain, _ = to_text(blocks)
    assert "\x1b" not in plain
    colored, _ = to_text(blocks, color=True)
    assert "\x1b[2m" in colored  # dimmed context
    assert "\x1b[31m[3 Kick all]\x1b[0m" in colored


def test_every_message_kind_renders() -> None:
    conf = standup(locked=True)
    for message in (
        render.status(conf, NOW),
        render.live(conf, NOW),
        render.conference_list([conf], NOW),
        render.help_text([("help", "this")], "/conf"),
        render.error("nope"),
        render.result("done"),
    ):
        text, _ = to_text(message.blocks)
        assert text.strip()
