"""The real `KazooClient` over real sockets on 127.0.0.1, against the Kazoo simulator.

The unit tests (`tests/unit/test_kazoo_rest.py`) script single answers on a mock transport; here
the client meets a server that keeps state, so logins, token expiry, pagination, actions and the
fault switches are checked end to end. Time is a `FakeClock` shared by the simulator and the
client, and the client's `sleep` only records the delay, so no test waits for a backoff.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bot.errors import (
    CommandError,
    KazooAuthError,
    KazooNotFound,
    KazooRequestError,
    KazooUnavailable,
)
from bot.kazoo.models import ParticipantWire
from bot.kazoo.rest import KazooClient
from bot.simulator import ConferenceLocked, KazooSimulator, RecordedRequest

T0 = 1_700_000_000.0
USERNAME = "Ada@Example.com"
PASSWORD = "s3cret"


class FakeClock:
    """Time that moves only when a test advances it or the client "sleeps"."""

    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[KazooSimulator]:
    async with KazooSimulator(clock=clock) as simulator:
        yield simulator


MakeClient = Callable[..., KazooClient]


@pytest.fixture
async def make_client(sim: KazooSimulator, clock: FakeClock) -> AsyncIterator[MakeClient]:
    """Clients on the simulator with the shared clock (api_auth unless told otherwise)."""
    made: list[KazooClient] = []

    def make(**kwargs: Any) -> KazooClient:
        options: dict[str, Any] = {"timeout": 5.0, **kwargs}
        if not {"api_key", "username"} & set(options):
            options["api_key"] = sim.api_key
        client = KazooClient(
            sim.http_url, sleep=clock.sleep, clock=clock, rng=random.Random(7), **options
        )
        made.append(client)
        return client

    yield make
    for client in made:
        await client.aclose()


@pytest.fixture
async def client(make_client: MakeClient) -> KazooClient:
    return make_client()


def conf_path(sim: KazooSimulator, *parts: str) -> str:
    return "/".join(["", "v2", "accounts", sim.account_id, "conferences", *parts])


def requests_to(sim: KazooSimulator, path: str, method: str | None = None) -> list[RecordedRequest]:
    return [r for r in sim.requests if r.path == path and method in (None, r.method)]


def logins(sim: KazooSimulator) -> list[RecordedRequest]:
    return [r for r in sim.requests if r.path in ("/v2/api_auth", "/v2/user_auth")]


def api_calls(sim: KazooSimulator) -> list[RecordedRequest]:
    return [r for r in sim.requests if r.path.startswith("/v2/accounts/")]


def token_of(request: RecordedRequest) -> str | None:
    return next((v for k, v in request.headers.items() if k.lower() == "x-auth-token"), None)


def md5_credentials(username: str, password: str) -> str:
    return hashlib.md5(f"{username.lower()}:{password}".encode()).hexdigest()


def by_id(participants: list[ParticipantWire]) -> dict[int, ParticipantWire]:
    return {p.participant_id: p for p in participants}


def flags(participants: list[ParticipantWire], name: str) -> dict[int, bool | None]:
    """`conference_channel_vars.speak` or `.hear` per participant id."""
    return {
        p.participant_id: getattr(p.conference_channel_vars, name)
        for p in participants
        if p.conference_channel_vars is not None
    }


# --- logins -----------------------------------------------------------------------------------


async def test_api_auth_login_learns_account_and_websocket_url(
    sim: KazooSimulator, client: KazooClient
) -> None:
    assert client.account_id is None and client.ws_url is None

    result = await client.login()

    assert result.account_id == sim.account_id
    assert result.owner_id is None
    assert client.account_id == sim.account_id
    assert client.ws_url == sim.ws_url
    [login] = logins(sim)
    assert (login.method, login.path, login.status) == ("PUT", "/v2/api_auth", 201)
    assert login.json == {"data": {"api_key": sim.api_key}}
    # The learnt account id is the one the calls then use.
    assert await client.list_conferences() == []
    [listing] = api_calls(sim)
    assert listing.path == conf_path(sim)
    assert token_of(listing) == result.auth_token
    assert sim.auth_count == 1 and client.auth.login_count == 1


async def test_configured_account_id_is_used_as_given(
    sim: KazooSimulator, make_client: MakeClient
) -> None:
    client = make_client(account_id=sim.account_id)
    assert client.account_id == sim.account_id  # known before any login

    await client.list_conferences()

    assert [r.path for r in sim.requests] == ["/v2/api_auth", conf_path(sim)]


async def test_user_auth_lower_cases_a_mixed_case_username(
    sim: KazooSimulator, make_client: MakeClient
) -> None:
    owner_id = sim.add_user(USERNAME, PASSWORD)
    client = make_client(username=USERNAME, password=PASSWORD, account_name=sim.account_name)

    result = await client.login()

    assert result.account_id == sim.account_id
    assert result.owner_id == owner_id
    assert client.account_id == sim.account_id
    assert client.ws_url == sim.ws_url
    [login] = logins(sim)
    assert (login.path, login.status) == ("/v2/user_auth", 201)
    assert login.json == {
        "data": {
            "credentials": md5_credentials("ada@example.com", PASSWORD),
            "account_name": sim.account_name,
            "method": "md5",
        }
    }
    assert PASSWORD not in str(login.json)
    conference_id = sim.add_conference("Standup")
    assert (await client.get_conference(conference_id)).name == "Standup"
    assert sim.auth_count == 1


async def test_wrong_password_is_an_auth_error_without_a_login_storm(
    sim: KazooSimulator, make_client: MakeClient, clock: FakeClock
) -> None:
    sim.add_user(USERNAME, PASSWORD)
    client = make_client(username=USERNAME, password="wrong", account_name=sim.account_name)
    conference_id = sim.add_conference("Standup")

    with pytest.raises(KazooAuthError) as caught:
        await client.login()
    assert caught.value.status == 401
    assert "wrong" not in str(caught.value)

    # Sequential and concurrent callers during the cool-down get the failure without a request.
    for _ in range(5):
        with pytest.raises(KazooAuthError):
            await client.list_conferences()
    results = await asyncio.gather(
        *(client.participants(conference_id) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, KazooAuthError) for r in results)

    assert [(r.path, r.status) for r in sim.requests] == [("/v2/user_auth", 401)]
    assert sim.auth_count == 0 and client.auth.login_count == 1
    assert clock.sleeps == []  # a 401 login is not retried

    # Once the cool-down is over, one more attempt (and only one) is made.
    clock.advance(31)
    for _ in range(3):
        with pytest.raises(KazooAuthError):
            await client.participants(conference_id)
    assert [r.status for r in logins(sim)] == [401, 401]


async def test_login_survives_two_503s(
    sim: KazooSimulator, client: KazooClient, clock: FakeClock
) -> None:
    sim.fail_next(2, 503, path_contains="/api_auth")

    await client.login()

    assert [r.status for r in logins(sim)] == [503, 503, 201]
    assert sim.auth_count == 1
    # Logins back off with "equal jitter": never close to zero (2 s, then 4 s steps).
    first, second = clock.sleeps
    assert 1.0 <= first <= 2.0 and 2.0 <= second <= 4.0


# --- actions ----------------------------------------------------------------------------------


class Room:
    """A running conference: one moderator, two members, everyone unmuted and hearing."""

    def __init__(self, sim: KazooSimulator) -> None:
        self.id = sim.add_conference("Board room", numbers=["4100"])
        self.chair = sim.join(self.id, "Chair", "+15550100", moderator=True, muted=False)
        self.ada = sim.join(self.id, "Ada", "+15550101", muted=False)
        self.bob = sim.join(self.id, "Bob", "+15550102", muted=False)

    @property
    def members(self) -> set[int]:
        return {self.ada, self.bob}


@pytest.fixture
def room(sim: KazooSimulator) -> Room:
    return Room(sim)


async def test_lock_and_unlock(sim: KazooSimulator, client: KazooClient, room: Room) -> None:
    assert not sim.is_locked(room.id)

    await client.conference_action(room.id, "lock")

    assert sim.is_locked(room.id)
    locked = (await client.get_conference(room.id)).read_only
    assert locked is not None and locked.lock_state
    with pytest.raises(ConferenceLocked):
        sim.join(room.id, "Late", "+15550199")

    await client.conference_action(room.id, "unlock")

    assert not sim.is_locked(room.id)
    sim.join(room.id, "Late", "+15550199")
    actions = requests_to(sim, conf_path(sim, room.id), "PUT")
    assert [r.json for r in actions] == [
        {"action": "lock", "data": {}},
        {"action": "unlock", "data": {}},
    ]
    assert [r.status for r in actions] == [201, 201]


@pytest.mark.parametrize(
    ("mute", "unmute", "flag"), [("mute", "unmute", "speak"), ("deaf", "undeaf", "hear")]
)
async def test_bulk_actions_spare_the_moderator(
    sim: KazooSimulator, client: KazooClient, room: Room, mute: str, unmute: str, flag: str
) -> None:
    await client.participants_action(room.id, mute)

    after = await client.participants(room.id)
    assert flags(after, flag) == {room.chair: True, room.ada: False, room.bob: False}
    assert {p.participant_id for p in after if getattr(p, flag) is False} == room.members

    await client.participants_action(room.id, unmute)

    assert flags(await client.participants(room.id), flag) == {
        room.chair: True,
        room.ada: True,
        room.bob: True,
    }
    bulk = requests_to(sim, conf_path(sim, room.id, "participants"), "PUT")
    assert [r.json for r in bulk] == [{"data": {"action": mute}}, {"data": {"action": unmute}}]
    assert [r.status for r in bulk] == [201, 201]


async def test_bulk_kick_removes_everyone_moderators_included(
    sim: KazooSimulator, client: KazooClient, room: Room
) -> None:
    await client.participants_action(room.id, "kick")

    assert await client.participants(room.id) == []
    assert sim.participants(room.id) == []
    assert not (await client.get_conference(room.id)).running
    [kick] = requests_to(sim, conf_path(sim, room.id, "participants"), "PUT")
    assert kick.json == {"data": {"action": "kick"}}


async def test_per_participant_actions(
    sim: KazooSimulator, client: KazooClient, room: Room
) -> None:
    async def ada() -> ParticipantWire:
        found = await client.participant(room.id, room.ada)
        assert found is not None
        return found

    steps = [
        ("mute", "speak", False),
        ("unmute", "speak", True),
        ("deaf", "hear", False),
        ("undeaf", "hear", True),
    ]
    for action, flag, value in steps:
        await client.participant_action(room.id, room.ada, action)
        cvars = (await ada()).conference_channel_vars
        assert cvars is not None and getattr(cvars, flag) is value, action
        # Nobody else was touched.
        others = by_id(await client.participants(room.id))
        assert others[room.bob].speak is True and others[room.bob].hear is True
        assert others[room.chair].speak is True and others[room.chair].hear is True

    await client.participant_action(room.id, room.ada, "kick")

    assert await client.participant(room.id, room.ada) is None
    assert set(by_id(await client.participants(room.id))) == {room.chair, room.bob}
    sent = requests_to(sim, conf_path(sim, room.id, "participants", str(room.ada)), "PUT")
    assert [r.json for r in sent] == [
        {"data": {"action": a}} for a in ("mute", "unmute", "deaf", "undeaf", "kick")
    ]
    assert {r.status for r in sent} == {201}


async def test_unknown_participant_is_none(client: KazooClient, room: Room) -> None:
    assert await client.participant(room.id, 9999) is None


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c, r: c.conference_action(r.id, "mute"), id="conference-mute"),
        pytest.param(lambda c, r: c.conference_action(r.id, "play"), id="conference-play"),
        pytest.param(lambda c, r: c.conference_action(r.id, "LOCK"), id="conference-LOCK"),
        pytest.param(lambda c, r: c.participants_action(r.id, "lock"), id="bulk-lock"),
        pytest.param(lambda c, r: c.participants_action(r.id, "relate"), id="bulk-relate"),
        pytest.param(lambda c, r: c.participant_action(r.id, r.ada, "mutee"), id="one-mutee"),
        pytest.param(lambda c, r: c.participant_action(r.id, r.ada, ""), id="one-empty"),
        pytest.param(lambda c, r: c.participant_action(r.id, str(r.ada), "mute"), id="pid-str"),
        pytest.param(lambda c, r: c.participant_action(r.id, 1.5, "mute"), id="pid-float"),
        pytest.param(lambda c, r: c.participant_action(r.id, True, "mute"), id="pid-bool"),
        pytest.param(lambda c, r: c.participant_action(r.id, -1, "mute"), id="pid-negative"),
        pytest.param(lambda c, r: c.participant(r.id, "1"), id="get-pid-str"),
        pytest.param(lambda c, r: c.participants(r.id.upper()), id="conference-id-upper"),
        pytest.param(lambda c, r: c.conference_action("../" + r.id, "lock"), id="id-traversal"),
    ],
)
async def test_bad_actions_and_ids_are_refused_before_any_request(
    sim: KazooSimulator, client: KazooClient, room: Room, call: Callable[..., Any]
) -> None:
    with pytest.raises(CommandError):
        await call(client, room)

    assert sim.requests == []  # not even a login
    assert not sim.is_locked(room.id)
    assert all(p["conference_channel_vars"]["speak"] for p in sim.participants(room.id))


# --- conference documents ---------------------------------------------------------------------


async def test_list_follows_pagination_over_120_conferences(
    sim: KazooSimulator, client: KazooClient
) -> None:
    created = [
        await client.create_conference({"name": f"Room {n:03d}", "conference_numbers": [str(n)]})
        for n in range(5000, 5020)
    ]
    added = [sim.add_conference(f"Room {n:03d}", numbers=[str(n)]) for n in range(5020, 5120)]
    expected = sorted([d.id for d in created if d.id] + added)
    assert len(set(expected)) == 120

    docs = await client.list_conferences()

    assert [d.id for d in docs] == expected  # all of them, once each, in Kazoo's order
    assert {d.name for d in docs} == {f"Room {n:03d}" for n in range(5000, 5120)}
    assert all(d.read_only is not None and not d.running for d in docs)
    pages = requests_to(sim, conf_path(sim), "GET")
    assert len(pages) == 3  # the default page size is 50
    assert all(set(p.query) <= {"start_key", "page_size"} for p in pages)
    assert "start_key" not in pages[0].query
    start_keys = [p.query["start_key"] for p in pages[1:]]
    assert len(set(start_keys)) == 2
    assert {p.status for p in pages} == {200}


async def test_create_get_patch_replace_delete(sim: KazooSimulator, client: KazooClient) -> None:
    created = await client.create_conference(
        {"name": "Weekly sync", "conference_numbers": ["7001"], "member": {"pins": ["1234"]}}
    )
    assert created.id is not None and created.name == "Weekly sync"
    conference_id = created.id
    [put] = requests_to(sim, conf_path(sim), "PUT")
    assert put.status == 201
    assert put.json["data"]["name"] == "Weekly sync"

    fetched = await client.get_conference(conference_id)
    assert (fetched.id, fetched.name, fetched.conference_numbers) == (
        conference_id,
        "Weekly sync",
        ["7001"],
    )
    assert fetched.member.pins == ["1234"]
    assert not fetched.running

    sim.join(conference_id, "Ada", "+15550101")
    live = await client.get_conference(conference_id)
    assert live.running
    assert live.read_only is not None and len(live.read_only.participants or []) == 1

    patched = await client.patch_conference(conference_id, {"name": "Renamed"})
    assert (patched.name, patched.conference_numbers) == ("Renamed", ["7001"])
    assert patched.member.pins == ["1234"]

    replaced = await client.update_conference(conference_id, {"name": "Replaced"})
    assert (replaced.name, replaced.conference_numbers) == ("Replaced", [])
    assert (await client.get_conference(conference_id)).name == "Replaced"

    await client.delete_conference(conference_id)

    assert await client.list_conferences() == []
    with pytest.raises(KazooNotFound):
        await client.patch_conference(conference_id, {"name": "Ghost"})
    # Kazoo answers GET for any id with an ad-hoc default (§3.0): not an existence test.
    ghost = await client.get_conference(conference_id)
    assert ghost.id == conference_id and ghost.name is None


async def test_delete_missing_is_not_found(sim: KazooSimulator, client: KazooClient) -> None:
    missing = "0123456789abcdef" * 2

    with pytest.raises(KazooNotFound) as caught:
        await client.delete_conference(missing)

    assert caught.value.status == 404
    assert caught.value.kazoo_message == "bad_identifier"
    assert [r.status for r in requests_to(sim, conf_path(sim, missing))] == [404]


async def test_number_clash_carries_kazoos_detail(sim: KazooSimulator, client: KazooClient) -> None:
    await client.create_conference({"name": "First", "conference_numbers": ["7001"]})

    with pytest.raises(KazooRequestError) as caught:
        await client.create_conference(
            {"name": "Second", "conference_numbers": ["7002"], "member": {"numbers": ["7001"]}}
        )

    error = caught.value
    assert error.status == 400
    assert error.kazoo_message == "validation error"
    assert error.details["numbers"]["unique"]["message"] == "Numbers already in use"
    assert "Numbers already in use" in str(error)
    assert [r.status for r in requests_to(sim, conf_path(sim), "PUT")] == [201, 400]
    assert [d.name for d in await client.list_conferences()] == ["First"]


@pytest.mark.parametrize(
    "doc",
    [
        {"name": "x" * 129},
        {"name": ""},
        {"name": "Dup", "conference_numbers": ["7001", "7001"]},
        {"name": "Letters", "member": {"pins": ["12ab"]}},
    ],
)
async def test_invalid_document_is_refused_before_any_request(
    sim: KazooSimulator, client: KazooClient, doc: dict[str, Any]
) -> None:
    with pytest.raises(CommandError, match="not valid"):
        await client.create_conference(doc)

    conference_id = sim.add_conference("Existing")
    with pytest.raises(CommandError):
        await client.patch_conference(conference_id, doc)
    with pytest.raises(CommandError):
        await client.update_conference(conference_id, doc)
    assert sim.requests == []


# --- the token ----------------------------------------------------------------------------------


async def test_expired_token_means_one_login_and_one_retry(
    sim: KazooSimulator, client: KazooClient, room: Room
) -> None:
    first = await client.login()
    sim.expire_tokens()

    assert len(await client.participants(room.id)) == 3

    assert [(r.path, r.status) for r in sim.requests] == [
        ("/v2/api_auth", 201),
        (conf_path(sim, room.id, "participants"), 401),
        ("/v2/api_auth", 201),
        (conf_path(sim, room.id, "participants"), 200),
    ]
    stale, fresh = api_calls(sim)
    assert token_of(stale) == first.auth_token
    assert token_of(fresh) not in (None, first.auth_token)
    assert sim.auth_count == 2 and client.auth.login_count == 2


async def test_concurrent_calls_after_expiry_share_one_login(
    sim: KazooSimulator, client: KazooClient, room: Room
) -> None:
    await client.participants(room.id)
    sim.expire_tokens()
    sim.clear_requests()

    results = await asyncio.gather(*(client.participants(room.id) for _ in range(10)))

    assert all(len(r) == 3 for r in results)
    assert [r.status for r in logins(sim)] == [201]
    assert sim.auth_count == 2
    calls = api_calls(sim)
    refused = [r for r in calls if r.status == 401]
    answered = [r for r in calls if r.status == 200]
    assert 1 <= len(refused) <= 10 and len(answered) == 10
    assert len({token_of(r) for r in answered}) == 1
    assert not {token_of(r) for r in answered} & {token_of(r) for r in refused}


async def test_a_fresh_token_refused_again_is_an_auth_error_after_one_login(
    sim: KazooSimulator, client: KazooClient, room: Room
) -> None:
    await client.login()
    sim.fail_next(2, 401, path_contains="/participants")

    with pytest.raises(KazooAuthError, match="fresh token"):
        await client.participants(room.id)

    assert [r.status for r in sim.requests] == [201, 401, 201, 401]
    assert sim.auth_count == 2


async def test_token_is_renewed_before_exp_without_a_401(clock: FakeClock) -> None:
    async with (
        KazooSimulator(token_ttl=60, clock=clock) as sim,
        KazooClient(sim.http_url, api_key=sim.api_key, sleep=clock.sleep, clock=clock) as client,
    ):
        room = Room(sim)
        first = await client.login()

        clock.advance(29)  # the renewal margin is half the 60 s lifetime
        await client.participants(room.id)
        assert sim.auth_count == 1

        clock.advance(2)  # 31 s: inside the margin, the token still valid on the server
        await client.participants(room.id)
        assert sim.auth_count == 2

        clock.advance(29)  # 60 s: the first token has expired on the server, not the second
        await client.participants(room.id)
        assert sim.auth_count == 2

        assert [r.status for r in sim.requests if r.status >= 400] == []
        tokens = [token_of(r) for r in api_calls(sim)]
        assert tokens[0] == first.auth_token and tokens[1] == tokens[2] != first.auth_token
        async with httpx.AsyncClient() as raw:  # the server did expire the first token
            stale = await raw.get(
                sim.http_url + conf_path(sim, room.id, "participants")[len("/v2") :],
                headers={"X-Auth-Token": first.auth_token},
            )
        assert stale.status_code == 401


# --- retries ----------------------------------------------------------------------------------


async def test_two_503s_then_success(
    sim: KazooSimulator, client: KazooClient, clock: FakeClock, room: Room
) -> None:
    await client.login()
    sim.fail_next(2, status=503)

    assert len(await client.participants(room.id)) == 3

    assert [r.status for r in api_calls(sim)] == [503, 503, 200]
    first, second = clock.sleeps  # full jitter under 0.5 s * 2**n
    assert 0 <= first <= 0.5 and 0 <= second <= 1.0
    assert sim.auth_count == 1


async def test_503s_on_an_action_then_success(
    sim: KazooSimulator, client: KazooClient, clock: FakeClock, room: Room
) -> None:
    await client.login()
    sim.fail_next(2, status=503)

    await client.conference_action(room.id, "lock")

    assert sim.is_locked(room.id)
    assert [r.status for r in api_calls(sim)] == [503, 503, 201]
    assert len(clock.sleeps) == 2


async def test_persistent_503_is_unavailable_after_max_attempts(
    sim: KazooSimulator, client: KazooClient, clock: FakeClock, room: Room
) -> None:
    await client.login()
    sim.fail_next(10, status=503)

    with pytest.raises(KazooUnavailable) as caught:
        await client.participants(room.id)

    assert caught.value.status == 503
    assert [r.status for r in api_calls(sim)] == [503] * 4  # max_attempts
    assert len(clock.sleeps) == 3
    assert sim.auth_count == 1


async def test_429_honours_retry_after(
    sim: KazooSimulator, client: KazooClient, clock: FakeClock, room: Room
) -> None:
    await client.login()
    sim.fail_next(1, status=429, retry_after=2.0)

    await client.participant_action(room.id, room.ada, "mute")

    assert clock.sleeps == [2.0]
    assert [r.status for r in api_calls(sim)] == [429, 201]
    assert by_id(await client.participants(room.id))[room.ada].speak is False


async def test_create_is_retried_after_429_but_not_after_500(
    sim: KazooSimulator, client: KazooClient, clock: FakeClock
) -> None:
    await client.login()
    sim.fail_next(1, status=429, retry_after=1.0)
    await client.create_conference({"name": "Retried", "conference_numbers": ["7001"]})
    assert clock.sleeps == [1.0]

    sim.fail_next(1, status=500)
    with pytest.raises(KazooUnavailable):
        await client.create_conference({"name": "Once", "conference_numbers": ["7002"]})

    assert [r.status for r in requests_to(sim, conf_path(sim), "PUT")] == [429, 201, 500]
    assert clock.sleeps == [1.0]


async def test_the_simulators_rate_limit_is_ridden_out(
    sim: KazooSimulator, client: KazooClient, clock: FakeClock, room: Room
) -> None:
    sim.rate_limit = True  # 100 tokens, a login costs 35, a request 1, refilled 10 per second

    for _ in range(80):
        await client.participants(room.id)

    statuses = [r.status for r in api_calls(sim)]
    assert statuses.count(200) == 80 and set(statuses) == {200, 429}
    assert clock.sleeps and all(delay >= 1.0 for delay in clock.sleeps)
    assert sim.auth_count == 1  # a 429 never makes the client log in again


# --- latency ----------------------------------------------------------------------------------


async def test_slow_kazoo_is_unavailable_after_max_attempts(
    sim: KazooSimulator, make_client: MakeClient, clock: FakeClock, room: Room
) -> None:
    client = make_client(timeout=0.2)
    await client.login()  # at full speed: the latency is for the call below
    sim.latency = 0.5

    with pytest.raises(KazooUnavailable, match="timed out"):
        await client.participants(room.id)

    assert len(clock.sleeps) == 3  # max_attempts (4) attempts, three backoffs
    assert sim.auth_count == 1


async def test_slow_create_is_not_repeated(
    sim: KazooSimulator, make_client: MakeClient, clock: FakeClock
) -> None:
    client = make_client(timeout=0.2)
    await client.login()
    sim.latency = 0.5

    with pytest.raises(KazooUnavailable, match="may have been carried out"):
        await client.create_conference({"name": "Slow"})

    assert clock.sleeps == []  # it may have happened: not retried
