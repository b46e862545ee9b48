"""The bot's tables on SQLite: migrations, watches, anchors, audit rows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.errors import ConfigError
from bot.storage.db import SCHEMA_VERSION, async_url, make_engine, migrate, schema_version
from bot.storage.store import AnchorRow, AuditRow, Store


@pytest.fixture
async def store(tmp_path: Path) -> Store:
    opened = await Store.open(f"sqlite:///{tmp_path / 'bot.db'}")
    yield opened  # type: ignore[misc]
    await opened.close()


def test_async_url() -> None:
    assert async_url("sqlite:///confbot.db") == "sqlite+aiosqlite:///confbot.db"
    assert async_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert async_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


async def test_migrate_is_idempotent_and_refuses_newer(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert await migrate(engine) == 0
    assert await migrate(engine) == SCHEMA_VERSION
    async with engine.begin() as conn:
        await conn.execute(schema_version.update().values(version=SCHEMA_VERSION + 1))
    with pytest.raises(ConfigError) as info:
        await migrate(engine)
    assert info.value.variable == "CONFBOT_DATABASE_URL"
    await engine.dispose()


async def test_watches(store: Store) -> None:
    assert await store.add_watch("C1", "conf-a", talking=False, by="U1", at=1.0)
    assert not await store.add_watch("C1", "conf-a", talking=True, by="U1", at=2.0)
    assert await store.add_watch("C2", "conf-a", talking=False, by="U1", at=3.0)
    assert [(w.channel_id, w.talking) for w in await store.watches()] == [
        ("C1", True),
        ("C2", False),
    ]
    assert await store.remove_watch("C1", "conf-a")
    assert not await store.remove_watch("C1", "conf-a")
    assert [w.channel_id for w in await store.watches()] == ["C2"]


async def test_anchor_survives_reopen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = await Store.open(url)
    await first.set_anchor(AnchorRow("C1", "conf", "run-1", "100.1", False), at=1.0)
    await first.set_anchor(AnchorRow("C1", "conf", "run-1", "100.2", False, '["a"]'), at=2.0)
    await first.close()
    second = await Store.open(url)
    assert await second.anchor("C1", "conf") == AnchorRow(
        "C1", "conf", "run-1", "100.2", False, '["a"]'
    )
    await second.close()


async def test_audit(store: Store) -> None:
    await store.record(AuditRow(1.0, "U1", "C1", "mute-all", "conf", None, "ok", None))
    rows = await store.audit_log()
    assert rows[0].action == "mute-all" and rows[0].outcome == "ok"
    async with store.engine.connect() as conn:
        count = (await conn.execute(sa.text("select count(*) from audit"))).scalar()
    assert count == 1


async def test_the_same_schema_and_queries_on_postgresql(pg_url: str) -> None:
    from bot.storage.schedules import ScheduleStore

    store = await Store.open(pg_url)
    assert await store.add_watch("C1", "conf-a", talking=True, by="U1", at=1.0)
    await store.set_anchor(AnchorRow("C1", "conf-a", "run-1", "100.1", False, '["x"]'), at=1.0)
    assert (await store.anchor("C1", "conf-a")) == AnchorRow(
        "C1", "conf-a", "run-1", "100.1", False, '["x"]'
    )
    await store.record(AuditRow(1.0, "U1", "C1", "lock", "conf-a", None, "ok", None))
    assert (await store.audit_log())[0].action == "lock"
    assert await migrate(store.engine) == SCHEMA_VERSION
    schedules = ScheduleStore(store.engine)
    row = await schedules.add(
        action="lock",
        conference_id="conf-a",
        conference_name="Standup",
        rule="in 10m",
        timezone="UTC",
        next_run=1234.5,
        created_by="U1",
        channel_id="C1",
    )
    claims = [schedules.claim(row.id, 1234.5, None) for _ in range(5)]
    assert sum(await asyncio.gather(*claims)) == 1
    await store.close()
