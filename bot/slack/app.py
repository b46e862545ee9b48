"""The Slack edge: a bolt AsyncApp whose listeners ack first, then hand the input to a `Handler`
and deliver its `Reply` (privately through the response URL, and one audit line in the channel).

Transport: Socket Mode when an app token is given, else HTTP (`POST /slack/events`, signature
verified by bolt). An aiohttp server on the HTTP port also serves `/healthz` (and `/metrics` when
a metrics handler is given) in both modes.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.metrics import SLACK_CALLS, SLACK_RATE_LIMITED
from bot.slack.buttons import ACTION_ID_PATTERN
from bot.slack.reply import Handler, Reply

log = logging.getLogger("bot.slack")

GENERIC_ERROR = "Sorry, something went wrong on our side. It has been logged; please try again."
# Errors that mean "the bot cannot post in this channel": fall back to an in-channel response.
NOT_IN_CHANNEL = {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}


class Inflight:
    """Counts work started by listeners, so shutdown can wait for it to finish."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __aenter__(self) -> None:
        self._count += 1
        self._idle.clear()

    async def __aexit__(self, *exc: object) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
            return True
        except TimeoutError:
            return False


class CountingWebClient(AsyncWebClient):
    """AsyncWebClient whose every call (all go through api_call) is counted for /metrics."""

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        try:
            response = await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                SLACK_RATE_LIMITED.labels(api_method).inc()
                SLACK_CALLS.labels(api_method, "ratelimited").inc()
            else:
                SLACK_CALLS.labels(api_method, str(exc.response.get("error", "error"))).inc()
            raise
        except Exception:
            SLACK_CALLS.labels(api_method, "unreachable").inc()
            raise
        SLACK_CALLS.labels(api_method, "ok").inc()
        return response


def web_client(
    bot_token: str, api_url: str, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """Every Web API call (and Socket Mode's apps.connections.open) goes to `api_url`.

    Without `session`, slack_sdk opens (and closes) a new HTTP session, so a new connection, for
    every single call; the bot passes one long-lived session instead.
    """
    return CountingWebClient(token=bot_token, base_url=api_url, session=session)


def responder(
    response_url: str, session: aiohttp.ClientSession | None
) -> Callable[..., Awaitable[Any]]:
    """`respond(...)` for a response URL, over the bot's shared HTTP session."""

    async def respond(**message: Any) -> Any:
        if not response_url:
            raise ValueError("this request carries no response_url")
        webhook = AsyncWebhookClient(url=response_url, session=session)
        return await webhook.send(**message)

    return respond


def build_app(
    *,
    client: AsyncWebClient,
    signing_secret: str | None,
    command: str,
    handler: Handler,
    inflight: Inflight,
    on_channel_post: Callable[[str], None] = lambda channel_id: None,
    session: aiohttp.ClientSession | None = None,
) -> AsyncApp:
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        # Socket Mode has no signatures to check; HTTP mode always verifies them.
        request_verification_enabled=signing_secret is not None,
        raise_error_for_unhandled_request=False,
    )
    register(app, handler, command, inflight, client, on_channel_post, session)
    return app


def register(
    app: AsyncApp,
    handler: Handler,
    command: str,
    inflight: Inflight,
    client: AsyncWebClient,
    on_channel_post: Callable[[str], None] = lambda channel_id: None,
    session: aiohttp.ClientSession | None = None,
) -> None:
    """Listeners for the slash command and every confbot button.

    Replies go through `client` (ours, counted for /metrics) rather than the per-request copy
    bolt hands to listeners.
    """

    @app.command(command)
    async def on_command(ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        await ack()
        respond = responder(str(body.get("response_url", "")), session)
        async with inflight:
            channel_id = str(body.get("channel_id", ""))
            try:
                reply = await handler.command(
                    str(body.get("user_id", "")), channel_id, str(body.get("text", ""))
                )
            except Exception:
                log.exception("command failed")
                reply = _generic()
            await deliver(reply, respond, client, channel_id, on_channel_post)

    @app.action(re.compile(ACTION_ID_PATTERN))
    async def on_click(
        ack: Callable[..., Awaitable[None]],
        body: dict[str, Any],
        action: dict[str, Any],
    ) -> None:
        await ack()
        respond = responder(str(body.get("response_url", "")), session)
        async with inflight:
            channel_id = str((body.get("channel") or {}).get("id", ""))
            user_id = str((body.get("user") or {}).get("id", ""))
            try:
                reply = await handler.click(
                    user_id,
                    channel_id,
                    str(action.get("action_id", "")),
                    str(action.get("value", "")),
                )
            except Exception:
                log.exception("button failed")
                reply = _generic()
            await deliver(reply, respond, client, channel_id, on_channel_post)


def _generic() -> Reply:
    from bot.slack.render import error

    return Reply(private=error(GENERIC_ERROR))


async def deliver(
    reply: Reply,
    respond: Callable[..., Awaitable[Any]],
    client: AsyncWebClient,
    channel_id: str,
    on_channel_post: Callable[[str], None] = lambda channel_id: None,
) -> None:
    """Private part through the response URL; the audit line as a channel message.

    The audit line goes out at once, ahead of any notice owed to the channel: `on_channel_post`
    tells the notices to count it against the channel's one-post-a-second budget.
    """
    if reply.private is not None:
        try:
            response = await respond(
                text=reply.private.text,
                blocks=reply.private.blocks or None,
                response_type="ephemeral",
                replace_original=reply.replace_original,
            )
            status = getattr(response, "status_code", 200)
            if status >= 400:
                log.warning("Slack refused a reply on the response URL: HTTP %s", status)
        except Exception:
            log.exception("could not deliver a reply through the response URL")
    if reply.channel_line is None:
        return
    try:
        on_channel_post(channel_id)
        await client.chat_postMessage(
            channel=channel_id, text=reply.channel_line, unfurl_links=False, unfurl_media=False
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        if error not in NOT_IN_CHANNEL:
            log.warning("could not post the audit line: %s", error)
            return
        # The bot is not in this channel: the response URL can still speak in it.
        try:
            await respond(
                text=reply.channel_line, response_type="in_channel", replace_original=False
            )
        except Exception:
            log.exception("could not post the audit line through the response URL")


class Gateway:
    """Runs the app over Socket Mode or HTTP, plus the health (and metrics) endpoints."""

    def __init__(
        self,
        app: AsyncApp,
        *,
        app_token: str | None,
        # A server in a container must listen on all interfaces to be reachable.
        host: str = "0.0.0.0",
        port: int,
        health: Callable[[], tuple[bool, dict[str, Any]]],
        metrics: Callable[[], tuple[bytes, str]] | None = None,
    ) -> None:
        self.app = app
        self.app_token = app_token
        self.host = host
        self.port = port
        self.health = health
        self.metrics = metrics
        self.socket_handler: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self.bound_port: int | None = None

    @property
    def slack_connected(self) -> bool:
        if self.socket_handler is None:
            return self._runner is not None
        client = self.socket_handler.client
        return bool(getattr(client, "current_session", None)) and not getattr(
            client, "closed", False
        )

    async def start(self) -> None:
        web_app = web.Application()
        web_app.router.add_get("/healthz", self._healthz)
        if self.metrics is not None:
            web_app.router.add_get("/metrics", self._metrics)
        if self.app_token is None:
            web_app.router.add_post("/slack/events", self._events)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self.port
        if self.app_token is not None:
            self.socket_handler = AsyncSocketModeHandler(self.app, self.app_token)
            # bolt's handler methods carry no annotations; they are plain coroutines.
            await self.socket_handler.connect_async()  # type: ignore[no-untyped-call]

    async def stop(self) -> None:
        if self.socket_handler is not None:
            await self.socket_handler.close_async()  # type: ignore[no-untyped-call]
            self.socket_handler = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _events(self, request: web.Request) -> web.Response:
        bolt_response = await self.app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def _healthz(self, request: web.Request) -> web.Response:
        ready, details = self.health()
        return web.json_response(
            {"status": "ok" if ready else "not ready", **details}, status=200 if ready else 503
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        assert self.metrics is not None
        body, content_type = self.metrics()
        return web.Response(body=body, headers={"Content-Type": content_type})
