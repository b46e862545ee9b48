"""The schedules table: ids, listing, and the claims that make every run happen once."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import make_engine, migrate
from bot.storage.schedules import ScheduleRow, ScheduleStore

ID = re.compile(r"[a-z][a-z0-9]{3,5}")


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bot.db'}"


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    created = make_engine(db_url)
    await migrate(created)
    yield created
    await created.dispose()


@pytest.fixture
def store(engine: AsyncEngine) -> ScheduleStore:
    return ScheduleStore(engine, clock=lambda: 1000.0)


async def add(store: ScheduleStore, *, next_run: float | None = 100.0, **kw: str) -> ScheduleRow:
    values = {
        "action": "lock",
        "conference_id": "conf-1",
        "conference_name": "Standup",
        "rule": "daily 09:00",
        "timezone": "UTC",
        "created_by": "U1",
        "channel_id": "C1",
    }
    values.update(kw)
    return await store.add(next_run=next_run, **values)


class SameChoice(random.Random):
    """Always picks the first candidate: every id of a given length is the same one."""

    def choice(self, seq: Any) -> Any:  # typeshed's parameter type is private
        return seq[0]


async def test_add_get_and_list(store: ScheduleStore) -> None:
    later = await add(store, next_run=200.0)
    sooner = await add(store, next_run=100.0, conference_id="conf-2")
    meeting = await add(store, next_run=None, rule="5m after start")
    assert all(ID.fullmatch(row.id) for row in (later, sooner, meeting))
    assert len({later.id, sooner.id, meeting.id}) == 3
    assert await store.get(later.id) == later
    assert later.created_at == 1000.0 and later.active and later.last_run is None
    # Soonest first, meeting-relative (no next_run) last.
    assert [r.id for r in await store.list_active()] == [sooner.id, later.id, meeting.id]
    # A user may type the id back in capitals or with spaces.
    assert await store.get(f"  {later.id.upper()} ") == later
    assert await store.get("nope") is None


async def test_ids_survive_collisions(engine: AsyncEngine) -> None:
    store = ScheduleStore(engine, rng=SameChoice())
    first = await add(store)
    second = await add(store)
    third = await add(store)
    # Every 4-character candidate is taken after the first: it grows rather than failing.
    assert (first.id, second.id, third.id) == ("aaaa", "aaaaa", "aaaaaa")


async def test_two_stores_seeded_alike_still_get_distinct_ids(engine: AsyncEngine) -> None:
    one = ScheduleStore(engine, rng=random.Random(7))
    two = ScheduleStore(engine, rng=random.Random(7))
    ids = [(await add(one)).id, (await add(two)).id]
    assert len(set(ids)) == 2


async def test_claim_moves_the_row_on_exactly_once(store: ScheduleStore) -> None:
    row = await add(store, next_run=100.0)
    assert await store.claim(row.id, 100.0, 200.0)
    assert not await store.claim(row.id, 100.0, 200.0)  # the same run again
    moved = await store.get(row.id)
    assert moved is not None
    assert (moved.next_run, moved.last_run, moved.active) == (200.0, 1000.0, True)
    assert not await store.claim(row.id, 150.0, 300.0)  # a due time the row never had
    assert await store.claim(row.id, 200.0, None)  # last run: a finished rule ends
    ended = await store.get(row.id)
    assert ended is not None and not ended.active and ended.next_run is None
    assert await store.list_active() == []


async def test_skipped_run_moves_on_without_a_last_run(store: ScheduleStore) -> None:
    row = await add(store, next_run=100.0)
    assert await store.claim(row.id, 100.0, 200.0, ran=False)
    moved = await store.get(row.id)
    assert moved is not None and moved.next_run == 200.0 and moved.last_run is None


async def test_ten_racing_claims_over_two_engines_one_wins(
    db_url: str, engine: AsyncEngine
) -> None:
    other = make_engine(db_url)
    try:
        stores = [ScheduleStore(engine), ScheduleStore(other)]
        row = await add(stores[0], next_run=100.0)
        results = await asyncio.gather(
            *(stores[i % 2].claim(row.id, 100.0, 200.0) for i in range(10))
        )
        assert results.count(True) == 1
    finally:
        await other.dispose()


async def test_claim_fails_once_deactivated(store: ScheduleStore) -> None:
    row = await add(store, next_run=100.0)
    assert await store.deactivate(row.id)
    assert not await store.deactivate(row.id)
    assert not await store.claim(row.id, 100.0, 200.0)
    kept = await store.get(row.id)
    assert kept is not None and not kept.active  # kept as history, id not reused
    assert await store.delete(row.id)
    assert await store.get(row.id) is None


async def test_claim_meeting_once_per_meeting(store: ScheduleStore) -> None:
    row = await add(store, next_run=None, rule="at start")
    assert await store.claim_meeting(row.id, "m1")
    assert not await store.claim_meeting(row.id, "m1")  # the same start seen again
    assert await store.claim_meeting(row.id, "m2")  # the next meeting
    assert not await store.claim_meeting(row.id, "m2")
    claimed = await store.get(row.id)
    assert claimed is not None and claimed.last_meeting == "m2" and claimed.last_run == 1000.0
    await store.deactivate(row.id)
    assert not await store.claim_meeting(row.id, "m3")


async def test_racing_meeting_claims_one_wins(store: ScheduleStore) -> None:
    row = await add(store, next_run=None, rule="5m after start")
    results = await asyncio.gather(*(store.claim_meeting(row.id, "m1") for _ in range(10)))
    assert results.count(True) == 1
