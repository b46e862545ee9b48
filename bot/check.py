"""`confbot check`: settings and connectivity, one line per check, non-zero exit on any failure.

Each failing line says what to fix. Checks that depend on an earlier one (the websocket needs a
Kazoo login) are reported as skipped rather than failing twice for one cause.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from websockets.asyncio.client import ClientConnection, connect

from bot.app import kazoo_client
from bot.config import Mode, Settings, load_settings
from bot.errors import BotError, ConfigError
from bot.kazoo.rest import KazooClient

TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    text: str


async def _kazoo_login(kazoo: KazooClient) -> Outcome:
    auth = await kazoo.login()
    return Outcome(True, f"Kazoo login: account {auth.account_id}")


async def _kazoo_list(kazoo: KazooClient, found: list[str]) -> Outcome:
    """List the conferences; their ids go into `found` for the websocket check."""
    conferences = await kazoo.list_conferences()
    found.extend(c.id for c in conferences if c.id)
    return Outcome(True, f"Kazoo REST: {len(conferences)} conference(s) visible")


async def _kazoo_websocket(
    kazoo: KazooClient, settings: Settings, conference_id: str | None
) -> Outcome:
    url = settings.KAZOO_WS_URL or kazoo.ws_url
    if not url:
        return Outcome(
            False,
            "Kazoo websocket: no URL; set KAZOO_WS_URL (Kazoo's auth response advertises none)",
        )
    token = await kazoo.auth.token()
    async with connect(url, open_timeout=TIMEOUT) as ws:
        if conference_id is None:
            # Nothing to subscribe to: an authenticated ping proves the handshake and the token.
            ping = {"action": "ping", "auth_token": token, "request_id": uuid.uuid4().hex}
            return _ws_outcome(await _ask(ws, ping), "ping")
        for binding in (
            f"conference.event.{conference_id}.*",
            f"conference.event.*.{conference_id}.*",
        ):
            message: dict[str, Any] = {
                "action": "subscribe",
                "auth_token": token,
                "request_id": uuid.uuid4().hex,
                "data": {"account_id": kazoo.account_id, "binding": binding},
            }
            reply = await _ask(ws, message)
            data = reply.get("data")
            errors = data.get("errors") or [] if isinstance(data, dict) else []
            if reply.get("status") == "success" or not any(
                str(e).startswith("invalid format for conference subscription") for e in errors
            ):
                return _ws_outcome(
                    reply, f"subscribe ({binding.replace(str(conference_id), '{C}')})"
                )
        return _ws_outcome(reply, "subscribe")


async def _ask(ws: ClientConnection, message: Mapping[str, Any]) -> dict[str, Any]:
    await ws.send(json.dumps(message))
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
        if isinstance(frame, dict) and frame.get("request_id") == message["request_id"]:
            return frame


def _ws_outcome(reply: Mapping[str, Any], what: str) -> Outcome:
    if reply.get("status") == "success":
        return Outcome(True, f"Kazoo websocket: {what} accepted")
    data = reply.get("data")
    errors = data.get("errors") if isinstance(data, dict) else None
    reason = "; ".join(str(e) for e in errors or []) or "refused"
    if "failed to authenticate token" in reason:
        reason = "the token was refused"
    return Outcome(False, f"Kazoo websocket: {what} refused ({reason}); check KAZOO_WS_URL")


async def _slack(settings: Settings) -> list[Outcome]:
    assert settings.SLACK_BOT_TOKEN is not None
    client = AsyncWebClient(
        token=settings.SLACK_BOT_TOKEN.get_secret_value(), base_url=settings.SLACK_API_URL
    )
    outcomes = []
    try:
        auth = await client.auth_test()
        outcomes.append(
            Outcome(True, f"Slack auth.test: team {auth.get('team')}, bot user {auth.get('user')}")
        )
    except SlackApiError as exc:
        outcomes.append(
            Outcome(
                False,
                f"Slack auth.test: {exc.response.get('error')}; check SLACK_BOT_TOKEN "
                "(and SLACK_API_URL)",
            )
        )
        return outcomes
    if settings.SLACK_APP_TOKEN is not None:
        try:
            await client.apps_connections_open(
                app_token=settings.SLACK_APP_TOKEN.get_secret_value()
            )
            outcomes.append(Outcome(True, "Slack Socket Mode: apps.connections.open accepted"))
        except SlackApiError as exc:
            outcomes.append(
                Outcome(
                    False,
                    f"Slack Socket Mode: {exc.response.get('error')}; check SLACK_APP_TOKEN "
                    "(an app-level token with connections:write)",
                )
            )
    return outcomes


async def _guarded(name: str, step: Callable[[], Awaitable[Outcome]]) -> Outcome:
    try:
        return await asyncio.wait_for(step(), TIMEOUT * 2)
    except BotError as exc:
        return Outcome(False, f"{name}: {exc}")
    except (OSError, TimeoutError) as exc:
        return Outcome(False, f"{name}: cannot connect ({exc.__class__.__name__}: {exc})")
    except Exception as exc:  # a check must report, never crash
        return Outcome(False, f"{name}: {exc.__class__.__name__}: {exc}")


async def run_checks(settings: Settings) -> list[Outcome]:
    outcomes: list[Outcome] = [Outcome(True, "settings: complete and consistent")]
    kazoo = kazoo_client(settings)
    try:
        login = await _guarded("Kazoo login", lambda: _kazoo_login(kazoo))
        outcomes.append(login)
        if login.ok:
            found: list[str] = []
            outcomes.append(await _guarded("Kazoo REST", lambda: _kazoo_list(kazoo, found)))
            first = found[0] if found else None
            outcomes.append(
                await _guarded("Kazoo websocket", lambda: _kazoo_websocket(kazoo, settings, first))
            )
        else:
            outcomes.append(Outcome(False, "Kazoo REST and websocket: skipped (no login)"))
    finally:
        await kazoo.aclose()
    try:
        outcomes.extend(await asyncio.wait_for(_slack(settings), TIMEOUT * 2))
    except Exception as exc:
        outcomes.append(
            Outcome(False, f"Slack: cannot connect ({exc.__class__.__name__}); check SLACK_API_URL")
        )
    return outcomes


def main(out: TextIO | None = None) -> int:
    stream = out or sys.stdout
    try:
        settings = load_settings(Mode.CHECK)
    except ConfigError as exc:
        print(f"FAIL settings: {exc.variable}: {exc.message}", file=stream)
        return 1
    outcomes = asyncio.run(run_checks(settings))
    for outcome in outcomes:
        print(f"{'ok  ' if outcome.ok else 'FAIL'} {outcome.text}", file=stream)
    return 0 if all(o.ok for o in outcomes) else 1
