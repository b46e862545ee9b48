"""EventStream against the Kazoo simulator: real blackhole semantics, real REST logins."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from bot.kazoo.models import EventFrame
from bot.kazoo.stream import EventStream
from bot.simulator import KazooSimulator

STEP = 5.0  # upper bound for any single wait
MEMBER_EVENTS = {"add-member", "del-member", "start-talking", "stop-talking"}


class RestLogin:
    """The owner's side: tokens from the simulator's api_auth, and the stream callbacks."""

    def __init__(self, sim: KazooSimulator, http: httpx.AsyncClient) -> None:
        self._sim = sim
        self._http = http
        self._current: str | None = None
        self.issued: list[str] = []
        self.invalidated: list[str] = []
        self.events: asyncio.Queue[EventFrame] = asyncio.Queue()
        self.connected: asyncio.Queue[int] = asyncio.Queue()
        self.connected_calls = 0

    async def token(self) -> str:
        if self._current is None:
            response = await self._http.put(
                f"{self._sim.http_url}/api_auth", json={"data": {"api_key": self._sim.api_key}}
            )
            assert response.status_code == 201, response.text
            token = response.json()["auth_token"]
            assert isinstance(token, str)
            self._current = token
            self.issued.append(token)
        return self._current

    async def invalidate(self, token: str) -> None:
        self.invalidated.append(token)
        if token == self._current:
            self._current = None

    def on_event(self, frame: EventFrame) -> None:
        self.events.put_nowait(frame)

    async def on_connected(self) -> None:
        self.connected_calls += 1
        self.connected.put_nowait(self.connected_calls)

    async def next_connected(self) -> int:
        async with asyncio.timeout(STEP):
            return await self.connected.get()

    async def events_until(self, conference_id: str, event: str) -> list[str]:
        """Event names (member events only) up to and including ``event`` in ``conference_id``."""
        names: list[str] = []
        async with asyncio.timeout(STEP):
            while True:
                frame = await self.events.get()
                name = frame.data.event
                if name in MEMBER_EVENTS:
                    names.append(f"{frame.data.conference_id}:{name}")
                if name == event and frame.data.conference_id == conference_id:
                    return names


async def instant_sleep(_: float) -> None:
    await asyncio.sleep(0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=STEP) as client:
        yield client


@asynccontextmanager
async def streaming(
    sim: KazooSimulator, http: httpx.AsyncClient, *watch: str, **kw: Any
) -> AsyncIterator[tuple[EventStream, RestLogin]]:
    owner = RestLogin(sim, http)
    stream = EventStream(
        ws_url=lambda: sim.ws_url,
        token=owner.token,
        invalidate_token=owner.invalidate,
        account_id=lambda: sim.account_id,
        on_event=owner.on_event,
        on_connected=owner.on_connected,
        rng=random.Random(1),
        sleep=instant_sleep,
        **kw,
    )
    stream.set_watched(watch)
    task = asyncio.create_task(stream.run())
    try:
        yield stream, owner
    finally:
        task.cancel()
        async with asyncio.timeout(STEP):
            with pytest.raises(asyncio.CancelledError):
                await task


async def test_events_arrive_in_order_after_subscribe(http: httpx.AsyncClient) -> None:
    async with KazooSimulator() as sim:
        cid = sim.add_conference("standup", numbers=["3001"])
        async with streaming(sim, http, cid) as (stream, owner):
            await stream.wait_connected(STEP)
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)
            alice = sim.join(cid, "Alice", "1001", moderator=True)
            bob = sim.join(cid, "Bob", "1002")
            sim.start_talking(cid, bob)
            sim.leave(cid, bob)
            sim.leave(cid, alice)
            names = await owner.events_until(cid, "del-member")
            names += await owner.events_until(cid, "del-member")
            assert names == [
                f"{cid}:add-member",
                f"{cid}:add-member",
                f"{cid}:start-talking",
                f"{cid}:del-member",
                f"{cid}:del-member",
            ]
            assert stream.binding_format == "conference-first"
            assert stream.events_received >= 5
            assert stream.malformed_frames == 0


async def test_reconnect_after_drop_resubscribes_and_resyncs(http: httpx.AsyncClient) -> None:
    async with KazooSimulator() as sim:
        cid = sim.add_conference("standup", numbers=["3001"])
        async with streaming(sim, http, cid) as (stream, owner):
            assert await owner.next_connected() == 1
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)

            await sim.drop_sockets()
            assert await owner.next_connected() == 2  # on_connected again: the owner resyncs
            assert stream.connected
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)
            assert sim.connection_count == 2
            assert stream.reconnects == 1
            assert len(owner.issued) == 1  # the cached token was still good

            sim.join(cid, "Alice", "1001")
            assert await owner.events_until(cid, "add-member") == [f"{cid}:add-member"]


async def test_reconnect_with_an_expired_token_logs_in_again(http: httpx.AsyncClient) -> None:
    async with KazooSimulator() as sim:
        cid = sim.add_conference("standup", numbers=["3001"])
        async with streaming(sim, http, cid) as (stream, owner):
            assert await owner.next_connected() == 1
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)

            # The live session stays authenticated past expiry (§6.6) ...
            sim.expire_tokens()
            sim.join(cid, "Alice", "1001")
            assert await owner.events_until(cid, "add-member") == [f"{cid}:add-member"]

            # ... but a new connection must present a valid token.
            await sim.drop_sockets()
            assert await owner.next_connected() == 2
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)
            assert owner.invalidated == [owner.issued[0]]
            assert len(owner.issued) == 2
            assert stream.reconnects == 1  # the re-login happened on the same socket

            sim.join(cid, "Bob", "1002")
            assert await owner.events_until(cid, "add-member") == [f"{cid}:add-member"]


async def test_malformed_frame_is_skipped(http: httpx.AsyncClient) -> None:
    async with KazooSimulator() as sim:
        cid = sim.add_conference("standup", numbers=["3001"])
        async with streaming(sim, http, cid) as (stream, owner):
            await stream.wait_connected(STEP)
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)
            sim.send_raw_frame('{"action": "event", "subscribed_key": ')
            sim.join(cid, "Alice", "1001")
            assert await owner.events_until(cid, "add-member") == [f"{cid}:add-member"]
            assert stream.malformed_frames == 1
            assert stream.connected
            assert sim.connection_count == 1


async def test_watch_and_unwatch_at_run_time(http: httpx.AsyncClient) -> None:
    async with KazooSimulator() as sim:
        first = sim.add_conference("standup", numbers=["3001"])
        second = sim.add_conference("retro", numbers=["3002"])
        third = sim.add_conference("planning", numbers=["3003"])
        async with streaming(sim, http, first) as (stream, owner):
            await stream.wait_connected(STEP)
            await sim.wait_for_subscribers(first, count=1, timeout=STEP)

            stream.watch(second)
            await sim.wait_for_subscribers(second, count=1, timeout=STEP)
            sim.join(second, "Bob", "1002")
            assert await owner.events_until(second, "add-member") == [f"{second}:add-member"]

            # The unsubscribe is sent as soon as the stream drops `first` from its confirmed set;
            # a subscribe for `third` asked for after that is sent only once the unsubscribe is
            # answered, so the simulator has processed the unsubscribe when `third` shows up.
            stream.unwatch(first)
            async with asyncio.timeout(STEP):
                while first in stream.subscribed:  # noqa: ASYNC110 (no event to await)
                    await asyncio.sleep(0)
            stream.watch(third)
            await sim.wait_for_subscribers(third, count=1, timeout=STEP)

            # Events for the unwatched conference no longer come: the simulator keeps per-socket
            # order, so nothing from `first` may precede the `second` event that follows it.
            sim.join(first, "Alice", "1001")
            sim.join(second, "Carol", "1003")
            assert await owner.events_until(second, "add-member") == [f"{second}:add-member"]
            assert stream.watched == {second, third}
            assert stream.subscribed == {second, third}
            assert owner.connected_calls == 1


async def test_event_first_server_triggers_the_fallback(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.kazoo.stream")
    async with KazooSimulator(binding_format="event-first") as sim:
        cid = sim.add_conference("standup", numbers=["3001"])
        async with streaming(sim, http, cid) as (stream, owner):
            assert await owner.next_connected() == 1
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)
            assert stream.binding_format == "event-first"
            sim.join(cid, "Alice", "1001")
            frame = await asyncio.wait_for(owner.events.get(), STEP)
            while frame.data.event != "add-member":
                frame = await asyncio.wait_for(owner.events.get(), STEP)
            assert frame.subscribed_key == f"conference.event.*.{cid}.*"

            # The chosen format survives a reconnect: no refused subscribe the second time.
            await sim.drop_sockets()
            assert await owner.next_connected() == 2
            await sim.wait_for_subscribers(cid, count=1, timeout=STEP)
            assert stream.binding_format == "event-first"
            fallbacks = [r for r in caplog.records if "trying event-first" in r.getMessage()]
            assert len(fallbacks) == 1
