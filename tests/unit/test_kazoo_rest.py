"""The REST client and its auth against a scripted Kazoo on `httpx.MockTransport` (no sockets)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.errors import (
    CommandError,
    ConfigError,
    KazooAuthError,
    KazooNotFound,
    KazooProtocolError,
    KazooRequestError,
    KazooUnavailable,
)
from bot.kazoo.auth import KazooAuth, jwt_times, user_credentials_hash
from bot.kazoo.models import ConferenceDoc, ParticipantWire
from bot.kazoo.rest import KazooClient

BASE = "https://pbx.example.com:8443/v2"
ACCOUNT = "9d351ad7ffd6f846313af9eed3bb7b85"
CONF = "5edbfdd3b825314a71b0a05957392edb"
API_KEY = "f" * 32 + "0123456789abcdef" * 2  # 64 characters, as the api_auth schema wants
WS_URL = "wss://pbx.example.com:5556"
T0 = 1_700_000_000.0


def jwt(claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def ok(data: Any, status: int = 200, **extra: Any) -> httpx.Response:
    return httpx.Response(status, json={"status": "success", "data": data, **extra})


def error(
    status: int, message: str, data: Any = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    body = {"status": "error", "error": str(status), "message": message, "data": data or {}}
    return httpx.Response(status, json=body, headers=headers)


class FakeClock:
    """Time that moves only when the code sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay
        await asyncio.sleep(0)


Scripted = httpx.Response | type[Exception] | Callable[[httpx.Request], httpx.Response]


class FakeKazoo:
    """Answers logins by itself (unless scripted) and the API calls from a script, in order."""

    def __init__(self, clock: FakeClock, lifetime: float = 3600.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.requests: list[httpx.Request] = []
        self.tokens: list[str] = []
        self.login_script: list[Scripted] = []
        self.script: list[Scripted] = []
        self.login_gate: asyncio.Event | None = None

    async def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith(("/api_auth", "/user_auth")):
            if self.login_gate is not None:
                await self.login_gate.wait()
            return self._play(self.login_script, request) or self._login()
        return self._play(self.script, request) or self._default(request)

    @staticmethod
    def _default(request: httpx.Request) -> httpx.Response:
        listing = request.method == "GET" and request.url.path.endswith(
            ("/conferences", "/participants")
        )
        return ok([] if listing else {})

    def _play(self, script: list[Scripted], request: httpx.Request) -> httpx.Response | None:
        if not script:
            return None
        step = script.pop(0)
        if isinstance(step, httpx.Response):
            return step
        if isinstance(step, type):
            raise step("scripted failure", request=request)
        return step(request)

    def _login(self) -> httpx.Response:
        token = jwt(
            {
                "account_id": ACCOUNT,
                "iat": int(self.clock.now),
                "exp": int(self.clock.now + self.lifetime),
                "n": len(self.tokens),
            }
        )
        self.tokens.append(token)
        data = {
            "account_id": ACCOUNT,
            "ui_config": {"api": {"kazoo_websocket": {"url": WS_URL}}},
        }
        return ok(data, status=201, auth_token=token)

    @property
    def logins(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("_auth")]

    @property
    def calls(self) -> list[httpx.Request]:
        return [r for r in self.requests if not r.url.path.endswith("_auth")]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def kazoo(clock: FakeClock) -> FakeKazoo:
    return FakeKazoo(clock)


def make_client(kazoo: FakeKazoo, clock: FakeClock, **kwargs: Any) -> KazooClient:
    options: dict[str, Any] = {"api_key": API_KEY, **kwargs}
    return KazooClient(
        BASE,
        transport=httpx.MockTransport(kazoo.handler),
        sleep=clock.sleep,
        clock=clock,
        rng=random.Random(1),
        **options,
    )


@pytest.fixture
async def client(kazoo: FakeKazoo, clock: FakeClock) -> AsyncIterator[KazooClient]:
    async with make_client(kazoo, clock) as client:
        yield client


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


# --- login and configuration ----------------------------------------------------------------------


async def test_api_key_login(client: KazooClient, kazoo: FakeKazoo) -> None:
    assert client.account_id is None  # not configured, not logged in yet

    result = await client.login()

    (login,) = kazoo.requests
    assert (login.method, login.url.path) == ("PUT", "/v2/api_auth")
    assert body(login) == {"data": {"api_key": API_KEY}}
    assert login.headers["Content-Type"] == "application/json"
    assert (result.account_id, result.owner_id, result.ws_url) == (ACCOUNT, None, WS_URL)
    assert client.ws_url == WS_URL
    assert client.account_id == ACCOUNT  # from the login now
    await client.login()  # cached: no second login
    assert client.auth.login_count == 1


async def test_user_login_hashes_lowercased_username(kazoo: FakeKazoo, clock: FakeClock) -> None:
    # The check value of the reference (§2.2): john@example.com:m32c6NfqYEt.
    assert user_credentials_hash("John@Example.COM", "m32c6NfqYEt") == (
        "82a2dc91686ec828a67152d45a5c5ef7"
    )
    async with make_client(
        kazoo,
        clock,
        api_key=None,
        username="John@Example.COM",
        password="m32c6NfqYEt",
        account_name="Acme Corp",
    ) as client:
        await client.login()
    (login,) = kazoo.requests
    assert login.url.path == "/v2/user_auth"
    assert body(login) == {
        "data": {
            "credentials": "82a2dc91686ec828a67152d45a5c5ef7",
            "account_name": "Acme Corp",
            "method": "md5",
        }
    }


@pytest.mark.parametrize(
    ("credentials", "variable"),
    [
        ({}, "KAZOO_API_KEY"),
        ({"api_key": API_KEY, "username": "u"}, "KAZOO_USERNAME"),
        ({"username": "u", "password": "p"}, "KAZOO_ACCOUNT_NAME"),
        ({"password": "p", "account_name": "a"}, "KAZOO_USERNAME"),
        ({"username": "u", "account_name": "a"}, "KAZOO_PASSWORD"),
    ],
)
async def test_exactly_one_credential_set(credentials: dict[str, Any], variable: str) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConfigError) as caught:
            KazooAuth(http, **credentials)
    assert caught.value.variable == variable
    assert "p" not in caught.value.message.split()  # no value is echoed


@pytest.mark.parametrize(
    ("kwargs", "variable"),
    [
        ({"base_url": "https://pbx.example.com:8443/v1"}, "KAZOO_URL"),
        ({"base_url": "pbx.example.com/v2"}, "KAZOO_URL"),
        ({"account_id": "not-an-account"}, "KAZOO_ACCOUNT_ID"),
    ],
)
def test_bad_settings(kwargs: dict[str, str], variable: str) -> None:
    options: dict[str, Any] = {"base_url": BASE, "api_key": API_KEY, **kwargs}
    with pytest.raises(ConfigError) as caught:
        KazooClient(options.pop("base_url"), **options)
    assert caught.value.variable == variable


async def test_configured_account_id_wins(kazoo: FakeKazoo, clock: FakeClock) -> None:
    other = "0123456789abcdef0123456789abcdef"
    kazoo.script = [ok([])]
    async with make_client(kazoo, clock, account_id=other) as client:
        assert client.account_id == other
        await client.participants(CONF)
    assert kazoo.calls[0].url.path == f"/v2/accounts/{other}/conferences/{CONF}/participants"


# --- the requests on the wire ---------------------------------------------------------------------


async def test_actions_send_the_documented_bodies(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [ok("ok", 201), ok("ok", 201), ok({"id": CONF}, 201), ok("ok", 201)]

    await client.participant_action(CONF, 20, "mute")
    await client.conference_action(CONF, "lock")
    await client.participants_action(CONF, "kick")
    await client.conference_action(CONF, "unlock")

    conf = f"/v2/accounts/{ACCOUNT}/conferences/{CONF}"
    sent = [(r.method, r.url.path, body(r)) for r in kazoo.calls]
    assert sent == [
        ("PUT", f"{conf}/participants/20", {"data": {"action": "mute"}}),
        ("PUT", conf, {"action": "lock", "data": {}}),
        ("PUT", f"{conf}/participants", {"data": {"action": "kick"}}),
        ("PUT", conf, {"action": "unlock", "data": {}}),
    ]
    token = kazoo.tokens[0]
    for request in kazoo.calls:
        assert request.headers["X-Auth-Token"] == token
        assert request.headers["Content-Type"] == "application/json"


async def test_reads_and_document_writes(client: KazooClient, kazoo: FakeKazoo) -> None:
    stored = {"id": CONF, "name": "Standup", "conference_numbers": ["1000"]}
    kazoo.script = [
        ok({**stored, "_read_only": {"members": 0, "moderators": 0, "duration": 0}}),
        ok({**stored, "id": "0" * 32}, 201),
        ok({**stored, "name": "Daily"}),
        ok({**stored, "play_name": True}),
        ok(stored),
    ]

    got = await client.get_conference(CONF)
    created = await client.create_conference({"name": "Standup", "conference_numbers": ["1000"]})
    updated = await client.update_conference(CONF, got.model_copy(update={"name": "Daily"}))
    patched = await client.patch_conference(CONF, {"play_name": True})
    await client.delete_conference(CONF)

    assert got.read_only is not None and not got.running
    assert (created.id, updated.name, patched.play_name) == ("0" * 32, "Daily", True)
    get, put, post, patch, delete = kazoo.calls
    assert "Content-Type" not in get.headers and get.content == b""
    assert (put.method, put.url.path) == ("PUT", f"/v2/accounts/{ACCOUNT}/conferences")
    assert body(put) == {"data": {"name": "Standup", "conference_numbers": ["1000"]}}
    # A fetched document goes back without Kazoo's own keys.
    assert post.method == "POST" and body(post)["data"]["name"] == "Daily"
    assert "_read_only" not in body(post)["data"] and "id" not in body(post)["data"]
    assert (patch.method, body(patch)) == ("PATCH", {"data": {"play_name": True}})
    assert delete.method == "DELETE"


async def test_participants(client: KazooClient, kazoo: FakeKazoo) -> None:
    wire = {
        "participant_id": 20,
        "call_id": "934800819",
        "join_time": 63_850_000_000,
        "conference_channel_vars": {"speak": False, "hear": True, "is_moderator": False},
    }
    kazoo.script = [ok([wire]), ok(wire), ok({})]

    (listed,) = await client.participants(CONF)
    one = await client.participant(CONF, 20)
    missing = await client.participant(CONF, 21)

    assert isinstance(listed, ParticipantWire) and listed.speak is False
    assert one == listed
    assert missing is None  # Kazoo answers {} with 200 for an unknown participant
    assert kazoo.calls[1].url.path.endswith(f"/conferences/{CONF}/participants/20")


# --- validation before any request ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.participant_action(CONF, 20, "hangup"),
        lambda c: c.participant_action(CONF, 20, "MUTE"),
        lambda c: c.participant_action(CONF, "20", "mute"),
        lambda c: c.participant_action(CONF, 20.0, "mute"),
        lambda c: c.participant_action(CONF, True, "mute"),
        lambda c: c.participant_action(CONF, -1, "mute"),
        lambda c: c.participants_action(CONF, "lock"),
        lambda c: c.conference_action(CONF, "mute"),
        lambda c: c.conference_action(CONF, "record"),
        lambda c: c.participant(CONF, "1"),
        lambda c: c.get_conference(CONF.upper()),
        lambda c: c.get_conference(CONF[:-1]),
        lambda c: c.get_conference("../../accounts"),
        lambda c: c.participants(CONF[:-2] + "/x"),
        lambda c: c.conference_action(CONF[:-1] + "?", "lock"),
        lambda c: c.delete_conference(CONF[:-1] + "#"),
        lambda c: c.create_conference({"name": ""}),
        lambda c: c.create_conference({"member": {"pins": ["12a4"]}}),
        lambda c: c.patch_conference(CONF, {"owner_id": "short"}),
    ],
)
async def test_bad_input_is_refused_before_any_request(
    client: KazooClient, kazoo: FakeKazoo, call: Callable[[KazooClient], Any]
) -> None:
    with pytest.raises(CommandError):
        await call(client)
    assert kazoo.requests == []  # not even a login


async def test_invalid_pin_is_not_echoed(client: KazooClient) -> None:
    with pytest.raises(CommandError) as caught:
        await client.create_conference({"member": {"pins": ["98765x"]}})
    assert "98765x" not in str(caught.value)
    assert "member.pins" in str(caught.value)


# --- 401 and re-login -----------------------------------------------------------------------------


async def test_401_logs_in_again_once_and_retries_once(
    client: KazooClient, kazoo: FakeKazoo
) -> None:
    kazoo.script = [error(401, "invalid_credentials"), ok([])]

    assert await client.participants(CONF) == []

    assert [r.url.path.rsplit("/", 1)[-1] for r in kazoo.requests] == [
        "api_auth",
        "participants",
        "api_auth",
        "participants",
    ]
    first, second = kazoo.calls
    assert first.headers["X-Auth-Token"] == kazoo.tokens[0]
    assert second.headers["X-Auth-Token"] == kazoo.tokens[1]


async def test_second_401_is_an_auth_error(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [error(401, "invalid_credentials")] * 3

    with pytest.raises(KazooAuthError) as caught:
        await client.participant_action(CONF, 20, "kick")

    assert caught.value.status == 401
    assert (len(kazoo.logins), len(kazoo.calls)) == (2, 2)


async def test_403_is_an_auth_error_without_relogin(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [error(403, "forbidden", {"message": "forbidden"})]
    with pytest.raises(KazooAuthError, match="forbidden"):
        await client.get_conference(CONF)
    assert len(kazoo.logins) == 1


async def test_stale_invalidation_does_not_drop_a_newer_token(client: KazooClient) -> None:
    old = await client.auth.token()
    await client.auth.invalidate(old)
    new = await client.auth.token()
    await client.auth.invalidate(old)  # a late 401 for the old token
    assert await client.auth.token() == new
    assert client.auth.login_count == 2


# --- error mapping --------------------------------------------------------------------------------


async def test_404_is_not_found(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [error(404, "bad_identifier", {"cause": CONF, "message": "bad identifier"})]
    with pytest.raises(KazooNotFound) as caught:
        await client.delete_conference(CONF)
    assert isinstance(caught.value, LookupError)
    assert (caught.value.status, caught.value.kazoo_message) == (404, "bad_identifier")


async def test_validation_error_carries_kazoo_message_and_details(
    client: KazooClient, kazoo: FakeKazoo
) -> None:
    details = {"numbers": {"unique": {"message": "Numbers already in use", "cause": "1000"}}}
    kazoo.script = [error(400, "validation error", details)]

    with pytest.raises(KazooRequestError) as caught:
        await client.create_conference({"name": "Standup", "conference_numbers": ["1000"]})

    assert str(caught.value) == (
        "Kazoo refused the request: validation error (numbers: Numbers already in use)"
    )
    assert caught.value.status == 400
    assert caught.value.kazoo_message == "validation error"
    assert caught.value.details == details


async def test_other_4xx_is_a_request_error(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [error(409, "datastore_conflict", {"message": "conflict"})]
    with pytest.raises(KazooRequestError, match=r"datastore_conflict \(conflict\)"):
        await client.patch_conference(CONF, {"name": "x"})


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"status": "error", "data": {}}),
        ok("not a list"),
        ok([{"id": CONF, "owner_id": "too short"}]),
    ],
)
async def test_payload_that_does_not_fit_is_a_protocol_error(
    client: KazooClient, kazoo: FakeKazoo, response: httpx.Response
) -> None:
    kazoo.script = [response]
    with pytest.raises(KazooProtocolError):
        await client.list_conferences()


# --- retries --------------------------------------------------------------------------------------


async def test_429_honours_retry_after(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    kazoo.script = [error(429, "too_many_requests", headers={"Retry-After": "7"}), ok("ok", 201)]
    await client.participant_action(CONF, 20, "mute")
    assert clock.sleeps == [7.0]
    assert len(kazoo.calls) == 2


async def test_long_retry_after_is_handed_to_the_caller(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    kazoo.script = [error(429, "too_many_requests", headers={"Retry-After": "120"})]
    with pytest.raises(KazooUnavailable) as caught:
        await client.participant_action(CONF, 20, "mute")
    assert caught.value.retry_after == 120.0
    assert clock.sleeps == [] and len(kazoo.calls) == 1


async def test_5xx_then_success(client: KazooClient, kazoo: FakeKazoo, clock: FakeClock) -> None:
    kazoo.script = [error(503, "datastore_unreachable"), error(500, "datastore_fault"), ok([])]
    assert await client.list_conferences() == []
    assert len(kazoo.calls) == 3
    first, second = clock.sleeps
    assert 0 <= first <= 0.5 and 0 <= second <= 1.0  # full jitter under 0.5 s * 2**n


async def test_5xx_until_max_attempts(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    kazoo.script = [error(502, "bad gateway")] * 10
    with pytest.raises(KazooUnavailable) as caught:
        await client.participants(CONF)
    assert len(kazoo.calls) == 4  # max_attempts
    assert len(clock.sleeps) == 3
    assert all(0 <= d <= 0.5 * 2**n for n, d in enumerate(clock.sleeps))
    assert caught.value.status == 502


async def test_backoff_is_capped(kazoo: FakeKazoo, clock: FakeClock) -> None:
    kazoo.script = [error(500, "datastore_fault")] * 20
    async with make_client(kazoo, clock, max_attempts=12) as client:
        with pytest.raises(KazooUnavailable):
            await client.participants(CONF)
    assert len(clock.sleeps) == 11 and max(clock.sleeps) <= 30.0


async def test_timeout_then_success(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    kazoo.script = [httpx.ReadTimeout, httpx.ConnectError, ok([])]
    assert await client.participants(CONF) == []
    assert len(kazoo.calls) == 3 and len(clock.sleeps) == 2


async def test_persistent_timeouts_end_unavailable(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [httpx.ReadTimeout] * 10
    with pytest.raises(KazooUnavailable, match="timed out"):
        await client.participant_action(CONF, 20, "kick")
    assert len(kazoo.calls) == 4


@pytest.mark.parametrize("failure", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.ReadError])
async def test_create_is_never_repeated_after_it_may_have_happened(
    client: KazooClient, kazoo: FakeKazoo, failure: type[Exception]
) -> None:
    kazoo.script = [failure, ok({"id": CONF}, 201)]
    with pytest.raises(KazooUnavailable, match="may have been"):
        await client.create_conference({"name": "Standup"})
    assert len(kazoo.calls) == 1


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_create_is_not_repeated_after_an_ambiguous_5xx(
    client: KazooClient, kazoo: FakeKazoo, status: int
) -> None:
    kazoo.script = [error(status, "oops"), ok({"id": CONF}, 201)]
    with pytest.raises(KazooUnavailable):
        await client.create_conference({"name": "Standup"})
    assert len(kazoo.calls) == 1


@pytest.mark.parametrize(
    "refusal",
    [
        error(429, "too_many_requests", headers={"Retry-After": "1"}),
        error(503, "datastore_unreachable"),
        httpx.ConnectError,
    ],
)
async def test_create_is_repeated_when_kazoo_certainly_refused(
    client: KazooClient, kazoo: FakeKazoo, refusal: Scripted
) -> None:
    kazoo.script = [refusal, ok({"id": CONF, "name": "Standup"}, 201)]
    created = await client.create_conference({"name": "Standup"})
    assert created.id == CONF
    assert len(kazoo.calls) == 2


async def test_delete_that_already_happened_is_done(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [httpx.ReadTimeout, error(404, "bad_identifier")]
    await client.delete_conference(CONF)  # the first attempt did delete it
    assert len(kazoo.calls) == 2


# --- pagination -----------------------------------------------------------------------------------


def doc(n: int) -> dict[str, Any]:
    return {"id": f"{n:032x}", "name": f"conf {n}"}


async def test_pagination_follows_next_start_key(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [
        ok([doc(1), doc(2)], page_size=2, next_start_key="g2gCbQ"),
        ok([doc(3), doc(4)], page_size=2, start_key="g2gCbQ", next_start_key=["k", 5]),
        ok([doc(5)], page_size=1, start_key=["k", 5]),
    ]

    docs = await client.list_conferences()

    assert [d.name for d in docs] == [f"conf {n}" for n in range(1, 6)]
    assert all(isinstance(d, ConferenceDoc) for d in docs)
    keys = [r.url.params.get("start_key") for r in kazoo.calls]
    assert keys == [None, "g2gCbQ", '["k",5]']  # opaque keys go back unchanged


async def test_pagination_stops_on_a_repeated_key(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.script = [
        ok([doc(1)], next_start_key="same"),
        ok([doc(1), doc(2)], next_start_key="same"),
    ]
    docs = await client.list_conferences()
    assert [d.id for d in docs] == [doc(1)["id"], doc(2)["id"]]  # no duplicate either
    assert len(kazoo.calls) == 2


# --- the token: sharing, renewal, login failures --------------------------------------------------


async def test_concurrent_callers_share_one_login(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.login_gate = asyncio.Event()
    calls = [asyncio.create_task(client.participants(CONF)) for _ in range(20)]
    for _ in range(50):  # let every caller reach the point where it needs a token
        await asyncio.sleep(0)
    assert len(kazoo.logins) == 1  # everyone waits for the same login
    kazoo.login_gate.set()

    await asyncio.gather(*calls)

    assert client.auth.login_count == 1
    assert {r.headers["X-Auth-Token"] for r in kazoo.calls} == {kazoo.tokens[0]}
    assert len(kazoo.calls) == 20


async def test_twenty_concurrent_token_calls_are_one_login(
    client: KazooClient, kazoo: FakeKazoo
) -> None:
    tokens = await asyncio.gather(*(client.auth.token() for _ in range(20)))
    assert set(tokens) == {kazoo.tokens[0]}
    assert len(kazoo.logins) == 1


async def test_token_is_renewed_before_exp(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    first = await client.auth.token()
    exp, _ = jwt_times(first)
    assert exp == T0 + 3600

    clock.now = T0 + 3600 - 301  # more than the 300 s margin left
    assert await client.auth.token() == first
    clock.now = T0 + 3600 - 299  # inside the margin
    second = await client.auth.token()

    assert second != first and len(kazoo.logins) == 2


async def test_margin_is_at_most_half_the_lifetime(kazoo: FakeKazoo, clock: FakeClock) -> None:
    kazoo.lifetime = 100.0
    async with make_client(kazoo, clock) as client:
        first = await client.auth.token()
        clock.now = T0 + 49
        assert await client.auth.token() == first
        clock.now = T0 + 51
        assert await client.auth.token() != first


async def test_failed_renewal_keeps_the_valid_token(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    first = await client.auth.token()
    clock.now = T0 + 3400  # inside the margin, still valid
    kazoo.login_script = [error(503, "datastore_unreachable")] * 3

    await client.participants(CONF)
    await client.participants(CONF)  # no new login during the cool-down

    assert {r.headers["X-Auth-Token"] for r in kazoo.calls} == {first}
    assert len(kazoo.logins) == 1 + 3  # the first login, then one renewal of three attempts


async def test_bad_api_key_is_an_auth_error_without_the_key(
    client: KazooClient, kazoo: FakeKazoo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # Kazoo answers an unknown API key with 404 and the key itself as data (§2.1).
    kazoo.login_script = [error(404, f"bad identifier {API_KEY}", [API_KEY])]

    with pytest.raises(KazooAuthError) as caught:
        await client.participants(CONF)

    assert "bad identifier" in str(caught.value)
    assert API_KEY not in str(caught.value) and API_KEY not in repr(caught.value.details)
    assert API_KEY not in caplog.text
    # A second call within the cool-down does not spend another login on Kazoo.
    with pytest.raises(KazooAuthError):
        await client.participants(CONF)
    assert len(kazoo.requests) == 1


async def test_invalid_credentials_message(client: KazooClient, kazoo: FakeKazoo) -> None:
    kazoo.login_script = [error(401, "invalid_credentials", {"message": "invalid credentials"})]
    with pytest.raises(KazooAuthError, match="invalid credentials"):
        await client.login()


async def test_login_backs_off_and_honours_retry_after(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    kazoo.login_script = [
        error(429, "too_many_requests", headers={"Retry-After": "3"}),
        error(500, "datastore_fault"),
    ]
    await client.login()
    assert clock.sleeps[0] == 3.0
    assert 2.0 <= clock.sleeps[1] <= 4.0  # growing, never close to zero
    assert len(kazoo.logins) == 3


async def test_login_gives_up_after_a_few_attempts(
    client: KazooClient, kazoo: FakeKazoo, clock: FakeClock
) -> None:
    kazoo.login_script = [httpx.ConnectError] * 10
    with pytest.raises(KazooUnavailable):
        await client.login()
    assert len(kazoo.logins) == 3
    assert 1.0 <= clock.sleeps[0] <= 2.0 and 2.0 <= clock.sleeps[1] <= 4.0
    with pytest.raises(KazooUnavailable) as caught:  # cool-down: no fourth login
        await client.login()
    assert len(kazoo.logins) == 3
    assert caught.value.retry_after is not None and caught.value.retry_after > 0


async def test_no_secret_is_logged(
    kazoo: FakeKazoo, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "s3cret-Passw0rd"
    kazoo.script = [error(401, "invalid_credentials"), ok("ok", 201), error(503, "x"), ok({})]
    async with make_client(
        kazoo, clock, api_key=None, username="bot", password=password, account_name="acme"
    ) as client:
        await client.participant_action(CONF, 20, "mute")
        await client.patch_conference(CONF, {"member": {"pins": ["424242"]}})
    text = caplog.text
    assert "PUT" in text  # something was logged
    for secret in [password, user_credentials_hash("bot", password), "424242", *kazoo.tokens]:
        assert secret not in text
