"""The blackhole websocket server: sessions, subscribe/unsubscribe/ping, and event fan-out
(reference §6).

Each connection has an outbox queue drained by one writer task. Replies and events are put on it
synchronously, in the order they happen, so a client always sees a subscribe reply before the events
it enables and sees events in the order the PBX produced them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from bot.simulator.bindings import Binding, BindingError, parse_binding, topic_matches
from bot.simulator.state import Message
from bot.simulator.tokens import TokenIssuer

_SUBSCRIBE_KEYS = ("account_id", "binding")


class _Refusal(Exception):
    """A pipeline step failed; the message is the error string for the reply."""


class Session:
    """One websocket connection and what it has authenticated and subscribed to."""

    def __init__(self, ws: ServerConnection) -> None:
        self.ws = ws
        self.auth_account_id: str | None = None
        self.bindings: list[Binding] = []
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.closed = asyncio.Event()

    def send(self, frame: dict[str, Any] | str) -> None:
        self.outbox.put_nowait(frame if isinstance(frame, str) else json.dumps(frame))

    def subscribed(self) -> list[str]:
        return [b.client_key for b in self.bindings]


class Blackhole:
    """The websocket side of the simulator."""

    def __init__(self, *, tokens: TokenIssuer, binding_format: str) -> None:
        self._tokens = tokens
        self._binding_format = binding_format
        self._sessions: list[Session] = []
        self._server: Server | None = None
        # Replaced on every change, so waiters always wait on the next change (see _changed_now).
        self._changed = asyncio.Event()
        self.connection_count = 0

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the bound port. Server pings are off: blackhole sends none (§6.1)."""
        self._server = await serve(
            self._serve,
            host,
            port,
            process_request=self._process_request,
            ping_interval=None,
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def publish(self, messages: Iterable[Message]) -> None:
        """Send each message to every binding it matches, once per matching binding."""
        for message in messages:
            for session in self._sessions:
                for binding in session.bindings:
                    if topic_matches(binding.subscription_key, message.routing_key):
                        session.send(
                            {
                                "action": "event",
                                "subscribed_key": binding.client_key,
                                "subscription_key": binding.subscription_key,
                                "name": message.name,
                                "routing_key": message.routing_key,
                                "data": message.data,
                            }
                        )

    def send_raw(self, text: str) -> None:
        for session in self._sessions:
            session.send(text)

    async def drop_all(self) -> None:
        """Cut every connection without a close frame, as a crash or network loss would."""
        sessions = list(self._sessions)
        for session in sessions:
            self._forget(session)  # subscriptions die now, so no event slips out after the drop
            session.ws.transport.abort()
        for session in sessions:
            await session.closed.wait()

    def subscriber_count(self, conference_id: str) -> int:
        return sum(
            1 for s in self._sessions if any(b.conference_id == conference_id for b in s.bindings)
        )

    async def wait_for_subscribers(self, conference_id: str, count: int, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while self.subscriber_count(conference_id) < count:
                await self._changed.wait()

    def _changed_now(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _forget(self, session: Session) -> None:
        if session in self._sessions:
            self._sessions.remove(session)
            self._changed_now()

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        # blackhole_socket_handler:init/2 refuses any subprotocol with a plain 400.
        if "Sec-WebSocket-Protocol" in request.headers:
            return connection.respond(HTTPStatus.BAD_REQUEST, "subprotocols are not supported\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        session = Session(ws)
        self._sessions.append(session)
        self.connection_count += 1
        writer = asyncio.create_task(self._write(session))
        try:
            async for frame in ws:
                if isinstance(frame, bytes):
                    continue  # binary frames are ignored
                try:
                    message = json.loads(frame)
                except ValueError:
                    message = None
                if not isinstance(message, dict):
                    # kz_json:decode has no guard: the handler crashes and cowboy closes the socket.
                    await ws.close(1011, "internal error")
                    break
                session.send(self._handle(session, message))
        except ConnectionClosed:
            pass
        finally:
            self._forget(session)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            session.closed.set()

    @staticmethod
    async def _write(session: Session) -> None:
        while True:
            frame = await session.outbox.get()
            try:
                await session.ws.send(frame)
            except ConnectionClosed:
                return

    def _handle(self, session: Session, message: dict[str, Any]) -> dict[str, Any]:
        action = message.get("action", "noop")
        request_id = message.get("request_id")
        if request_id is None:
            request_id = secrets.token_hex(16)
        try:
            self._authenticate(session, message)
            if action == "subscribe":
                data: dict[str, Any] = self._subscribe(session, message.get("data"))
            elif action == "unsubscribe":
                data = self._unsubscribe(session, message.get("data"))
            else:
                # ping (bh_ping is not autoloaded by default, so no "pong"; §6.3) and anything else.
                data = {}
        except _Refusal as refusal:
            return {
                "action": "reply",
                "request_id": request_id,
                "status": "error",
                "data": {"errors": [str(refusal)]},
            }
        return {"action": "reply", "request_id": request_id, "status": "success", "data": data}

    def _authenticate(self, session: Session, message: dict[str, Any]) -> None:
        # Only an unauthenticated session checks tokens; once in, it stays in past the token's exp.
        if session.auth_account_id is not None:
            return
        if "auth_token" not in message:
            raise _Refusal("authentication token required")
        token = message["auth_token"]
        if not isinstance(token, str):
            raise _Refusal("invalid authentication token format")
        claims = self._tokens.validate(token)
        if claims is None:
            raise _Refusal(f"failed to authenticate token {token}")
        session.auth_account_id = claims.account_id

    @staticmethod
    def _binding_request(data: object) -> tuple[str, str]:
        if not isinstance(data, dict) or not data:
            raise _Refusal("missing required keys in data object")
        missing = [key for key in _SUBSCRIBE_KEYS if key not in data]
        if missing:
            raise _Refusal("missing required keys : " + ", ".join(missing))
        account_id, binding = data["account_id"], data["binding"]
        if not isinstance(binding, str) or not isinstance(account_id, str):
            raise _Refusal("no available subscriptions to requested binding")
        return account_id, binding

    def _subscribe(self, session: Session, data: object) -> dict[str, Any]:
        account_id, client_binding = self._binding_request(data)
        try:
            binding = parse_binding(client_binding, account_id, self._binding_format)
        except BindingError as exc:
            raise _Refusal(str(exc)) from None
        if account_id != session.auth_account_id:
            if account_id == "*":
                raise _Refusal("unauthorized wildcard account id")
            raise _Refusal("unauthorized account id")
        if client_binding not in session.subscribed():
            session.bindings.append(binding)
            self._changed_now()
        return {"subscribed": session.subscribed()}

    def _unsubscribe(self, session: Session, data: object) -> dict[str, Any]:
        # Unsubscribe is not authorized against the account (§6.2).
        _, client_binding = self._binding_request(data)
        session.bindings = [b for b in session.bindings if b.client_key != client_binding]
        self._changed_now()
        return {"unsubscribed": [client_binding], "subscribed": session.subscribed()}
