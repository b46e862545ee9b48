"""`/conf schedule`, `schedules`, `unschedule` through Slack, and a scheduled lock that runs."""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.harness import ADA, CHANNEL, GRACE, running_bot, wait_until


async def test_schedule_runs_once_and_reports_in_the_channel(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        h.sim.join(h.standup, "Linus", "+15550111")
        since = time.monotonic()
        await h.command("schedule lock Standup in 2s", user=GRACE)
        reply = await h.reply(since)
        assert "Scheduled *" in reply.text and "next run" in reply.text, reply.text
        await wait_until(lambda: h.sim.is_locked(h.standup), what="the scheduled lock")
        report = await h.slack.wait_for_call(
            "chat.postMessage", lambda c: "as scheduled by" in str(c.args.get("text"))
        )
        assert report.args["channel"] == CHANNEL
        assert report.args["text"].startswith(f"Locked *Standup* as scheduled by <@{GRACE}>")
        locks = [r for r in h.kazoo_requests() if (r.json or {}).get("action") == "lock"]
        assert len(locks) == 1


async def test_schedules_lists_and_unschedule_removes(tmp_path: Path) -> None:
    async with running_bot(tmp_path, env={"CONFBOT_TIMEZONE": "Europe/Paris"}) as h:
        since = time.monotonic()
        await h.command("schedule unlock Planning weekdays 09:05", user=GRACE)
        reply = await h.reply(since)
        schedule_id = reply.text.split("Scheduled *")[1].split("*")[0]
        since = time.monotonic()
        await h.command("schedules", user=ADA)
        listing = str((await h.reply(since)).body)
        assert schedule_id in listing and "weekdays at 09:05" in listing and "Planning" in listing
        # The admin's Slack time zone (Europe/London in the fake) wins over CONFBOT_TIMEZONE.
        assert "Europe/London" in listing
        since = time.monotonic()
        await h.command(f"unschedule {schedule_id}", user=ADA)
        assert "confbot admins" in (await h.reply(since)).text
        since = time.monotonic()
        await h.command(f"unschedule {schedule_id}", user=GRACE)
        assert f"Removed *{schedule_id}*" in (await h.reply(since)).text
        since = time.monotonic()
        await h.command("schedules")
        assert "Nothing is scheduled" in (await h.reply(since)).text


async def test_bad_when_is_a_clear_error(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        for text, expected in [
            ("schedule lock Standup at 2020-01-01T10:00", "past"),
            ("schedule lock Standup funday 09:00", "funday"),
            ("schedule lock Standup at 2027-02-30T10:00", "2027-02-30"),
        ]:
            since = time.monotonic()
            await h.command(text, user=GRACE)
            reply = await h.reply(since)
            assert expected in reply.text, (text, reply.text)
        assert await h.bot.scheduler.list() == []
