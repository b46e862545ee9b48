"""Queries over the `schedules` table: the source of truth for scheduled locks and unlocks.

The scheduler's in-memory jobs are only a cache of this table. What makes a run happen exactly
once is here, in two conditional UPDATEs:

- `claim(id, due, next_run)` moves a timed schedule from the run it was due for to its next one.
  It matches only while the row still says `next_run = due`, so of any number of callers (tasks,
  processes, a restarted process, replicas on PostgreSQL) exactly one sees a changed row.
- `claim_meeting(id, meeting_id)` does the same for meeting-relative rules, keyed on the meeting:
  once per meeting, however often the meeting's start is seen.

Each is one statement in its own transaction, so no read-then-write window exists. On SQLite the
writer lock serialises them; on PostgreSQL (READ COMMITTED) a second UPDATE waits for the first to
commit, then re-checks its WHERE against the new row and matches nothing.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.db import schedules

# No 0/o, 1/l/i: an id is read off a Slack message and typed back into `/conf unschedule`.
ID_LETTERS: Final = "abcdefghjkmnpqrstuvwxyz"
ID_ALPHABET: Final = ID_LETTERS + "23456789"
ID_LENGTHS: Final = (4, 5, 6)
_TRIES_PER_LENGTH: Final = 8


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    id: str
    action: str
    conference_id: str
    conference_name: str
    rule: str
    timezone: str
    next_run: float | None
    created_by: str
    channel_id: str
    created_at: float
    last_run: float | None
    last_meeting: str | None
    active: bool


_COLUMNS: Final = (
    schedules.c.id,
    schedules.c.action,
    schedules.c.conference_id,
    schedules.c.conference_name,
    schedules.c.rule,
    schedules.c.timezone,
    schedules.c.next_run,
    schedules.c.created_by,
    schedules.c.channel_id,
    schedules.c.created_at,
    schedules.c.last_run,
    schedules.c.last_meeting,
    schedules.c.active,
)


def _row(r: Any) -> ScheduleRow:
    """A selected row of `_COLUMNS` (typed Any: SQLAlchemy's Row generics add nothing here)."""
    return ScheduleRow(
        id=r.id,
        action=r.action,
        conference_id=r.conference_id,
        conference_name=r.conference_name,
        rule=r.rule,
        timezone=r.timezone,
        next_run=None if r.next_run is None else float(r.next_run),
        created_by=r.created_by,
        channel_id=r.channel_id,
        created_at=float(r.created_at),
        last_run=None if r.last_run is None else float(r.last_run),
        last_meeting=r.last_meeting,
        active=bool(r.active),
    )


def normalize_id(schedule_id: str) -> str:
    """Ids are generated lowercase; accept what a user types back (`S7K2`, ` s7k2 `)."""
    return schedule_id.strip().lower()


class ScheduleStore:
    """The `schedules` table on the bot's engine (the same one `Store.engine` holds)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        # SystemRandom by default: ids need no secrecy, but two processes seeded alike must not
        # race each other through the same sequence of candidates. Tests inject a seeded one.
        self._rng: random.Random = rng or secrets.SystemRandom()

    def _new_id(self, length: int) -> str:
        first = self._rng.choice(ID_LETTERS)  # a letter first: never mistaken for a number
        return first + "".join(self._rng.choice(ID_ALPHABET) for _ in range(length - 1))

    async def add(
        self,
        *,
        action: str,
        conference_id: str,
        conference_name: str,
        rule: str,
        timezone: str,
        next_run: float | None,
        created_by: str,
        channel_id: str,
    ) -> ScheduleRow:
        """Insert a new active schedule under a fresh short id and return it.

        The id is checked by the primary key itself: insert, and on a collision try another
        candidate (longer after a few misses). Checking first and inserting after would let two
        concurrent adds pick the same id.
        """
        now = self._clock()
        values: dict[str, Any] = {
            "action": action,
            "conference_id": conference_id,
            "conference_name": conference_name,
            "rule": rule,
            "timezone": timezone,
            "next_run": next_run,
            "created_by": created_by,
            "channel_id": channel_id,
            "created_at": now,
            "last_run": None,
            "last_meeting": None,
            "active": True,
        }
        for length in ID_LENGTHS:
            for _ in range(_TRIES_PER_LENGTH):
                schedule_id = self._new_id(length)
                try:
                    async with self._engine.begin() as conn:
                        await conn.execute(schedules.insert().values(id=schedule_id, **values))
                except sa.exc.IntegrityError:
                    continue
                return ScheduleRow(id=schedule_id, **values)
        raise RuntimeError("could not find a free schedule id")  # 31**5 candidates: unreachable

    async def get(self, schedule_id: str) -> ScheduleRow | None:
        """The row, active or not; None when there is none."""
        query = sa.select(*_COLUMNS).where(schedules.c.id == normalize_id(schedule_id))
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _row(row)

    async def list_active(self, *, due_before: float | None = None) -> list[ScheduleRow]:
        """Active schedules, soonest first; meeting-relative ones (no next_run) last.

        With `due_before`, timed schedules due later are left out (meeting-relative ones stay).
        """
        condition: sa.ColumnElement[bool] = schedules.c.active.is_(True)
        if due_before is not None:
            soon = schedules.c.next_run.is_(None) | (schedules.c.next_run <= due_before)
            condition = condition & soon
        query = (
            sa.select(*_COLUMNS)
            .where(condition)
            .order_by(
                schedules.c.next_run.is_(None),
                schedules.c.next_run,
                schedules.c.created_at,
                schedules.c.id,
            )
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_row(r) for r in rows]

    async def deactivate(self, schedule_id: str) -> bool:
        """Stop an active schedule, keeping its row as history (and its id out of reuse).

        True when it was active. A run already claimed goes on; any later claim fails.
        """
        statement = (
            schedules.update()
            .where((schedules.c.id == normalize_id(schedule_id)) & schedules.c.active.is_(True))
            .values(active=False, next_run=None)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def delete(self, schedule_id: str) -> bool:
        """Remove the row entirely; True when there was one."""
        statement = schedules.delete().where(schedules.c.id == normalize_id(schedule_id))
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount)

    async def claim(
        self, schedule_id: str, due: float, next_run: float | None, *, ran: bool = True
    ) -> bool:
        """Take the run of `schedule_id` that was due at `due`; True for exactly one caller.

        Moves the row on to `next_run` (None: a finished one-shot, which becomes inactive).
        `ran=False` is for a run that is skipped (missed while down): it moves on without
        recording a `last_run`. `due` must be the float read from the row, compared exactly.
        """
        values: dict[str, Any] = {"next_run": next_run, "active": next_run is not None}
        if ran:
            values["last_run"] = self._clock()
        statement = (
            schedules.update()
            .where(
                (schedules.c.id == schedule_id)
                & (schedules.c.next_run == due)
                & schedules.c.active.is_(True)
            )
            .values(**values)
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount == 1

    async def claim_meeting(self, schedule_id: str, meeting_id: str) -> bool:
        """Take the run of a meeting-relative schedule for `meeting_id`; True once per meeting."""
        statement = (
            schedules.update()
            .where(
                (schedules.c.id == schedule_id)
                & schedules.c.active.is_(True)
                & (schedules.c.last_meeting.is_(None) | (schedules.c.last_meeting != meeting_id))
            )
            .values(last_meeting=meeting_id, last_run=self._clock())
        )
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount == 1
