"""Tests of the fake Slack itself, driven by the real slack_sdk and slack_bolt clients."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from .slack import FakeSlack

pytestmark = pytest.mark.timeout(10)

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Bridge 42*"}}


def button(action_id: str, value: str, text: str = "Lock") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "value": value,
        "text": {"type": "plain_text", "text": text},
    }


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def web_client(fake: FakeSlack, token: str | None = "xoxb-test") -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.api_url)


@asynccontextmanager
async def socket_mode_app(
    fake: FakeSlack, setup: Callable[[AsyncApp], None], *, ping_interval: float = 10
) -> AsyncIterator[AsyncSocketModeHandler]:
    """A real bolt app on Socket Mode against the fake, shut down cleanly afterwards."""
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=fake.api_url))
    setup(app)
    handler = AsyncSocketModeHandler(app, "xapp-test", ping_interval=ping_interval)
    await handler.connect_async()
    try:
        yield handler
    finally:
        await handler.close_async()


async def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        await call
    return raised.value


# --------------------------------------------------------------------------- Web API


async def test_auth_test_answers_like_slack_and_records_the_call(fake: FakeSlack) -> None:
    answer = await web_client(fake).auth_test()

    assert answer["ok"] is True
    assert answer["team_id"] == "T0001"
    assert answer["user_id"] == "UBOT"
    assert answer["bot_id"] == "B0001"
    assert answer["url"] == "https://confbot-test.slack.com/"
    call = await fake.wait_for_call("auth.test")
    assert call.token == "xoxb-test"
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.status == 200
    assert call.ok


@pytest.mark.parametrize(
    ("token", "error"),
    [
        (None, "not_authed"),
        ("xoxp-user-token", "invalid_auth"),
        ("garbage", "invalid_auth"),
        ("xapp-test", "not_allowed_token_type"),
    ],
)
async def test_web_api_checks_the_bot_token(fake: FakeSlack, token: str | None, error: str) -> None:
    client = web_client(fake, token)
    failure = await api_error(client.chat_postMessage(channel="C_GENERAL", text="hi"))
    assert failure.response["error"] == error
    assert fake.messages("C_GENERAL") == []


async def test_exact_tokens_can_be_required() -> None:
    async with FakeSlack(bot_token="xoxb-right", app_token="xapp-right") as fake:
        failure = await api_error(web_client(fake, "xoxb-wrong").auth_test())
        assert failure.response["error"] == "invalid_auth"
        assert (await web_client(fake, "xoxb-right").auth_test())["ok"]


async def test_apps_connections_open_wants_the_app_token(fake: FakeSlack) -> None:
    answer = await web_client(fake, None).apps_connections_open(app_token="xapp-test")
    assert answer["url"].startswith(f"ws://127.0.0.1:{fake.port}/socket-mode?ticket=")

    failure = await api_error(web_client(fake).apps_connections_open(app_token="xoxb-test"))
    assert failure.response["error"] == "not_allowed_token_type"


async def test_unknown_method(fake: FakeSlack) -> None:
    failure = await api_error(web_client(fake).api_call("conf.doesNotExist"))
    assert failure.response["error"] == "unknown_method"
    assert fake.calls_to("conf.doesNotExist")[0].error == "unknown_method"


async def test_post_update_delete_show_in_messages(fake: FakeSlack) -> None:
    client = web_client(fake)
    first = await client.chat_postMessage(channel="C_GENERAL", text="Bridge 42 is open")
    reply = await client.chat_postMessage(
        channel="C_GENERAL", text="someone joined", thread_ts=first["ts"]
    )

    assert first["ts"] == "1700000000.000100"
    assert reply["ts"] > first["ts"]
    assert first["channel"] == "C_GENERAL"
    assert first["message"]["text"] == "Bridge 42 is open"
    assert first["message"]["bot_id"] == "B0001"
    assert [(m.text, m.thread_ts) for m in fake.messages("C_GENERAL")] == [
        ("Bridge 42 is open", None),
        ("someone joined", first["ts"]),
    ]

    updated = await client.chat_update(
        channel="C_GENERAL", ts=first["ts"], text="Bridge 42 is locked", blocks=[SECTION]
    )
    assert updated["message"]["blocks"] == [SECTION]
    await client.chat_update(channel="C_GENERAL", ts=first["ts"], text="Bridge 42 is closed")
    await client.chat_delete(channel="C_GENERAL", ts=reply["ts"])

    [message] = fake.messages("C_GENERAL")
    assert message.text == "Bridge 42 is closed"
    assert message.blocks == [SECTION]  # chat.update without blocks keeps them, as Slack does
    assert message.edited_ts is not None

    missing = await api_error(client.chat_update(channel="C_GENERAL", ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    elsewhere = await api_error(client.chat_update(channel="C_OTHER", ts=first["ts"], text="x"))
    assert elsewhere.response["error"] == "message_not_found"
    gone = await api_error(client.chat_delete(channel="C_GENERAL", ts=reply["ts"]))
    assert gone.response["error"] == "message_not_found"


async def test_invalid_blocks_are_refused(fake: FakeSlack) -> None:
    blocks = [{"type": "actions", "elements": [button("lock", "42", text="x" * 76)]}]
    failure = await api_error(
        web_client(fake).chat_postMessage(channel="C_GENERAL", text="t", blocks=blocks)
    )
    assert failure.response["error"] == "invalid_blocks"
    assert failure.response["errors"] == [
        "must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"
    ]


async def test_not_in_channel_until_joined(fake: FakeSlack) -> None:
    client = web_client(fake)
    fake.add_channel("C_CONF", "conf-bridges")
    fake.set_not_in_channel("C_CONF")

    failure = await api_error(client.chat_postMessage(channel="C_CONF", text="hi"))
    assert failure.response["error"] == "not_in_channel"
    info = await client.conversations_info(channel="C_CONF")
    assert info["channel"]["name"] == "conf-bridges"
    assert info["channel"]["is_member"] is False

    joined = await client.conversations_join(channel="C_CONF")
    assert joined["channel"]["is_member"] is True
    await client.chat_postMessage(channel="#conf-bridges", text="hi")
    assert [m.text for m in fake.messages("C_CONF")] == ["hi"]

    unknown = await api_error(client.conversations_info(channel="C_NOPE"))
    assert unknown.response["error"] == "channel_not_found"


async def test_users_and_usergroups(fake: FakeSlack) -> None:
    client = web_client(fake)
    fake.add_user("U_GRACE", "grace", is_admin=True, tz="America/New_York", tz_offset=-18000)
    fake.add_user("U_GUEST", "guest", is_ultra_restricted=True)
    fake.add_usergroup("S_OPS", ["U_GRACE", "U_ADA"])

    grace = (await client.users_info(user="U_GRACE"))["user"]
    assert grace["name"] == "grace"
    assert grace["is_admin"] is True
    assert grace["is_owner"] is False
    assert grace["tz"] == "America/New_York"
    assert grace["tz_offset"] == -18000
    assert grace["profile"]["display_name"] == "grace"
    guest = (await client.users_info(user="U_GUEST"))["user"]
    assert (guest["is_restricted"], guest["is_ultra_restricted"]) == (True, True)
    ada = (await client.users_info(user="U_ADA"))["user"]
    assert ada["is_admin"] is False
    assert ada["tz"] == "Europe/London"

    unknown = await api_error(client.users_info(user="U_NOBODY"))
    assert unknown.response["error"] == "user_not_found"
    members = await client.usergroups_users_list(usergroup="S_OPS")
    assert members["users"] == ["U_GRACE", "U_ADA"]
    missing = await api_error(client.usergroups_users_list(usergroup="S_NONE"))
    assert missing.response["error"] == "no_such_subteam"


async def test_post_ephemeral(fake: FakeSlack) -> None:
    answer = await web_client(fake).chat_postEphemeral(
        channel="C_GENERAL", user="U_ADA", text="only you"
    )
    [ephemeral] = fake.ephemerals("C_GENERAL", user="U_ADA")
    assert ephemeral.ts == answer["message_ts"]
    assert ephemeral.text == "only you"
    assert fake.messages("C_GENERAL") == []


async def test_rate_limit_without_retry_handler(fake: FakeSlack) -> None:
    client = web_client(fake)
    fake.rate_limit("chat.postMessage", count=1, retry_after=7)

    failure = await api_error(client.chat_postMessage(channel="C_GENERAL", text="hi"))
    assert failure.response.status_code == 429
    assert failure.response.headers["Retry-After"] == "7"
    assert failure.response["error"] == "ratelimited"

    await client.chat_postMessage(channel="C_GENERAL", text="hi")
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert [m.text for m in fake.messages("C_GENERAL")] == ["hi"]


async def test_rate_limit_with_retry_handler(fake: FakeSlack) -> None:
    client = web_client(fake)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.rate_limit("chat.postMessage", count=1, retry_after=1)

    answer = await client.chat_postMessage(channel="C_GENERAL", text="hi")

    assert answer["ok"] is True
    limited, retried = fake.calls_to("chat.postMessage")
    assert (limited.status, retried.status) == (429, 200)
    assert retried.time - limited.time >= 1.0
    assert [m.text for m in fake.messages("C_GENERAL")] == ["hi"]


async def test_fail_injection_then_recovery(fake: FakeSlack) -> None:
    client = web_client(fake)
    fake.fail("users.info", "fatal_error", count=2)
    for _ in range(2):
        failure = await api_error(client.users_info(user="U_ADA"))
        assert failure.response["error"] == "fatal_error"
    assert (await client.users_info(user="U_ADA"))["user"]["id"] == "U_ADA"


async def test_on_call_can_hold_a_call_in_flight(fake: FakeSlack) -> None:
    release = asyncio.Event()

    async def slow_auth_test(call: Any) -> dict[str, Any]:
        await release.wait()
        return {"ok": True, "user_id": "UBOT"}

    fake.on_call("auth.test", slow_auth_test)
    pending = asyncio.create_task(web_client(fake).auth_test())
    held = await fake.wait_for_call("auth.test")
    assert held.status is None
    release.set()
    assert (await pending)["user_id"] == "UBOT"
    assert held.status == 200


async def test_wait_for_call_times_out_with_a_useful_message(fake: FakeSlack) -> None:
    await web_client(fake).auth_test()
    with pytest.raises(TimeoutError, match=r"chat\.postMessage.*auth\.test"):
        await fake.wait_for_call("chat.postMessage", timeout=0.05)


async def test_wait_for_call_since_skips_older_calls(fake: FakeSlack) -> None:
    client = web_client(fake)
    await client.chat_postMessage(channel="C_GENERAL", text="old")
    mark = time.monotonic()
    await client.chat_postMessage(channel="C_GENERAL", text="new")
    call = await fake.wait_for_call("chat.postMessage", since=mark)
    assert call.args["text"] == "new"


# --------------------------------------------------------------------------- response_url


async def test_response_url_records_posts_and_expires_after_five_uses(fake: FakeSlack) -> None:
    url = fake.new_response_url(channel_id="C_GENERAL", user_id="U_ADA")
    async with aiohttp.ClientSession() as session:
        for i in range(5):
            async with session.post(url, json={"text": f"update {i}"}) as resp:
                assert resp.status == 200
        async with session.post(url, json={"text": "one too many"}) as resp:
            assert resp.status == 404
            assert await resp.text() == "used_url"
        other = fake.new_response_url(channel_id="C_GENERAL", user_id="U_ADA")
        async with session.post(other, json={"response_type": "in_channel"}) as resp:
            assert resp.status == 400
            assert await resp.text() == "no_text"

    assert [r.status for r in fake.responses] == [200] * 5 + [404, 400]
    assert [m.text for m in fake.ephemerals("C_GENERAL", user="U_ADA")] == [
        f"update {i}" for i in range(5)
    ]


async def test_response_url_replace_and_in_channel(fake: FakeSlack) -> None:
    posted = await web_client(fake).chat_postMessage(
        channel="C_GENERAL", text="Bridge 42", blocks=[SECTION]
    )
    url = fake.new_response_url(channel_id="C_GENERAL", user_id="U_ADA", message_ts=posted["ts"])
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "Locked", "replace_original": True}) as resp:
            assert resp.status == 200
        async with session.post(url, json={"text": "FYI", "response_type": "in_channel"}) as resp:
            assert resp.status == 200

    replaced, announced = fake.messages("C_GENERAL")
    assert (replaced.ts, replaced.text, replaced.blocks) == (posted["ts"], "Locked", [])
    assert announced.text == "FYI"
    assert fake.ephemerals() == []


# --------------------------------------------------------------------------- Socket Mode


async def test_raw_socket_mode_protocol(fake: FakeSlack) -> None:
    opened = await web_client(fake, None).apps_connections_open(app_token="xapp-test")
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(opened["url"]) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["type"] == "hello"
            assert hello["num_connections"] == 1
            assert hello["connection_info"] == {"app_id": "A0001"}

            mention = fake.event_callback({"type": "app_mention", "text": "<@UBOT> hi"})
            envelope_id = await fake.push("events_api", mention)
            envelope = await ws.receive_json(timeout=5)
            assert envelope["envelope_id"] == envelope_id
            assert envelope["type"] == "events_api"
            assert envelope["accepts_response_payload"] is False
            assert envelope["retry_attempt"] == 0
            assert envelope["payload"]["event"]["type"] == "app_mention"

            await ws.send_str(json.dumps({"envelope_id": envelope_id}))
            ack = await fake.wait_for_ack(envelope_id)
            assert ack.payload is None
            assert ack.latency >= 0

        with pytest.raises(aiohttp.WSServerHandshakeError):
            await session.ws_connect(f"{fake.base_url}/socket-mode?ticket=forged")


async def test_bolt_slash_command_round_trip(fake: FakeSlack) -> None:
    done = asyncio.Event()
    commands: list[dict[str, Any]] = []

    def setup(app: AsyncApp) -> None:
        @app.command("/conf")
        async def conf(ack: Any, respond: Any, client: Any, command: dict[str, Any]) -> None:
            if command["text"] == "help":
                await ack("Usage: /conf status")
                return
            await ack()
            commands.append(command)
            await respond("hi")
            await client.chat_postMessage(
                channel=command["channel_id"], text=f"status for {command['user_name']}"
            )
            done.set()

    async with socket_mode_app(fake, setup):
        envelope_id = await fake.push("slash_commands", fake.slash_command("status"))
        ack = await fake.wait_for_ack(envelope_id)
        assert ack.payload is None
        assert not ack.late
        post = await fake.wait_for_response()
        assert post.text == "hi"
        assert post.response_type == "ephemeral"
        call = await fake.wait_for_call("chat.postMessage")
        assert call.args["text"] == "status for ada"
        await asyncio.wait_for(done.wait(), 5)

        help_id = await fake.push_slash_command("help")
        assert (await fake.wait_for_ack(help_id)).payload == {"text": "Usage: /conf status"}

    assert commands[0]["user_id"] == "U_ADA"
    assert commands[0]["response_url"] == post.url
    assert fake.calls_to("apps.connections.open")[0].token == "xapp-test"
    assert fake.calls_to("chat.postMessage")[0].token == "xoxb-test"
    assert [m.text for m in fake.ephemerals("C_GENERAL", user="U_ADA")] == ["hi"]
    assert [m.text for m in fake.messages("C_GENERAL")] == ["status for ada"]


async def test_bolt_block_actions_round_trip(fake: FakeSlack) -> None:
    done = asyncio.Event()
    bodies: list[dict[str, Any]] = []
    blocks: list[dict[str, Any]] = [
        SECTION,
        {
            "type": "actions",
            "block_id": "controls",
            "elements": [button("lock", "42"), button("end", "42", text="End")],
        },
    ]
    posted = await web_client(fake).chat_postMessage(
        channel="C_GENERAL", text="Bridge 42", blocks=blocks
    )

    def setup(app: AsyncApp) -> None:
        @app.action("lock")
        async def lock(ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
            await ack()
            bodies.append(body)
            await client.chat_update(
                channel=body["channel"]["id"], ts=body["message"]["ts"], text="Bridge 42 locked"
            )
            await respond("Locked.")
            done.set()

        @app.action("end")
        async def end(ack: Any, respond: Any) -> None:
            await ack()
            await respond(text="Ending…", replace_original=True)
            await respond(delete_original=True)

    async with socket_mode_app(fake, setup):
        envelope_id = await fake.push_block_action("lock", "42")
        await fake.wait_for_ack(envelope_id)
        await asyncio.wait_for(done.wait(), 5)
        assert fake.messages("C_GENERAL")[0].text == "Bridge 42 locked"

        await fake.push("interactive", fake.block_action("end", "42", message_ts=posted["ts"]))
        replaced = await fake.wait_for_response(lambda r: r.replace_original)
        assert replaced.context is not None
        assert replaced.context.message_ts == posted["ts"]
        await fake.wait_for_response(lambda r: r.delete_original)

    [body] = bodies
    assert body["type"] == "block_actions"
    assert body["user"] == {"id": "U_ADA", "username": "ada", "name": "ada", "team_id": "T0001"}
    assert body["container"]["message_ts"] == posted["ts"]
    assert body["actions"][0]["block_id"] == "controls"
    assert body["actions"][0]["value"] == "42"
    assert fake.envelopes[0].accepts_response_payload is False
    assert [m.text for m in fake.ephemerals("C_GENERAL", user="U_ADA")] == ["Locked."]
    assert fake.messages("C_GENERAL") == []


@pytest.mark.parametrize("how", ["refresh", "close", "abort"])
async def test_socket_mode_reconnects(fake: FakeSlack, how: Any) -> None:
    acked: list[str] = []

    def setup(app: AsyncApp) -> None:
        @app.command("/conf")
        async def conf(ack: Any, command: dict[str, Any]) -> None:
            await ack()
            acked.append(command["text"])

    # With a TCP abort the client only notices on its next ping_interval check.
    async with socket_mode_app(fake, setup, ping_interval=1 if how == "abort" else 10):
        first = await fake.wait_for_socket()
        await fake.wait_for_ack(await fake.push_slash_command("before"))

        await fake.disconnect_socket(how)
        second = await fake.wait_for_socket(after=first, timeout=8)
        assert second.index == 2

        await fake.wait_for_ack(await fake.push_slash_command("after"))

    assert acked == ["before", "after"]
    assert len(fake.calls_to("apps.connections.open")) == 2
