"""Slash commands and buttons through Socket Mode, against the simulator: what a user sees."""

from __future__ import annotations

import time
from pathlib import Path

from bot.domain.commands import ParticipantAction
from bot.slack.buttons import ConferenceButton, ParticipantButton
from tests.integration.harness import ADA, CHANNEL, GRACE, GUEST, running_bot, wait_until


async def test_mute_all_acks_calls_kazoo_replies_and_leaves_an_audit_line(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        h.sim.join(h.standup, "Linus", "+15550111")
        h.sim.join(h.standup, "Boss", "+15550112", moderator=True)
        since = time.monotonic()
        envelope = await h.command("mute-all Standup")
        ack = await h.slack.wait_for_ack(envelope)
        assert ack.latency < 3.0
        reply = await h.reply(since)
        assert "muted everyone in *Standup*" in reply.text
        line = await h.slack.wait_for_call(
            "chat.postMessage", lambda c: "muted everyone" in str(c.args.get("text"))
        )
        assert line.args["channel"] == CHANNEL
        assert line.args["text"] == f"<@{ADA}> muted everyone in *Standup*"
        (request,) = h.kazoo_requests(contains="/participants")
        assert request.json == {"data": {"action": "mute"}}
        # Kazoo spares the moderator: only Linus is muted.
        muted = {
            p["caller_id_name"]: not p["conference_channel_vars"]["speak"]
            for p in h.sim.participants(h.standup)
        }
        assert muted == {"Linus": True, "Boss": False}
        rows = await h.bot.store.audit_log()
        assert rows[0].action == "mute-all" and rows[0].actor == ADA


async def test_guest_is_refused_without_any_kazoo_call(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        h.sim.join(h.standup, "Linus", "+15550111")
        h.sim.clear_requests()
        since = time.monotonic()
        await h.command("mute-all Standup", user=GUEST)
        reply = await h.reply(since)
        assert "You can't use `mute-all`" in reply.text
        assert h.kazoo_requests() == []
        assert h.kazoo_requests("GET") == []


async def test_kick_needs_an_admin(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        pid = h.sim.join(h.standup, "Linus", "+15550111")
        h.sim.clear_requests()
        since = time.monotonic()
        await h.command('kick "Linus" Standup')
        assert "confbot admins" in (await h.reply(since)).text
        assert h.kazoo_requests() == []
        since = time.monotonic()
        await h.command('kick "Linus" Standup', user=GRACE)
        assert "kicked Linus from *Standup*" in (await h.reply(since)).text
        (request,) = h.kazoo_requests(contains=f"/participants/{pid}")
        assert request.json == {"data": {"action": "kick"}}
        assert h.sim.participants(h.standup) == []


async def test_status_shows_roster_and_a_button_click_is_reauthorised(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        pid = h.sim.join(h.standup, "Linus", "+15550111")
        since = time.monotonic()
        await h.command("status 4000")
        reply = await h.reply(since)
        blocks = reply.body["blocks"]
        assert any("Linus" in str(b) for b in blocks)
        call_id = h.sim.participants(h.standup)[0]["call_id"]
        action_id, value = ParticipantButton(
            ParticipantAction.MUTE, h.standup, pid, call_id
        ).encode()
        assert action_id in str(blocks) and value in str(blocks)
        # A guest clicking the same button is refused: rights come from Slack, not the button.
        h.sim.clear_requests()
        since = time.monotonic()
        await h.slack.push_block_action(action_id, value, user_id=GUEST, channel_id=CHANNEL)
        assert "You can't use `mute`" in (await h.reply(since)).text
        assert h.kazoo_requests() == []
        since = time.monotonic()
        await h.slack.push_block_action(action_id, value, user_id=ADA, channel_id=CHANNEL)
        assert "muted Linus in *Standup*" in (await h.reply(since)).text
        assert [r.json for r in h.kazoo_requests(contains=f"/participants/{pid}")] == [
            {"data": {"action": "mute"}}
        ]


async def test_button_for_someone_who_left_does_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        pid = h.sim.join(h.standup, "Linus", "+15550111")
        call_id = h.sim.participants(h.standup)[0]["call_id"]
        h.sim.leave(h.standup, pid)
        h.sim.clear_requests()
        since = time.monotonic()
        action_id, value = ParticipantButton(
            ParticipantAction.KICK, h.standup, pid, call_id
        ).encode()
        await h.slack.push_block_action(action_id, value, user_id=GRACE, channel_id=CHANNEL)
        assert "no longer in *Standup*" in (await h.reply(since)).text
        assert h.kazoo_requests() == []


async def test_lock_button_and_tampered_button(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        h.sim.join(h.standup, "Linus", "+15550111")
        since = time.monotonic()
        action_id, value = ConferenceButton("lock", h.standup).encode()
        await h.slack.push_block_action(action_id, value, user_id=ADA, channel_id=CHANNEL)
        assert "locked *Standup*" in (await h.reply(since)).text
        await wait_until(lambda: h.sim.is_locked(h.standup), what="the lock")
        since = time.monotonic()
        await h.slack.push_block_action("p:mute", "not|a|button", user_id=ADA, channel_id=CHANNEL)
        assert "out of date" in (await h.reply(since)).text


async def test_kazoo_down_is_a_clear_error_and_slow_kazoo_still_acks_at_once(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as h:
        h.sim.join(h.standup, "Linus", "+15550111")
        h.sim.fail_next(20, status=503)
        since = time.monotonic()
        await h.command("lock Standup")
        reply = await h.reply(since, timeout=30.0)
        assert "not answering" in reply.text
        h.sim.fail_next(0)
        h.sim.latency = 2.0
        envelope = await h.command("lock Standup")
        ack = await h.slack.wait_for_ack(envelope)
        assert ack.latency < 1.0


async def test_unknown_conference_suggests_close_names(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        since = time.monotonic()
        await h.command("lock Standpu")
        reply = await h.reply(since)
        assert "Standup" in reply.text
        assert h.kazoo_requests() == []


async def test_channel_the_bot_is_not_in_gets_the_audit_line_through_the_response_url(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as h:
        h.sim.join(h.standup, "Linus", "+15550111")
        h.slack.set_not_in_channel("C0PRIVATE")
        since = time.monotonic()
        await h.command("lock Standup", channel="C0PRIVATE")
        in_channel = await h.slack.wait_for_response(
            lambda r: r.time >= since and r.body.get("response_type") == "in_channel"
        )
        assert in_channel.text == f"<@{ADA}> locked *Standup*"


async def test_help_shows_only_what_the_caller_may_use(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        since = time.monotonic()
        await h.command("help", user=GUEST)
        guest = str((await h.reply(since)).body)
        assert "mute-all" not in guest and "help" in guest
        since = time.monotonic()
        await h.command("", user=GRACE)
        admin = str((await h.reply(since)).body)
        assert "kick-all" in admin and "watch" in admin


async def test_moderators_from_a_user_group(tmp_path: Path) -> None:
    async with running_bot(tmp_path, env={"CONFBOT_MODERATORS": "S0MODS"}) as h:
        h.slack.add_user("U0MOD", "mod")
        h.slack.add_usergroup("S0MODS", ["U0MOD"])
        h.sim.join(h.standup, "Linus", "+15550111")
        since = time.monotonic()
        await h.command("mute-all Standup", user=ADA)
        assert "moderators" in (await h.reply(since)).text
        assert h.kazoo_requests() == []
        since = time.monotonic()
        await h.command("status Standup", user=ADA)  # members may still look
        assert "Linus" in str((await h.reply(since)).body)
        since = time.monotonic()
        await h.command("mute-all Standup", user="U0MOD")
        assert "muted everyone" in (await h.reply(since)).text


async def test_pins_and_passwords_never_reach_slack(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        secret = h.sim.add_conference(
            "Board",
            numbers=["4999"],
            member_pins=["918273"],
            moderator_pins=["564738"],
            bridge_password="hunter2bridge",
        )
        h.sim.join(secret, "Linus", "+15550111")
        for text in ("list", "status Board", "lock Board", "help"):
            since = time.monotonic()
            await h.command(text, user=GRACE)
            await h.reply(since)
        everything = str([c.args for c in h.slack.calls]) + str([r.body for r in h.slack.responses])
        for leak in ("918273", "564738", "hunter2bridge", h.sim.api_key):
            assert leak not in everything


async def test_a_large_roster_is_paged_and_next_replaces_the_message(tmp_path: Path) -> None:
    from bot.slack.buttons import PageButton

    async with running_bot(tmp_path) as h:
        for n in range(30):
            h.sim.join(h.standup, f"Caller {n:02d}", f"+1555{n:04d}")
        since = time.monotonic()
        await h.command("status Standup")
        first = await h.reply(since)
        blocks = first.body["blocks"]
        assert len(blocks) <= 50
        assert "Caller 00" in str(blocks) and "Caller 29" not in str(blocks)
        action_id, value = PageButton(h.standup, 1).encode()
        assert value in str(blocks)
        since = time.monotonic()
        await h.slack.push_block_action(action_id, value, user_id=ADA, channel_id=CHANNEL)
        second = await h.reply(since)
        assert second.body.get("replace_original") is True
        assert "Caller 29" in str(second.body["blocks"]) and "Page 2 of 2" in str(second.body)
