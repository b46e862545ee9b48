"""The lease on SQLite and PostgreSQL, and the ownership loop that acts on it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.ownership import Ownership
from bot.storage.db import async_url, make_engine, migrate
from bot.storage.lease import Lease


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lease.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_one_holder_at_a_time_and_takeover_after_expiry(database: str) -> None:
    engine = make_engine(database)
    await migrate(engine)
    clock = Clock()
    a = Lease(engine, "a", clock=clock)
    b = Lease(engine, "b", clock=clock)
    first = await a.try_acquire(10.0)
    assert first is not None and first.holder == "a"
    assert await b.try_acquire(10.0) is None
    renewed = await a.try_acquire(10.0)
    assert renewed is not None and renewed.epoch == first.epoch
    if "sqlite" in database:
        clock.now += 11.0  # SQLite judges expiry by our clock; PostgreSQL by its own
    else:
        await a.release()
    taken = await b.try_acquire(10.0)
    assert taken is not None and taken.holder == "b" and taken.epoch == first.epoch + 1
    assert await a.try_acquire(10.0) is None
    await engine.dispose()


async def test_racing_replicas_never_both_win(database: str) -> None:
    engine = make_engine(database)
    await migrate(engine)
    leases = [Lease(engine, f"r{n}") for n in range(8)]
    results = await asyncio.gather(*(lease.try_acquire(10.0) for lease in leases))
    assert sum(result is not None for result in results) == 1
    await engine.dispose()


async def test_ownership_acquires_renews_and_steps_down_when_the_database_is_gone(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'own.db'}")
    await migrate(engine)
    events: list[str] = []
    now = [0.0]

    async def acquired() -> None:
        events.append("acquired")

    async def lost() -> None:
        events.append("lost")

    ownership = Ownership(
        Lease(engine, "me"),
        on_acquire=acquired,
        on_lose=lost,
        ttl=10.0,
        renew_every=2.0,
        margin=3.0,
        monotonic=lambda: now[0],
    )
    await ownership.step()
    assert ownership.is_owner and events == ["acquired"]
    await engine.dispose()

    class Unreachable(Lease):
        async def try_acquire(self, ttl: float) -> None:
            raise OSError("the database went away")

    ownership.lease = Unreachable(engine, "me")
    now[0] = 5.0
    await ownership.step()
    assert ownership.is_owner  # still within its own deadline (10 - 3 = 7 s)
    now[0] = 7.5
    assert not ownership.is_owner  # past the deadline it no longer acts, even before stepping
    await ownership.step()
    assert events == ["acquired", "lost"]


def test_async_url_for_postgres() -> None:
    assert async_url("postgresql://confbot@127.0.0.1:5432/x").startswith("postgresql+asyncpg://")
