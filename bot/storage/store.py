"""Queries over the bot's tables. Every method is one short transaction."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import anchors, audit, make_engine, migrate, watches


@dataclass(frozen=True, slots=True)
class WatchRow:
    channel_id: str
    conference_id: str
    talking: bool
    created_by: str


@dataclass(frozen=True, slots=True)
class AnchorRow:
    channel_id: str
    conference_id: str
    meeting_id: str
    ts: str
    ended: bool
    state: str = "{}"


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: float
    actor: str
    channel_id: str
    action: str
    conference_id: str | None
    target: str | None
    outcome: str
    detail: str | None


class Store:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    async def open(cls, url: str) -> Store:
        engine = make_engine(url)
        await migrate(engine)
        return cls(engine)

    async def close(self) -> None:
        await self.engine.dispose()

    # --- watches ---------------------------------------------------------------------------

    async def add_watch(
        self, channel_id: str, conference_id: str, *, talking: bool, by: str, at: float
    ) -> bool:
        """Watch (or re-watch with new options); True when the channel did not watch it before."""
        async with self.engine.begin() as conn:
            key = (watches.c.channel_id == channel_id) & (watches.c.conference_id == conference_id)
            existing = (await conn.execute(sa.select(watches.c.talking).where(key))).first()
            if existing is not None:
                await conn.execute(watches.update().where(key).values(talking=talking))
                return False
            await conn.execute(
                watches.insert().values(
                    channel_id=channel_id,
                    conference_id=conference_id,
                    talking=talking,
                    created_by=by,
                    created_at=at,
                )
            )
            return True

    async def remove_watch(self, channel_id: str, conference_id: str) -> bool:
        async with self.engine.begin() as conn:
            key = (watches.c.channel_id == channel_id) & (watches.c.conference_id == conference_id)
            result = await conn.execute(watches.delete().where(key))
            await conn.execute(
                anchors.delete().where(
                    (anchors.c.channel_id == channel_id)
                    & (anchors.c.conference_id == conference_id)
                )
            )
            return bool(result.rowcount)

    async def watches(self, channel_id: str | None = None) -> list[WatchRow]:
        query = sa.select(
            watches.c.channel_id, watches.c.conference_id, watches.c.talking, watches.c.created_by
        ).order_by(watches.c.created_at)
        if channel_id is not None:
            query = query.where(watches.c.channel_id == channel_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [WatchRow(r[0], r[1], bool(r[2]), r[3]) for r in rows]

    # --- live-message anchors -------------------------------------------------------------

    async def anchor(self, channel_id: str, conference_id: str) -> AnchorRow | None:
        query = sa.select(
            anchors.c.channel_id,
            anchors.c.conference_id,
            anchors.c.meeting_id,
            anchors.c.ts,
            anchors.c.ended,
            anchors.c.state,
        ).where((anchors.c.channel_id == channel_id) & (anchors.c.conference_id == conference_id))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return AnchorRow(row[0], row[1], row[2], row[3], bool(row[4]), row[5])

    async def set_anchor(self, row: AnchorRow, *, at: float) -> None:
        async with self.engine.begin() as conn:
            key = (anchors.c.channel_id == row.channel_id) & (
                anchors.c.conference_id == row.conference_id
            )
            values = {
                "meeting_id": row.meeting_id,
                "ts": row.ts,
                "ended": row.ended,
                "state": row.state,
                "updated_at": at,
            }
            result = await conn.execute(anchors.update().where(key).values(**values))
            if not result.rowcount:
                await conn.execute(
                    anchors.insert().values(
                        channel_id=row.channel_id, conference_id=row.conference_id, **values
                    )
                )

    # --- audit log ------------------------------------------------------------------------

    async def record(self, row: AuditRow) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                audit.insert().values(
                    at=row.at,
                    actor=row.actor,
                    channel_id=row.channel_id,
                    action=row.action,
                    conference_id=row.conference_id,
                    target=(row.target or "")[:160] or None,
                    outcome=row.outcome,
                    detail=(row.detail or "")[:500] or None,
                )
            )

    async def audit_log(self, limit: int = 100) -> list[AuditRow]:
        query = (
            sa.select(
                audit.c.at,
                audit.c.actor,
                audit.c.channel_id,
                audit.c.action,
                audit.c.conference_id,
                audit.c.target,
                audit.c.outcome,
                audit.c.detail,
            )
            .order_by(audit.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [AuditRow(*r) for r in rows]
