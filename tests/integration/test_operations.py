"""Health and metrics over HTTP while the bot runs in Socket Mode."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.integration.harness import GRACE, running_bot, wait_until


async def test_healthz_reports_ready_then_not_ready_when_kazoo_stream_drops(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as h:
        url = f"http://127.0.0.1:{h.bot.gateway.bound_port}/healthz"
        since = time.monotonic()
        await h.command("watch Standup", user=GRACE)
        await h.reply(since)
        await wait_until(lambda: bool(h.bot.tracker.stream.subscribed), what="subscribed")
        async with httpx.AsyncClient() as client:
            ready = await client.get(url)
            assert ready.status_code == 200
            assert ready.json()["kazoo_stream"] == "up" and ready.json()["slack"] == "up"
            # Kazoo goes away: sockets dropped and every reconnect refused for a while.
            h.sim.expire_tokens()
            h.sim.fail_next(1000, status=503)
            await h.sim.drop_sockets()
            await wait_until(lambda: not h.bot.tracker.connected, what="stream down")
            down = await client.get(url)
            assert down.status_code == 503 and down.json()["kazoo_stream"] == "down"


async def test_metrics_count_commands_kazoo_calls_and_slack_calls(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as h:
        h.sim.join(h.standup, "Linus", "+15550111")
        since = time.monotonic()
        await h.command("lock Standup")
        await h.reply(since)
        await h.slack.wait_for_call("chat.postMessage")
        url = f"http://127.0.0.1:{h.bot.gateway.bound_port}/metrics"
        async with httpx.AsyncClient() as client:
            response = await client.get(url)
        assert response.status_code == 200
        body = response.text
        assert 'confbot_commands_total{command="lock",outcome="ok"}' in body
        assert 'confbot_kazoo_requests_total{method="PUT",status="201"}' in body
        assert 'confbot_slack_calls_total{method="chat.postMessage",outcome="ok"}' in body
        assert "confbot_websocket_reconnects_total" in body
        assert "confbot_notice_lag_seconds_bucket" in body
