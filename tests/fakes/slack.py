"""A fake Slack for integration tests: Web API, response_url and Socket Mode on one local port.

Point a real ``slack_sdk``/``slack_bolt`` stack at it::

    async with FakeSlack() as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)
        app = AsyncApp(client=client)
        handler = AsyncSocketModeHandler(app, "xapp-test")
        await handler.connect_async()          # apps.connections.open, then the websocket
        try:
            envelope_id = await fake.push("slash_commands", fake.slash_command("status"))
            ack = await fake.wait_for_ack(envelope_id)
            post = await fake.wait_for_response()
        finally:
            await handler.close_async()

Everything runs on the test's event loop; waits use one ``asyncio.Condition`` that every
recorded event notifies, so nothing polls or sleeps. All times are ``time.monotonic()``.

Faithfulness notes (see also the per-method docstrings):

* Tokens: a Web API call needs ``Authorization: Bearer xoxb-...`` (or a ``token`` argument);
  ``apps.connections.open`` needs ``xapp-...``. Missing -> ``not_authed``, the other kind ->
  ``not_allowed_token_type``, anything else -> ``invalid_auth``. Pass ``bot_token=``/
  ``app_token=`` to require one exact token.
* Channels are lenient: posting to any channel ID works unless it was marked with
  ``set_not_in_channel`` (or registered archived/non-member). ``conversations.info``/``join``
  only know channels registered with ``add_channel`` (``C_GENERAL`` "general" is built in).
* Injected faults (``rate_limit``, ``fail``) take precedence over everything else, including
  ``unknown_method`` and token checks, and are consumed in the order they were added.
* Envelopes are delivered once: unlike Slack, nothing is redelivered if the ack never comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import itertools
import json
import math
import secrets
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict, CIMultiDictProxy

from .slack_blocks import validate_blocks
from .slack_records import (
    JSON,
    Ack,
    ApiCall,
    Envelope,
    Message,
    ResponsePost,
    ResponseUrlContext,
    SocketConnection,
    block_elements,
    truthy,
)

T = TypeVar("T")

#: An ``on_call`` handler: gets the recorded call, returns the JSON body to answer (HTTP 200).
CallHandler = Callable[[ApiCall], JSON | Awaitable[JSON]]

EnvelopeType = Literal["slash_commands", "interactive", "events_api"]
DisconnectHow = Literal["refresh", "close", "abort"]

#: Slack lets a response_url be used 5 times within 30 minutes.
RESPONSE_URL_MAX_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0
#: A trigger_id is good for 3 seconds.
TRIGGER_LIFETIME = 3.0
MAX_TEXT = 40_000
#: Interactive payload types whose envelopes accept a response payload.
_RESPONSE_PAYLOAD_INTERACTIONS = {"view_submission", "block_suggestion", "dialog_suggestion"}
_TZ_LABELS = {
    "Europe/London": "Greenwich Mean Time",
    "Europe/Paris": "Central European Time",
    "America/New_York": "Eastern Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "Asia/Tokyo": "Japan Standard Time",
    "UTC": "Coordinated Universal Time",
}


class _ApiError(Exception):
    """Raised inside a method handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra

    def body(self) -> JSON:
        return {"ok": False, "error": self.error, **self.extra}


@dataclass
class _Injection:
    kind: Literal["ratelimit", "fail"]
    remaining: int
    error: str = "ratelimited"
    status: int = 200
    retry_after: int = 1


@dataclass
class _Channel:
    id: str
    name: str
    is_private: bool = False
    is_im: bool = False
    is_archived: bool = False
    is_member: bool = True
    is_general: bool = False
    user: str | None = None


@dataclass
class _ResponseUrl:
    context: ResponseUrlContext
    uses: int = 0
    # The message this URL last posted, which a later replace/delete_original acts on when the
    # URL did not come from a message (a slash command's "Working…" then "Done", say).
    last_posted: Message | None = None


@dataclass
class _Clock:
    """Message timestamps: unique, increasing, Slack-shaped ("1700000000.000100")."""

    base: int
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def next_ts(self) -> str:
        seconds, micros = divmod(next(self._counter) * 100, 1_000_000)
        return f"{self.base + seconds}.{micros:06d}"


class FakeSlack:
    """A fake Slack workspace: Web API under ``/api/``, response URLs, Socket Mode."""

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        team_domain: str = "confbot-test",
        team_name: str = "Confbot Test",
        bot_user_id: str = "UBOT",
        bot_name: str = "confbot",
        bot_id: str = "B0001",
        app_id: str = "A0001",
        bot_token: str | None = None,
        app_token: str | None = None,
        verification_token: str = "fake-verification-token",
        ts_base: int = 1_700_000_000,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.team_name = team_name
        self.bot_user_id = bot_user_id
        self.bot_name = bot_name
        self.bot_id = bot_id
        self.app_id = app_id
        self.bot_token = bot_token
        self.app_token = app_token
        self.verification_token = verification_token

        self.calls: list[ApiCall] = []
        self.responses: list[ResponsePost] = []
        self.envelopes: list[Envelope] = []
        self.acks: list[Ack] = []
        self.socket_connections: list[SocketConnection] = []

        self._cond = asyncio.Condition()
        self._clock = _Clock(ts_base)
        self._injections: dict[str, deque[_Injection]] = {}
        self._overrides: dict[str, CallHandler] = {}
        self._users: dict[str, JSON] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._channels: dict[str, _Channel] = {}
        self._messages: dict[str, list[Message]] = {}
        self._ephemerals: dict[str, list[Message]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._triggers: dict[str, float] = {}
        self._tickets: set[str] = set()
        self._views: dict[str, JSON] = {}
        self._envelopes_by_id: dict[str, Envelope] = {}
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, CallHandler] = {
            "api.test": self._api_test,
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.open": self._conversations_open,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }

        self.add_channel("C_GENERAL", "general", is_general=True)
        self.add_user("U_ADA", "ada", real_name="Ada Lovelace")
        self.add_user(bot_user_id, bot_name, is_bot=True)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeSlack already started")
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{response_id}", self._handle_response_url)
        app.router.add_get("/socket-mode", self._handle_socket)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", 0))
            site = web.SockSite(runner, sock)
            await site.start()
        except BaseException:
            sock.close()
            await runner.cleanup()
            raise
        self._port = sock.getsockname()[1]
        self._runner = runner

    async def stop(self) -> None:
        """Close every websocket (GOING_AWAY), then the HTTP server. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for conn in self.socket_connections:
            if conn.is_open:
                with contextlib.suppress(Exception):
                    await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeSlack is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Give this to ``AsyncWebClient(base_url=...)`` / ``SLACK_API_URL``; ends in ``/api/``."""
        return f"{self.base_url}/api/"

    # ------------------------------------------------------------------ workspace set-up

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_restricted: bool = False,
        is_ultra_restricted: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "Europe/London",
        tz_label: str | None = None,
        tz_offset: int = 0,
    ) -> JSON:
        """Register (or replace) a user; returns the object ``users.info`` will answer.

        ``is_restricted`` is a multi-channel guest, ``is_ultra_restricted`` a single-channel
        guest (Slack sets ``is_restricted`` too for those, and so does this). ``U_ADA`` "ada"
        and the bot user are registered from the start.
        """
        real = real_name or name.capitalize()
        profile: JSON = {
            "title": "",
            "phone": "",
            "skype": "",
            "real_name": real,
            "real_name_normalized": real,
            "display_name": name,
            "display_name_normalized": name,
            "fields": None,
            "status_text": "",
            "status_emoji": "",
            "status_expiration": 0,
            "avatar_hash": "g" + user_id.lower()[:11],
            "first_name": real.split(" ")[0],
            "last_name": " ".join(real.split(" ")[1:]),
            "image_24": f"https://example.invalid/avatars/{user_id}_24.png",
            "image_48": f"https://example.invalid/avatars/{user_id}_48.png",
            "image_72": f"https://example.invalid/avatars/{user_id}_72.png",
            "team": self.team_id,
        }
        if is_bot:
            profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id}"
            profile["api_app_id"] = self.app_id if user_id == self.bot_user_id else ""
            profile["always_active"] = False
        else:
            profile["email"] = email or f"{name}@example.com"
        user: JSON = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real,
            "tz": tz,
            "tz_label": tz_label or _TZ_LABELS.get(tz, tz),
            "tz_offset": tz_offset,
            "profile": profile,
            "is_admin": is_admin or is_owner or is_primary_owner,
            "is_owner": is_owner or is_primary_owner,
            "is_primary_owner": is_primary_owner,
            "is_restricted": is_restricted or is_ultra_restricted,
            "is_ultra_restricted": is_ultra_restricted,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "is_email_confirmed": not is_bot,
            "who_can_share_contact_card": "EVERYONE",
        }
        self._users[user_id] = user
        return copy.deepcopy(user)

    def add_usergroup(self, group_id: str, user_ids: list[str]) -> None:
        """Register (or replace) a user group for ``usergroups.users.list``."""
        self._usergroups[group_id] = list(user_ids)

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        is_member: bool = True,
        is_general: bool = False,
    ) -> None:
        """Register (or replace) a channel for ``conversations.*`` and payload builders."""
        self._channels[channel_id] = _Channel(
            id=channel_id,
            name=name,
            is_private=is_private,
            is_archived=is_archived,
            is_member=is_member,
            is_general=is_general,
        )

    def set_not_in_channel(self, channel: str) -> None:
        """The bot is not a member: posting there answers ``not_in_channel`` until it joins
        (``conversations.join``). Registers the channel (named after its ID) if unknown."""
        existing = self._channels.get(channel)
        if existing is None:
            self.add_channel(channel, channel.lower(), is_member=False)
        else:
            existing.is_member = False

    # ------------------------------------------------------------------ fault injection

    def rate_limit(self, method: str, *, count: int, retry_after: int = 1) -> None:
        """The next ``count`` calls to ``method`` answer HTTP 429, ``Retry-After: retry_after``,
        body ``{"ok": false, "error": "ratelimited"}``."""
        self._inject(method, _Injection("ratelimit", count, retry_after=retry_after))

    def fail(self, method: str, error: str, *, count: int = 1, status: int = 200) -> None:
        """The next ``count`` calls to ``method`` answer ``{"ok": false, "error": error}`` with
        HTTP ``status`` (Slack uses 200 for API errors; pass 500/503 for server trouble)."""
        self._inject(method, _Injection("fail", count, error=error, status=status))

    def on_call(self, method: str, handler: CallHandler | None) -> None:
        """Answer ``method`` with ``handler(call)`` (sync or async) instead of the built-in
        behaviour, after the token check; ``None`` restores the built-in. Also defines
        methods the fake does not know. An async handler can hold a call in flight, e.g.
        until a test sets an ``asyncio.Event``."""
        if handler is None:
            self._overrides.pop(method, None)
        else:
            self._overrides[method] = handler

    def _inject(self, method: str, injection: _Injection) -> None:
        if injection.remaining < 1:
            raise ValueError("count must be at least 1")
        self._injections.setdefault(method, deque()).append(injection)

    def _take_injection(self, method: str) -> _Injection | None:
        queue = self._injections.get(method)
        if not queue:
            return None
        injection = queue[0]
        injection.remaining -= 1
        if injection.remaining == 0:
            queue.popleft()
        return injection

    # ------------------------------------------------------------------ what users see

    def messages(self, channel: str) -> list[Message]:
        """Snapshot of the channel's current messages (thread replies included), oldest
        first, reflecting updates and deletes. Ephemeral messages are in ``ephemerals``."""
        return copy.deepcopy(self._messages.get(channel, []))

    def message(self, channel: str, ts: str) -> Message | None:
        found = _find(self._messages.get(channel, []), ts)
        return copy.deepcopy(found)

    def ephemerals(self, channel: str | None = None, *, user: str | None = None) -> list[Message]:
        """Snapshot of ephemeral messages (from ``chat.postEphemeral`` and response URLs)."""
        channels = [channel] if channel is not None else list(self._ephemerals)
        return copy.deepcopy(
            [
                m
                for c in channels
                for m in self._ephemerals.get(c, [])
                if user is None or m.ephemeral_to == user
            ]
        )

    @property
    def views(self) -> list[JSON]:
        """Views opened, pushed or published, as last updated."""
        return copy.deepcopy(list(self._views.values()))

    # ------------------------------------------------------------------ waiting

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] = lambda c: True,
        *,
        timeout: float = 5.0,
        since: float | None = None,
    ) -> ApiCall:
        """The first recorded call to ``method`` matching ``predicate``, waiting if none yet.

        Calls already recorded count: a second wait with the same arguments returns the same
        call. To wait for a *new* call, pass ``since=time.monotonic()`` taken before the
        action, or a predicate that tells calls apart. A call is recorded when it arrives, so
        the predicate may see ``status is None`` only while an ``on_call`` handler holds it.
        """

        def find() -> ApiCall | None:
            for call in self.calls:
                if (
                    call.method == method
                    and (since is None or call.time >= since)
                    and predicate(call)
                ):
                    return call
            return None

        def describe() -> str:
            seen = ", ".join(f"{c.method}({c.args})" for c in self.calls) or "none"
            return f"a matching {method} call; calls so far: {seen}"

        return await self._wait_until(find, timeout, describe)

    async def wait_for_response(
        self,
        predicate: Callable[[ResponsePost], bool] = lambda r: True,
        timeout: float = 5.0,
        *,
        since: float | None = None,
    ) -> ResponsePost:
        """The first response_url POST matching ``predicate`` (same rules as wait_for_call)."""

        def find() -> ResponsePost | None:
            for post in self.responses:
                if (since is None or post.time >= since) and predicate(post):
                    return post
            return None

        def describe() -> str:
            seen = ", ".join(repr(r.body) for r in self.responses) or "none"
            return f"a matching response_url POST; posts so far: {seen}"

        return await self._wait_until(find, timeout, describe)

    async def wait_for_message(
        self,
        channel: str,
        predicate: Callable[[Message], bool] = lambda m: True,
        timeout: float = 5.0,
    ) -> Message:
        """The oldest current message in ``channel`` matching ``predicate`` (e.g. waiting for
        an update to land); a snapshot like ``messages``."""

        def find() -> Message | None:
            for message in self._messages.get(channel, []):
                if predicate(message):
                    return copy.deepcopy(message)
            return None

        def describe() -> str:
            texts = [m.text for m in self._messages.get(channel, [])]
            return f"a matching message in {channel}; messages now: {texts}"

        return await self._wait_until(find, timeout, describe)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """The (first) ack for ``envelope_id``."""

        def find() -> Ack | None:
            return next((a for a in self.acks if a.envelope_id == envelope_id), None)

        return await self._wait_until(find, timeout, lambda: f"an ack of {envelope_id}")

    async def wait_for_socket(
        self, timeout: float = 5.0, *, after: SocketConnection | None = None
    ) -> SocketConnection:
        """The newest open Socket Mode connection (hello already sent), waiting for one.

        With ``after``, only a connection accepted later than that one will do, which is how
        to wait for a reconnection without racing it::

            first = await fake.wait_for_socket()
            await fake.disconnect_socket()
            second = await fake.wait_for_socket(after=first)
        """
        threshold = after.index if after is not None else 0

        def find() -> SocketConnection | None:
            for conn in reversed(self.socket_connections):
                if conn.index > threshold and conn.is_open:
                    return conn
            return None

        return await self._wait_until(find, timeout, lambda: "an open Socket Mode connection")

    async def _wait_until(
        self, find: Callable[[], T | None], timeout: float, describe: Callable[[], str]
    ) -> T:
        try:
            async with asyncio.timeout(timeout), self._cond:
                while (found := find()) is None:
                    await self._cond.wait()
                return found
        except TimeoutError:
            raise TimeoutError(f"timed out after {timeout}s waiting for {describe()}") from None

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------ Socket Mode

    async def push(
        self,
        envelope_type: EnvelopeType | str,
        payload: JSON,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,
    ) -> str:
        """Send an envelope on the newest open connection (waiting up to ``timeout`` for one);
        returns its ``envelope_id``.

        ``accepts_response_payload`` defaults as Slack sets it: true for ``slash_commands``
        and for view_submission/suggestion interactions, false otherwise. ``events_api``
        envelopes also carry ``retry_attempt``/``retry_reason``.
        """
        conn = await self.wait_for_socket(timeout)
        if accepts_response_payload is None:
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive"
                and payload.get("type") in _RESPONSE_PAYLOAD_INTERACTIONS
            )
        envelope_id = str(uuid.uuid4())
        message: JSON = {
            "envelope_id": envelope_id,
            "payload": payload,
            "type": envelope_type,
            "accepts_response_payload": accepts_response_payload,
        }
        if envelope_type == "events_api":
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = retry_reason
        envelope = Envelope(
            envelope_id=envelope_id,
            type=envelope_type,
            payload=payload,
            accepts_response_payload=accepts_response_payload,
            sent_at=time.monotonic(),
            connection=conn.index,
        )
        self.envelopes.append(envelope)
        self._envelopes_by_id[envelope_id] = envelope
        await conn.ws.send_str(json.dumps(message))
        return envelope_id

    async def send_socket_message(self, message: JSON, *, timeout: float = 5.0) -> None:
        """Send any JSON frame on the newest open connection (not recorded as an envelope)."""
        conn = await self.wait_for_socket(timeout)
        await conn.ws.send_str(json.dumps(message))

    async def disconnect_socket(
        self, how: DisconnectHow = "refresh", *, reason: str = "refresh_requested"
    ) -> list[SocketConnection]:
        """Drop every open connection the way Slack can; returns the connections affected.

        * ``"refresh"`` (what Slack does routinely): send ``{"type": "disconnect", "reason":
          reason, ...}`` and leave closing to the client, which reconnects first.
        * ``"close"``: close the websocket (code 1001) without warning.
        * ``"abort"``: drop the TCP connection with no close frame; the slack_sdk client only
          notices on its next ``ping_interval`` check.
        """
        affected = [c for c in self.socket_connections if c.is_open]
        for conn in affected:
            if how == "refresh":
                message = {
                    "type": "disconnect",
                    "reason": reason,
                    "debug_info": {"host": f"applink-fake-{conn.index}"},
                }
                await conn.ws.send_str(json.dumps(message))
            elif how == "close":
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=reason.encode())
            else:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
        return affected

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(timeout=2.0)
        await ws.prepare(request)
        open_now = sum(1 for c in self.socket_connections if c.is_open)
        index = len(self.socket_connections) + 1
        hello = {
            "type": "hello",
            "num_connections": open_now + 1,
            "debug_info": {
                "host": f"applink-fake-{index}",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        await ws.send_str(json.dumps(hello))
        conn = SocketConnection(
            index=index, ticket=ticket, connected_at=time.monotonic(), ws=ws, request=request
        )
        self.socket_connections.append(conn)
        await self._notify()
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_socket_text(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            conn.closed_at = time.monotonic()
        await self._notify()
        return ws

    async def _on_socket_text(self, conn: SocketConnection, data: str) -> None:
        now = time.monotonic()
        conn.received.append(data)
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            return
        envelope = self._envelopes_by_id.get(message["envelope_id"])
        payload = message.get("payload")
        self.acks.append(
            Ack(
                envelope_id=message["envelope_id"],
                payload=payload if isinstance(payload, dict) else None,
                time=now,
                latency=now - envelope.sent_at if envelope is not None else math.nan,
                raw=message,
            )
        )
        await self._notify()

    # ------------------------------------------------------------------ payload builders

    def slash_command(
        self,
        text: str,
        *,
        user_id: str = "U_ADA",
        user_name: str | None = None,
        channel_id: str = "C_GENERAL",
        channel_name: str | None = None,
        command: str = "/conf",
        team_id: str | None = None,
    ) -> JSON:
        """A ``slash_commands`` payload as Socket Mode delivers it (all values strings), with a
        fresh response_url and trigger_id. ``user_name`` defaults to the registered name."""
        return {
            "token": self.verification_token,
            "team_id": team_id or self.team_id,
            "team_domain": self.team_domain,
            "channel_id": channel_id,
            "channel_name": channel_name or self._channel_name(channel_id),
            "user_id": user_id,
            "user_name": user_name or self._user_name(user_id),
            "command": command,
            "text": text,
            "api_app_id": self.app_id,
            "is_enterprise_install": "false",
            "response_url": self.new_response_url(channel_id=channel_id, user_id=user_id),
            "trigger_id": self._new_trigger_id(),
        }

    def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user_id: str = "U_ADA",
        channel_id: str = "C_GENERAL",
        message_ts: str | None = None,
        block_id: str | None = None,
        team_id: str | None = None,
    ) -> JSON:
        """A ``block_actions`` payload for a button click.

        The clicked message is looked up: ``message_ts`` if given, else the newest message
        in the channel (then the user's ephemerals there) with an element ``action_id``. When
        found, the payload carries that message, its ``block_id`` and the button's text and
        style, and the response_url can replace/delete it. Otherwise the payload names a
        message that does not exist (``block_id`` falls back to "b1").
        """
        team = team_id or self.team_id
        found, is_ephemeral = self._find_action_message(channel_id, user_id, action_id, message_ts)
        element: JSON = {}
        found_block_id: str | None = None
        if found is not None:
            for block in found.blocks:
                for candidate in block_elements(block):
                    if candidate.get("action_id") == action_id:
                        element, found_block_id = candidate, block.get("block_id")
        ts = found.ts if found is not None else (message_ts or self._clock.next_ts())
        action: JSON = {
            "action_id": action_id,
            "block_id": block_id or found_block_id or "b1",
            "text": element.get("text", {"type": "plain_text", "text": value, "emoji": True}),
            "value": value,
            "type": element.get("type", "button"),
            "action_ts": self._clock.next_ts(),
        }
        if "style" in element:
            action["style"] = element["style"]
        container: JSON = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        }
        if found is not None and found.thread_ts is not None:
            container["thread_ts"] = found.thread_ts
        name = self._user_name(user_id)
        payload: JSON = {
            "type": "block_actions",
            "user": {"id": user_id, "username": name, "name": name, "team_id": team},
            "api_app_id": self.app_id,
            "token": self.verification_token,
            "container": container,
            "trigger_id": self._new_trigger_id(),
            "team": {"id": team, "domain": self.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel_id, "name": self._channel_name(channel_id)},
        }
        if found is not None and not is_ephemeral:
            payload["message"] = found.to_api(team_id=self.team_id, app_id=self.app_id)
        payload["state"] = {"values": {}}
        payload["response_url"] = self.new_response_url(
            channel_id=channel_id, user_id=user_id, message_ts=ts, is_ephemeral=is_ephemeral
        )
        payload["actions"] = [action]
        return payload

    def event_callback(self, event: JSON, *, event_id: str | None = None) -> JSON:
        """An ``events_api`` payload wrapping ``event`` (``event_ts`` added if missing)."""
        event = dict(event)
        event.setdefault("event_ts", self._clock.next_ts())
        return {
            "token": self.verification_token,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_hex(16),
        }

    async def push_slash_command(self, text: str, **kwargs: Any) -> str:
        """``push("slash_commands", slash_command(text, **kwargs))``."""
        return await self.push("slash_commands", self.slash_command(text, **kwargs))

    async def push_block_action(self, action_id: str, value: str, **kwargs: Any) -> str:
        """``push("interactive", block_action(action_id, value, **kwargs))``."""
        return await self.push("interactive", self.block_action(action_id, value, **kwargs))

    # ------------------------------------------------------------------ response URLs

    def new_response_url(
        self,
        *,
        channel_id: str | None = None,
        user_id: str | None = None,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        """A URL that records JSON POSTs into ``responses`` and applies them: in_channel
        posts a message, ephemeral (the default) an ephemeral to ``user_id``, and
        replace/delete_original act on ``message_ts`` (else on what this URL last posted).
        Like Slack's, it works 5 times within 30 minutes, then answers 404 "used_url"/
        "expired_url"."""
        response_id = secrets.token_hex(12)
        self._response_urls[response_id] = _ResponseUrl(
            ResponseUrlContext(
                response_id=response_id,
                channel_id=channel_id,
                user_id=user_id,
                message_ts=message_ts,
                is_ephemeral=is_ephemeral,
                created=time.monotonic(),
            )
        )
        return f"{self.base_url}/response/{response_id}"

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        state = self._response_urls.get(request.match_info["response_id"])
        body: Any
        try:
            if request.content_type == "application/json":
                body = await request.json()
            else:
                form = await request.post()
                body = json.loads(str(form.get("payload", "")))
        except ValueError:
            body = None
        if state is None:
            status, text = 404, "no_service"
        elif state.uses >= RESPONSE_URL_MAX_USES:
            status, text = 404, "used_url"
        elif now - state.context.created > RESPONSE_URL_LIFETIME:
            status, text = 404, "expired_url"
        elif not isinstance(body, dict):
            status, text = 400, "invalid_payload"
        else:
            state.uses += 1
            try:
                self._apply_response(state, body)
                status, text = 200, "ok"
            except _ApiError as e:
                status, text = 400, e.error
        self.responses.append(
            ResponsePost(
                url=str(request.url),
                body=body if isinstance(body, dict) else {},
                time=now,
                status=status,
                context=state.context if state is not None else None,
            )
        )
        await self._notify()
        return web.Response(status=status, text=text)

    def _apply_response(self, state: _ResponseUrl, body: JSON) -> None:
        ctx = state.context
        text, blocks, attachments = _content(body)
        target = self._response_target(state)
        if truthy(body.get("delete_original")):
            if target is not None:
                self._remove(target)
            return
        if text is None and blocks is None and attachments is None:
            raise _ApiError("no_text")
        if truthy(body.get("replace_original")) and target is not None:
            # Unlike chat.update, a replacement is a whole new message: nothing is kept.
            _update(target, text or "", blocks or [], attachments or [], self._clock.next_ts())
            return
        if ctx.channel_id is None:
            raise _ApiError("channel_not_found")
        in_channel = body.get("response_type") == "in_channel"
        message = Message(
            channel=ctx.channel_id,
            ts=self._clock.next_ts(),
            text=text or "",
            blocks=blocks or [],
            attachments=attachments or [],
            thread_ts=_str_or_none(body.get("thread_ts")),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            ephemeral_to=None if in_channel else ctx.user_id,
        )
        store = self._messages if in_channel else self._ephemerals
        store.setdefault(ctx.channel_id, []).append(message)
        state.last_posted = message

    def _response_target(self, state: _ResponseUrl) -> Message | None:
        ctx = state.context
        if ctx.message_ts is not None and ctx.channel_id is not None:
            store = self._ephemerals if ctx.is_ephemeral else self._messages
            return _find(store.get(ctx.channel_id, []), ctx.message_ts)
        last = state.last_posted
        if last is not None and any(last is m for m in self._all_messages()):
            return last
        return None

    # ------------------------------------------------------------------ Web API plumbing

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        method = request.match_info["method"]
        args, parse_error = await _read_args(request)
        token = _bearer(request.headers.get("Authorization"))
        if token is None and isinstance(args.get("token"), str) and args["token"]:
            token = args["token"]
        call = ApiCall(
            method=method,
            args=args,
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            time=now,
            http_method=request.method,
            token=token,
        )
        self.calls.append(call)
        await self._notify()
        status, body, headers = await self._answer(call, parse_error)
        call.status, call.response = status, body
        await self._notify()
        return web.json_response(body, status=status, headers=headers)

    async def _answer(
        self, call: ApiCall, parse_error: str | None
    ) -> tuple[int, JSON, dict[str, str]]:
        injection = self._take_injection(call.method)
        if injection is not None:
            if injection.kind == "ratelimit":
                headers = {"Retry-After": str(injection.retry_after)}
                return 429, {"ok": False, "error": "ratelimited"}, headers
            return injection.status, {"ok": False, "error": injection.error}, {}
        handler = self._overrides.get(call.method) or self._methods.get(call.method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": call.method}, {}
        if parse_error is not None:
            return 200, {"ok": False, "error": parse_error}, {}
        auth_error = self._auth_error(call.method, call.token)
        if auth_error is not None:
            return 200, {"ok": False, "error": auth_error}, {}
        try:
            result = handler(call)
            body = await result if inspect.isawaitable(result) else result
        except _ApiError as e:
            return 200, e.body(), {}
        return 200, body, {}

    def _auth_error(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if method == "api.test":
            return None
        wants_app = method == "apps.connections.open"
        if token.startswith("xapp-"):
            if not wants_app:
                return "not_allowed_token_type"
            return None if self.app_token in (None, token) else "invalid_auth"
        if token.startswith("xoxb-"):
            if wants_app:
                return "not_allowed_token_type"
            return None if self.bot_token in (None, token) else "invalid_auth"
        return "invalid_auth"

    # ------------------------------------------------------------------ Web API methods

    def _api_test(self, call: ApiCall) -> JSON:
        return {"ok": True, "args": call.args}

    def _auth_test(self, call: ApiCall) -> JSON:
        return {
            "ok": True,
            "url": f"https://{self.team_domain}.slack.com/",
            "team": self.team_name,
            "user": self.bot_name,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, call: ApiCall) -> JSON:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        url = f"ws://127.0.0.1:{self.port}/socket-mode?ticket={ticket}&app_id={self.app_id}"
        return {"ok": True, "url": url}

    def _chat_post_message(self, call: ApiCall) -> JSON:
        channel = self._postable_channel(call.args.get("channel"))
        text, blocks, attachments = _content(call.args)
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        metadata = call.args.get("metadata")
        message = Message(
            channel=channel,
            ts=self._clock.next_ts(),
            text=text or "",
            blocks=blocks or [],
            attachments=attachments or [],
            thread_ts=_str_or_none(call.args.get("thread_ts")),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        self._messages.setdefault(channel, []).append(message)
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "message": message.to_api(team_id=self.team_id, app_id=self.app_id),
        }

    def _chat_update(self, call: ApiCall) -> JSON:
        """Fields not passed keep their old value, as Slack documents for blocks/attachments."""
        channel = self._resolve_channel(call.args.get("channel"))
        message = _find(self._messages.get(channel, []), _str_or_none(call.args.get("ts")))
        if message is None:
            raise _ApiError("message_not_found")
        text, blocks, attachments = _content(call.args)
        if text is None and blocks is None and attachments is None:
            raise _ApiError("no_text")
        _update(message, text, blocks, attachments, self._clock.next_ts())
        return {
            "ok": True,
            "channel": channel,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(team_id=self.team_id, app_id=self.app_id),
        }

    def _chat_delete(self, call: ApiCall) -> JSON:
        channel = self._resolve_channel(call.args.get("channel"))
        message = _find(self._messages.get(channel, []), _str_or_none(call.args.get("ts")))
        if message is None:
            raise _ApiError("message_not_found")
        self._remove(message)
        return {"ok": True, "channel": channel, "ts": message.ts}

    def _chat_post_ephemeral(self, call: ApiCall) -> JSON:
        channel = self._postable_channel(call.args.get("channel"))
        user = _str_or_none(call.args.get("user"))
        if user is None or user not in self._users:
            raise _ApiError("user_not_found")
        text, blocks, attachments = _content(call.args)
        if not text and not blocks and not attachments:
            raise _ApiError("no_text")
        message = Message(
            channel=channel,
            ts=self._clock.next_ts(),
            text=text or "",
            blocks=blocks or [],
            attachments=attachments or [],
            thread_ts=_str_or_none(call.args.get("thread_ts")),
            user=self.bot_user_id,
            bot_id=self.bot_id,
            ephemeral_to=user,
        )
        self._ephemerals.setdefault(channel, []).append(message)
        return {"ok": True, "message_ts": message.ts}

    def _chat_get_permalink(self, call: ApiCall) -> JSON:
        channel = self._resolve_channel(call.args.get("channel"))
        ts = _str_or_none(call.args.get("message_ts"))
        if _find(self._messages.get(channel, []), ts) is None or ts is None:
            raise _ApiError("message_not_found")
        archive = f"https://{self.team_domain}.slack.com/archives/{channel}"
        permalink = f"{archive}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": permalink}

    def _users_info(self, call: ApiCall) -> JSON:
        user = self._users.get(str(call.args.get("user", "")))
        if user is None:
            raise _ApiError("user_not_found")
        return {"ok": True, "user": copy.deepcopy(user)}

    def _users_lookup_by_email(self, call: ApiCall) -> JSON:
        email = str(call.args.get("email", "")).lower()
        for user in self._users.values():
            if str(user["profile"].get("email", "")).lower() == email:
                return {"ok": True, "user": copy.deepcopy(user)}
        raise _ApiError("users_not_found")

    def _usergroups_users_list(self, call: ApiCall) -> JSON:
        group = self._usergroups.get(str(call.args.get("usergroup", "")))
        if group is None:
            raise _ApiError("no_such_subteam")
        return {"ok": True, "users": list(group)}

    def _conversations_info(self, call: ApiCall) -> JSON:
        channel = self._channels.get(self._resolve_channel(call.args.get("channel")))
        if channel is None:
            raise _ApiError("channel_not_found")
        return {"ok": True, "channel": self._channel_object(channel)}

    def _conversations_join(self, call: ApiCall) -> JSON:
        channel = self._channels.get(self._resolve_channel(call.args.get("channel")))
        if channel is None:
            raise _ApiError("channel_not_found")
        if channel.is_private or channel.is_im:
            raise _ApiError("method_not_supported_for_channel_type")
        if channel.is_archived:
            raise _ApiError("is_archived")
        answer: JSON = {"ok": True}
        if channel.is_member:
            answer["warning"] = "already_in_channel"
            answer["response_metadata"] = {"warnings": ["already_in_channel"]}
        channel.is_member = True
        answer["channel"] = self._channel_object(channel)
        return answer

    def _conversations_open(self, call: ApiCall) -> JSON:
        users = [u for u in str(call.args.get("users", "")).split(",") if u]
        if len(users) != 1:
            raise _ApiError("users_list_not_supplied" if not users else "not_implemented")
        if users[0] not in self._users:
            raise _ApiError("user_not_found")
        channel_id = "D" + users[0].lstrip("UW")
        answer: JSON = {"ok": True}
        if channel_id in self._channels:
            answer.update(no_op=True, already_open=True)
        else:
            self._channels[channel_id] = _Channel(
                id=channel_id, name=channel_id, is_im=True, user=users[0]
            )
        answer["channel"] = {"id": channel_id}
        return answer

    def _views_open(self, call: ApiCall) -> JSON:
        trigger_id = _str_or_none(call.args.get("trigger_id"))
        issued = self._triggers.get(trigger_id or "")
        if issued is None:
            raise _ApiError("invalid_trigger_id")
        if time.monotonic() - issued > TRIGGER_LIFETIME:
            raise _ApiError("expired_trigger_id")
        return {"ok": True, "view": self._store_view(call.args.get("view"), None)}

    def _views_update(self, call: ApiCall) -> JSON:
        view_id = _str_or_none(call.args.get("view_id"))
        external_id = _str_or_none(call.args.get("external_id"))
        for existing in self._views.values():
            if view_id == existing["id"] or (
                external_id is not None and external_id == existing.get("external_id")
            ):
                return {"ok": True, "view": self._store_view(call.args.get("view"), existing)}
        raise _ApiError("not_found")

    def _views_publish(self, call: ApiCall) -> JSON:
        user = _str_or_none(call.args.get("user_id"))
        if user is None or user not in self._users:
            raise _ApiError("user_not_found")
        return {"ok": True, "view": self._store_view(call.args.get("view"), None)}

    def _store_view(self, raw: Any, existing: JSON | None) -> JSON:
        view = _json_arg(raw, "invalid_arguments")
        if not isinstance(view, dict) or "type" not in view:
            raise _ApiError("invalid_arguments")
        errors = validate_blocks(view.get("blocks") or [])
        if errors:
            raise _ApiError("invalid_blocks", errors=errors)
        view_id = existing["id"] if existing is not None else "V" + secrets.token_hex(5).upper()
        stored: JSON = {
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": secrets.token_hex(8),
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            **view,
        }
        self._views[view_id] = stored
        return copy.deepcopy(stored)

    # ------------------------------------------------------------------ helpers

    def _resolve_channel(self, raw: Any) -> str:
        """A channel ID from an argument: IDs pass through, ``#name`` is looked up."""
        value = str(raw or "")
        if value.startswith("#"):
            for channel in self._channels.values():
                if channel.name == value[1:]:
                    return channel.id
            raise _ApiError("channel_not_found")
        if not value:
            raise _ApiError("channel_not_found")
        return value

    def _postable_channel(self, raw: Any) -> str:
        channel_id = self._resolve_channel(raw)
        channel = self._channels.get(channel_id)
        if channel is not None:
            if channel.is_archived:
                raise _ApiError("is_archived")
            if not channel.is_member:
                raise _ApiError("not_in_channel")
        return channel_id

    def _channel_object(self, channel: _Channel) -> JSON:
        if channel.is_im:
            return {
                "id": channel.id,
                "created": 1_700_000_000,
                "is_im": True,
                "is_org_shared": False,
                "user": channel.user,
                "is_user_deleted": False,
                "priority": 0,
            }
        return {
            "id": channel.id,
            "name": channel.name,
            "is_channel": not channel.is_private,
            "is_group": channel.is_private,
            "is_im": False,
            "is_mpim": False,
            "is_private": channel.is_private,
            "created": 1_700_000_000,
            "is_archived": channel.is_archived,
            "is_general": channel.is_general,
            "unlinked": 0,
            "name_normalized": channel.name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "is_member": channel.is_member,
            "creator": "U_ADA",
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "context_team_id": self.team_id,
        }

    def _channel_name(self, channel_id: str) -> str:
        channel = self._channels.get(channel_id)
        if channel is not None and not channel.is_im:
            return channel.name
        if channel_id.startswith("D"):
            return "directmessage"
        return channel_id.lower()

    def _user_name(self, user_id: str) -> str:
        user = self._users.get(user_id)
        return str(user["name"]) if user is not None else user_id.lower()

    def _new_trigger_id(self) -> str:
        trigger_id = f"{time.time_ns() // 1000}.{self.team_id[1:]}.{secrets.token_hex(16)}"
        self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    def _find_action_message(
        self, channel_id: str, user_id: str, action_id: str, message_ts: str | None
    ) -> tuple[Message | None, bool]:
        for store, is_ephemeral in ((self._messages, False), (self._ephemerals, True)):
            for message in reversed(store.get(channel_id, [])):
                if is_ephemeral and message.ephemeral_to != user_id:
                    continue
                if message_ts is not None:
                    if message.ts == message_ts:
                        return message, is_ephemeral
                elif message.find_element(action_id) is not None:
                    return message, is_ephemeral
        return None, False

    def _all_messages(self) -> list[Message]:
        stores = (self._messages, self._ephemerals)
        return [m for store in stores for messages in store.values() for m in messages]

    def _remove(self, message: Message) -> None:
        store = self._ephemerals if message.ephemeral_to is not None else self._messages
        messages = store.get(message.channel, [])
        store[message.channel] = [m for m in messages if m is not message]


# ---------------------------------------------------------------------- module helpers


async def _read_args(request: web.Request) -> tuple[JSON, str | None]:
    """Query string merged with a JSON, form or multipart body; plus a parse error, if any."""
    args: JSON = dict(request.query)
    if not request.can_read_body:
        return args, None
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return args, "invalid_json"
        if not isinstance(body, dict):
            return args, "invalid_json"
        args.update(body)
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                args[key] = value
            elif isinstance(value, web.FileField):
                args[key] = f"<file {value.filename}>"
            else:
                args[key] = bytes(value).decode("utf-8", "replace")
    return args, None


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[len("bearer ") :].strip() or None
    return None


def _json_arg(raw: Any, error: str) -> Any:
    """Slack takes blocks/attachments/views as JSON values or as JSON-encoded strings."""
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            raise _ApiError(error) from None
    return raw


def _content(args: JSON) -> tuple[str | None, list[JSON] | None, list[JSON] | None]:
    """(text, blocks, attachments) from call args, each ``None`` when not passed."""
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    if text is not None and len(text) > MAX_TEXT:
        raise _ApiError("msg_too_long")
    blocks = args.get("blocks")
    if blocks is not None:
        blocks = _json_arg(blocks, "invalid_blocks_format")
        if not isinstance(blocks, list):
            raise _ApiError("invalid_blocks_format")
        errors = validate_blocks(blocks)
        if errors:
            raise _ApiError(
                "invalid_blocks",
                errors=errors,
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
    attachments = args.get("attachments")
    if attachments is not None:
        attachments = _json_arg(attachments, "invalid_attachments")
        if not isinstance(attachments, list):
            raise _ApiError("invalid_attachments")
    return text, blocks, attachments


def _update(
    message: Message,
    text: str | None,
    blocks: list[JSON] | None,
    attachments: list[JSON] | None,
    edited_ts: str,
) -> None:
    if text is not None:
        message.text = text
    if blocks is not None:
        message.blocks = blocks
    if attachments is not None:
        message.attachments = attachments
    message.edited_ts = edited_ts


def _find(messages: list[Message], ts: str | None) -> Message | None:
    return next((m for m in messages if m.ts == ts), None) if ts is not None else None


def _str_or_none(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
