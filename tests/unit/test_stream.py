"""EventStream against a scripted websockets server: every server frame is sent by the test."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from bot.errors import KazooUnavailable
from bot.kazoo.models import EventFrame
from bot.kazoo.stream import EventStream

ACCOUNT = "9d351ad7ffd6f846313af9eed3bb7b85"
CONF_A = "5edbfdd3b825314a71b0a05957392eda"
CONF_B = "5edbfdd3b825314a71b0a05957392edb"
CONF_C = "5edbfdd3b825314a71b0a05957392edc"
STEP = 5.0  # upper bound for any single wait in these tests


def first_format(conference_id: str) -> str:
    return f"conference.event.{conference_id}.*"


def event_first_format(conference_id: str) -> str:
    return f"conference.event.*.{conference_id}.*"


def event_json(binding: str, conference_id: str, event: str, n: int) -> str:
    """A 4.3 conference event frame as blackhole sends it (protocol reference §7.4)."""
    call_id = f"call-{n}"
    return json.dumps(
        {
            "action": "event",
            "subscribed_key": binding,
            "subscription_key": f"conference.event.*.{ACCOUNT}.{conference_id}.*",
            "name": "event",
            "routing_key": f"conference.event.{event}.{ACCOUNT}.{conference_id}.{call_id}",
            "data": {
                "event": event,
                "conference_id": conference_id,
                "instance_id": "d5765180-53d5-4104-860e-b352f3f8e6b1",
                "account_id": ACCOUNT,
                "call_id": call_id,
                "participant_id": n,
                "caller_id_name": f"caller {n}",
                "caller_id_number": f"10{n:02d}",
                "channel_presence_id": "1000@kamailio.kazoo",
                "conference_channel_vars": {
                    "is_moderator": False,
                    "member_id": n,
                    "speak": True,
                    "hear": True,
                    "talking": False,
                    "floor": False,
                    "video": False,
                    "mute_detect": False,
                    "energy_level": 20,
                    "member_type": "member",
                },
                "custom_channel_vars": {"account_id": ACCOUNT},
                "custom_application_vars": {},
                "app_name": "ecallmgr",
                "app_version": "4.0.0",
                "event_category": "conference",
                "event_name": "event",
                "msg_id": f"msg{n}",
            },
        }
    )


# ---------------------------------------------------------------------------- scripted server


class Peer:
    """The server end of one accepted connection; the test decides every frame."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws

    async def recv(self) -> dict[str, Any]:
        async with asyncio.timeout(STEP):
            raw = await self.ws.recv()
        message = json.loads(raw)
        assert isinstance(message, dict)
        return message

    async def expect(self, action: str) -> dict[str, Any]:
        message = await self.recv()
        assert message["action"] == action, message
        return message

    async def expect_subscribes(self, count: int) -> dict[str, dict[str, Any]]:
        """``count`` subscribe messages, keyed by binding (they may be sent in any order)."""
        by_binding: dict[str, dict[str, Any]] = {}
        for _ in range(count):
            message = await self.expect("subscribe")
            by_binding[message["data"]["binding"]] = message
        return by_binding

    async def send(self, frame: str | bytes) -> None:
        await self.ws.send(frame)

    async def reply(
        self, request: dict[str, Any], *, error: str | None = None, data: Any = None
    ) -> None:
        if error is not None:
            frame = {"status": "error", "data": {"errors": [error]}}
        else:
            if data is None:
                data = {"subscribed": [request.get("data", {}).get("binding")]}
            frame = {"status": "success", "data": data}
        await self.send(
            json.dumps({"action": "reply", "request_id": request["request_id"]} | frame)
        )

    async def accept_all(self, count: int) -> dict[str, dict[str, Any]]:
        subscribes = await self.expect_subscribes(count)
        for message in subscribes.values():
            await self.reply(message)
        return subscribes

    async def wait_closed(self) -> None:
        async with asyncio.timeout(STEP):
            await self.ws.wait_closed()

    async def close(self) -> None:
        await self.ws.close()


class ScriptedServer:
    def __init__(self) -> None:
        self.peers: asyncio.Queue[Peer] = asyncio.Queue()
        self.subprotocol_headers: list[str | None] = []
        self.url = ""
        self._server: Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self._server = await serve(self._handler, "127.0.0.1", 0)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handler(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        self.subprotocol_headers.append(ws.request.headers.get("Sec-WebSocket-Protocol"))
        await self.peers.put(Peer(ws))
        await ws.wait_closed()

    async def next_peer(self) -> Peer:
        async with asyncio.timeout(STEP):
            return await self.peers.get()


# ---------------------------------------------------------------------------- the owner's side


class Owner:
    """The callbacks an owner passes to EventStream, recording what happened."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[EventFrame] = asyncio.Queue()
        self.connected_calls = 0
        self.connected_q: asyncio.Queue[int] = asyncio.Queue()
        self.disconnected_calls = 0
        self.issued: list[str] = []
        self.invalidated: list[str] = []
        self.token_calls = 0
        self.delays: list[float] = []
        self.on_connected_error: Exception | None = None
        self._current: str | None = None

    async def token(self) -> str:
        self.token_calls += 1
        if self._current is None:  # "log in"
            n = len(self.issued) + 1
            self._current = f"eyJhbGciOiJSUzI1NiJ9.eyJuIjo{n}fQ.c2lnbmF0dXJl{n}"
            self.issued.append(self._current)
        return self._current

    async def invalidate(self, token: str) -> None:
        self.invalidated.append(token)
        if token == self._current:
            self._current = None

    def on_event(self, frame: EventFrame) -> None:
        self.events.put_nowait(frame)

    async def on_connected(self) -> None:
        self.connected_calls += 1
        self.connected_q.put_nowait(self.connected_calls)
        if self.on_connected_error is not None:
            error, self.on_connected_error = self.on_connected_error, None
            raise error

    def on_disconnected(self) -> None:
        self.disconnected_calls += 1

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)

    async def next_event(self) -> EventFrame:
        async with asyncio.timeout(STEP):
            return await self.events.get()

    async def next_connected(self) -> int:
        async with asyncio.timeout(STEP):
            return await self.connected_q.get()


def make_stream(server: ScriptedServer, owner: Owner, **kw: Any) -> EventStream:
    params: dict[str, Any] = {
        "ws_url": lambda: server.url,
        "token": owner.token,
        "invalidate_token": owner.invalidate,
        "account_id": lambda: ACCOUNT,
        "on_event": owner.on_event,
        "on_connected": owner.on_connected,
        "on_disconnected": owner.on_disconnected,
        "rng": random.Random(7),
        "sleep": owner.sleep,
    }
    params.update(kw)
    return EventStream(**params)


@asynccontextmanager
async def running(stream: EventStream) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(stream.run())
    try:
        yield task
    finally:
        task.cancel()
        async with asyncio.timeout(STEP):
            with pytest.raises(asyncio.CancelledError):
                await task
        leaked = [t for t in asyncio.all_tasks() if t.get_name().startswith("kazoo-stream")]
        assert not leaked


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    async with ScriptedServer() as scripted:
        yield scripted


@pytest.fixture
def owner() -> Owner:
    return Owner()


async def eventually(predicate: Callable[[], bool], *, what: str) -> None:
    """Yield to the loop until ``predicate`` holds.

    Only for ``subscribed``, which the driver task updates a loop iteration or two after the
    reply it waits for; there is no event to await. Bounded, and it assumes no timing.
    """
    async with asyncio.timeout(STEP):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0)
    assert predicate(), what


# ---------------------------------------------------------------------------- tests


async def test_subscribes_then_connects_and_delivers_events_in_order(
    server: ScriptedServer, owner: Owner
) -> None:
    stream = make_stream(server, owner)
    stream.set_watched([CONF_A, CONF_B])
    async with running(stream):
        peer = await server.next_peer()
        subscribes = await peer.expect_subscribes(2)
        assert set(subscribes) == {first_format(CONF_A), first_format(CONF_B)}
        for message in subscribes.values():
            assert message["auth_token"] == owner.issued[0]
            assert message["data"]["account_id"] == ACCOUNT
            assert message["request_id"]
        assert not stream.connected
        for message in subscribes.values():
            await peer.reply(message)
        assert await owner.next_connected() == 1
        await stream.wait_connected(STEP)
        assert stream.connected
        assert stream.subscribed == {CONF_A, CONF_B}
        assert server.subprotocol_headers == [None]

        kinds = ["add-member", "start-talking", "mute-member", "del-member"]
        for n, kind in enumerate(kinds):
            await peer.send(event_json(first_format(CONF_A), CONF_A, kind, n))
        received = [await owner.next_event() for _ in kinds]
        assert [frame.data.event for frame in received] == kinds
        assert all(frame.data.conference_id == CONF_A for frame in received)
        assert received[0].subscribed_key == first_format(CONF_A)
        assert stream.events_received == len(kinds)
        assert stream.reconnects == 0
        assert owner.delays == []


async def test_invalid_format_falls_back_to_event_first_and_remembers_it(
    server: ScriptedServer, owner: Owner
) -> None:
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        first = await peer.expect("subscribe")
        assert first["data"]["binding"] == first_format(CONF_A)
        await peer.reply(
            first, error=f"invalid format for conference subscription : event, {CONF_A}, *"
        )
        second = await peer.expect("subscribe")
        assert second["data"]["binding"] == event_first_format(CONF_A)
        await peer.reply(second)
        await stream.wait_connected(STEP)
        assert stream.binding_format == "event-first"

        # Events carry the binding as sent.
        await peer.send(event_json(event_first_format(CONF_A), CONF_A, "add-member", 1))
        assert (await owner.next_event()).subscribed_key == event_first_format(CONF_A)

        # Later subscriptions on this server use the new format straight away ...
        stream.watch(CONF_B)
        third = await peer.expect("subscribe")
        assert third["data"]["binding"] == event_first_format(CONF_B)
        await peer.reply(third)
        await eventually(lambda: CONF_B in stream.subscribed, what="B subscribed")

        # ... and so do the resubscriptions after a reconnect.
        await peer.close()
        peer2 = await server.next_peer()
        again = await peer2.accept_all(2)
        assert set(again) == {event_first_format(CONF_A), event_first_format(CONF_B)}
        assert await owner.next_connected() == 1
        assert await owner.next_connected() == 2
        await stream.wait_connected(STEP)


async def test_event_first_server_falls_back_to_conference_first(
    server: ScriptedServer, owner: Owner
) -> None:
    """After a reconnect to an older server, the remembered format is refused: switch back."""
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        message = await peer.expect("subscribe")
        await peer.reply(message, error="invalid format for conference subscription : event, x")
        await peer.reply(await peer.expect("subscribe"))
        await stream.wait_connected(STEP)
        assert stream.binding_format == "event-first"
        await peer.close()

        peer2 = await server.next_peer()
        message = await peer2.expect("subscribe")
        assert message["data"]["binding"] == event_first_format(CONF_A)
        await peer2.reply(message, error="ConferenceId required")
        message = await peer2.expect("subscribe")
        assert message["data"]["binding"] == first_format(CONF_A)
        await peer2.reply(message)
        await stream.wait_connected(STEP)
        assert str(stream.binding_format) == "conference-first"


async def test_out_of_order_replies_are_matched_by_request_id(
    server: ScriptedServer, owner: Owner, caplog: pytest.LogCaptureFixture
) -> None:
    stream = make_stream(server, owner)
    stream.set_watched([CONF_A, CONF_B, CONF_C])
    async with running(stream):
        peer = await server.next_peer()
        subscribes = await peer.expect_subscribes(3)
        # A reply nobody asked for, then the real ones in reverse order; B is refused.
        await peer.send(json.dumps({"action": "reply", "request_id": "nope", "status": "success"}))
        await peer.reply(subscribes[first_format(CONF_C)])
        await peer.reply(subscribes[first_format(CONF_B)], error="unauthorized account id")
        assert not stream.connected
        await peer.reply(subscribes[first_format(CONF_A)])
        await stream.wait_connected(STEP)
        assert stream.subscribed == {CONF_A, CONF_C}
        assert "unauthorized account id" in caplog.text
        assert CONF_B in caplog.text

        # The refused one is not retried by itself, but an explicit watch() retries it.
        stream.watch(CONF_B)
        retry = await peer.expect("subscribe")
        assert retry["data"]["binding"] == first_format(CONF_B)
        await peer.reply(retry)
        await eventually(lambda: stream.subscribed == {CONF_A, CONF_B, CONF_C}, what="all")
        assert stream.connected
        assert owner.connected_calls == 1


async def test_expired_token_is_invalidated_and_replaced_once(
    server: ScriptedServer, owner: Owner, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    stream = make_stream(server, owner)
    stream.set_watched([CONF_A, CONF_B])
    async with running(stream):
        peer = await server.next_peer()
        subscribes = await peer.expect_subscribes(2)
        stale = owner.issued[0]
        for message in subscribes.values():
            assert message["auth_token"] == stale
            await peer.reply(message, error=f"failed to authenticate token {stale}")
        retries = await peer.expect_subscribes(2)
        assert set(retries) == set(subscribes)
        assert owner.invalidated == [stale]  # once, although both subscribes were refused
        fresh = owner.issued[1]
        for message in retries.values():
            assert message["auth_token"] == fresh
            await peer.reply(message)
        await stream.wait_connected(STEP)
        assert stream.reconnects == 0
    for token in owner.issued:
        assert token not in caplog.text
        assert token.split(".")[1] not in caplog.text


async def test_token_refused_twice_is_a_connection_failure(
    server: ScriptedServer, owner: Owner, caplog: pytest.LogCaptureFixture
) -> None:
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        for _ in range(2):
            message = await peer.expect("subscribe")
            await peer.reply(message, error=f"failed to authenticate token {message['auth_token']}")
        await peer.wait_closed()  # the client gives up on this socket

        peer2 = await server.next_peer()
        assert len(owner.delays) == 1
        message = await peer2.expect("subscribe")
        # Both refused tokens were dropped, so the reconnect logged in afresh.
        assert owner.invalidated == owner.issued[:2]
        assert message["auth_token"] == owner.issued[2]
        await peer2.reply(message)
        await stream.wait_connected(STEP)
        assert owner.disconnected_calls == 0  # never connected before
        assert stream.reconnects == 1
    for token in owner.issued:
        assert token not in caplog.text


async def test_backoff_grows_until_a_connection_was_stable(
    server: ScriptedServer, owner: Owner
) -> None:
    now = [1000.0]
    slept = asyncio.Event()
    sleeps_wanted = 6

    async def sleep(delay: float) -> None:
        owner.delays.append(delay)
        if len(owner.delays) == sleeps_wanted:
            slept.set()
            await asyncio.Event().wait()  # park until cancelled

    stream = make_stream(
        server,
        owner,
        initial_backoff=0.25,
        max_backoff=1.0,
        stable_after=10.0,
        rng=random.Random(42),
        sleep=sleep,
        clock=lambda: now[0],
    )
    stream.watch(CONF_A)

    async def dies_at_once() -> None:
        peer = await server.next_peer()
        await peer.close()

    async def connects_then_dies(lived: float) -> None:
        peer = await server.next_peer()
        await peer.accept_all(1)
        await stream.wait_connected(STEP)
        now[0] += lived
        await peer.close()

    async with running(stream):
        await dies_at_once()  # cap 0.25
        await connects_then_dies(9.0)  # connected, but not long enough: cap 0.5
        await dies_at_once()  # cap 1.0
        await dies_at_once()  # cap 1.0 (max_backoff)
        await connects_then_dies(10.0)  # stable: back to 0.25
        await dies_at_once()  # cap 0.5
        async with asyncio.timeout(STEP):
            await slept.wait()

    expected_rng = random.Random(42)
    caps = [0.25, 0.5, 1.0, 1.0, 0.25, 0.5]
    assert owner.delays == [expected_rng.uniform(0.0, cap) for cap in caps]
    assert owner.disconnected_calls == 2
    assert owner.connected_calls == 2
    assert stream.reconnects == 5
    assert owner.token_calls == 6  # a fresh token() for every connection


async def test_unanswered_ping_means_a_dead_socket(server: ScriptedServer, owner: Owner) -> None:
    stream = make_stream(server, owner, ping_interval=0.05, reply_timeout=1.0)
    async with running(stream):
        peer = await server.next_peer()
        await stream.wait_connected(STEP)
        # Any reply with the request_id keeps it alive, whatever its data or status.
        await peer.reply(await peer.expect("ping"), data={})
        await peer.reply(await peer.expect("ping"), error="authentication token required")
        ping = await peer.expect("ping")
        assert "auth_token" not in ping
        # No reply to this one: the client must give up on the socket and reconnect.
        await server.next_peer()
        await peer.wait_closed()
        await owner.next_connected()
        assert await owner.next_connected() == 2
        assert owner.disconnected_calls == 1
        assert stream.reconnects == 1


async def test_unanswered_subscribe_means_a_dead_socket(
    server: ScriptedServer, owner: Owner
) -> None:
    stream = make_stream(server, owner, reply_timeout=0.3)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        await peer.expect("subscribe")  # never answered
        peer2 = await server.next_peer()
        await peer.wait_closed()
        await peer2.accept_all(1)
        await stream.wait_connected(STEP)
        assert owner.connected_calls == 1


async def test_malformed_frames_are_skipped(
    server: ScriptedServer, owner: Owner, caplog: pytest.LogCaptureFixture
) -> None:
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream) as task:
        peer = await server.next_peer()
        await peer.accept_all(1)
        await stream.wait_connected(STEP)
        await peer.send(event_json(first_format(CONF_A), CONF_A, "add-member", 1))
        await peer.send("this is not json")
        await peer.send(b"\x00\x01binary")
        await peer.send("[1, 2, 3]")
        await peer.send('{"action": "event", "data": 17}')
        await peer.send(event_json(first_format(CONF_A), CONF_A, "del-member", 2))
        assert (await owner.next_event()).data.event == "add-member"
        assert (await owner.next_event()).data.event == "del-member"
        assert stream.malformed_frames == 4
        assert stream.events_received == 2
        assert stream.connected
        assert not task.done()
        assert "malformed frame" in caplog.text
        assert "binary frame" in caplog.text


async def test_on_event_errors_do_not_stop_the_stream(
    server: ScriptedServer, owner: Owner, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def on_event(frame: EventFrame) -> None:
        seen.append(str(frame.data.event))
        if len(seen) == 1:
            raise RuntimeError("owner bug")
        owner.on_event(frame)

    stream = make_stream(server, owner, on_event=on_event)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        await peer.accept_all(1)
        await stream.wait_connected(STEP)
        await peer.send(event_json(first_format(CONF_A), CONF_A, "add-member", 1))
        await peer.send(event_json(first_format(CONF_A), CONF_A, "del-member", 1))
        assert (await owner.next_event()).data.event == "del-member"
        assert seen == ["add-member", "del-member"]
        assert "owner bug" in caplog.text
        assert stream.connected


async def test_watch_and_unwatch_at_run_time(server: ScriptedServer, owner: Owner) -> None:
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        await peer.accept_all(1)
        await stream.wait_connected(STEP)

        stream.unwatch(CONF_A)
        assert stream.watched == frozenset()
        message = await peer.expect("unsubscribe")
        assert message["data"] == {"account_id": ACCOUNT, "binding": first_format(CONF_A)}
        await peer.reply(message, data={"unsubscribed": [first_format(CONF_A)], "subscribed": []})

        stream.watch(CONF_B)
        await peer.accept_all(1)
        await eventually(lambda: stream.subscribed == {CONF_B}, what="B subscribed")

        stream.set_watched([CONF_C])
        unsubscribe = await peer.expect("unsubscribe")
        assert unsubscribe["data"]["binding"] == first_format(CONF_B)
        subscribe = await peer.expect("subscribe")
        assert subscribe["data"]["binding"] == first_format(CONF_C)
        await peer.reply(subscribe)
        await peer.reply(unsubscribe, data={"unsubscribed": [], "subscribed": []})
        await eventually(lambda: stream.subscribed == {CONF_C}, what="only C subscribed")
        assert stream.watched == {CONF_C}
        assert stream.connected
        assert owner.connected_calls == 1

    with pytest.raises(ValueError):
        stream.watch("a.b")
    with pytest.raises(ValueError):
        stream.watch("*")


async def test_watch_while_disconnected_is_applied_on_connect(
    server: ScriptedServer, owner: Owner
) -> None:
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        await peer.expect("subscribe")
        stream.watch(CONF_B)  # while the first subscribe is in flight
        stream.unwatch(CONF_A)
        await peer.close()
        peer2 = await server.next_peer()
        subscribes = await peer2.accept_all(1)
        assert set(subscribes) == {first_format(CONF_B)}
        await stream.wait_connected(STEP)
        assert stream.subscribed == {CONF_B}


async def test_on_connected_failure_reconnects_and_retries_the_resync(
    server: ScriptedServer, owner: Owner
) -> None:
    owner.on_connected_error = KazooUnavailable("REST is down")
    stream = make_stream(server, owner)
    async with running(stream):
        peer = await server.next_peer()
        assert await owner.next_connected() == 1
        await peer.wait_closed()
        await server.next_peer()
        assert await owner.next_connected() == 2
        await stream.wait_connected(STEP)
        assert owner.disconnected_calls == 0
        assert len(owner.delays) == 1


async def test_rate_limited_subscribe_is_retried(server: ScriptedServer, owner: Owner) -> None:
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        message = await peer.expect("subscribe")
        await peer.reply(message, error="rate limiting threshold hit for 127.0.0.1:40000!")
        await peer.reply(await peer.expect("subscribe"))
        await stream.wait_connected(STEP)
        assert len(owner.delays) == 1
        assert 0.5 <= owner.delays[0] <= 1.0
        assert stream.reconnects == 0


async def test_cancel_closes_the_socket_cleanly(server: ScriptedServer, owner: Owner) -> None:
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        await peer.accept_all(1)
        await stream.wait_connected(STEP)
    await peer.wait_closed()
    assert peer.ws.close_code == 1000
    assert not stream.connected
    assert owner.disconnected_calls == 1
    with pytest.raises(ConnectionClosed):
        await peer.ws.recv()


async def test_cancel_while_subscribing_or_backing_off(
    server: ScriptedServer, owner: Owner
) -> None:
    parked = asyncio.Event()

    async def slow_sleep(delay: float) -> None:
        parked.set()
        await asyncio.sleep(3600)

    # Cancelled while waiting for a subscribe reply.
    stream = make_stream(server, owner)
    stream.watch(CONF_A)
    async with running(stream):
        peer = await server.next_peer()
        await peer.expect("subscribe")
    await peer.wait_closed()

    # Cancelled during a (long) backoff sleep after a refused handshake.
    stream = make_stream(server, owner, ws_url=lambda: "ws://127.0.0.1:9/", sleep=slow_sleep)
    async with running(stream):
        async with asyncio.timeout(STEP):
            await parked.wait()
    assert not stream.connected


async def test_run_twice_is_refused(server: ScriptedServer, owner: Owner) -> None:
    stream = make_stream(server, owner)
    async with running(stream):
        await server.next_peer()
        with pytest.raises(RuntimeError):
            await stream.run()
