"""A lease in the database: which replica owns the Kazoo stream, live messages and scheduler.

One row per lease name. Taking or renewing it is one conditional UPDATE, so two replicas can never
both succeed: the row changes only for the current holder, or for anyone once it has expired.
Expiry is judged by the database's clock on PostgreSQL (replicas on different machines need not
agree on the time) and by the caller's clock on SQLite (one machine).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.db import lease

OWNER = "owner"


@dataclass(frozen=True, slots=True)
class Holding:
    holder: str
    epoch: int
    expires_at: float


class Lease:
    def __init__(
        self,
        engine: AsyncEngine,
        holder: str,
        *,
        name: str = OWNER,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.holder = holder
        self.name = name
        self.clock = clock

    async def _now(self, conn: AsyncConnection) -> float:
        if conn.dialect.name == "postgresql":
            value = (
                await conn.execute(sa.text("SELECT EXTRACT(EPOCH FROM clock_timestamp())"))
            ).scalar()
            return float(value or 0.0)
        return self.clock()

    async def try_acquire(self, ttl: float) -> Holding | None:
        """Take the lease if free or expired, or renew it if ours; None while another holds it."""
        async with self.engine.begin() as conn:
            now = await self._now(conn)
            # Renewal keeps the epoch; a takeover bumps it, so a fenced write can tell owners apart.
            result = await conn.execute(
                sa.update(lease)
                .where(
                    (lease.c.name == self.name)
                    & ((lease.c.holder == self.holder) | (lease.c.expires_at < now))
                )
                .values(
                    epoch=sa.case(
                        (lease.c.holder == self.holder, lease.c.epoch), else_=lease.c.epoch + 1
                    ),
                    holder=self.holder,
                    expires_at=now + ttl,
                )
            )
            if result.rowcount != 1:
                return None
            row = (
                await conn.execute(
                    sa.select(lease.c.holder, lease.c.epoch, lease.c.expires_at).where(
                        lease.c.name == self.name
                    )
                )
            ).one()
            return Holding(row[0], int(row[1]), float(row[2]))

    async def release(self) -> None:
        """Give the lease up at once (clean shutdown), so a standby takes over without waiting."""
        async with self.engine.begin() as conn:
            await conn.execute(
                sa.update(lease)
                .where((lease.c.name == self.name) & (lease.c.holder == self.holder))
                .values(expires_at=0.0)
            )

    async def current(self) -> Holding | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(lease.c.holder, lease.c.epoch, lease.c.expires_at).where(
                        lease.c.name == self.name
                    )
                )
            ).first()
        return None if row is None else Holding(row[0], int(row[1]), float(row[2]))
