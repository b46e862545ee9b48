"""HTTP mode: signed requests from Slack on /slack/events, health on the same port."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from bot.app import Bot
from bot.config import Mode, load_settings
from tests.integration.harness import ADA, CHANNEL, World, world

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture
async def http_bot(tmp_path: Path) -> AsyncIterator[tuple[World, Bot]]:
    async with world() as w:
        settings = load_settings(
            Mode.RUN,
            env={
                "SLACK_BOT_TOKEN": "xoxb-test",
                "SLACK_SIGNING_SECRET": SECRET,
                "SLACK_API_URL": w.slack.api_url,
                "CONFBOT_HTTP_PORT": "0",
                "KAZOO_URL": w.sim.http_url,
                "KAZOO_WS_URL": w.sim.ws_url,
                "KAZOO_API_KEY": w.sim.api_key,
                "CONFBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'http.db'}",
            },
            env_file=None,
        )
        bot = await Bot.build(settings)
        stop = asyncio.Event()
        task = asyncio.create_task(bot.run(stop))
        try:
            while bot.gateway.bound_port is None:  # noqa: ASYNC110 - set by gateway.start()
                await asyncio.sleep(0.01)
            yield w, bot
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=20)


def signed(body: str, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(at if at is not None else int(time.time()))
    base = f"v0:{timestamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


async def test_signed_slash_command_is_acked_and_answered(http_bot: tuple[World, Bot]) -> None:
    w, bot = http_bot
    w.sim.join(w.standup, "Linus", "+15550111")
    payload = w.slack.slash_command("lock Standup", user_id=ADA, channel_id=CHANNEL)
    body = urlencode(payload)
    url = f"http://127.0.0.1:{bot.gateway.bound_port}/slack/events"
    since = time.monotonic()
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=body, headers=signed(body))
    assert response.status_code == 200
    reply = await w.slack.wait_for_response(lambda r: r.time >= since, timeout=10)
    assert "locked *Standup*" in str(reply.text)


async def test_bad_or_stale_signatures_are_refused(http_bot: tuple[World, Bot]) -> None:
    w, bot = http_bot
    body = urlencode(w.slack.slash_command("lock Standup", user_id=ADA, channel_id=CHANNEL))
    url = f"http://127.0.0.1:{bot.gateway.bound_port}/slack/events"
    w.sim.clear_requests()
    async with httpx.AsyncClient() as client:
        forged = await client.post(url, content=body, headers=signed(body, secret="x" * 32))
        stale = await client.post(
            url, content=body, headers=signed(body, at=int(time.time()) - 3600)
        )
        health = await client.get(f"http://127.0.0.1:{bot.gateway.bound_port}/healthz")
    assert forged.status_code == 401 and stale.status_code == 401
    assert [r for r in w.sim.requests if r.method == "PUT" and "auth" not in r.path] == []
    assert health.status_code in (200, 503) and "kazoo_stream" in health.json()
