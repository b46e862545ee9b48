"""The Kazoo blackhole websocket event stream: one socket, per-conference subscriptions, reconnects.

State machine of :meth:`EventStream.run`, one pass per connection::

    CONNECT        await token() (fresh on every connect), resolve ws_url(), open the socket
       |           without subprotocols.                      failure -> BACKOFF
       v
    SUBSCRIBE ALL  one ``subscribe`` per watched conference, in parallel, replies matched by
       |           request_id. "failed to authenticate token" -> invalidate_token(), a fresh
       |           token(), retry once; "invalid format for conference subscription" -> the
       |           other binding format; "rate limiting threshold hit" -> retried after a
       |           delay; any other refusal -> logged, that conference skipped, the rest go on.
       |           token refused twice, reply timeout, socket lost  -> BACKOFF
       v
    ON_CONNECTED   await on_connected() (the owner resyncs from REST).  raises -> BACKOFF
       v
    CONNECTED      ``connected`` is True. watch()/unwatch()/set_watched() are applied at once;
       |           an app-level ping every ping_interval.
       |           socket closed, ping/reply timeout, protocol error -> on_disconnected(), BACKOFF
       v
    BACKOFF        sleep(uniform(0, min(max_backoff, initial_backoff * 2**n))) (full jitter),
                   n += 1, then CONNECT again. n goes back to 0 only if the lost connection had
                   been CONNECTED for at least ``stable_after`` seconds, so a socket that dies
                   right after connecting keeps growing the delay.

Three tasks live for each connection and die with it:

* the **reader** reads every frame as soon as it arrives (Kazoo 4.3 silently drops events, and
  replies, once 50 are queued for a slow client). It never awaits user code: it resolves reply
  futures by ``request_id`` and calls ``on_event`` synchronously, in order. Malformed frames are
  logged and counted, never fatal. Events are delivered from the moment the socket opens, so also
  while subscribing and while ``on_connected`` resyncs;
* the **driver** subscribes everything in ``watched``, awaits ``on_connected``, marks the stream
  connected, and from then on reconciles the desired set with the confirmed set each time
  :meth:`watch`, :meth:`unwatch` or :meth:`set_watched` change it;
* the **keepalive** sends ``{"action":"ping"}`` every ``ping_interval``. Any reply with its
  ``request_id`` counts (its ``data`` need not be ``{"response":"pong"}``, and an unauthenticated
  session answers with an error status); no reply within ``reply_timeout`` means the socket is
  dead. websockets' own ping frames stay enabled as well.

When one of them ends, the other two are cancelled and the socket is closed. Blackhole keeps no
state across connections, so every reconnect sends all subscriptions again, and the owner resyncs
from REST in ``on_connected`` because events sent while disconnected are lost.

The binding format is chosen per server and remembered across reconnects: first
``conference.event.{C}.*`` (4.3, open-source master), and, if that is refused with
``invalid format for conference subscription``, ``conference.event.*.{C}.*`` (5.x and the 2023
open-source state). The switch also works backwards (``ConferenceId required`` or
``invalid format ...`` for the event-first form), in case a reconnect lands on another server.
Event frames carry the binding as sent in ``subscribed_key``.

Auth tokens are never logged: error strings from the server are redacted before logging.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from bot.errors import BotError, KazooAuthError, KazooProtocolError, KazooUnavailable
from bot.kazoo.models import EventFrame, ReplyFrame, UnknownFrame, parse_frame

__all__ = ["BindingFormat", "EventStream"]

logger = logging.getLogger("bot.kazoo.stream")

BindingFormat = Literal["conference-first", "event-first"]

AUTH_ERROR_PREFIX = "failed to authenticate token"
FORMAT_ERROR_PREFIX = "invalid format for conference subscription"
CONFERENCE_ID_REQUIRED = "ConferenceId required"
RATE_LIMIT_PREFIX = "rate limiting threshold hit"

# How long the opening handshake may take.
_OPEN_TIMEOUT = 10.0
# How long closing the socket may take (close handshake), so that cancelling run() stays prompt.
_CLOSE_TIMEOUT = 2.0
# Subscribe/unsubscribe requests in flight at once on one socket.
_MAX_IN_FLIGHT = 16
# A subscribe refused by the server's rate limiter is retried this often, after growing delays.
_RATE_LIMIT_RETRIES = 3
_RATE_LIMIT_BASE_DELAY = 1.0
# Characters a conference id cannot contain: they would change the meaning of the binding.
_BAD_ID_CHARS = re.compile(r"[.*#\s]")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.?[A-Za-z0-9_-]*")
_EXPECTED_FAILURES = (BotError, OSError, TimeoutError, WebSocketException)


def _redact(text: str, *secrets: str) -> str:
    """``text`` with auth tokens removed, fit for a log line."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<token>")
    if text.startswith(AUTH_ERROR_PREFIX):
        return f"{AUTH_ERROR_PREFIX} <token>"
    return _JWT.sub("<token>", text)


def _safe_url(url: str) -> str:
    """``url`` without credentials, query or fragment, fit for a log line."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.port is not None:
            host = f"{host}:{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "<unparseable url>"


def _binding(conference_id: str, binding_format: BindingFormat) -> str:
    if binding_format == "event-first":
        return f"conference.event.*.{conference_id}.*"
    return f"conference.event.{conference_id}.*"


def _other(binding_format: BindingFormat) -> BindingFormat:
    return "event-first" if binding_format == "conference-first" else "conference-first"


def _is_format_error(error: str, binding_format: BindingFormat) -> bool:
    if error.startswith(FORMAT_ERROR_PREFIX):
        return True
    # 4.3 and open master answer the event-first form with this one.
    return binding_format == "event-first" and error.startswith(CONFERENCE_ID_REQUIRED)


@dataclass(eq=False)
class _Connection:
    """Everything that lives and dies with one socket."""

    ws: ClientConnection
    token: str
    pending: dict[str, asyncio.Future[ReplyFrame]] = field(default_factory=dict)
    # conference id -> binding as sent, for subscriptions the server confirmed on this socket
    subscribed: dict[str, str] = field(default_factory=dict)
    # conferences the server refused on this socket for a reason retrying will not fix
    failed: set[str] = field(default_factory=set)
    token_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    in_flight: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(_MAX_IN_FLIGHT))
    connected_since: float | None = None


class EventStream:
    """A self-healing subscription to Kazoo conference events over the blackhole websocket.

    ``sleep`` is used for the reconnect backoff (and the rare rate-limit retry); the ping interval,
    reply timeouts and socket timeouts use real asyncio time. ``clock`` measures how long a
    connection stayed up. ``on_event`` must be fast and must not block; an exception from it is
    logged and the stream carries on. An exception from ``on_connected`` is logged and counts as a
    connection failure, so the resync is retried after the backoff. ``on_disconnected`` is called
    once for every loss of a connection that had been ``connected``.
    """

    def __init__(
        self,
        *,
        ws_url: Callable[[], str],
        token: Callable[[], Awaitable[str]],
        invalidate_token: Callable[[str], Awaitable[None]],
        account_id: Callable[[], str],
        on_event: Callable[[EventFrame], None],
        on_connected: Callable[[], Awaitable[None]],
        on_disconnected: Callable[[], None] = lambda: None,
        initial_backoff: float = 0.25,
        max_backoff: float = 60.0,
        stable_after: float = 10.0,
        ping_interval: float = 30.0,
        reply_timeout: float = 10.0,
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if initial_backoff <= 0 or max_backoff < initial_backoff:
            raise ValueError("need 0 < initial_backoff <= max_backoff")
        if ping_interval <= 0 or reply_timeout <= 0 or stable_after < 0:
            raise ValueError("ping_interval and reply_timeout must be > 0, stable_after >= 0")
        self._ws_url = ws_url
        self._token = token
        self._invalidate_token = invalidate_token
        self._account_id = account_id
        self._on_event = on_event
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._stable_after = stable_after
        self._ping_interval = ping_interval
        self._reply_timeout = reply_timeout
        self._rng = rng if rng is not None else random.Random()
        self._sleep = sleep
        self._clock = clock

        self._watched: set[str] = set()
        self._binding_format: BindingFormat = "conference-first"
        self._conn: _Connection | None = None
        self._dirty = asyncio.Event()
        self._connected_event = asyncio.Event()
        self._connected = False
        self._running = False
        self._reconnects = 0
        self._events_received = 0
        self._malformed_frames = 0

    # ------------------------------------------------------------------ public state

    @property
    def watched(self) -> frozenset[str]:
        """The desired set of conference ids."""
        return frozenset(self._watched)

    @property
    def subscribed(self) -> frozenset[str]:
        """Conference ids whose subscription the server confirmed on the current socket."""
        conn = self._conn
        return frozenset(conn.subscribed) if conn is not None else frozenset()

    @property
    def binding_format(self) -> BindingFormat:
        """The binding format in use; switches once if the server refuses the first one."""
        return self._binding_format

    @property
    def connected(self) -> bool:
        """True between a confirmed (re)subscription plus ``on_connected`` and the next loss."""
        return self._connected

    @property
    def reconnects(self) -> int:
        """How many connection attempts followed a lost connection or a failed attempt."""
        return self._reconnects

    @property
    def events_received(self) -> int:
        return self._events_received

    @property
    def malformed_frames(self) -> int:
        return self._malformed_frames

    # ------------------------------------------------------------------ desired subscriptions

    def watch(self, conference_id: str) -> None:
        """Add a conference to the desired set; subscribed at once if connected."""
        self._check_id(conference_id)
        self._watched.add(conference_id)
        if self._conn is not None:
            self._conn.failed.discard(conference_id)  # an explicit watch() retries a refusal
        self._dirty.set()

    def unwatch(self, conference_id: str) -> None:
        """Remove a conference from the desired set; unsubscribed at once if connected."""
        self._watched.discard(conference_id)
        self._dirty.set()

    def set_watched(self, conference_ids: Iterable[str]) -> None:
        """Replace the desired set; the difference is (un)subscribed at once if connected."""
        wanted = set(conference_ids)
        for conference_id in wanted:
            self._check_id(conference_id)
        if self._conn is not None:
            self._conn.failed -= wanted - self._watched
        self._watched = wanted
        self._dirty.set()

    @staticmethod
    def _check_id(conference_id: str) -> None:
        if not conference_id or _BAD_ID_CHARS.search(conference_id):
            raise ValueError(f"not a usable conference id: {conference_id!r}")

    async def wait_connected(self, timeout: float) -> None:
        """Return once ``connected`` is True; raise ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            await self._connected_event.wait()

    # ------------------------------------------------------------------ the loop

    async def run(self) -> None:
        """Connect, subscribe, read, reconnect until cancelled; never raises on network errors."""
        if self._running:
            raise RuntimeError("EventStream.run() is already running")
        self._running = True
        attempt = 0
        try:
            while True:
                if await self._connect_once():
                    attempt = 0
                cap = min(self._max_backoff, self._initial_backoff * 2.0 ** min(attempt, 64))
                attempt += 1
                delay = self._rng.uniform(0.0, cap)
                logger.info("reconnecting to the Kazoo event stream in %.2f s", delay)
                await self._sleep(delay)
                self._reconnects += 1
        finally:
            self._running = False

    async def _connect_once(self) -> bool:
        """One connection from open to loss; True if it stayed connected for ``stable_after``."""
        conn: _Connection | None = None
        try:
            token = await self._token()
            url = self._ws_url()
            logger.info("connecting to the Kazoo event stream at %s", _safe_url(url))
            async with connect(
                url,
                open_timeout=_OPEN_TIMEOUT,
                ping_interval=self._ping_interval,
                ping_timeout=self._reply_timeout,
                close_timeout=_CLOSE_TIMEOUT,
            ) as ws:
                conn = _Connection(ws=ws, token=token)
                self._conn = conn
                try:
                    await self._serve(conn)
                except asyncio.CancelledError:
                    await ws.close(reason="client shutting down")  # 1000, not 1011
                    raise
        except asyncio.CancelledError:
            raise
        except _EXPECTED_FAILURES as exc:
            secret = conn.token if conn is not None else ""
            logger.warning(
                "Kazoo event stream connection failed: %s: %s",
                type(exc).__name__,
                _redact(str(exc), secret),
            )
        except Exception:
            logger.exception("Kazoo event stream connection failed unexpectedly")
        finally:
            self._conn = None
            was_connected = self._connected
            self._connected = False
            self._connected_event.clear()
            if was_connected:
                try:
                    self._on_disconnected()
                except Exception:
                    logger.exception("on_disconnected raised")
        return (
            conn is not None
            and conn.connected_since is not None
            and self._clock() - conn.connected_since >= self._stable_after
        )

    async def _serve(self, conn: _Connection) -> None:
        """Run reader, driver and keepalive until one ends; raise why the connection ended."""
        tasks = [
            asyncio.create_task(self._read(conn), name="kazoo-stream-reader"),
            asyncio.create_task(self._drive(conn), name="kazoo-stream-driver"),
            asyncio.create_task(self._keepalive(conn), name="kazoo-stream-keepalive"),
        ]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:  # report the first task that ended, in a stable order
            if task in done and not task.cancelled() and (exc := task.exception()) is not None:
                raise exc
        raise KazooUnavailable(
            f"connection closed by the server (code {conn.ws.close_code}, "
            f"reason {conn.ws.close_reason!r})"
        )

    # ------------------------------------------------------------------ reader

    async def _read(self, conn: _Connection) -> None:
        try:
            async for raw in conn.ws:
                self._handle_frame(conn, raw)
        finally:
            for future in conn.pending.values():
                if not future.done():
                    future.set_exception(KazooUnavailable("connection closed"))
                    future.exception()  # retrieved here: nobody may be awaiting it any more

    def _handle_frame(self, conn: _Connection, raw: str | bytes) -> None:
        if isinstance(raw, bytes):
            self._malformed_frames += 1
            logger.warning("skipped a binary frame of %d bytes on the Kazoo event stream", len(raw))
            return
        try:
            frame = parse_frame(raw)
        except KazooProtocolError as exc:
            self._malformed_frames += 1
            logger.warning(
                "skipped a malformed frame of %d characters on the Kazoo event stream: %s",
                len(raw),
                _redact(str(exc), conn.token),
            )
            return
        if isinstance(frame, EventFrame):
            self._events_received += 1
            try:
                self._on_event(frame)
            except Exception:
                logger.exception("on_event raised; the event is lost, the stream carries on")
        elif isinstance(frame, ReplyFrame):
            future = conn.pending.get(frame.request_id) if frame.request_id else None
            if future is None or future.done():
                logger.debug("reply to an unknown or expired request %r", frame.request_id)
            else:
                future.set_result(frame)
        elif isinstance(frame, UnknownFrame):
            logger.debug("ignored a frame of an unknown kind on the Kazoo event stream")

    # ------------------------------------------------------------------ requests

    async def _request(
        self,
        conn: _Connection,
        action: str,
        *,
        token: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> ReplyFrame:
        """Send one request and wait for the reply with its request_id; raise if none comes."""
        request_id = uuid.uuid4().hex
        message: dict[str, Any] = {"action": action, "request_id": request_id}
        if token is not None:
            message["auth_token"] = token
        if data is not None:
            message["data"] = data
        future: asyncio.Future[ReplyFrame] = asyncio.get_running_loop().create_future()
        conn.pending[request_id] = future
        try:
            await conn.ws.send(json.dumps(message))
            async with asyncio.timeout(self._reply_timeout):
                return await future
        except TimeoutError:
            raise KazooUnavailable(
                f"no reply to {action} within {self._reply_timeout:g} s; the socket is dead"
            ) from None
        finally:
            conn.pending.pop(request_id, None)

    async def _keepalive(self, conn: _Connection) -> None:
        while True:
            await asyncio.sleep(self._ping_interval)
            reply = await self._request(conn, "ping")
            if not reply.ok:
                logger.debug("ping answered with status %r", reply.status)

    # ------------------------------------------------------------------ subscriptions

    async def _drive(self, conn: _Connection) -> None:
        await self._reconcile(conn)
        await self._on_connected()
        conn.connected_since = self._clock()
        self._connected = True
        self._connected_event.set()
        logger.info(
            "Kazoo event stream connected: %d of %d conferences subscribed (%s bindings)",
            len(conn.subscribed),
            len(self._watched),
            self._binding_format,
        )
        while True:
            await self._dirty.wait()
            await self._reconcile(conn)

    async def _reconcile(self, conn: _Connection) -> None:
        """(Un)subscribe until the socket's confirmed set matches ``watched``."""
        while True:
            self._dirty.clear()
            to_unsubscribe = sorted(conn.subscribed.keys() - self._watched)
            to_subscribe = sorted(self._watched - conn.subscribed.keys() - conn.failed)
            if not to_unsubscribe and not to_subscribe:
                return
            await self._all(
                [self._unsubscribe(conn, c) for c in to_unsubscribe]
                + [self._subscribe(conn, c) for c in to_subscribe]
            )

    @staticmethod
    async def _all(coroutines: list[Coroutine[Any, Any, None]]) -> None:
        """Run concurrently; on the first exception cancel the rest and raise it."""
        tasks = [asyncio.create_task(c, name="kazoo-stream-request") for c in coroutines]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        for task in tasks:
            if not task.cancelled() and (exc := task.exception()) is not None:
                raise exc

    async def _subscribe(self, conn: _Connection, conference_id: str) -> None:
        binding_format = self._binding_format
        token = conn.token
        auth_retried = format_retried = False
        rate_retries = 0
        while True:
            binding = _binding(conference_id, binding_format)
            async with conn.in_flight:
                reply = await self._request(
                    conn,
                    "subscribe",
                    token=token,
                    data={"account_id": self._account_id(), "binding": binding},
                )
            if reply.ok:
                conn.subscribed[conference_id] = binding
                if binding_format != self._binding_format:
                    self._binding_format = binding_format
                    logger.warning(
                        "the server refused the %s binding format and accepted %s; "
                        "using %s from now on",
                        _other(binding_format),
                        binding_format,
                        binding_format,
                    )
                return
            errors = reply.errors or [f"status {reply.status!r} without an error message"]
            if any(e.startswith(AUTH_ERROR_PREFIX) for e in errors):
                if auth_retried:
                    # Drop it from the cache too, so that the reconnect logs in afresh.
                    await self._fresh_token(conn, token, login=False)
                    raise KazooAuthError("the event stream refused a freshly issued auth token")
                auth_retried = True
                token = await self._fresh_token(conn, token)
            elif not format_retried and any(_is_format_error(e, binding_format) for e in errors):
                format_retried = True
                logger.info(
                    "%s refused for conference %s (%s); trying %s",
                    binding_format,
                    conference_id,
                    _redact(errors[0], token),
                    _other(binding_format),
                )
                binding_format = _other(binding_format)
            elif rate_retries < _RATE_LIMIT_RETRIES and any(
                e.startswith(RATE_LIMIT_PREFIX) for e in errors
            ):
                delay = _RATE_LIMIT_BASE_DELAY * 2.0**rate_retries
                rate_retries += 1
                logger.info("subscribe rate-limited for conference %s", conference_id)
                await self._sleep(self._rng.uniform(delay / 2, delay))
            else:
                conn.failed.add(conference_id)
                logger.warning(
                    "Kazoo refused the subscription to conference %s (%s): %s",
                    conference_id,
                    binding,
                    "; ".join(_redact(e, token) for e in errors),
                )
                return

    async def _fresh_token(self, conn: _Connection, refused: str, *, login: bool = True) -> str:
        """Invalidate a refused token and log in again, once for all requests that used it."""
        async with conn.token_lock:
            if conn.token == refused:
                await self._invalidate_token(refused)
                conn.token = ""
                if login:
                    logger.info("the event stream refused the auth token; logging in again")
                    conn.token = await self._token()
            return conn.token

    async def _unsubscribe(self, conn: _Connection, conference_id: str) -> None:
        binding = conn.subscribed.pop(conference_id)
        async with conn.in_flight:
            reply = await self._request(
                conn,
                "unsubscribe",
                token=conn.token,
                data={"account_id": self._account_id(), "binding": binding},
            )
        if not reply.ok:
            logger.warning(
                "Kazoo refused to unsubscribe conference %s (%s): %s",
                conference_id,
                binding,
                "; ".join(_redact(e, conn.token) for e in reply.errors),
            )
