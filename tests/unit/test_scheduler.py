"""The scheduler with a fake Kazoo call and a fake channel: what runs, when, and what it says.

Timed jobs run on real time, so these tests use short horizons (`in 1s`, `1s after start`) and
wait for the channel line on an event with a timeout. Tests of the grace rule and of retries need
no job at all: a row found due at start runs at once, so they freeze the clock at a fixed instant.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.events import MeetingEnded, MeetingStarted
from bot.domain.model import Conference, Meeting
from bot.errors import CommandError, KazooNotFound, KazooRequestError, KazooUnavailable
from bot.scheduling import PendingRun, Scheduler
from bot.storage.db import make_engine, migrate
from bot.storage.schedules import ScheduleRow, ScheduleStore

STEP = 5.0  # upper bound for any single wait
UTC_ZONE = ZoneInfo("UTC")
PARIS = ZoneInfo("Europe/Paris")
# A fixed instant (a Tuesday) for tests that need no APScheduler job: far enough in the future
# that the next runs they plan never fire during the test.
FROZEN = datetime(2030, 1, 15, 10, 0, tzinfo=UTC).timestamp()
LOCKED = "Locked *Standup* as scheduled by <@U123>"


class Channel:
    """The fake Kazoo call and the fake Slack channel, with events to wait on."""

    def __init__(self, failures: list[Exception] | None = None) -> None:
        self.acts: list[tuple[str, str]] = []
        self.lines: list[tuple[str, str]] = []
        self.failures = list(failures or [])
        self._changed = asyncio.Event()

    async def act(self, action: str, conference_id: str) -> None:
        self.acts.append((action, conference_id))
        self._changed.set()
        if self.failures:
            raise self.failures.pop(0)

    async def report(self, channel_id: str, line: str) -> None:
        self.lines.append((channel_id, line))
        self._changed.set()

    async def wait_for(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(STEP):
            while not done():
                self._changed.clear()
                await self._changed.wait()

    async def wait_lines(self, count: int) -> list[str]:
        await self.wait_for(lambda: len(self.lines) >= count)
        return [line for _, line in self.lines]


async def eventually(predicate: Callable[[], bool]) -> None:
    """Poll a condition no callback announces (an APScheduler job having fired), bounded."""
    async with asyncio.timeout(STEP):
        # ASYNC110: no event exists to wait on here; this is the bounded polling helper.
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


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
def channel() -> Channel:
    return Channel()


Make = Callable[..., Scheduler]


@pytest.fixture
async def make(engine: AsyncEngine, channel: Channel) -> AsyncIterator[Make]:
    made: list[Scheduler] = []

    def build(**kw: Any) -> Scheduler:
        options: dict[str, Any] = {"retry_delays": (0.01, 0.01, 0.01), "refresh_every": None}
        options.update(kw)
        db = options.pop("engine", engine)
        scheduler = Scheduler(db, channel.act, channel.report, **options)
        made.append(scheduler)
        return scheduler

    yield build
    for scheduler in made:
        await scheduler.stop()


async def insert(
    engine: AsyncEngine, *, rule: str, next_run: float | None, timezone: str = "UTC", **kw: str
) -> ScheduleRow:
    values = {
        "action": "lock",
        "conference_id": "conf-1",
        "conference_name": "Standup",
        "created_by": "U123",
        "channel_id": "C1",
    }
    values.update(kw)
    return await ScheduleStore(engine).add(
        rule=rule, timezone=timezone, next_run=next_run, **values
    )


async def row_of(engine: AsyncEngine, schedule_id: str) -> ScheduleRow:
    row = await ScheduleStore(engine).get(schedule_id)
    assert row is not None
    return row


def add_args(**kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "action": "lock",
        "conference_id": "conf-1",
        "conference_name": "Standup",
        "tz": UTC_ZONE,
        "created_by": "U123",
        "channel_id": "C1",
    }
    args.update(kw)
    return args


def started(
    conference_id: str, meeting_id: str, at: float, name: str = "Standup"
) -> MeetingStarted:
    meeting = Meeting(meeting_id=meeting_id, started_at=at)
    return MeetingStarted(Conference(conference_id, name, meeting=meeting), at)


def ended(conference_id: str, meeting_id: str, at: float) -> MeetingEnded:
    meeting = Meeting(meeting_id=meeting_id, started_at=at, ended_at=at)
    return MeetingEnded(Conference(conference_id, "Standup"), meeting, at)


def next_spring_gap(tz: ZoneInfo) -> datetime:
    """A wall time that does not exist in `tz` within the coming year (02:30 on the change day)."""
    today = datetime.now(tz).date()
    for offset in range(1, 366):
        wall = datetime.combine(today + timedelta(days=offset), datetime.min.time()).replace(
            hour=2, minute=30
        )
        back = wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if back != wall:
            return wall
    raise AssertionError("no spring-forward within a year")


@pytest.fixture
def frozen() -> Iterator[Callable[[], float]]:
    yield lambda: FROZEN


# --- timed schedules ------------------------------------------------------------------------------


async def test_one_shot_runs_once_then_ends(
    make: Make, channel: Channel, engine: AsyncEngine
) -> None:
    scheduler = make()
    await scheduler.start()
    before = time.time()
    info = await scheduler.add(when="in  1s", **add_args())
    assert (info.rule, info.describe, info.action) == ("in 1s", "in 1s", "lock")
    assert info.next_run is not None and before + 1 <= info.next_run <= time.time() + 1
    assert scheduler.pending_runs() == [PendingRun(info.id, info.next_run)]

    assert await channel.wait_lines(1) == [LOCKED]
    assert channel.lines == [("C1", LOCKED)] and channel.acts == [("lock", "conf-1")]
    assert await scheduler.drain(STEP)
    # Nothing is left that could run it again: no job, and the row is finished.
    assert scheduler.pending_runs() == []
    assert await scheduler.list() == []
    row = await row_of(engine, info.id)
    assert not row.active and row.last_run is not None
    await scheduler.stop()
    assert channel.acts == [("lock", "conf-1")]


async def test_recurring_rule_runs_and_moves_to_its_next_occurrence(
    make: Make, channel: Channel, engine: AsyncEngine
) -> None:
    row = await insert(
        engine, rule="weekdays 09:00", next_run=time.time() + 1, timezone="Europe/Paris"
    )
    scheduler = make()
    await scheduler.start()
    assert [run.schedule_id for run in scheduler.pending_runs()] == [row.id]

    assert await channel.wait_lines(1) == [LOCKED]
    moved = await row_of(engine, row.id)
    assert moved.active and moved.last_run is not None and moved.next_run is not None
    local = datetime.fromtimestamp(moved.next_run, PARIS)
    assert (local.hour, local.minute) == (9, 0) and local.weekday() < 5
    assert 0 < moved.next_run - time.time() <= 4 * 86400  # Friday evening: Monday morning
    assert scheduler.pending_runs() == [PendingRun(row.id, moved.next_run)]
    [listed] = await scheduler.list()
    assert (listed.describe, listed.next_run, listed.timezone) == (
        "weekdays at 09:00",
        moved.next_run,
        "Europe/Paris",
    )


async def test_recurring_rule_keeps_its_wall_clock_time_across_dst(
    make: Make, channel: Channel, engine: AsyncEngine
) -> None:
    # Saturday 30 March 2030, 09:00 CET; clocks go forward that night.
    due = datetime(2030, 3, 30, 8, 0, tzinfo=UTC).timestamp()
    row = await insert(engine, rule="daily 09:00", next_run=due, timezone="Europe/Paris")
    scheduler = make(clock=lambda: due)
    await scheduler.start()
    await channel.wait_lines(1)
    moved = await row_of(engine, row.id)
    assert moved.next_run == datetime(2030, 3, 31, 7, 0, tzinfo=UTC).timestamp()  # 09:00 CEST


async def test_past_when_is_refused_and_nothing_is_stored(make: Make) -> None:
    scheduler = make()
    await scheduler.start()
    with pytest.raises(CommandError, match="in the past"):
        await scheduler.add(when="at 2020-01-01T09:00Z", **add_args())
    gap = next_spring_gap(PARIS)
    with pytest.raises(CommandError, match="does not exist"):
        await scheduler.add(when=f"at {gap:%Y-%m-%dT%H:%M}", **add_args(tz=PARIS))
    with pytest.raises(CommandError, match="not a date on the calendar"):
        await scheduler.add(when="at 2031-02-30T09:00", **add_args())
    assert await scheduler.list() == []
    assert scheduler.pending_runs() == []


async def test_remove_cancels_the_run(make: Make, engine: AsyncEngine) -> None:
    scheduler = make()
    await scheduler.start()
    info = await scheduler.add(when="in 1h", **add_args())
    assert scheduler.next_run_time(info.id) == info.next_run
    removed = await scheduler.remove(info.id.upper())
    assert removed.id == info.id
    assert scheduler.pending_runs() == [] and await scheduler.list() == []
    assert not (await row_of(engine, info.id)).active
    with pytest.raises(CommandError) as error:
        await scheduler.remove(info.id)
    assert str(error.value) == f"No schedule {info.id}. `/conf schedules` lists them."


async def test_unknown_id_is_echoed_only_when_it_looks_like_an_id(make: Make) -> None:
    scheduler = make(command="/bridge")
    with pytest.raises(CommandError, match=r"^No schedule s7k2\. `/bridge schedules` lists them"):
        await scheduler.remove("s7k2")
    with pytest.raises(CommandError, match=r"^No schedule with that id\."):
        await scheduler.remove("<!here>")


async def test_a_replica_that_does_not_run_the_scheduler_adds_and_the_owner_picks_it_up(
    make: Make,
) -> None:
    owner, frontend = make(), make()
    await owner.start()
    info = await frontend.add(when="in 1h", **add_args())
    assert frontend.pending_runs() == [] and owner.pending_runs() == []
    await owner.refresh()
    assert owner.pending_runs() == [PendingRun(info.id, info.next_run or 0.0)]
    await frontend.remove(info.id)
    await owner.refresh()
    assert owner.pending_runs() == []


# --- missed while down: the grace rule -----------------------------------------------------------


async def test_due_at_start_within_grace_runs_late_and_says_so(
    make: Make, channel: Channel, engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    row = await insert(engine, rule="daily 10:00", next_run=FROZEN - 10)
    scheduler = make(clock=frozen)
    await scheduler.start()
    assert await channel.wait_lines(1) == [f"{LOCKED} (late by 10s)"]
    assert channel.acts == [("lock", "conf-1")]
    moved = await row_of(engine, row.id)
    assert moved.next_run == FROZEN + 86400  # tomorrow 10:00, not the 10:00 just passed


async def test_due_at_start_beyond_grace_is_reported_missed_and_moves_on(
    make: Make, channel: Channel, engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    row = await insert(engine, rule="daily 09:00", next_run=FROZEN - 3600)
    scheduler = make(clock=frozen)
    await scheduler.start()
    assert await channel.wait_lines(1) == [
        "Missed the scheduled lock of *Standup* (due 09:00 UTC, confbot was down); "
        "next run tomorrow 09:00 UTC."
    ]
    assert channel.acts == []
    moved = await row_of(engine, row.id)
    assert moved.active and moved.next_run == FROZEN - 3600 + 86400 and moved.last_run is None
    assert scheduler.pending_runs() == [PendingRun(row.id, FROZEN - 3600 + 86400)]


async def test_missed_one_shot_ends(
    make: Make, channel: Channel, engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    row = await insert(engine, rule="at 09:00", next_run=FROZEN - 3600)
    scheduler = make(clock=frozen)
    await scheduler.start()
    [line] = await channel.wait_lines(1)
    assert line.endswith("it was a one-time schedule, so it will not run.")
    assert channel.acts == [] and not (await row_of(engine, row.id)).active


async def test_two_schedulers_on_one_database_run_a_due_row_once(
    db_url: str, engine: AsyncEngine, make: Make, channel: Channel
) -> None:
    other = make_engine(db_url)
    try:
        # A recurring row due now (both load it at start) and a one-shot due in a second
        # (both plan a job for it).
        await insert(engine, rule="daily 09:00", next_run=time.time() - 10)
        soon = await insert(engine, rule="in 5m", next_run=time.time() + 1, conference_id="conf-2")
        first, second = make(), make(engine=other)
        await asyncio.gather(first.start(), second.start())
        await channel.wait_lines(2)
        # Wait until both jobs for the one-shot have fired, then until both processes' runs
        # are over, before counting.
        await eventually(
            lambda: all(
                run.schedule_id != soon.id for run in first.pending_runs() + second.pending_runs()
            )
        )
        assert await first.drain(STEP) and await second.drain(STEP)
        assert sorted(channel.acts) == [("lock", "conf-1"), ("lock", "conf-2")]
        assert len(channel.lines) == 2
        await second.stop()
    finally:
        await other.dispose()


# --- Kazoo failures ------------------------------------------------------------------------------


async def test_transient_errors_are_retried_then_reported_once(
    make: Make, engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    channel = Channel([KazooUnavailable("503"), KazooUnavailable("timeout")])
    await insert(engine, rule="at 10:00", next_run=FROZEN)
    scheduler = Scheduler(
        engine, channel.act, channel.report, clock=frozen, retry_delays=(0.01, 0.01)
    )
    await scheduler.start()
    assert await channel.wait_lines(1) == [LOCKED]
    assert len(channel.acts) == 3
    await scheduler.stop()


async def test_kazoo_still_down_after_the_retries_is_reported(
    engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    channel = Channel([KazooUnavailable("503")] * 5)
    await insert(engine, rule="at 10:00", next_run=FROZEN)
    scheduler = Scheduler(
        engine, channel.act, channel.report, clock=frozen, retry_delays=(0.01,) * 2
    )
    await scheduler.start()
    assert await channel.wait_lines(1) == [
        "Could not lock *Standup* as scheduled by <@U123>: Kazoo is not answering."
    ]
    assert len(channel.acts) == 3
    await scheduler.stop()


async def test_no_retry_lands_beyond_the_grace(
    engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    channel = Channel([KazooUnavailable("503")])
    await insert(engine, rule="at 10:00", next_run=FROZEN)
    scheduler = Scheduler(
        engine, channel.act, channel.report, clock=frozen, grace=5, retry_delays=(10,)
    )
    await scheduler.start()
    [line] = await channel.wait_lines(1)
    assert line.endswith("Kazoo is not answering.") and len(channel.acts) == 1
    await scheduler.stop()


async def test_a_refusal_is_reported_escaped_and_not_retried(
    engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    channel = Channel([KazooRequestError("400", kazoo_message="<!channel> *no*")])
    await insert(engine, rule="at 10:00", next_run=FROZEN, conference_name="*Stand_up* <!here>")
    scheduler = Scheduler(engine, channel.act, channel.report, clock=frozen)
    await scheduler.start()
    assert await channel.wait_lines(1) == [
        "Could not lock *∗Standˍup∗ &lt;!here&gt;* as scheduled by <@U123>: "
        "Kazoo refused: &lt;!channel&gt; ∗no∗."
    ]
    assert len(channel.acts) == 1
    await scheduler.stop()


async def test_a_conference_gone_from_kazoo_is_reported(
    engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    channel = Channel([KazooNotFound("gone")])
    await insert(engine, rule="at 10:00", next_run=FROZEN, action="unlock")
    scheduler = Scheduler(engine, channel.act, channel.report, clock=frozen)
    await scheduler.start()
    assert await channel.wait_lines(1) == [
        "Could not unlock *Standup* as scheduled by <@U123>: Kazoo no longer has this conference."
    ]
    await scheduler.stop()


async def test_stop_cuts_retries_short_and_still_reports(
    engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    channel = Channel([KazooUnavailable("503")] * 3)
    await insert(engine, rule="at 10:00", next_run=FROZEN)
    scheduler = Scheduler(engine, channel.act, channel.report, clock=frozen, retry_delays=(60,))
    await scheduler.start()
    await channel.wait_for(lambda: len(channel.acts) == 1)
    async with asyncio.timeout(STEP):
        await scheduler.stop()
    assert [line for _, line in channel.lines] == [
        "Could not lock *Standup* as scheduled by <@U123>: Kazoo is not answering."
    ]


async def test_a_failed_report_does_not_run_the_action_again(
    engine: AsyncEngine, frozen: Callable[[], float]
) -> None:
    channel = Channel()

    async def broken_report(channel_id: str, line: str) -> None:
        await channel.report(channel_id, line)
        raise RuntimeError("Slack is down")

    row = await insert(engine, rule="at 10:00", next_run=FROZEN)
    scheduler = Scheduler(engine, channel.act, broken_report, clock=frozen)
    await scheduler.start()
    await channel.wait_lines(1)
    await scheduler.refresh()  # a reload after the failure finds nothing left to run
    assert await scheduler.drain(STEP)
    assert channel.acts == [("lock", "conf-1")]
    assert not (await row_of(engine, row.id)).active
    await scheduler.stop()


# --- meeting-relative schedules ------------------------------------------------------------------


async def test_after_start_runs_that_long_after_the_meeting_starts(
    make: Make, channel: Channel, engine: AsyncEngine
) -> None:
    scheduler = make()
    await scheduler.start()
    info = await scheduler.add(when="1s after start", **add_args(action="unlock"))
    assert (info.describe, info.next_run, info.meeting_relative) == ("1s after start", None, True)
    assert scheduler.meeting_conferences() == {"conf-1"}
    now = time.time()
    scheduler.on_changes([started("conf-1", "m1", now)])
    assert scheduler.pending_runs() == [PendingRun(info.id, now + 1, "m1")]
    [listed] = await scheduler.list()
    assert listed.next_run == now + 1

    assert await channel.wait_lines(1) == ["Unlocked *Standup* as scheduled by <@U123>"]
    assert channel.acts == [("unlock", "conf-1")]
    assert (await row_of(engine, info.id)).last_meeting == "m1"


async def test_a_meeting_that_ends_before_the_delay_cancels_that_run(
    make: Make, channel: Channel
) -> None:
    scheduler = make()
    await scheduler.start()
    await scheduler.add(when="1s after start", **add_args())
    # A second conference whose run comes later: once it has run, the first would have too.
    await scheduler.add(when="2s after start", **add_args(conference_id="conf-2"))
    now = time.time()
    scheduler.on_changes([started("conf-1", "m1", now), started("conf-2", "m2", now)])
    scheduler.on_changes([ended("conf-1", "m1", now + 0.1)])
    assert [run.meeting_id for run in scheduler.pending_runs()] == ["m2"]

    await channel.wait_lines(1)
    assert await scheduler.drain(STEP)
    assert channel.acts == [("lock", "conf-2")]


async def test_the_same_meeting_seen_twice_runs_once(make: Make, channel: Channel) -> None:
    scheduler = make()
    await scheduler.start()
    await scheduler.add(when="1s after start", **add_args())
    now = time.time()
    # The start, then a resync that reports the same meeting again before the run...
    scheduler.on_changes([started("conf-1", "m1", now)])
    scheduler.on_changes([started("conf-1", "m1", now)])
    assert len(scheduler.pending_runs()) == 1
    assert await channel.wait_lines(1) == [LOCKED]
    assert await scheduler.drain(STEP)
    # ...and once more after it (a restart or a websocket loss): due, within the grace, but
    # already claimed for this meeting.
    scheduler.on_changes([started("conf-1", "m1", now)])
    assert await scheduler.drain(STEP)
    assert channel.acts == [("lock", "conf-1")]
    # The next meeting runs it again.
    scheduler.on_changes([ended("conf-1", "m1", time.time()), started("conf-1", "m2", now)])
    await channel.wait_lines(2)
    assert channel.acts == [("lock", "conf-1")] * 2


async def test_at_start_seen_twice_in_one_burst_runs_once(make: Make, channel: Channel) -> None:
    scheduler = make()
    await scheduler.start()
    await scheduler.add(when="at start", **add_args())
    now = time.time()
    scheduler.on_changes([started("conf-1", "m1", now), started("conf-1", "m1", now)])
    await channel.wait_lines(1)
    assert await scheduler.drain(STEP)
    assert channel.acts == [("lock", "conf-1")]


async def test_a_meeting_first_seen_long_after_its_start_reports_missed_once(
    make: Make, channel: Channel, frozen: Callable[[], float]
) -> None:
    scheduler = make(clock=frozen)
    await scheduler.start()
    await scheduler.add(when="5m after start", **add_args())
    meeting_start = FROZEN - 3600
    scheduler.on_changes([started("conf-1", "m1", meeting_start)])
    assert await channel.wait_lines(1) == [
        "Missed the scheduled lock of *Standup* (due 09:05 UTC, 5m after start; confbot was "
        "down); it runs again the next time the conference starts."
    ]
    scheduler.on_changes([started("conf-1", "m1", meeting_start)])
    assert await scheduler.drain(STEP)
    assert channel.acts == [] and len(channel.lines) == 1


async def test_meetings_seen_before_start_are_planned_at_start(
    make: Make, channel: Channel, engine: AsyncEngine
) -> None:
    await insert(engine, rule="at start", next_run=None)
    scheduler = make()
    scheduler.on_changes([started("conf-1", "m1", time.time())])  # not started: remembered
    await scheduler.start()
    assert await channel.wait_lines(1) == [LOCKED]


async def test_a_rule_made_during_a_meeting_applies_if_its_time_is_ahead(
    make: Make, channel: Channel
) -> None:
    scheduler = make()
    await scheduler.start()
    now = time.time()
    scheduler.on_changes([started("conf-1", "m1", now - 60)])
    # Its time in this meeting has passed: not run now, at once, by surprise.
    late = await scheduler.add(when="at start", **add_args())
    ahead = await scheduler.add(when="61s after start", **add_args(conference_id="conf-1"))
    assert scheduler.pending_runs() == [PendingRun(ahead.id, now + 1, "m1")]
    assert late.id != ahead.id
    await channel.wait_lines(1)
    assert await scheduler.drain(STEP)
    assert channel.acts == [("lock", "conf-1")]
