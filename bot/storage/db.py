"""The bot's own state in SQL: channel watches, live-message anchors, schedules, the audit log.

SQLAlchemy 2 Core on an async engine: aiosqlite by default, asyncpg for PostgreSQL. The schema is
versioned by a small ordered list of migrations applied at start-up; `schema_version` records how
far a database has come, so an older database is brought forward and a newer one is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.errors import ConfigError

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version",
    metadata,
    sa.Column("version", sa.Integer, nullable=False),
)

watches = sa.Table(
    "watches",
    metadata,
    sa.Column("channel_id", sa.String(32), primary_key=True),
    sa.Column("conference_id", sa.String(64), primary_key=True),
    sa.Column("talking", sa.Boolean, nullable=False, default=False),
    sa.Column("created_by", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

anchors = sa.Table(
    "anchors",
    metadata,
    sa.Column("channel_id", sa.String(32), primary_key=True),
    sa.Column("conference_id", sa.String(64), primary_key=True),
    sa.Column("meeting_id", sa.String(128), nullable=False),
    sa.Column("ts", sa.String(32), nullable=False),
    sa.Column("ended", sa.Boolean, nullable=False, default=False),
    # JSON: the callers whose join was announced (so none is announced twice, and a leave only
    # for someone whose join was) and the conference as last shown (restored by the next owner).
    sa.Column("state", sa.Text, nullable=False, default="{}"),
    sa.Column("updated_at", sa.Float, nullable=False),
)

schedules = sa.Table(
    "schedules",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("conference_id", sa.String(64), nullable=False),
    sa.Column("conference_name", sa.String(160), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False),
    # UTC Unix seconds of the next run; NULL for meeting-relative rules and finished one-shots.
    sa.Column("next_run", sa.Float, nullable=True),
    sa.Column("created_by", sa.String(32), nullable=False),
    sa.Column("channel_id", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_run", sa.Float, nullable=True),
    # For meeting-relative rules: the meeting it last fired for, so it fires once per meeting.
    sa.Column("last_meeting", sa.String(128), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
)

audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("actor", sa.String(32), nullable=False),
    sa.Column("channel_id", sa.String(32), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("conference_id", sa.String(64), nullable=True),
    sa.Column("target", sa.String(160), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.String(500), nullable=True),
)

lease = sa.Table(
    "lease",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("epoch", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Each migration is the list of tables it creates (later ones may add columns with DDL text).
MIGRATIONS: Sequence[Sequence[sa.Table]] = ((watches, anchors, schedules, audit, lease),)
SCHEMA_VERSION = len(MIGRATIONS)


def async_url(url: str) -> str:
    """Accept the plain URLs operators write and pick the async driver for them."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    if url.startswith(("postgresql:", "postgres:")):
        return "postgresql+asyncpg:" + url.split(":", 1)[1]
    return url


def make_engine(url: str) -> AsyncEngine:
    try:
        return create_async_engine(async_url(url))
    except (sa.exc.ArgumentError, ModuleNotFoundError) as exc:
        raise ConfigError("CONFBOT_DATABASE_URL", f"cannot use this database URL: {exc}") from None


async def migrate(engine: AsyncEngine) -> int:
    """Bring the schema to SCHEMA_VERSION; return the version found before."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: schema_version.create(sync, checkfirst=True))
        found = await _current_version(conn)
        if found > SCHEMA_VERSION:
            raise ConfigError(
                "CONFBOT_DATABASE_URL",
                f"the database has schema version {found}, newer than this confbot "
                f"({SCHEMA_VERSION}); upgrade confbot",
            )
        for tables in MIGRATIONS[found:]:
            await conn.run_sync(_create, list(tables))
        if found == 0:
            # The one lease row exists from the start, so taking it is a plain conditional UPDATE.
            await conn.execute(
                lease.insert().values(name="owner", holder="", epoch=0, expires_at=0.0)
            )
        await conn.execute(schema_version.delete())
        await conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
    return found


def _create(sync: sa.Connection, tables: list[sa.Table]) -> None:
    metadata.create_all(sync, tables=tables)


async def _current_version(conn: AsyncConnection) -> int:
    row = (await conn.execute(sa.select(sa.func.max(schema_version.c.version)))).scalar()
    return int(row or 0)
