"""Socket Mode ack latency of `/conf` commands, with Kazoo answering at once and taking 2 s.

Run: `PYTHONPATH=. .venv/bin/python bench/ack.py [--commands N] [--concurrency C]
[--slow-concurrency C] [--slow-latency S]` (about 35 s with the defaults).

The real bot runs between the Kazoo simulator and the fake Slack over sockets on 127.0.0.1 (the
integration-test harness), all in this process. Each scenario pushes N `/conf` commands from a full
member (status, lock, unlock and mute-all on Standup, in turn), C at a time: a command is in flight
from its push until its private reply reaches the response URL, and the next one is pushed as soon
as a slot frees. The ack latency is the fake Slack's own figure: from sending the envelope to
reading the ack.

- baseline: one command at a time, Kazoo answering at once (the floor of the Socket Mode path);
- Kazoo at once: C commands in flight (default 10), a saturated bot;
- Kazoo slow: every Kazoo answer takes S seconds (default 2). A command makes two or three Kazoo
  calls one after another (4-6 s), so more are kept in flight (default 40, ~8 commands a second)
  to finish in about 35 s, their first pushes spread out so they do not arrive in lockstep.

Target: p99 ack latency under 50 ms in the two loaded scenarios.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlparse

from tests.fakes import FakeSlack
from tests.fakes.slack_records import Ack, ResponsePost
from tests.integration.harness import Harness, bot_in, world

COMMANDS = ("status Standup", "lock Standup", "unlock Standup", "mute-all Standup")
TARGET_P99 = 0.050  # seconds
FAILED_REPLIES = ("not answering", "went wrong", "Sorry")

T = TypeVar("T")


class Collector:
    """Acks and replies of pushed commands, matched as the fake Slack records them.

    One task reads the fake's append-only records every `interval` seconds and resolves one future
    per command. (Each of the fake's `wait_for_*` waiters rescans every record whenever anything is
    recorded; with dozens of commands in flight that costs this process more CPU than the bot
    does.) Latencies come from the fake's own timestamps, so the interval does not affect them.
    """

    def __init__(self, slack: FakeSlack, interval: float = 0.002) -> None:
        self.slack = slack
        self.interval = interval
        self._acks: dict[str, Ack] = {}
        self._replies: dict[str, ResponsePost] = {}
        self._ack_waiters: dict[str, asyncio.Future[Ack]] = {}
        self._reply_waiters: dict[str, asyncio.Future[ResponsePost]] = {}
        self._acks_read = 0
        self._replies_read = 0

    async def ack(self, envelope_id: str, timeout: float) -> Ack:
        return await _expect(envelope_id, self._acks, self._ack_waiters, timeout)

    async def reply(self, path: str, timeout: float) -> ResponsePost:
        return await _expect(path, self._replies, self._reply_waiters, timeout)

    async def run(self) -> None:
        while True:
            for ack in self.slack.acks[self._acks_read :]:
                _found(ack.envelope_id, ack, self._acks, self._ack_waiters)
                self._acks_read += 1
            for post in self.slack.responses[self._replies_read :]:
                _found(urlparse(post.url).path, post, self._replies, self._reply_waiters)
                self._replies_read += 1
            await asyncio.sleep(self.interval)


async def _expect(
    key: str, found: dict[str, T], waiters: dict[str, asyncio.Future[T]], timeout: float
) -> T:
    if key in found:
        return found[key]
    future = waiters.setdefault(key, asyncio.get_running_loop().create_future())
    try:
        return await asyncio.wait_for(asyncio.shield(future), timeout)
    finally:
        waiters.pop(key, None)


def _found(key: str, value: T, found: dict[str, T], waiters: dict[str, asyncio.Future[T]]) -> None:
    found.setdefault(key, value)
    future = waiters.get(key)
    if future is not None and not future.done():
        future.set_result(found[key])


@dataclass
class Outcome:
    name: str
    kazoo_latency: float
    concurrency: int
    acks: list[float] = field(default_factory=list)
    replies: list[float] = field(default_factory=list)
    missing_acks: int = 0
    missing_replies: int = 0
    failed_replies: int = 0
    wall: float = 0.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def response_path(h: Harness, envelope_id: str) -> str:
    """The response_url path of the command pushed as `envelope_id`."""
    envelope = next(e for e in reversed(h.slack.envelopes) if e.envelope_id == envelope_id)
    return urlparse(str(envelope.payload["response_url"])).path


async def one_command(
    h: Harness, collector: Collector, text: str, outcome: Outcome, reply_timeout: float
) -> None:
    pushed = time.monotonic()
    envelope = await h.command(text)
    try:
        ack = await collector.ack(envelope, timeout=10.0)
        outcome.acks.append(ack.latency)
    except TimeoutError:
        outcome.missing_acks += 1
    try:
        reply = await collector.reply(response_path(h, envelope), timeout=reply_timeout)
    except TimeoutError:
        outcome.missing_replies += 1
        return
    outcome.replies.append(reply.time - pushed)
    if any(marker in (reply.text or "") for marker in FAILED_REPLIES):
        outcome.failed_replies += 1


async def scenario(
    h: Harness,
    collector: Collector,
    name: str,
    *,
    kazoo_latency: float,
    commands: int,
    concurrency: int,
    ramp: float = 0.0,
) -> Outcome:
    """`commands` commands, `concurrency` in flight; the first ones started `ramp` s apart."""
    outcome = Outcome(name, kazoo_latency, concurrency)
    h.sim.latency = kazoo_latency
    reply_timeout = 10.0 + 5 * kazoo_latency
    gate = asyncio.Semaphore(concurrency)

    async def gated(n: int) -> None:
        async with gate:
            if n < concurrency and ramp > 0:
                await asyncio.sleep(n * ramp)
            await one_command(h, collector, COMMANDS[n % len(COMMANDS)], outcome, reply_timeout)

    start = time.monotonic()
    async with asyncio.TaskGroup() as group:
        for n in range(commands):
            group.create_task(gated(n))
    # Replies are in; the audit lines that follow some of them may still be on their way.
    await h.bot.inflight.wait_idle(30.0)
    outcome.wall = time.monotonic() - start
    h.sim.latency = 0.0
    return outcome


def report(outcome: Outcome, *, judged: bool = True) -> bool:
    ms = [a * 1000 for a in outcome.acks]
    p50, p99 = percentile(ms, 50), percentile(ms, 99)
    met = bool(ms) and p99 < TARGET_P99 * 1000 and outcome.missing_acks == 0
    late = sum(1 for a in outcome.acks if a > 3.0)
    print(
        f"{outcome.name}: Kazoo latency {outcome.kazoo_latency:.1f} s, "
        f"{len(outcome.acks) + outcome.missing_acks} commands, {outcome.concurrency} in flight, "
        f"{outcome.wall:.1f} s"
    )
    worst = max(ms, default=math.nan)
    print(
        f"  ack latency    p50 {p50:7.1f} ms  p99 {p99:7.1f} ms  max {worst:7.1f} ms"
        f"  (over Slack's 3 s: {late}, missing: {outcome.missing_acks})"
    )
    print(
        f"  reply latency  p50 {percentile(outcome.replies, 50):7.2f} s   "
        f"p99 {percentile(outcome.replies, 99):7.2f} s   "
        f"(missing: {outcome.missing_replies}, error replies: {outcome.failed_replies})"
    )
    if judged:
        print(f"  target p99 < {TARGET_P99 * 1000:.0f} ms met: {'yes' if met else 'no'}")
    return met


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        database = f"sqlite:///{Path(tmp) / 'bench.db'}"
        async with world() as w, bot_in(w, database) as h:
            collector = Collector(h.slack)
            reader = asyncio.create_task(collector.run())
            try:
                h.sim.join(h.standup, "Boss", "+15550100", moderator=True)
                for n in range(1, args.participants):
                    h.sim.join(h.standup, f"Caller {n:02d}", f"+1555{n + 100:04d}")
                # Unmeasured: the bot's first command logs in to Slack and reads the directory.
                await one_command(h, collector, "status Standup", Outcome("warm-up", 0, 1), 10.0)
                baseline = await scenario(
                    h, collector, "baseline", kazoo_latency=0.0, commands=20, concurrency=1
                )
                fast = await scenario(
                    h,
                    collector,
                    "Kazoo at once",
                    kazoo_latency=0.0,
                    commands=args.commands,
                    concurrency=args.concurrency,
                )
                slow = await scenario(
                    h,
                    collector,
                    "Kazoo slow",
                    kazoo_latency=args.slow_latency,
                    commands=args.commands,
                    concurrency=args.slow_concurrency,
                    ramp=2.5 * args.slow_latency / args.slow_concurrency,
                )
            finally:
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader
            report(baseline, judged=False)
            results = [report(fast), report(slow)]
            print(f"target met in both loaded scenarios: {'yes' if all(results) else 'no'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=200, help="commands per scenario")
    parser.add_argument("--concurrency", type=int, default=10, help="in flight, Kazoo at once")
    parser.add_argument("--slow-concurrency", type=int, default=40, help="in flight, slow Kazoo")
    parser.add_argument("--slow-latency", type=float, default=2.0, help="seconds per Kazoo call")
    parser.add_argument(
        "--participants", type=int, default=5, help="callers in Standup during the run"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
