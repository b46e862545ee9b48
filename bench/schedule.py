"""The scheduler: how late a scheduled lock runs, and the memory 10,000 loaded schedules hold.

Run: `PYTHONPATH=. .venv/bin/python bench/schedule.py [--count N] [--spread S] [--stored M]
[--meeting-share F]` (about 45 s with the defaults).

A real `Scheduler` (APScheduler 3 underneath) on a throwaway SQLite database; no Kazoo, no Slack:
`act` records the moment it is called and `report` does nothing.

- lateness: N one-shot schedules (default 100) are made through `Scheduler.add` with
  `in Ns`, their due times spread evenly over S seconds (default 30). `in` takes whole seconds,
  so the adds themselves are paced over one second (schedule i is added at the fraction of a
  second its due time needs). Each due time is read back from what the scheduler stored
  (`ScheduleInfo.next_run`); lateness is `act`'s `time.time()` minus that. It covers the
  APScheduler wake-up, the row read, the claim (an UPDATE on SQLite) and the task hand-off:
  everything before the Kazoo call.
- memory: M rows (default 10,000) are bulk-inserted into the `schedules` table, timed ones due
  30 days ahead or later (a share F of meeting-relative `N after start` rules, default 0.1), then
  a fresh `Scheduler.start()` loads them all. Measured twice, each time around `start()` with
  the loop settled and a full `gc.collect()`: the resident set size delta (from /proc, no
  tracing), then a `tracemalloc` snapshot difference (Python allocations only; the exact
  figure). Freed memory stays resident, so the RSS pass runs first. Also printed: how long
  start() took, and the longest the event loop went without running another task meanwhile.

Target: lateness p99 under 200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import SCHEDULE_REFRESH
from bot.scheduling import Scheduler
from bot.storage.db import make_engine, migrate, schedules

TARGET_P99 = 0.200  # seconds
UTC_ZONE = ZoneInfo("UTC")
DAY = 86_400.0


async def quiet(channel_id: str, line: str) -> None:
    """The report callable: the benchmark posts nowhere."""


# --- lateness ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lateness:
    count: int
    p50: float
    p99: float
    max: float
    min: float
    clock_offset: float  # how far the first due time was from the first add, for the record


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


async def measure_lateness(engine: AsyncEngine, count: int, spread: float) -> Lateness:
    called: dict[str, float] = {}
    all_called = asyncio.Event()

    async def act(action: str, conference_id: str) -> None:
        called[conference_id] = time.time()
        if len(called) >= count:
            all_called.set()

    scheduler = Scheduler(engine, act, quiet, refresh_every=None)
    await scheduler.start()
    dues: dict[str, float] = {}
    try:
        # Schedule i is due `lead + i * step` seconds after `origin`: whole seconds go into
        # `in Ns`, the fraction into when the add is made.
        step = spread / count
        lead = 2.0  # the first run comes after the adds are all made
        origin = time.time()
        offsets = [lead + i * step for i in range(count)]
        order = sorted(range(count), key=lambda i: offsets[i] % 1.0)
        for i in order:
            whole = math.floor(offsets[i])
            wait = origin + (offsets[i] - whole) - time.time()
            if wait > 0:
                await asyncio.sleep(wait)  # pacing the adds, not synchronisation
            conference_id = f"conf-{i:04d}"
            info = await scheduler.add(
                action="lock",
                conference_id=conference_id,
                conference_name=f"Room {i}",
                when=f"in {whole}s",
                tz=UTC_ZONE,
                created_by="UBENCH",
                channel_id="CBENCH",
            )
            assert info.next_run is not None
            dues[conference_id] = info.next_run
        first_due = min(dues.values())
        async with asyncio.timeout(spread + lead + 30.0):
            await all_called.wait()
        await scheduler.drain(10.0)
    finally:
        await scheduler.stop()
    late = [called[c] - due for c, due in dues.items()]
    return Lateness(
        count=len(late),
        p50=percentile(late, 0.50),
        p99=percentile(late, 0.99),
        max=max(late),
        min=min(late),
        clock_offset=first_due - origin,
    )


# --- memory --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inserted:
    timed: int
    meeting: int
    meeting_conferences: frozenset[str]


async def insert_rows(engine: AsyncEngine, stored: int, meeting_share: float) -> Inserted:
    """Bulk-insert `stored` active schedules into the `schedules` table, as one transaction."""
    now = time.time()
    meeting_every = round(1 / meeting_share) if meeting_share > 0 else 0
    rows = []
    meeting = 0
    conferences: set[str] = set()
    for i in range(stored):
        relative = meeting_every > 0 and i % meeting_every == 0
        if relative:
            rule, next_run = f"{1 + i % 30}m after start", None
            meeting += 1
            conferences.add(f"conf-{i % 500:04d}")
        else:
            # One-shots 30 to ~330 days ahead, each row's rule matching its next_run.
            next_run = float(math.floor(now + 30 * DAY + i * 2_591.0))
            moment = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(next_run))
            rule = f"at {moment}Z"
        rows.append(
            {
                "id": f"b{i:06d}",
                "action": "lock" if i % 2 == 0 else "unlock",
                "conference_id": f"conf-{i % 500:04d}",
                "conference_name": f"Room {i % 500}",
                "rule": rule,
                "timezone": "UTC",
                "next_run": next_run,
                "created_by": "UBENCH",
                "channel_id": f"C{i % 50:04d}",
                "created_at": now,
                "last_run": None,
                "last_meeting": None,
                "active": True,
            }
        )
    async with engine.begin() as conn:
        await conn.execute(schedules.insert(), rows)
    return Inserted(stored - meeting, meeting, frozenset(conferences))


def rss_bytes() -> int | None:
    """The resident set size now, from /proc (Linux); None elsewhere."""
    try:
        text = Path("/proc/self/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


async def settle() -> None:
    """Let callbacks queued by the start (APScheduler wake-ups) run, then collect garbage."""
    for _ in range(3):
        await asyncio.sleep(0.05)
    gc.collect()


@dataclass(frozen=True)
class Loaded:
    held: int | None  # bytes held after start() minus before; None if not measurable
    seconds: float  # how long start() took
    # The longest the event loop went without running another task during start() (to ~1 ms).
    stall: float
    timed_jobs: int
    meeting_conferences: frozenset[str]


async def load(engine: AsyncEngine, held: Callable[[], Awaitable[int | None]]) -> Loaded:
    """Start a fresh Scheduler on the table; `held()` is awaited before and after start()."""

    async def act(action: str, conference_id: str) -> None:
        raise AssertionError(f"nothing is due, yet {action} {conference_id} ran")

    # As the bot runs it: periodic refreshes, so only runs within the planning horizon are held.
    scheduler = Scheduler(engine, act, quiet, refresh_every=SCHEDULE_REFRESH)
    await held()  # the baseline
    heartbeat = Heartbeat()
    beating = asyncio.create_task(heartbeat.run())
    try:
        await asyncio.sleep(0)  # the heartbeat's first beat
        started = time.perf_counter()
        await scheduler.start()
        seconds = time.perf_counter() - started
        await asyncio.sleep(0.002)  # its beat after start() returns closes the last gap
    finally:
        beating.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await beating
    try:
        amount = await held()
        return Loaded(
            amount,
            seconds,
            heartbeat.longest,
            len(scheduler.pending_runs()),
            scheduler.meeting_conferences(),
        )
    finally:
        await scheduler.stop()


class Heartbeat:
    """Another task on the loop: the longest gap between its beats is how long the loop stalled."""

    def __init__(self) -> None:
        self.longest = 0.0

    async def run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)  # not 0: a busy loop would slow start() down itself
            now = time.perf_counter()
            self.longest = max(self.longest, now - last)
            last = now


class RssProbe:
    """RSS now minus RSS at the first call."""

    def __init__(self) -> None:
        self.baseline: int | None = None

    async def __call__(self) -> int | None:
        await settle()
        now = rss_bytes()
        if self.baseline is None:
            self.baseline = now
            return 0
        return None if now is None else now - self.baseline


class TracemallocProbe:
    """Traced Python memory now minus at the first call, by snapshot difference."""

    def __init__(self) -> None:
        self.baseline: tracemalloc.Snapshot | None = None

    async def __call__(self) -> int:
        await settle()
        snapshot = tracemalloc.take_snapshot()
        if self.baseline is None:
            self.baseline = snapshot
            return 0
        return sum(stat.size_diff for stat in snapshot.compare_to(self.baseline, "filename"))


async def measure_memory(engine: AsyncEngine) -> tuple[Loaded, Loaded]:
    """(by RSS, by tracemalloc): the RSS pass first, since freed memory stays resident."""
    by_rss = await load(engine, RssProbe())
    gc.collect()
    tracemalloc.start()
    try:
        traced = await load(engine, TracemallocProbe())
    finally:
        tracemalloc.stop()
    return by_rss, traced


# --- main ----------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="confbot-bench-") as tmp:
        lateness_db = make_engine(f"sqlite:///{Path(tmp) / 'lateness.db'}")
        memory_db = make_engine(f"sqlite:///{Path(tmp) / 'memory.db'}")
        try:
            await migrate(lateness_db)
            await migrate(memory_db)
            print(
                f"lateness: {args.count} one-shot schedules (`in Ns`) due over {args.spread:g} s"
                " ..."
            )
            late = await measure_lateness(lateness_db, args.count, args.spread)
            print(f"  runs: {late.count}, first due {late.clock_offset:.2f} s after the first add")
            print(f"  lateness p50 {ms(late.p50)}")
            print(f"  lateness p99 {ms(late.p99)}")
            print(f"  lateness max {ms(late.max)}   (min {ms(late.min).strip()})")
            met = "yes" if late.p99 < TARGET_P99 else "no"
            print(f"  target (p99 < {TARGET_P99 * 1000:.0f} ms) met: {met}")

            rows = await insert_rows(memory_db, args.stored, args.meeting_share)
            print(
                f"memory: {args.stored:,} schedules in the table ({rows.timed:,} timed, 30+ days"
                f" ahead; {rows.meeting:,} meeting-relative), loaded by Scheduler.start() ..."
            )
            by_rss, traced = await measure_memory(memory_db)
            for loaded in (by_rss, traced):
                # A rule per meeting-relative row; timed rows a month ahead stay in the table
                # (beyond the planning horizon) until a refresh brings them within the hour.
                assert loaded.timed_jobs <= rows.timed, (loaded.timed_jobs, rows.timed)
                assert loaded.meeting_conferences == rows.meeting_conferences
            print(
                f"  start() took {by_rss.seconds:.2f} s ({traced.seconds:.2f} s under"
                f" tracemalloc); {by_rss.timed_jobs:,} APScheduler jobs planned (runs due within"
                " the hour; the rest wait in the table)"
            )
            print(
                f"  event loop blocked for up to {by_rss.stall:.2f} s at a time during start()"
                " (other tasks, e.g. Slack acks, wait that long)"
            )
            for label, loaded in (
                ("tracemalloc snapshot diff", traced),
                ("RSS delta (/proc VmRSS)  ", by_rss),
            ):
                if loaded.held is None:
                    print(f"  {label}: not available on this system")
                    continue
                per = loaded.held / args.stored
                print(
                    f"  {label}: {per:7.0f} bytes per schedule, {per * 10_000 / 1e6:6.2f} MB"
                    f" per 10,000 (MB = 10^6 bytes; {loaded.held / 1e6:.2f} MB held in all)"
                )
        finally:
            await lateness_db.dispose()
            await memory_db.dispose()
    # A clean shutdown: the schedulers stopped, nothing left running on the loop.
    left = asyncio.all_tasks() - {asyncio.current_task()}
    assert not left, f"tasks still running: {left}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=100, help="schedules timed for lateness")
    parser.add_argument("--spread", type=float, default=30.0, help="seconds their runs span")
    parser.add_argument("--stored", type=int, default=10_000, help="schedules loaded for memory")
    parser.add_argument(
        "--meeting-share",
        type=float,
        default=0.1,
        help="fraction of the loaded schedules that are meeting-relative (`5m after start`)",
    )
    args = parser.parse_args()
    if args.count < 1 or args.spread <= 0 or args.stored < 1:
        parser.error("--count and --stored must be positive, --spread above 0")
    if not 0 <= args.meeting_share < 1:
        parser.error("--meeting-share must be in [0, 1)")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
