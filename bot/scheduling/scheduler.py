"""Scheduled locks and unlocks: the `schedules` table brought to life with APScheduler 3.

The table (bot.storage.schedules) is the source of truth; APScheduler is only the alarm clock.
The process that owns the scheduler (one at a time, by a lease the caller manages) loads the
active rows into an in-memory `AsyncIOScheduler`: one `DateTrigger` job per timed schedule at its
`next_run`, and, for meeting-relative rules (`at start`, `5m after start`), one job per running
meeting, planned when the engine reports `MeetingStarted` through `on_changes`.

Exactly once. Every run first claims its row with one conditional UPDATE (`claim`: "still due at
this time?", `claim_meeting`: "not yet run for this meeting?"); only the caller whose UPDATE
changed the row goes on. So a job that fires in two processes, a restart that reloads a row
already run, a periodic `refresh` that races the job, or a meeting seen twice after a resync, all
end in one Kazoo call and one line in Slack. The claim comes before the Kazoo call: a crash in
between loses that run rather than doing it twice (at most once, never twice).

Missed runs. Rows found due at start (or whenever a run fires late, e.g. after the machine
slept) follow the grace rule: late by at most `grace` seconds, the run happens now and its line
says how late; later than that, it is reported as missed and does not run (a recurring rule moves
on to its next occurrence, a one-shot ends).

Times are UTC Unix floats everywhere; every date computation goes through `when.next_run`, so a
recurring rule keeps its wall-clock time in its own zone across DST changes. The injectable
`clock` is used for all our decisions (lateness, grace, claims); APScheduler triggers fire on
real time, so a test clock must stay close to real time for jobs to fire when expected.

This is the only module that imports apscheduler.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.events import Change, MeetingEnded, MeetingStarted
from bot.domain.model import Meeting
from bot.domain.when import AfterStart, WhenSpec, next_run, parse_when
from bot.errors import (
    CommandError,
    KazooAuthError,
    KazooError,
    KazooNotFound,
    KazooUnavailable,
)

# PBX text (conference names, Kazoo's messages) must be made inert before it goes into a Slack
# line. DESIGN.md keeps `scheduling` from importing `slack`; this one pure function is the
# exception, because every line this module produces is Slack mrkdwn.
from bot.slack.escape import untrusted
from bot.storage.schedules import ScheduleRow, ScheduleStore, normalize_id

log = logging.getLogger("bot.scheduling")

Act = Callable[[str, str], Awaitable[None]]
Report = Callable[[str, str], Awaitable[None]]

ACTIONS: Final = {"lock": "Locked", "unlock": "Unlocked"}
LATE_NOTICE: Final = 1.0
PLAN_HORIZON: Final = 3600.0
"""Timed runs due further ahead than this are left in the table until a refresh brings them near."""
"""A run starting more than this after its due time says "(late by ...)"."""
UNAVAILABLE: Final = "Kazoo is not answering."
_SHOWN_ID = re.compile(r"[a-z0-9]{1,16}", re.ASCII)
_REFRESH_JOB: Final = "refresh"


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    """One active schedule as `/conf schedules` shows it."""

    id: str
    action: str
    conference_id: str
    conference_name: str
    rule: str  # the WHEN as typed (whitespace normalised)
    describe: str  # the WHEN as `WhenSpec.describe()` prints it
    # UTC Unix seconds of the next run; for a meeting-relative rule, the run planned in the
    # meeting under way (known only to the process that owns the scheduler), else None.
    next_run: float | None
    timezone: str
    created_by: str
    channel_id: str
    meeting_relative: bool = False


@dataclass(frozen=True, slots=True)
class PendingRun:
    """A run this process has planned: a timed one, or one in a meeting (`meeting_id`)."""

    schedule_id: str
    due: float
    meeting_id: str | None = None


@dataclass(frozen=True, slots=True)
class _MeetingRule:
    schedule_id: str
    conference_id: str
    delay: float


class Scheduler:
    """Runs the schedules of the `schedules` table: `lock`/`unlock` calls at their times.

    `act(action, conference_id)` makes the Kazoo call (raising `KazooError`); `report(channel,
    line)` posts one mrkdwn line in the channel the schedule was made in. Neither may be called
    twice for one run; both are awaited from tasks of this scheduler.

    Not started, it still adds, removes and lists (persisting only): a replica that does not own
    the scheduler can answer `/conf schedule`, and the owner picks the row up on its next
    `refresh` (every `refresh_every` seconds).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        act: Act,
        report: Report,
        *,
        clock: Callable[[], float] = time.time,
        grace: float = 300.0,
        retry_delays: Sequence[float] = (1, 2, 4, 8, 15, 30),
        refresh_every: float | None = 60.0,
        stop_timeout: float = 10.0,
        command: str = "/conf",
    ) -> None:
        self._store = ScheduleStore(engine, clock=clock)
        self._act = act
        self._report = report
        self._clock = clock
        self._grace = grace
        self._retry_delays = tuple(float(d) for d in retry_delays)
        self._refresh_every = refresh_every
        self._stop_timeout = stop_timeout
        self._command = command
        self._aps: AsyncIOScheduler | None = None
        self._stopping = asyncio.Event()
        # What this process has planned, mirroring the APScheduler jobs.
        self._timed: dict[str, float] = {}  # schedule id -> due
        self._meeting_jobs: dict[tuple[str, str], float] = {}  # (schedule id, meeting) -> due
        self._rules: dict[str, _MeetingRule] = {}  # active meeting-relative rules
        # Meetings under way, from on_changes (also before start(), so a late start still
        # plans the runs of meetings it was told about).
        self._meetings: dict[str, Meeting] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Runs started and not finished, so a refresh racing a job does not start a second task
        # (the claim would stop it anyway; this saves the query).
        self._inflight: set[tuple[str, float | str]] = set()

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._aps is not None

    async def start(self) -> None:
        """Load every active schedule; rows already due follow the grace rule at once."""
        if self._aps is not None:
            return
        self._stopping.clear()
        # misfire_grace_time=None: APScheduler always hands the run to us, however late, and
        # `_run_timed` applies our own grace rule (with our clock, and a report either way).
        aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        aps.start()
        self._aps = aps
        try:
            await self.refresh()
        except BaseException:
            await self.stop()  # the database is unreachable, most likely: start from scratch later
            raise
        for meeting_conference, meeting in list(self._meetings.items()):
            for rule in self._rules_of(meeting_conference):
                self._plan_meeting(rule, meeting, late_ok=True)
        if self._refresh_every:
            aps.add_job(
                self.refresh,
                IntervalTrigger(seconds=self._refresh_every, timezone=UTC),
                id=_REFRESH_JOB,
                replace_existing=True,
            )

    async def stop(self) -> None:
        """Stop planning, let runs under way finish (retries give up), then drop the jobs.

        Waits at most `stop_timeout` seconds; runs still going after that are cancelled. The
        table keeps every schedule, so the next start carries on.
        """
        aps, self._aps = self._aps, None
        if aps is None:
            return
        self._stopping.set()
        aps.shutdown(wait=False)
        # AsyncIOScheduler defers its shutdown to a loop callback; let it run before we return,
        # in case the caller closes the loop next.
        await asyncio.sleep(0)
        if not await self.drain(self._stop_timeout):
            log.warning("scheduled runs still going after %.0fs: cancelled", self._stop_timeout)
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._timed.clear()
        self._meeting_jobs.clear()
        self._rules.clear()  # reloaded by the next start; _meetings stays, still true

    async def drain(self, timeout: float = 10.0) -> bool:
        """Wait until no run is under way (runs started meanwhile included); False on timeout."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self._tasks:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=remaining)
        return True

    async def refresh(self) -> None:
        """Bring the planned jobs in line with the table.

        Picks up schedules added or removed by other replicas, and runs moved on by another
        process; rows found due are run (or reported missed) now.
        """
        if self._aps is None:
            return
        # With periodic refreshes, only runs due within the horizon are planned in memory; each
        # refresh plans those that came within it. Ten thousand stored schedules a month ahead
        # then cost nothing until their hour comes.
        horizon = self._clock() + PLAN_HORIZON if self._refresh_every else None
        rows = await self._store.list_active(due_before=horizon)
        if self._aps is None:  # stopped while we read
            return
        timed: dict[str, float] = {}
        rules: dict[str, _MeetingRule] = {}
        for row in rows:
            spec = _spec(row)
            if spec is None:
                continue
            if isinstance(spec, AfterStart):
                rules[row.id] = _MeetingRule(row.id, row.conference_id, spec.delay_seconds)
            elif row.next_run is not None:
                timed[row.id] = row.next_run
        for schedule_id in set(self._timed) - set(timed):
            self._unplan_timed(schedule_id)
        for schedule_id, due in timed.items():
            if self._timed.get(schedule_id) != due:
                self._plan_timed(schedule_id, due)
        for schedule_id in set(self._rules) - set(rules):
            self._forget_rule(schedule_id)
        for schedule_id, rule in rules.items():
            if schedule_id not in self._rules:
                self._rules[schedule_id] = rule
                meeting = self._meetings.get(rule.conference_id)
                if meeting is not None:
                    self._plan_meeting(rule, meeting, late_ok=False)

    # --- commands --------------------------------------------------------------------------

    async def add(
        self,
        *,
        action: str,
        conference_id: str,
        conference_name: str,
        when: str,
        tz: ZoneInfo,
        created_by: str,
        channel_id: str,
    ) -> ScheduleInfo:
        """Persist a schedule, then plan it; `CommandError` for a WHEN that cannot run."""
        if action not in ACTIONS:
            raise CommandError("A schedule can lock or unlock a conference, nothing else.")
        rule = " ".join(when.split())
        spec = parse_when(rule)
        due: float | None = None
        if not spec.meeting_relative:
            # Raises CommandError for a time in the past, in a DST gap or too far ahead.
            moment = next_run(spec, now=_utc(self._clock()), tz=tz)
            if moment is None:  # pragma: no cover - only meeting-relative specs return None
                raise CommandError(f"`{spec.describe()}` never runs.")
            due = moment.timestamp()
        row = await self._store.add(
            action=action,
            conference_id=conference_id,
            conference_name=conference_name,
            rule=rule,
            timezone=str(tz),
            next_run=due,
            created_by=created_by,
            channel_id=channel_id,
        )
        log.info("schedule %s added: %s %s %s", row.id, action, conference_id, spec.describe())
        if self._aps is not None:
            if due is not None:
                self._plan_timed(row.id, due)
            elif isinstance(spec, AfterStart):
                rule_ = _MeetingRule(row.id, conference_id, spec.delay_seconds)
                self._rules[row.id] = rule_
                meeting = self._meetings.get(conference_id)
                if meeting is not None:
                    # Made during a meeting: it applies to this one too if its time is ahead.
                    self._plan_meeting(rule_, meeting, late_ok=False)
        return self._info(row)

    async def remove(self, schedule_id: str) -> ScheduleInfo:
        """Stop a schedule (its row stays, inactive); `CommandError` when there is none."""
        wanted = normalize_id(schedule_id)
        row = await self._store.get(wanted)
        if row is None or not row.active or not await self._store.deactivate(row.id):
            shown = f" {wanted}" if _SHOWN_ID.fullmatch(wanted) else " with that id"
            raise CommandError(f"No schedule{shown}. `{self._command} schedules` lists them.")
        self._unplan_timed(row.id)
        self._forget_rule(row.id)
        log.info("schedule %s removed", row.id)
        return self._info(row)

    async def list(self) -> builtins.list[ScheduleInfo]:
        """Active schedules, soonest first, meeting-relative ones last."""
        return [self._info(row) for row in await self._store.list_active()]

    def pending_runs(self) -> builtins.list[PendingRun]:
        """Runs this process has planned and not yet started, soonest first."""
        runs = [PendingRun(sid, due) for sid, due in self._timed.items()]
        runs += [PendingRun(sid, due, mid) for (sid, mid), due in self._meeting_jobs.items()]
        return sorted(runs, key=lambda run: (run.due, run.schedule_id))

    def next_run_time(self, schedule_id: str) -> float | None:
        """When this process will next run the schedule, if it has planned a run."""
        dues = [run.due for run in self.pending_runs() if run.schedule_id == schedule_id]
        return min(dues, default=None)

    def meeting_conferences(self) -> frozenset[str]:
        """Conferences with meeting-relative schedules: the engine must follow their meetings."""
        return frozenset(rule.conference_id for rule in self._rules.values())

    # --- meetings --------------------------------------------------------------------------

    def on_changes(self, changes: Sequence[Change]) -> None:
        """Plan or cancel meeting-relative runs. Synchronous and quick: called by the engine."""
        for change in changes:
            if isinstance(change, MeetingStarted):
                meeting = change.conference.meeting
                if meeting is None:
                    continue
                conference_id = change.conference.conference_id
                self._meetings[conference_id] = meeting
                if self._aps is None:
                    continue
                for rule in self._rules_of(conference_id):
                    # late_ok: a meeting first seen late (after a restart or a gap) still gets
                    # its run now within the grace, or a "missed" line; claim_meeting keeps a
                    # meeting seen twice from running twice.
                    self._plan_meeting(rule, meeting, late_ok=True)
            elif isinstance(change, MeetingEnded):
                conference_id = change.conference.conference_id
                ended = change.meeting.meeting_id
                current = self._meetings.get(conference_id)
                if current is not None and current.meeting_id == ended:
                    del self._meetings[conference_id]
                # "A meeting that ends before the delay cancels that run."
                for schedule_id, meeting_id in list(self._meeting_jobs):
                    if meeting_id == ended:
                        self._unplan_meeting(schedule_id, meeting_id)

    def _rules_of(self, conference_id: str) -> builtins.list[_MeetingRule]:
        return [rule for rule in self._rules.values() if rule.conference_id == conference_id]

    def _plan_meeting(self, rule: _MeetingRule, meeting: Meeting, *, late_ok: bool) -> None:
        due = meeting.started_at + rule.delay
        key = (rule.schedule_id, meeting.meeting_id)
        if due > self._clock():
            assert self._aps is not None
            self._aps.add_job(
                self._fire_meeting,
                DateTrigger(run_date=_utc(due), timezone=UTC),
                args=(rule.schedule_id, meeting.meeting_id, due),
                id=_meeting_job_id(*key),
                replace_existing=True,
            )
            self._meeting_jobs[key] = due
        elif late_ok:
            self._unplan_meeting(*key)
            self._spawn(key, self._run_meeting(rule.schedule_id, meeting.meeting_id, due))

    def _unplan_meeting(self, schedule_id: str, meeting_id: str) -> None:
        if self._meeting_jobs.pop((schedule_id, meeting_id), None) is not None:
            self._remove_job(_meeting_job_id(schedule_id, meeting_id))

    def _forget_rule(self, schedule_id: str) -> None:
        self._rules.pop(schedule_id, None)
        for sid, meeting_id in list(self._meeting_jobs):
            if sid == schedule_id:
                self._unplan_meeting(sid, meeting_id)

    async def _fire_meeting(self, schedule_id: str, meeting_id: str, due: float) -> None:
        # An APScheduler job: hand the run to a task of ours, so stop() can wait for it.
        self._meeting_jobs.pop((schedule_id, meeting_id), None)
        self._spawn((schedule_id, meeting_id), self._run_meeting(schedule_id, meeting_id, due))

    async def _run_meeting(self, schedule_id: str, meeting_id: str, due: float) -> None:
        row = await self._store.get(schedule_id)
        if row is None or not row.active:
            return
        late = self._clock() - due
        if not await self._store.claim_meeting(schedule_id, meeting_id):
            return  # already run for this meeting (here before a restart, or elsewhere)
        if late > self._grace:
            await self._say(
                row.channel_id,
                f"Missed the scheduled {row.action} of *{untrusted(row.conference_name)}* "
                f"(due {self._moment(due, row)}, {_describe(row)}; confbot was down); it runs "
                "again the next time the conference starts.",
            )
            return
        await self._perform(row, due)

    # --- timed runs ------------------------------------------------------------------------

    def _plan_timed(self, schedule_id: str, due: float) -> None:
        """A job at `due`, or a run now when it is already due."""
        if self._aps is None:
            return
        if due <= self._clock():
            self._unplan_timed(schedule_id)
            self._spawn((schedule_id, due), self._run_timed(schedule_id, due))
            return
        self._aps.add_job(
            self._fire_timed,
            DateTrigger(run_date=_utc(due), timezone=UTC),
            args=(schedule_id, due),
            id=_timed_job_id(schedule_id),
            replace_existing=True,
        )
        self._timed[schedule_id] = due

    def _unplan_timed(self, schedule_id: str) -> None:
        if self._timed.pop(schedule_id, None) is not None:
            self._remove_job(_timed_job_id(schedule_id))

    async def _fire_timed(self, schedule_id: str, due: float) -> None:
        if self._timed.get(schedule_id) == due:
            del self._timed[schedule_id]
        self._spawn((schedule_id, due), self._run_timed(schedule_id, due))

    async def _run_timed(self, schedule_id: str, due: float) -> None:
        row = await self._store.get(schedule_id)
        if row is None or not row.active:
            return  # removed, or a one-shot already run
        # A row already moved on past `due` (run elsewhere) is left to the claim to refuse:
        # one rule, in one place, for every way a run can be stale.
        spec = _spec(row)
        now = self._clock()
        following: float | None = None
        if spec is not None and spec.recurring:
            # After `now` as well as `due`: a run late by days must not plan one in the past.
            moment = next_run(
                spec, now=_utc(now), tz=_zone(row.timezone), after=_utc(max(due, now))
            )
            following = None if moment is None else moment.timestamp()
        if now - due > self._grace:
            if await self._store.claim(schedule_id, due, following, ran=False):
                if following is not None:
                    self._plan_timed(schedule_id, following)
                after = (
                    f"next run {self._moment(following, row)}."
                    if following is not None
                    else "it was a one-time schedule, so it will not run."
                )
                await self._say(
                    row.channel_id,
                    f"Missed the scheduled {row.action} of *{untrusted(row.conference_name)}* "
                    f"(due {self._moment(due, row)}, confbot was down); {after}",
                )
            return
        if not await self._store.claim(schedule_id, due, following):
            return  # another task, process or replica has this run
        if following is not None:
            # Planned before acting, so a slow or failing Kazoo call cannot stall the rule.
            self._plan_timed(schedule_id, following)
        await self._perform(row, due)

    # --- running ---------------------------------------------------------------------------

    async def _perform(self, row: ScheduleRow, due: float) -> None:
        """The Kazoo call (with retries) for a claimed run, then its one line in Slack."""
        name = untrusted(row.conference_name)
        by = f"as scheduled by <@{row.created_by}>"
        # Lateness is when the run began (confbot down, or busy), not the time Kazoo's retries took.
        late = self._clock() - due
        problem = await self._act_with_retries(row, due)
        if problem is None:
            note = f" (late by {_duration(late)})" if late > LATE_NOTICE else ""
            line = f"{ACTIONS.get(row.action, row.action)} *{name}* {by}{note}"
            log.info("schedule %s: %s %s done", row.id, row.action, row.conference_id)
        else:
            line = f"Could not {row.action} *{name}* {by}: {problem}"
            log.warning(
                "schedule %s: %s %s failed: %s", row.id, row.action, row.conference_id, problem
            )
        await self._say(row.channel_id, line)

    async def _act_with_retries(self, row: ScheduleRow, due: float) -> str | None:
        """None on success, else what went wrong as mrkdwn.

        A transient failure is retried on `retry_delays` while the retry still lands within
        the grace period of the due time: an action much later than asked for may do harm (a
        lock after the meeting let everyone in), so past the grace it is reported instead.
        """
        attempt = 0
        while True:
            try:
                await self._act(row.action, row.conference_id)
                return None
            except KazooUnavailable as exc:
                if attempt >= len(self._retry_delays):
                    return UNAVAILABLE
                delay = max(self._retry_delays[attempt], exc.retry_after or 0.0)
                if self._clock() + delay - due > self._grace:
                    return UNAVAILABLE
                attempt += 1
                log.info("schedule %s: Kazoo unavailable, retry in %.1fs", row.id, delay)
                if await self._stop_requested(delay):
                    return UNAVAILABLE
            except KazooNotFound:
                return "Kazoo no longer has this conference."
            except KazooAuthError:
                return "Kazoo refused confbot's credentials."
            except KazooError as exc:
                said = (exc.kazoo_message or str(exc)).strip().rstrip(".")
                return f"Kazoo refused: {untrusted(said, limit=200)}."
            except Exception:
                log.exception("schedule %s: the action failed", row.id)
                return "an unexpected error (see confbot's log)."

    async def _stop_requested(self, delay: float) -> bool:
        """Wait `delay` seconds, or less if stop() is called (then True)."""
        try:
            # asyncio.timeout rather than wait_for, which can swallow a cancel on Python 3.11.
            async with asyncio.timeout(delay):
                await self._stopping.wait()
        except TimeoutError:
            return False
        return True

    async def _say(self, channel_id: str, line: str) -> None:
        try:
            await self._report(channel_id, line)
        except Exception:
            # The action is done (or not) either way; a failed post must not make it run again.
            log.exception("could not report a scheduled run in %s: %s", channel_id, line)

    def _spawn(self, key: tuple[str, float | str], run: Coroutine[Any, Any, None]) -> None:
        if self._stopping.is_set() or key in self._inflight:
            run.close()
            return
        self._inflight.add(key)
        task = asyncio.get_running_loop().create_task(self._guard(key, run))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(self, key: tuple[str, float | str], run: Coroutine[Any, Any, None]) -> None:
        try:
            await run
        except Exception:
            # A database error, most likely; the row is untouched or claimed, never run twice.
            log.exception("scheduled run %s failed", key)
        finally:
            self._inflight.discard(key)

    def _remove_job(self, job_id: str) -> None:
        if self._aps is not None:
            with contextlib.suppress(JobLookupError):  # it has just fired
                self._aps.remove_job(job_id)

    # --- presentation ----------------------------------------------------------------------

    def _info(self, row: ScheduleRow) -> ScheduleInfo:
        spec = _spec(row)
        meeting_relative = spec is not None and spec.meeting_relative
        info = ScheduleInfo(
            id=row.id,
            action=row.action,
            conference_id=row.conference_id,
            conference_name=row.conference_name,
            rule=row.rule,
            describe=_describe(row),
            next_run=row.next_run,
            timezone=row.timezone,
            created_by=row.created_by,
            channel_id=row.channel_id,
            meeting_relative=meeting_relative,
        )
        if meeting_relative:
            info = replace(info, next_run=self.next_run_time(row.id))
        return info

    def _moment(self, at: float, row: ScheduleRow) -> str:
        """`09:05 UTC`, `tomorrow 09:05 CET`, `Mon 2 Mar 09:05 CET`: in the schedule's zone."""
        tz = _zone(row.timezone)
        local = datetime.fromtimestamp(at, tz)
        today = datetime.fromtimestamp(self._clock(), tz).date()
        clock = f"{local:%H:%M} {local.tzname()}"
        if local.date() == today:
            return clock
        if local.date() == today + timedelta(days=1):
            return f"tomorrow {clock}"
        if local.date() == today - timedelta(days=1):
            return f"yesterday {clock}"
        return f"{local:%a} {local.day} {local:%b} {clock}"


# --- helpers -------------------------------------------------------------------------------------


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # The zone was valid when stored; a system without it still runs the schedule, in UTC.
        log.warning("unknown time zone %r in a schedule: using UTC", name)
        return ZoneInfo("UTC")


def _spec(row: ScheduleRow) -> WhenSpec | None:
    try:
        return parse_when(row.rule)
    except CommandError:
        # Stored rules were parsed when made; one that no longer parses (a grammar change)
        # is left alone rather than guessed at.
        log.error("schedule %s has a rule that no longer parses: %r", row.id, row.rule)
        return None


def _describe(row: ScheduleRow) -> str:
    spec = _spec(row)
    return row.rule if spec is None else spec.describe()


def _duration(seconds: float) -> str:
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    hours, minutes = divmod(whole // 60, 60)
    return f"{hours}h {minutes}m" if minutes else f"{hours}h"


def _timed_job_id(schedule_id: str) -> str:
    return f"t:{schedule_id}"


def _meeting_job_id(schedule_id: str, meeting_id: str) -> str:
    return f"m:{schedule_id}:{meeting_id}"
