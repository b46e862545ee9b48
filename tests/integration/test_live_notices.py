"""Live notices in a watching channel, against the simulator and the fake Slack."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tests.integration.harness import (
    CHANNEL,
    GRACE,
    Harness,
    bot_in,
    notice_lines,
    notice_status_posts,
    notice_status_text,
    running_bot,
    wait_until,
    world,
)


def texts(h: Harness) -> list[str]:
    return [m.text for m in h.slack.messages(CHANNEL)]


def lines(h: Harness) -> list[str]:
    return notice_lines(h.slack)


def status_posts(h: Harness) -> list[Any]:
    return notice_status_posts(h.slack)


async def watch(h: Harness, text: str = "watch Standup") -> None:
    since = time.monotonic()
    await h.command(text, user=GRACE)
    reply = await h.reply(since)
    assert "live notices" in reply.text or "already watched" in reply.text, reply.text


def status_text(h: Harness) -> str:
    return notice_status_text(h.slack)


async def test_watch_a_running_meeting_then_joins_leaves_and_summary(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        ada = h.sim.join(h.standup, "Ada Lovelace", "+15550100", moderator=True)
        await watch(h)
        await wait_until(lambda: len(status_posts(h)) == 1, what="the status message")
        assert "Ada Lovelace" in status_text(h)
        # The roster found when the watch began is shown, not announced.
        assert lines(h) == []
        grace = h.sim.join(h.standup, "Grace Hopper", "+15550101")
        await wait_until(
            lambda: any("Grace Hopper joined" in t for t in lines(h)), what="join line"
        )
        await wait_until(lambda: "Grace Hopper" in status_text(h), what="status edit")
        h.sim.start_talking(h.standup, grace)
        await wait_until(lambda: "is talking" in status_text(h), what="talking shown")
        h.sim.stop_talking(h.standup, grace)
        h.sim.leave(h.standup, grace)
        h.sim.leave(h.standup, ada)
        await wait_until(lambda: "ended" in status_text(h), what="the summary")
        summary = status_text(h)
        assert "peak 2" in summary and "Grace Hopper" in summary and "Ada Lovelace" in summary
        await wait_until(lambda: any(" left " in t for t in lines(h)), what="leave line")
        assert len(status_posts(h)) == 1  # the same message became the summary


async def test_a_burst_of_joins_is_one_line_and_the_final_state_is_exact(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await watch(h)
        for n in range(30):
            h.sim.join(h.standup, f"Caller {n:02d}", f"+1555{n:04d}")
        await wait_until(lambda: "30 in the call" in status_text_or_empty(h), what="all 30 shown")
        await wait_until(
            lambda: sum(_count(t) for t in lines(h) if "joined" in t) >= 30, what="join lines"
        )
        joined = [t for t in lines(h) if "joined" in t]
        assert 1 <= len(joined) <= 3
        assert sum(_count(t) for t in joined) == 30
        posts = [
            c for c in h.slack.calls_to("chat.postMessage") if c.args.get("channel") == CHANNEL
        ]
        span = posts[-1].time - posts[0].time if len(posts) > 1 else 1.0
        # No more than one post a second in the channel (the first is the watch audit line).
        assert len(posts) - 1 <= span + 1


def status_text_or_empty(h: Harness) -> str:
    return notice_status_text(h.slack) if status_posts(h) else ""


def _count(line: str) -> int:
    """How many people a "A, B and N others joined" line names."""
    head = line.split(" joined")[0]
    if " others" in head:
        return 2 + int(head.split(" and ")[1].split(" ")[0])
    return len(head.split(" and "))


async def test_a_429_storm_loses_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await watch(h)
        h.slack.rate_limit("chat.postMessage", count=3, retry_after=1)
        h.slack.rate_limit("chat.update", count=3, retry_after=1)
        ids = [h.sim.join(h.standup, f"Caller {n}", f"+1666{n:04d}") for n in range(5)]
        h.sim.leave(h.standup, ids[0])
        await wait_until(
            lambda: "4 in the call" in status_text_or_empty(h), timeout=20, what="final state"
        )
        await wait_until(
            lambda: sum(_count(t) for t in lines(h) if " joined " in t) == 5,
            timeout=20,
            what="every join announced once",
        )
        await wait_until(lambda: any(" left " in t for t in lines(h)), timeout=20, what="leave")
        assert h.bot.notices.rate_limited >= 1


async def test_websocket_loss_mid_meeting_posts_the_gap_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await watch(h)
        ada = h.sim.join(h.standup, "Ada", "+15550100")
        h.sim.join(h.standup, "Grace", "+15550101")
        await wait_until(lambda: "2 in the call" in status_text_or_empty(h), what="two in")
        await wait_until(lambda: any("joined" in t for t in lines(h)), what="first join line")
        resyncs = h.bot.tracker.resyncs
        await h.sim.drop_sockets()
        # During the gap: Ada leaves, Linus joins. Events for both are lost.
        h.sim.leave(h.standup, ada)
        h.sim.join(h.standup, "Linus", "+15550102")
        await wait_until(lambda: h.bot.tracker.resyncs > resyncs, timeout=20, what="resync")
        await wait_until(lambda: "Linus" in status_text(h), what="Linus shown")
        await wait_until(lambda: any("Ada left" in t for t in lines(h)), what="missed leave")
        joined = " ".join(t for t in lines(h) if "joined" in t)
        assert joined.count("Grace") == 1 and joined.count("Ada") == 1 and "Linus" in joined


async def test_restart_mid_meeting_keeps_editing_the_same_message(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'kept.db'}"
    async with world() as w:
        async with bot_in(w, database) as h:
            await watch(h)
            h.sim.join(h.standup, "Ada", "+15550100")
            bob = h.sim.join(h.standup, "Bob", "+15550109")
            await wait_until(
                lambda: "Bob" in " ".join(lines(h)) and "Ada" in " ".join(lines(h)),
                what="join lines",
            )
            await wait_until(lambda: "Ada" in status_text_or_empty(h), what="first status")
            first_ts = status_posts(h)[0].response["ts"]
        # While the bot is down, Grace joins and Bob (who was announced) leaves.
        h.sim.join(h.standup, "Grace", "+15550101")
        h.sim.leave(h.standup, bob)
        async with bot_in(w, database) as h:
            await wait_until(lambda: "Grace" in status_text(h), what="Grace in the same message")
            assert [p.response["ts"] for p in status_posts(h)] == [first_ts]
            await wait_until(lambda: any("Grace joined" in t for t in lines(h)), what="join")
            await wait_until(lambda: any("Bob left" in t for t in lines(h)), what="missed leave")
            joined = " ".join(t for t in lines(h) if "joined" in t)
            assert joined.count("Ada") == 1 and joined.count("Grace") == 1
            assert joined.count("Bob") == 1
            assert "Bob" not in status_text(h)


async def test_a_reused_conference_id_gets_a_new_message(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await watch(h)
        ada = h.sim.join(h.standup, "Ada", "+15550100")
        await wait_until(lambda: len(status_posts(h)) == 1, what="first meeting's message")
        h.sim.leave(h.standup, ada)
        await wait_until(lambda: "ended" in status_text(h), what="first summary")
        h.sim.join(h.standup, "Bob", "+15550103")
        await wait_until(lambda: len(status_posts(h)) == 2, what="a second message")
        first, second = status_posts(h)
        assert first.response["ts"] != second.response["ts"]
        await wait_until(lambda: "Bob" in status_text(h), what="Bob in the new message")
        old = h.slack.message(CHANNEL, first.response["ts"])
        assert old is not None and "ended" in str(old.blocks) and "Bob" not in str(old.blocks)


async def test_hostile_caller_names_never_ping(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await watch(h)
        h.sim.join(h.standup, "<!channel> *pwned* <https://evil.example|click>", "@here")
        await wait_until(lambda: bool(lines(h)), what="join line")
        await wait_until(lambda: "pwned" in status_text_or_empty(h), what="status")
        for text in [*lines(h), status_text(h), *texts(h)]:
            assert "<!channel>" not in text and "<https://" not in text
            assert "@here" not in text.replace("@\u2060here", "")
            assert "*pwned*" not in text


async def test_talking_lines_when_asked_at_most_once_a_minute(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        await watch(h, "watch Standup talking")
        ada = h.sim.join(h.standup, "Ada", "+15550100")
        await wait_until(lambda: any("Ada joined" in t for t in lines(h)), what="join line")
        for _ in range(3):
            h.sim.start_talking(h.standup, ada)
            h.sim.stop_talking(h.standup, ada)
        await wait_until(lambda: any("is talking" in t for t in lines(h)), what="talking line")
        h.sim.start_talking(h.standup, ada)
        await wait_until(lambda: "is talking" in status_text(h), what="talking in the status")
        assert sum("Ada is talking" in t for t in lines(h)) == 1
