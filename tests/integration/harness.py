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
from bot.config import Mode, load_settings
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


async def wait_until(
    predicate: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll a condition that has no event to wait on (state in another component)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path, *, env: dict[str, str] | None = None, database: str | None = None
) -> AsyncIterator[Harness]:
    async with KazooSimulator() as sim, FakeSlack() as slack:
        standup = sim.add_conference("Standup", numbers=["4000"], member_pins=["1234"])
        planning = sim.add_conference("Planning", numbers=["4001"])
        slack.add_user(ADA, "ada")
        slack.add_user(GRACE, "grace", is_admin=True)
        slack.add_user(GUEST, "guest", is_restricted=True)
        settings = load_settings(
            Mode.RUN,
            env={
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_APP_TOKEN": "xapp-test",
                "SLACK_API_URL": slack.api_url,
                "CONFBOT_HTTP_PORT": "0",
                "KAZOO_URL": sim.http_url,
                "KAZOO_WS_URL": sim.ws_url,
                "KAZOO_API_KEY": sim.api_key,
                "CONFBOT_DATABASE_URL": database or f"sqlite:///{tmp_path / 'bot.db'}",
                **(env or {}),
            },
            env_file=None,
        )
        bot = await Bot.build(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        try:
            await slack.wait_for_socket(timeout=10.0)
            yield Harness(sim, slack, bot, standup, planning)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=20.0)
