"""Several `confbot run` replicas on one PostgreSQL: the owner is killed, another takes over.

Each replica is a real process; the owner is killed with SIGKILL (no clean shutdown, no lease
release). What a channel sees must stay right: the same status message keeps being edited, no
join or leave line appears twice, and a scheduled lock runs exactly once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.storage.db import make_engine
from bot.storage.schedules import ScheduleStore
from tests.integration.harness import (
    GRACE,
    World,
    notice_lines,
    notice_status_posts,
    notice_status_text,
    wait_until,
    world,
)
from tests.integration.replicas import Cluster, Replica

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def cluster(pg_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with world() as w:
        cluster = Cluster(w, pg_url, tmp_path)
        try:
            yield cluster
        finally:
            await cluster.stop()


async def command(w: World, text: str) -> str:
    since = time.monotonic()
    await w.slack.push_slash_command(text, user_id=GRACE, channel_id="C0GENERAL")
    reply = await w.slack.wait_for_response(lambda r: r.time >= since, timeout=20)
    return str(reply.text)


async def next_run(database: str) -> float:
    engine = make_engine(database)
    try:
        (row,) = await ScheduleStore(engine).list_active()
    finally:
        await engine.dispose()
    assert row.next_run is not None
    return row.next_run


async def following(replica: Replica, count: int) -> None:
    """Wait until the owner follows `count` conferences (a watch made on another replica)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        health = await replica.health()
        if health and health.get("watched_conferences") == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{replica.name} does not follow {count} conference(s)")


async def two_replicas(cluster: Cluster) -> None:
    first = await cluster.start("a")
    await cluster.wait_for_role(first, "owner")
    second = await cluster.start("b")
    await cluster.wait_for_role(second, "standby")


async def test_killing_the_owner_mid_meeting(cluster: Cluster) -> None:
    w = cluster.world
    await two_replicas(cluster)
    assert "live notices" in await command(w, "watch Standup")
    owner = await cluster.owner()
    await following(owner, 1)
    ada = w.sim.join(w.standup, "Ada", "+15550100")
    grace = w.sim.join(w.standup, "Grace", "+15550101")
    await wait_until(
        lambda: "Grace" in notice_status_text(w.slack) and "Ada" in notice_status_text(w.slack),
        timeout=20,
        what="the status message",
    )
    await wait_until(
        lambda: sum(line.count("joined") for line in notice_lines(w.slack)) >= 1,
        timeout=20,
        what="the join line",
    )
    (status,) = notice_status_posts(w.slack)
    owner.kill()
    # While no one owns the stream: Linus joins, Grace leaves.
    w.sim.join(w.standup, "Linus", "+15550102")
    w.sim.leave(w.standup, grace)
    standby = next(r for r in cluster.replicas if r is not owner)
    took = await cluster.wait_for_role(standby, "owner", timeout=30)
    assert took < 15.0, f"takeover took {took:.1f}s"
    await wait_until(
        lambda: (
            "Linus" in notice_status_text(w.slack) and "Grace" not in notice_status_text(w.slack)
        ),
        timeout=20,
        what="the same status message showing the truth",
    )
    await wait_until(
        lambda: (
            any("Linus joined" in line for line in notice_lines(w.slack))
            and any("Grace left" in line for line in notice_lines(w.slack))
        ),
        timeout=20,
        what="the missed join and leave",
    )
    assert [p.response["ts"] for p in notice_status_posts(w.slack)] == [status.response["ts"]]
    said = " | ".join(notice_lines(w.slack))
    assert said.count("Ada") == 1, said
    assert said.count("Grace") == 2, said  # joined once, left once
    assert said.count("Linus") == 1, said
    w.sim.leave(w.standup, ada)


async def test_killing_the_owner_just_before_a_scheduled_lock(cluster: Cluster) -> None:
    w = cluster.world
    await two_replicas(cluster)
    w.sim.join(w.standup, "Ada", "+15550100")
    assert "Scheduled" in await command(w, "schedule lock Standup in 6s")
    due = await next_run(cluster.database)
    owner = await cluster.owner()
    # The scenario: the owner dies about 3 s before the lock is due.
    await asyncio.sleep(max(0.0, due - time.time() - 3.0))
    owner.kill()
    await wait_until(lambda: w.sim.is_locked(w.standup), timeout=40, what="the lock")
    report = await w.slack.wait_for_call(
        "chat.postMessage", lambda c: "as scheduled by" in str(c.args.get("text")), timeout=20
    )
    assert "Locked *Standup*" in report.args["text"]
    locks = [
        r for r in w.sim.requests if r.method == "PUT" and (r.json or {}).get("action") == "lock"
    ]
    assert len(locks) == 1
    reports = [
        c
        for c in w.slack.calls_to("chat.postMessage")
        if "as scheduled by" in str(c.args.get("text"))
    ]
    assert len(reports) == 1


async def test_a_standby_serves_commands(cluster: Cluster) -> None:
    w = cluster.world
    await two_replicas(cluster)
    w.sim.join(w.standup, "Ada", "+15550100")
    # Whichever replica Slack hands the envelope to answers it.
    for _ in range(3):
        assert "muted everyone" in await command(w, "mute-all Standup")
