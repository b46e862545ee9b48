"""A burst of Kazoo events on one watched conference: what reaches Slack, and what it costs.

Run: `PYTHONPATH=. .venv/bin/python bench/burst.py [--events N] [--seconds S] [--participants P]
[--talking] [--timeline] [--same-loop]` (about 15 s with the defaults).

The real bot runs between the Kazoo simulator and the fake Slack over sockets on 127.0.0.1, one
channel watching Standup (`/conf watch Standup` by an admin). 200 callers join, and once the
channel has caught up, 10,000 events follow at a steady rate over 10 s, driven through the
simulator: mostly start/stop talking (at most a handful talk at once; a muted caller never starts
talking, since the simulator would then report talking over REST with no event to say so), mutes
and unmutes, and a few leaves, each followed by a rejoin a second later.

Reported: the Slack calls to that channel (chat.postMessage + chat.update) beside a naive relay
posting once per event; calls per second over the burst; whether the join and leave lines named
everyone once; the event lag; the CPU time per event; and whether the final live status message
(and the bot's own state of every participant) matches the simulator.

The simulator, the fake Slack and the driver run on their own event loop in a second thread, so
that thread's CPU time (`time.thread_time`) is theirs and the rest of the process time (the bot's
loop, plus its SQLite and resolver threads) is the bot's. `--same-loop` runs everything on one
loop instead, as the integration tests do, for the process total without the split.

Target: no more than one Slack call a second per channel on average over the burst, and the final
status message exact.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bot.app import Bot
from bot.metrics import KAZOO_EVENTS, NOTICE_LAG
from bot.simulator import KazooSimulator
from bot.slack.render import DEAF, MODERATOR, MUTED, TALKING
from tests.integration.harness import CHANNEL, GRACE, World, bot_settings, world

T = TypeVar("T")

SLACK_RATE = 1.0  # Slack's posting limit: about one message a second per channel
CALLS = ("chat.postMessage", "chat.update")
MARKS = {MODERATOR: "moderator", MUTED: "muted", DEAF: "deaf", TALKING: "talking"}


# --- the simulator and the fake Slack, on their own loop ------------------------------------------


class WorldThread:
    """`harness.world()` (simulator + fake Slack) served by an event loop in a second thread."""

    threaded = True

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="world", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._world: World | None = None
        self._error: BaseException | None = None

    @property
    def world(self) -> World:
        assert self._world is not None
        return self._world

    def start(self, timeout: float = 30.0) -> None:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the simulator and fake Slack did not start")
        if self._error is not None:
            raise RuntimeError("the simulator and fake Slack did not start") from self._error

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with world() as w:
            self._world = w
            self._ready.set()
            await self._stop.wait()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the world's loop; await its result from this one."""
        assert self._loop is not None
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Call `fn(*args)` on the world's loop (the simulator and the fake are not thread-safe)."""

        async def invoke() -> T:
            return fn(*args)

        return await self.run(invoke())


class SameLoop:
    """`harness.world()` on the bot's own loop (`--same-loop`): no CPU split, no hand-offs."""

    threaded = False

    def __init__(self, w: World) -> None:
        self.world = w

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return await coro

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        return fn(*args)


Side = WorldThread | SameLoop


@contextlib.asynccontextmanager
async def bot_beside(side: Side, database: str) -> AsyncIterator[Bot]:
    """The bot on this loop, wired to the world in the other thread (as `harness.bot_in`)."""
    w = side.world
    settings = bot_settings(w, database)
    bot = await Bot.build(settings)
    previous = await side.call(lambda: (w.slack.socket_connections or [None])[-1])
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    try:
        await side.run(w.slack.wait_for_socket(timeout=10.0, after=previous))
        yield bot
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20.0)


async def command(side: Side, text: str, user: str) -> str:
    """`/conf text` in the channel; the private reply's text."""
    slack = side.world.slack

    async def push_and_read() -> str:
        since = time.monotonic()
        await slack.push_slash_command(text, user_id=user, channel_id=CHANNEL)
        reply = await slack.wait_for_response(lambda r: r.time >= since, timeout=10.0)
        return reply.text or ""

    return await side.run(push_and_read())


# --- the callers (driven on the world's loop) -----------------------------------------------------


@dataclass
class Caller:
    name: str
    number: str
    moderator: bool
    muted: bool
    pid: int = 0
    talking: bool = False


@dataclass
class Crowd:
    """The callers as the driver sees them; every `step` makes the simulator emit one event."""

    sim: KazooSimulator
    conference_id: str
    seed: int
    max_talkers: int = 6
    leave_share: float = 0.015
    mute_share: float = 0.12
    rejoin_after: float = 1.0
    present: list[Caller] = field(default_factory=list)
    talkers: list[Caller] = field(default_factory=list)
    away: list[tuple[float, Caller]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def join_all(self, participants: int) -> int:
        for n in range(1, participants + 1):
            caller = Caller(f"Caller {n:03d}", f"+1555{n:07d}", moderator=n <= 2, muted=n % 4 == 0)
            self._join(caller)
        return participants + 1  # and conference-create

    def _join(self, caller: Caller) -> None:
        caller.pid = self.sim.join(
            self.conference_id,
            caller.name,
            caller.number,
            moderator=caller.moderator,
            muted=caller.muted,
        )
        caller.talking = False
        self.present.append(caller)

    def step(self, now: float, remaining: int) -> None:
        """One event; `remaining` counts this one, so every leave can still be rejoined."""
        if self.away and (self.away[0][0] <= now or remaining <= len(self.away)):
            _, caller = self.away.pop(0)
            self._join(caller)
            self.counts["rejoin"] += 1
            return
        roll = self.rng.random()
        # Never the last one out (that would end the meeting and add conference-destroy).
        if roll < self.leave_share and remaining > len(self.away) + 1 and len(self.present) > 1:
            caller = self.rng.choice(self.present)
            self.sim.leave(self.conference_id, caller.pid)
            self.present.remove(caller)
            if caller.talking:
                self.talkers.remove(caller)
            self.away.append((now + self.rejoin_after, caller))
            self.counts["leave"] += 1
            return
        if roll < self.leave_share + self.mute_share or not self._talk():
            caller = self.rng.choice(self.present)
            caller.muted = not caller.muted
            self.sim.set_muted(self.conference_id, caller.pid, caller.muted)
            if caller.talking:  # muting silences: the simulator stops the talking flag too
                caller.talking = False
                self.talkers.remove(caller)
            self.counts["mute" if caller.muted else "unmute"] += 1

    def _talk(self) -> bool:
        if self.talkers and (len(self.talkers) >= self.max_talkers or self.rng.random() < 0.5):
            caller = self.talkers.pop(self.rng.randrange(len(self.talkers)))
            caller.talking = False
            self.sim.stop_talking(self.conference_id, caller.pid)
            self.counts["stop-talking"] += 1
            return True
        for _ in range(20):
            caller = self.rng.choice(self.present)
            if not caller.muted and not caller.talking:
                caller.talking = True
                self.talkers.append(caller)
                self.sim.start_talking(self.conference_id, caller.pid)
                self.counts["start-talking"] += 1
                return True
        return False


@dataclass
class Drive:
    started: float  # time.monotonic()
    ended: float
    sent: int
    ticks: int


async def drive(crowd: Crowd, events: int, seconds: float, tick: float) -> Drive:
    """`events` steps at a steady rate over `seconds`, a batch every `tick` seconds."""
    loop = asyncio.get_running_loop()
    start = loop.time()  # the loop's clock is time.monotonic(), like the fake Slack's
    sent = ticks = 0
    while sent < events:
        now = loop.time()
        due = min(events, math.ceil(events * (now - start + tick) / seconds))
        while sent < due:
            crowd.step(now, events - sent)
            sent += 1
        ticks += 1
        await asyncio.sleep(max(0.0, start + ticks * tick - loop.time()))
    return Drive(start, loop.time(), sent, ticks)


# --- what the bot did -----------------------------------------------------------------------------


def events_received() -> float:
    """Kazoo websocket events the bot has read so far (its own counter, every event name)."""
    return sum(
        s.value for m in KAZOO_EVENTS.collect() for s in m.samples if s.name.endswith("_total")
    )


def notice_lag() -> tuple[float, float]:
    """(sum, count) of the bot's event-to-Slack lag histogram."""
    found = {s.name: s.value for m in NOTICE_LAG.collect() for s in m.samples if not s.labels}
    return found.get("confbot_notice_lag_seconds_sum", 0.0), found.get(
        "confbot_notice_lag_seconds_count", 0.0
    )


@dataclass(frozen=True)
class SlackCall:
    method: str
    time: float
    ok: bool
    status_message: bool  # a post with blocks: the live status message
    ts: str | None
    text: str


def channel_calls(side: Side) -> list[SlackCall]:
    """Posts and edits to the watching channel so far (call on the world's loop)."""
    return [
        SlackCall(
            c.method,
            c.time,
            c.ok,
            bool(c.args.get("blocks")),
            (c.response or {}).get("ts"),
            str(c.args.get("text", "")),
        )
        for c in side.world.slack.calls
        if c.method in CALLS and c.args.get("channel") == CHANNEL
    ]


async def until_quiet(side: Side, bot: Bot, timeout: float) -> bool:
    """Notices idle, the engine settled and no Slack call in flight, twice 0.2 s apart."""
    slack = side.world.slack
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2:
        if time.monotonic() > deadline:
            return False
        await bot.engine.settle()
        in_flight = await side.call(lambda: any(c.status is None for c in slack.calls))
        quiet = quiet + 1 if bot.notices.idle() and not in_flight else 0
        await asyncio.sleep(0.2)
    return True


async def until_received(count: float, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while events_received() < count:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


# --- the final state ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    name: str
    number: str
    moderator: bool
    muted: bool
    deaf: bool
    talking: bool


def simulator_people(sim: KazooSimulator, conference_id: str) -> list[Person]:
    """The simulator's participants in join order (member ids only grow)."""
    people = []
    for p in sorted(sim.participants(conference_id), key=lambda p: int(p["participant_id"])):
        flags = p["conference_channel_vars"]
        people.append(
            Person(
                str(p["caller_id_name"]),
                str(p["caller_id_number"]),
                bool(flags["is_moderator"]),
                not flags["speak"],
                not flags["hear"],
                bool(flags["talking"]),
            )
        )
    return people


@dataclass
class Shown:
    """What the live status message says."""

    count: int | None = None
    moderators: int | None = None
    talking_names: list[str] = field(default_factory=list)  # the (at most two) names shown
    talking_count: int = 0
    listed: list[Person] = field(default_factory=list)
    more: int = 0


def _text(block: dict[str, Any]) -> str:
    if block.get("type") == "context":
        return " ".join(str(e.get("text", "")) for e in block.get("elements", []))
    return str((block.get("text") or {}).get("text", ""))


def parse_live(blocks: list[dict[str, Any]]) -> Shown:
    shown = Shown()
    for block in blocks:
        block_id, text = str(block.get("block_id", "")), _text(block)
        if block_id == "head":
            if m := re.search(r"(\d+) in the call", text):
                shown.count = int(m.group(1))
            if m := re.search(r"(\d+) moderators?\b", text):
                shown.moderators = int(m.group(1))
            if "\n" in text:
                shown.talking_names, shown.talking_count = _parse_talking(text.split("\n", 1)[1])
        elif block_id == "roster-more":
            if m := re.search(r"and (\d+) more", text):
                shown.more = int(m.group(1))
        elif block_id.startswith("roster-"):
            shown.listed.extend(_parse_line(line) for line in text.split("\n"))
    return shown


def _parse_talking(line: str) -> tuple[list[str], int]:
    """`:emoji: A, B and 3 others are talking` -> (["A", "B"], 5)."""
    body = re.sub(r" (is|are) talking$", "", line.split(" ", 1)[1] if " " in line else line)
    if m := re.fullmatch(r"(.+), (.+) and (\d+) others?", body):
        return [m.group(1), m.group(2)], 2 + int(m.group(3))
    names = body.split(" and ")
    return names, len(names)


def _parse_line(line: str) -> Person:
    """`• *Caller 001* +15550000001 :star: :mute:` -> a Person."""
    m = re.fullmatch(r"• \*(.+?)\*(.*)", line)
    if m is None:
        return Person(line, "", False, False, False, False)
    tokens = m.group(2).split()
    marks = {MARKS[t] for t in tokens if t in MARKS}
    number = next((t for t in tokens if t not in MARKS), "")
    return Person(
        m.group(1),
        number,
        "moderator" in marks,
        "muted" in marks,
        "deaf" in marks,
        "talking" in marks,
    )


def compare_message(shown: Shown, people: list[Person]) -> list[str]:
    problems = []
    moderators = sum(p.moderator for p in people)
    if shown.count != len(people):
        problems.append(f"head says {shown.count} in the call, the simulator has {len(people)}")
    if shown.moderators != moderators:
        problems.append(f"head says {shown.moderators} moderators, the simulator has {moderators}")
    talkers = [p.name for p in people if p.talking]
    if shown.talking_count != len(talkers) or shown.talking_names != talkers[:2]:
        problems.append(
            f"head shows {shown.talking_count} talking {shown.talking_names}, "
            f"the simulator has {len(talkers)} {talkers[:2]}"
        )
    for n, (seen, truth) in enumerate(zip(shown.listed, people, strict=False)):
        if seen != truth:
            problems.append(f"line {n + 1}: shown {seen}, simulator {truth}")
    if len(shown.listed) + shown.more != len(people):
        problems.append(
            f"{len(shown.listed)} listed + {shown.more} more != {len(people)} in the simulator"
        )
    return problems


def compare_engine(bot: Bot, conference_id: str, people: list[Person]) -> list[str]:
    """The bot's own state of every participant (the message lists only the first 100)."""
    conference = bot.engine.conference(conference_id)
    if conference is None:
        return ["the bot does not know the conference"]
    mine = {
        p.name: Person(p.name, p.number, p.is_moderator, p.muted, p.deaf, p.talking)
        for p in conference.roster()
    }
    truth = {p.name: p for p in people}
    problems = [
        f"{name}: bot {mine.get(name)}, simulator {truth.get(name)}"
        for name in sorted(set(mine) | set(truth))
        if mine.get(name) != truth.get(name)
    ]
    order = [p.name for p in conference.roster()]
    if not problems and order != [p.name for p in people]:
        problems.append("the bot's roster order differs from the join order")
    return problems


def named(line: str) -> int:
    """How many people a line names: `A`, `A and B`, `A, B and 3 others ...`."""
    if m := re.match(r".+?, .+? and (\d+) others? ", line):
        return 2 + int(m.group(1))
    head = re.split(r" (?:joined|left|is talking|are talking) ", line)[0]
    return len(head.split(" and "))


def announced(calls: list[SlackCall]) -> Counter[str]:
    """People named in the join, leave and talking lines among `calls`."""
    found: Counter[str] = Counter()
    for call in calls:
        if call.method != "chat.postMessage" or call.status_message or not call.ok:
            continue
        for line in call.text.split("\n"):
            for word in ("joined", "left", "talking"):
                if f" {word} " in line:
                    found[word] += named(line)
    return found


# --- the run --------------------------------------------------------------------------------------


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.nan


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole > 0 else "n/a"


async def run(side: Side, args: argparse.Namespace) -> None:
    w = side.world
    sim, cid = w.sim, w.standup
    with tempfile.TemporaryDirectory() as tmp:
        async with bot_beside(side, f"sqlite:///{Path(tmp) / 'bench.db'}") as bot:
            reply = await command(
                side, "watch Standup" + (" talking" if args.talking else ""), GRACE
            )
            print(f"watch: {reply}")
            await side.run(sim.wait_for_subscribers(cid, 1, timeout=10.0))
            await asyncio.sleep(0.5)  # the watch's first REST read of Standup
            await bot.engine.settle()

            crowd = Crowd(sim, cid, seed=args.seed)
            received = events_received()
            join_started = time.monotonic()
            joins = await side.call(crowd.join_all, args.participants)
            await until_received(received + joins, timeout=30.0)
            await until_quiet(side, bot, timeout=30.0)
            join_calls = [c for c in await side.call(channel_calls, side) if c.time >= join_started]
            print(
                f"joins: {args.participants} callers joined; {len(join_calls)} Slack calls to the "
                f"channel in {time.monotonic() - join_started:.1f} s until quiet"
            )

            received = events_received()
            lag_before = notice_lag()
            posts, edits, limited = bot.notices.posts, bot.notices.edits, bot.notices.rate_limited
            world_cpu = await side.call(time.thread_time) if side.threaded else 0.0
            cpu = time.process_time()
            burst = await side.run(drive(crowd, args.events, args.seconds, args.tick))
            caught_up = await until_received(received + burst.sent, timeout=60.0)
            caught_at = time.monotonic()
            quiet = await until_quiet(side, bot, timeout=60.0)
            quiet_at = time.monotonic()
            cpu = time.process_time() - cpu
            if side.threaded:
                world_cpu = await side.call(time.thread_time) - world_cpu
            lag_after = notice_lag()

            calls = [c for c in await side.call(channel_calls, side) if c.time >= burst.started]
            during = [c for c in calls if c.time <= burst.ended]
            window = burst.ended - burst.started
            overall = (calls[-1].time if calls else quiet_at) - burst.started
            methods = Counter(c.method for c in calls)
            status_ts = next(
                (c.ts for c in reversed(await side.call(channel_calls, side)) if c.status_message),
                None,
            )
            message = await side.call(w.slack.message, CHANNEL, status_ts) if status_ts else None
            people = await side.call(simulator_people, sim, cid)
            engine_problems = compare_engine(bot, cid, people)
            posts, edits = bot.notices.posts - posts, bot.notices.edits - edits
            limited = bot.notices.rate_limited - limited

        # The bot has stopped; everything below only reports.
        events = burst.sent
        print(
            f"burst: {events} events in {window:.2f} s ({rate(events, window):.0f}/s, "
            f"{burst.ticks} ticks), {args.participants} participants: "
            + ", ".join(f"{k} {v}" for k, v in sorted(crowd.counts.items()))
        )
        bot_received = events_received() - received
        print(
            f"  the bot read {bot_received:.0f} of them; caught up "
            f"{caught_at - burst.ended:.2f} s after the last one"
            + ("" if caught_up else " (timed out waiting)")
            + f"; notices quiet {quiet_at - burst.ended:.2f} s after it"
            + ("" if quiet else " (timed out waiting)")
        )
        print(
            f"Slack calls to the channel: {len(calls)} "
            f"({methods['chat.postMessage']} chat.postMessage, {methods['chat.update']} chat.update"
            f"; notices counted {posts} posts, {edits} edits, {limited} rate-limited)"
        )
        print(
            f"  a naive relay: {events} posts, {events / SLACK_RATE:,.0f} s "
            f"({events / SLACK_RATE / 3600:.1f} h) at Slack's 1 post/s; the bot made "
            f"{events / max(1, len(calls)):,.0f}x fewer calls"
        )
        burst_rate = rate(len(during), window)
        print(
            f"  per second in the channel: {burst_rate:.2f} over the burst "
            f"({len(during)} calls in {window:.1f} s); {rate(len(calls), overall):.2f} "
            f"to the last call ({len(calls)} in {overall:.1f} s)"
        )
        lines = announced(calls)
        print(
            f"  lines named {lines['left']} leaves and {lines['joined']} joins "
            f"(the driver made {crowd.counts['leave']} and {crowd.counts['rejoin']})"
            + (f", {lines['talking']} talkers" if args.talking else "")
        )
        during_methods = Counter(c.method for c in during)
        print(
            f"  over the burst: posts {rate(during_methods['chat.postMessage'], window):.2f}/s, "
            f"edits {rate(during_methods['chat.update'], window):.2f}/s"
        )
        if args.timeline:
            for c in calls:
                kind = "status" if c.status_message else c.text.split("\n")[0][:70]
                print(f"    {c.time - burst.started:6.2f} s  {c.method:16} {kind}")
        lag_sum, lag_count = lag_after[0] - lag_before[0], lag_after[1] - lag_before[1]
        if lag_count:
            print(
                f"  event-to-Slack lag (bot's histogram): mean {lag_sum / lag_count:.2f} s "
                f"over {lag_count:.0f} posts and edits"
            )
        print(
            f"CPU from the burst's start until quiet: process {cpu:.2f} s = "
            f"{1e6 * cpu / events:.0f} µs/event"
        )
        if side.threaded:
            bot_cpu = cpu - world_cpu
            print(
                f"  bot {bot_cpu:.2f} s = {1e6 * bot_cpu / events:.0f} µs/event "
                f"({percent(bot_cpu, cpu)}); simulator + fake Slack + driver {world_cpu:.2f} s "
                f"= {1e6 * world_cpu / events:.0f} µs/event ({percent(world_cpu, cpu)})"
            )
            print(
                "  note: the simulator, the fake Slack and the event driver run on their own loop"
                " in a second thread; that thread's CPU time is theirs, the rest of the process"
                " time is the bot's (its event loop, its SQLite and DNS helper threads). Two"
                " loops in two threads cost more in all than one (GIL hand-offs, smaller"
                " batches per wake-up), so the bot's figure is an upper bound: compare the"
                " process total with `--same-loop`."
            )
        else:
            print(
                "  note: --same-loop runs the bot, the simulator, the fake Slack and the driver"
                " on one loop, as the integration tests do: the process total is all of them"
                " together, with no split (run without --same-loop for the bot's share)."
            )

        rate_met = burst_rate <= SLACK_RATE
        problems: list[str] = []
        if message is None:
            problems.append("no live status message found")
        else:
            shown = parse_live(message.blocks)
            problems = compare_message(shown, people)
            print(
                f"final status message: {shown.count} in the call, {len(shown.listed)} listed "
                f"+ {shown.more} more, {shown.talking_count} talking; simulator: {len(people)} "
                f"in the call, {sum(p.talking for p in people)} talking, "
                f"{sum(p.muted for p in people)} muted"
            )
        for problem in problems[:10]:
            print(f"  message differs: {problem}")
        if len(problems) > 10:
            print(f"  ... and {len(problems) - 10} more differences")
        for problem in engine_problems[:10]:
            print(f"  bot state differs: {problem}")
        print(
            f"  bot state (all {len(people)} participants) matches: "
            f"{'yes' if not engine_problems else 'no'}"
        )
        print(
            f"target <= {SLACK_RATE:.0f} Slack call/s per channel over the burst met: "
            f"{'yes' if rate_met else 'no'}"
        )
        print(f"target final status message exact met: {'yes' if not problems else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000, help="events in the burst")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the burst")
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--tick", type=float, default=0.01, help="seconds between batches")
    parser.add_argument("--talking", action="store_true", help="watch with talking lines")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--timeline", action="store_true", help="list every call to the channel")
    parser.add_argument(
        "--same-loop",
        action="store_true",
        help="everything on one event loop (process CPU total only, no bot/simulator split)",
    )
    args = parser.parse_args()
    if args.same_loop:
        asyncio.run(run_same_loop(args))
        return
    side = WorldThread()
    side.start()
    try:
        asyncio.run(run(side, args))
    finally:
        side.stop()


async def run_same_loop(args: argparse.Namespace) -> None:
    async with world() as w:
        await run(SameLoop(w), args)


if __name__ == "__main__":
    main()
