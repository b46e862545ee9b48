"""Scheduled locks against the Kazoo simulator: real REST calls, real conference state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.kazoo.rest import KazooClient
from bot.scheduling import Scheduler
from bot.simulator import KazooSimulator
from bot.storage.db import make_engine, migrate

STEP = 5.0  # upper bound for any single wait


class Channel:
    """The Slack side: lines posted in the channel, with an event to wait on."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self._posted = asyncio.Event()

    async def report(self, channel_id: str, line: str) -> None:
        self.lines.append((channel_id, line))
        self._posted.set()

    async def wait_lines(self, count: int) -> list[str]:
        async with asyncio.timeout(STEP):
            while len(self.lines) < count:
                self._posted.clear()
                await self._posted.wait()
        return [line for _, line in self.lines]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    created = make_engine(f"sqlite:///{tmp_path / 'bot.db'}")
    await migrate(created)
    yield created
    await created.dispose()


@pytest.fixture
async def sim() -> AsyncIterator[KazooSimulator]:
    async with KazooSimulator() as simulator:
        yield simulator


@pytest.fixture
async def kazoo(sim: KazooSimulator) -> AsyncIterator[KazooClient]:
    # One attempt per call: the scheduler's own retries are what these tests exercise.
    async with KazooClient(sim.http_url, api_key=sim.api_key, max_attempts=1) as client:
        yield client


def running_standup(sim: KazooSimulator) -> str:
    conference_id = sim.add_conference("Standup", numbers=["4100"])
    sim.join(conference_id, "Ada Lovelace", "+15550100")
    return conference_id


async def schedule_lock_in_1s(
    engine: AsyncEngine, kazoo: KazooClient, channel: Channel, conference_id: str
) -> Scheduler:
    async def act(action: str, target: str) -> None:
        await kazoo.conference_action(target, action)

    scheduler = Scheduler(
        engine, act, channel.report, retry_delays=(0.05, 0.05, 0.05), refresh_every=None
    )
    await scheduler.start()
    await scheduler.add(
        action="lock",
        conference_id=conference_id,
        conference_name="Standup",
        when="in 1s",
        tz=ZoneInfo("UTC"),
        created_by="U123",
        channel_id="C1",
    )
    return scheduler


async def test_a_scheduled_lock_locks_the_conference(
    sim: KazooSimulator, kazoo: KazooClient, engine: AsyncEngine
) -> None:
    conference_id = running_standup(sim)
    channel = Channel()
    scheduler = await schedule_lock_in_1s(engine, kazoo, channel, conference_id)
    assert not sim.is_locked(conference_id)
    try:
        assert await channel.wait_lines(1) == ["Locked *Standup* as scheduled by <@U123>"]
        assert sim.is_locked(conference_id)
    finally:
        await scheduler.stop()


async def test_kazoo_503_twice_then_success_locks_and_reports_once(
    sim: KazooSimulator, kazoo: KazooClient, engine: AsyncEngine
) -> None:
    conference_id = running_standup(sim)
    await kazoo.login()  # so the failures below hit the lock call, not the login
    sim.fail_next(2, 503, path_contains=f"/conferences/{conference_id}")
    channel = Channel()
    scheduler = await schedule_lock_in_1s(engine, kazoo, channel, conference_id)
    try:
        assert await channel.wait_lines(1) == ["Locked *Standup* as scheduled by <@U123>"]
        assert await scheduler.drain(STEP)
        assert sim.is_locked(conference_id)
        puts = [
            r.status
            for r in sim.requests
            if r.method == "PUT" and r.path.endswith(f"/conferences/{conference_id}")
        ]
        assert puts == [503, 503, 201]
        assert len(channel.lines) == 1
    finally:
        await scheduler.stop()
