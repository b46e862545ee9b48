"""The whole bot between the Kazoo simulator and the fake Slack, over real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import Bot
from bot.config import Mode, Settings, load_settings
from bot.simulator import KazooSimulator
from tests.fakes import FakeSlack

CHANNEL = "C0GENERAL"
ADA = "U0ADA"  # full member
GRACE = "U0GRACE"  # workspace admin
GUEST = "U0GUEST"  # single-channel guest


@dataclass
class Harness:
    sim: KazooSimulator
    slack: FakeSlack
    bot: Bot
    standup: str
    planning: str

    async def command(self, text: str, *, user: str = ADA, channel: str = CHANNEL) -> str:
        """Push `/conf text` through Socket Mode; returns the envelope id."""
        return await self.slack.push_slash_command(text, user_id=user, channel_id=channel)

    async def reply(self, since: float, timeout: float = 10.0) -> Any:
        """The first response_url post after `since` (the caller's private reply)."""
        return await self.slack.wait_for_response(lambda r: r.time >= since, timeout=timeout)

    def kazoo_requests(self, method: str = "PUT", contains: str = "") -> list[Any]:
        return [
            r
            for r in self.sim.requests
            if r.method == method and contains in r.path and "auth" not in r.path
        ]


def notice_lines(slack: FakeSlack, channel: str = CHANNEL) -> list[str]:
    """The join/leave/talking lines posted so far (not status messages or audit lines)."""
    found = []
    for call in slack.calls_to("chat.postMessage"):
        if call.args.get("channel") != channel or call.args.get("blocks"):
            continue
        if not (call.response or {}).get("ok"):
            continue
        for line in str(call.args["text"]).split("\n"):
            if " joined " in line or " left " in line or " talking " in line:
                found.append(line)
    return found


def notice_status_posts(slack: FakeSlack, channel: str = CHANNEL) -> list[Any]:
    """The live status messages posted (one per meeting), oldest first."""
    return [
        c
        for c in slack.calls_to("chat.postMessage")
        if c.args.get("channel") == channel
        and c.args.get("blocks")
        and (c.response or {}).get("ok")
    ]


def notice_status_text(slack: FakeSlack, channel: str = CHANNEL) -> str:
    """The newest live status message as the channel shows it now ("" before there is one)."""
    posts = notice_status_posts(slack, channel)
    if not posts:
        return ""
    message = slack.message(channel, posts[-1].response["ts"])
    return "" if message is None else str(message.blocks)


async def wait_until(
    predicate: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll a condition that has no event to wait on (state in another component)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class World:
    """The simulator and the fake Slack, which outlive any one bot process."""

    sim: KazooSimulator
    slack: FakeSlack
    standup: str
    planning: str


@contextlib.asynccontextmanager
async def world() -> AsyncIterator[World]:
    async with KazooSimulator() as sim, FakeSlack() as slack:
        standup = sim.add_conference("Standup", numbers=["4000"], member_pins=["1234"])
        planning = sim.add_conference("Planning", numbers=["4001"])
        slack.add_user(ADA, "ada")
        slack.add_user(GRACE, "grace", is_admin=True)
        slack.add_user(GUEST, "guest", is_restricted=True)
        yield World(sim, slack, standup, planning)


def bot_settings(w: World, database: str, env: dict[str, str] | None = None) -> Settings:
    """Settings for a bot in Socket Mode between this world's simulator and fake Slack."""
    return load_settings(
        Mode.RUN,
        env={
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": w.slack.api_url,
            "CONFBOT_HTTP_PORT": "0",
            "KAZOO_URL": w.sim.http_url,
            "KAZOO_WS_URL": w.sim.ws_url,
            "KAZOO_API_KEY": w.sim.api_key,
            "CONFBOT_DATABASE_URL": database,
            **(env or {}),
        },
        env_file=None,
    )


@contextlib.asynccontextmanager
async def bot_in(
    w: World, database: str, *, env: dict[str, str] | None = None
) -> AsyncIterator[Harness]:
    settings = bot_settings(w, database, env)
    bot = await Bot.build(settings)
    stop = asyncio.Event()
    previous = w.slack.socket_connections[-1] if w.slack.socket_connections else None
    task = asyncio.create_task(bot.run(stop))
    try:
        await w.slack.wait_for_socket(timeout=10.0, after=previous)
        yield Harness(w.sim, w.slack, bot, w.standup, w.planning)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20.0)


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path, *, env: dict[str, str] | None = None, database: str | None = None
) -> AsyncIterator[Harness]:
    async with (
        world() as w,
        bot_in(w, database or f"sqlite:///{tmp_path / 'bot.db'}", env=env) as harness,
    ):
        yield harness
