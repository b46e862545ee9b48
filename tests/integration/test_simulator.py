"""The Kazoo simulator, driven over 127.0.0.1 with raw httpx and raw websockets clients.

Every expectation here comes from reference/kazoo-conferences-protocol.md (section numbers in the
comments), not from the bot's client code: these tests are what makes the simulator a fair stand-in.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from bot.simulator import ConferenceLocked, KazooSimulator
from bot.simulator.cli import serve

API_KEY = "k" * 64
ACCOUNT_ID = "9d351ad7ffd6f846313af9eed3bb7b85"
OTHER_ACCOUNT = "0" * 32
ROOT = Path(__file__).resolve().parents[2]
GREGORIAN_OFFSET = 62_167_219_200
ENVELOPE_KEYS = {"auth_token", "status", "request_id", "node", "version", "timestamp", "data"}
ERROR_KEYS = ENVELOPE_KEYS | {"message", "error"}


class FakeClock:
    """A settable clock, so expiry and rate limits are tested without waiting."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[KazooSimulator]:
    async with KazooSimulator(api_key=API_KEY, account_id=ACCOUNT_ID, clock=clock) as simulator:
        yield simulator


@pytest.fixture
async def http(sim: KazooSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.http_url, timeout=5.0) as client:
        yield client


async def api_login(http: httpx.AsyncClient) -> str:
    response = await http.put("/api_auth", json={"data": {"api_key": API_KEY}})
    assert response.status_code == 201, response.text
    return str(response.json()["auth_token"])


@pytest.fixture
async def token(http: httpx.AsyncClient) -> str:
    return await api_login(http)


def conferences_path(*parts: str) -> str:
    """``/accounts/{A}/conferences[/...]``, relative to the simulator's ``/v2`` base URL."""
    return "/".join(["", "accounts", ACCOUNT_ID, "conferences", *parts])


def jwt_claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def md5_credentials(username: str, password: str) -> str:
    return hashlib.md5(f"{username.lower()}:{password}".encode()).hexdigest()


async def recv(ws: ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    async with asyncio.timeout(timeout):
        return dict(json.loads(await ws.recv()))


async def request(
    ws: ClientConnection, message: dict[str, Any], timeout: float = 2.0
) -> dict[str, Any]:
    """Send one message and return the next frame, which must be its reply."""
    await ws.send(json.dumps(message))
    reply = await recv(ws, timeout)
    assert reply["action"] == "reply", reply
    assert reply["request_id"] == message.get("request_id", reply["request_id"])
    return reply


def subscribe_message(
    token: str | None, binding: str, *, account_id: str = ACCOUNT_ID, request_id: str = "sub-1"
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "action": "subscribe",
        "request_id": request_id,
        "data": {"account_id": account_id, "binding": binding},
    }
    if token is not None:
        message["auth_token"] = token
    return message


@contextlib.asynccontextmanager
async def subscribed(
    sim: KazooSimulator, token: str, conference_id: str, binding: str | None = None
) -> AsyncIterator[ClientConnection]:
    """A websocket subscribed to one conference (``conference.event.{C}.*`` by default)."""
    async with connect(sim.ws_url) as ws:
        reply = await request(
            ws, subscribe_message(token, binding or f"conference.event.{conference_id}.*")
        )
        assert reply["status"] == "success", reply
        yield ws


async def assert_quiet(ws: ClientConnection) -> None:
    """Nothing was queued for this socket: a ping's reply is the very next frame.

    Events are queued synchronously before a REST answer goes out, so any event caused by an earlier
    request would arrive before this reply.
    """
    reply = await request(ws, {"action": "ping", "request_id": "quiet?"})
    assert reply["status"] == "success"


def assert_error(response: httpx.Response, status: int, message: str) -> dict[str, Any]:
    body = dict(response.json())
    assert response.status_code == status, body
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == "error"
    assert body["error"] == str(status)
    assert body["message"] == message
    return body


# -- authentication (§2) ---------------------------------------------------------------------------


async def test_api_auth_returns_201_with_token_and_websocket_url(
    sim: KazooSimulator, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    response = await http.put("/api_auth", json={"data": {"api_key": API_KEY}})

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= ENVELOPE_KEYS
    assert body["status"] == "success"
    assert body["data"]["account_id"] == ACCOUNT_ID
    assert "owner_id" not in body["data"]
    assert body["data"]["ui_config"]["api"]["kazoo_websocket"]["url"] == sim.ws_url
    claims = jwt_claims(body["auth_token"])
    assert claims["account_id"] == ACCOUNT_ID
    assert claims["method"] == "cb_api_auth"
    assert claims["exp"] == int(clock.now) + 3600
    assert sim.auth_count == 1
    assert response.headers["X-Request-ID"] == body["request_id"]


@pytest.mark.parametrize(
    ("data", "path", "rule"),
    [
        ({"api_key": "short"}, "api_key", "minLength"),
        ({"api_key": "x" * 65}, "api_key", "maxLength"),
        ({}, "api_key", "required"),
        ({"api_key": API_KEY, "extra": 1}, "extra", "additionalProperties"),
    ],
)
async def test_api_auth_schema_failures_are_400(
    http: httpx.AsyncClient, data: dict[str, Any], path: str, rule: str
) -> None:
    response = await http.put("/api_auth", json={"data": data})

    body = assert_error(response, 400, "validation error")
    assert rule in body["data"][path]
    assert body["auth_token"] == "undefined"


async def test_api_auth_unknown_key_is_404_bad_identifier(http: httpx.AsyncClient) -> None:
    wrong = "w" * 64
    response = await http.put("/api_auth", json={"data": {"api_key": wrong}})

    body = assert_error(response, 404, "bad identifier")
    assert body["data"] == [wrong]


async def test_user_auth_md5_and_sha_with_normalized_account_name(
    sim: KazooSimulator, http: httpx.AsyncClient
) -> None:
    user_id = sim.add_user("John@Example.com", "m32c6NfqYEt")
    # The reference's check value for md5("john@example.com:m32c6NfqYEt").
    expected = "82a2dc91686ec828a67152d45a5c5ef7"
    assert md5_credentials("John@Example.com", "m32c6NfqYEt") == expected
    sha = hashlib.sha1(b"john@example.com:m32c6NfqYEt").hexdigest()

    for data in (
        {"credentials": "82a2dc91686ec828a67152d45a5c5ef7", "account_name": "DEMO co!"},
        {"credentials": sha, "method": "sha", "account_name": "democo"},
        {"credentials": "82a2dc91686ec828a67152d45a5c5ef7", "account_realm": "democo.sim.kazoo"},
    ):
        response = await http.put("/user_auth", json={"data": data})
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["data"]["owner_id"] == user_id
        assert body["data"]["account_id"] == ACCOUNT_ID
        assert jwt_claims(body["auth_token"])["owner_id"] == user_id
        assert jwt_claims(body["auth_token"])["method"] == "cb_user_auth"
    assert sim.auth_count == 3


@pytest.mark.parametrize(
    "case", ["wrong password", "username not lower-cased", "wrong account", "disabled user"]
)
async def test_user_auth_wrong_credentials_are_401(
    sim: KazooSimulator, http: httpx.AsyncClient, case: str
) -> None:
    sim.add_user("ada", "secret")
    sim.add_user("off", "secret", enabled=False)
    data = {
        "wrong password": {
            "credentials": md5_credentials("ada", "nope"),
            "account_name": "Demo Co",
        },
        "username not lower-cased": {
            "credentials": hashlib.md5(b"ADA:secret").hexdigest(),
            "account_name": "Demo Co",
        },
        "wrong account": {"credentials": md5_credentials("ada", "secret"), "account_name": "Other"},
        "disabled user": {
            "credentials": md5_credentials("off", "secret"),
            "account_name": "Demo Co",
        },
    }[case]

    response = await http.put("/user_auth", json={"data": data})

    body = assert_error(response, 401, "invalid_credentials")
    assert body["data"] == {"message": "invalid credentials"}
    assert sim.auth_count == 0


async def test_user_auth_method_sha1_fails_the_schema(http: httpx.AsyncClient) -> None:
    data = {"credentials": "x", "method": "sha1", "account_name": "Demo Co"}
    response = await http.put("/user_auth", json={"data": data})

    body = assert_error(response, 400, "validation error")
    assert body["data"]["method"]["enum"]["target"] == ["md5", "sha"]


async def test_requests_without_token_get_401_with_undefined_token(
    http: httpx.AsyncClient,
) -> None:
    response = await http.get(conferences_path())

    body = assert_error(response, 401, "invalid_credentials")
    assert body["auth_token"] == "undefined"
    assert body["data"] == {"message": "invalid credentials"}


async def test_token_is_also_accepted_in_the_query_string(
    http: httpx.AsyncClient, token: str
) -> None:
    response = await http.get(conferences_path(), params={"auth_token": token})

    assert response.status_code == 200
    assert response.json()["auth_token"] == token


async def test_another_account_in_the_url_is_403(http: httpx.AsyncClient, token: str) -> None:
    response = await http.get(
        f"/accounts/{OTHER_ACCOUNT}/conferences", headers={"X-Auth-Token": token}
    )

    body = assert_error(response, 403, "forbidden")
    assert body["data"] == {"message": "forbidden"}
    assert body["auth_token"] == token


async def test_expired_and_voided_tokens_are_401(
    sim: KazooSimulator, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    token = await api_login(http)
    clock.advance(3600)
    assert_error(
        await http.get(conferences_path(), headers={"X-Auth-Token": token}),
        401,
        "invalid_credentials",
    )

    fresh = await api_login(http)
    sim.expire_tokens()
    assert_error(
        await http.get(conferences_path(), headers={"X-Auth-Token": fresh}),
        401,
        "invalid_credentials",
    )
    newest = await api_login(http)
    response = await http.get(conferences_path(), headers={"X-Auth-Token": newest})
    assert response.status_code == 200


# -- envelope and protocol errors (§1) -------------------------------------------------------------


async def test_malformed_json_missing_envelope_wrong_method_and_unknown_path(
    http: httpx.AsyncClient, token: str
) -> None:
    headers = {"X-Auth-Token": token, "Content-Type": "application/json"}

    body = assert_error(
        await http.put(conferences_path(), content=b"{not json", headers=headers),
        400,
        "validation error",
    )
    assert body["data"] == {
        "json": {"invalid": {"message": "All JSON must be valid", "target": "body"}}
    }
    assert_error(
        await http.put(conferences_path(), json={"name": "no envelope"}, headers=headers),
        400,
        "invalid request envelope",
    )
    response = await http.delete(conferences_path(), headers=headers)
    assert_error(response, 405, "invalid_method")
    assert response.headers["Allow"] == "GET, PUT"
    assert_error(
        await http.get(f"/accounts/{ACCOUNT_ID}/devices", headers=headers), 404, "not_found"
    )


# -- conferences (§3, §4) --------------------------------------------------------------------------


async def test_create_returns_201_with_defaults_and_revision_and_no_private_fields(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    data = {"name": "Standup", "conference_numbers": ["4000"], "ui_metadata": {"ui": "x"}}
    response = await http.put(
        conferences_path(), json={"data": data}, headers={"X-Auth-Token": token}
    )

    assert response.status_code == 201
    body = response.json()
    doc = body["data"]
    assert len(doc["id"]) == 32
    assert body["revision"].startswith("1-")
    assert doc["member"] == {"join_muted": True, "join_deaf": False, "numbers": [], "pins": []}
    assert doc["moderator"]["join_muted"] is False
    assert doc["ui_metadata"] == {"ui": "x"}
    assert not [k for k in doc if k.startswith(("_", "pvt_"))]
    assert sim.requests[-1].json == {"data": data}
    assert sim.requests[-1].status == 201


@pytest.mark.parametrize(
    ("data", "key", "rule"),
    [
        ({"name": ""}, "name", "minLength"),
        ({"name": "x" * 129}, "name", "maxLength"),
        ({"owner_id": "abc"}, "owner_id", "minLength"),
        ({"conference_numbers": ["12a"]}, "conference_numbers.0", "pattern"),
        ({"conference_numbers": ["1", "1"]}, "conference_numbers", "uniqueItems"),
        ({"member": {"pins": ["*1"]}}, "member.pins.0", "pattern"),
        ({"member": {"join_muted": "yes"}}, "member.join_muted", "type"),
        ({"max_participants": 1.5}, "max_participants", "type"),
    ],
)
async def test_create_validation_errors(
    http: httpx.AsyncClient, token: str, data: dict[str, Any], key: str, rule: str
) -> None:
    response = await http.put(
        conferences_path(), json={"data": data}, headers={"X-Auth-Token": token}
    )

    body = assert_error(response, 400, "validation error")
    assert rule in body["data"][key], body["data"]
    assert "message" in body["data"][key][rule]


async def test_numbers_must_be_unique_across_conferences(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    sim.add_conference("Standup", numbers=["4000", "4001"])
    data = {"name": "Clash", "conference_numbers": ["4001"], "member": {"numbers": ["4000"]}}

    response = await http.put(
        conferences_path(), json={"data": data}, headers={"X-Auth-Token": token}
    )

    body = assert_error(response, 400, "validation error")
    assert body["data"] == {
        "numbers": {"unique": {"message": "Numbers already in use", "cause": "4000, 4001"}}
    }


async def test_list_pages_through_every_conference(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    ids = sorted(sim.add_conference(f"Room {n}", numbers=[f"40{n}"]) for n in range(5))
    headers = {"X-Auth-Token": token}

    seen: list[str] = []
    params: dict[str, str] = {"page_size": "2"}
    pages = 0
    while True:
        body = (await http.get(conferences_path(), params=params, headers=headers)).json()
        pages += 1
        assert body["page_size"] == len(body["data"])
        seen.extend(row["id"] for row in body["data"])
        if "next_start_key" not in body:
            break
        params = {"page_size": "2", "start_key": body["next_start_key"]}
    assert seen == ids
    assert pages == 3

    everything = (
        await http.get(conferences_path(), params={"paginate": "false"}, headers=headers)
    ).json()
    assert [row["id"] for row in everything["data"]] == ids
    assert "next_start_key" not in everything
    assert "start_key" not in everything


async def test_list_rows_carry_view_fields_and_realtime(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str, clock: FakeClock
) -> None:
    running = sim.add_conference("Running", numbers=["4000"], bridge_password="secret")
    idle = sim.add_conference("Idle")
    sim.join(running, "Ada", "100", moderator=True)
    sim.join(running, "Bob", "101")
    sim.join("f" * 32, "Adhoc", "102")  # running without a document: not listed
    clock.advance(30)

    body = (await http.get(conferences_path(), headers={"X-Auth-Token": token})).json()

    rows = {row["id"]: row for row in body["data"]}
    assert set(rows) == {running, idle}
    assert rows[idle]["_read_only"] == {
        "members": 0,
        "moderators": 0,
        "duration": 0,
        "is_locked": False,
    }
    live = rows[running]["_read_only"]
    assert live["members"] == 1
    assert live["moderators"] == 1
    assert live["participant_count"] == 2
    assert live["run_time"] == 30
    assert live["start_time"] == int(clock.now) - 30 + GREGORIAN_OFFSET
    assert live["is_locked"] is False
    assert "duration" not in live
    assert set(rows[running]) == {
        "id",
        "name",
        "member",
        "moderator",
        "conference_numbers",
        "flags",
        "_read_only",
    }


async def test_get_one_conference_running_and_adhoc(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str, clock: FakeClock
) -> None:
    conference_id = sim.add_conference("Standup", numbers=["4000"])
    pid = sim.join(conference_id, "Ada", "100", moderator=True)
    clock.advance(12)
    headers = {"X-Auth-Token": token}

    body = (await http.get(conferences_path(conference_id), headers=headers)).json()
    assert body["revision"].startswith("1-")
    read_only = body["data"]["_read_only"]
    assert read_only["members"] == 0
    assert read_only["moderators"] == 1
    assert read_only["duration"] == 12
    assert read_only["participants"][0]["participant_id"] == pid
    assert read_only["participants"][0]["duration"] == 12

    unknown = "a" * 32
    response = await http.get(conferences_path(unknown), headers=headers)
    assert response.status_code == 200
    adhoc = response.json()["data"]
    assert adhoc["id"] == unknown
    assert adhoc["member"]["join_muted"] is True
    assert adhoc["_read_only"] == {
        "members": 0,
        "moderators": 0,
        "duration": 0,
        "is_locked": False,
        "participants": [],
    }


async def test_post_replaces_patch_merges_delete_soft_deletes(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup", numbers=["4000"], member_pins=["1234"])
    headers = {"X-Auth-Token": token}

    patched = await http.patch(
        conferences_path(conference_id), json={"data": {"name": "Daily"}}, headers=headers
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["name"] == "Daily"
    assert patched.json()["data"]["member"]["pins"] == ["1234"]
    assert patched.json()["revision"].startswith("2-")

    replaced = await http.post(
        conferences_path(conference_id), json={"data": {"name": "Weekly"}}, headers=headers
    )
    assert replaced.status_code == 200
    assert replaced.json()["data"]["conference_numbers"] == []
    assert replaced.json()["data"]["id"] == conference_id

    deleted = await http.delete(conferences_path(conference_id), headers=headers)
    assert deleted.status_code == 200
    listing = (await http.get(conferences_path(), headers=headers)).json()
    assert listing["data"] == []

    for method in ("POST", "PATCH", "DELETE"):
        response = await http.request(
            method, conferences_path(conference_id), json={"data": {}}, headers=headers
        )
        body = assert_error(response, 404, "bad_identifier")
        assert body["data"] == {"cause": conference_id, "message": "bad identifier"}


# -- actions and their websocket events (§3.5-§3.9, §6, §7) ----------------------------------------


async def test_lock_and_unlock_answer_ok_and_publish_events(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    sim.join(conference_id, "Ada", "100", moderator=True)
    headers = {"X-Auth-Token": token}

    async with subscribed(sim, token, conference_id) as ws:
        response = await http.put(
            conferences_path(conference_id), json={"action": "lock", "data": {}}, headers=headers
        )
        assert response.status_code == 201
        assert response.json()["data"] == "ok"
        event = await recv(ws)
        assert event["name"] == "event"
        assert event["data"]["event"] == "lock"
        assert event["subscribed_key"] == f"conference.event.{conference_id}.*"
        assert event["subscription_key"] == f"conference.event.*.{ACCOUNT_ID}.{conference_id}.*"
        assert event["routing_key"] == (
            f"conference.event.lock.{ACCOUNT_ID}.{conference_id}.{conference_id}"
        )
        assert sim.is_locked(conference_id)
        with pytest.raises(ConferenceLocked):
            sim.join(conference_id, "Late", "199")

        # data.action works as well as the top-level action.
        response = await http.put(
            conferences_path(conference_id), json={"data": {"action": "unlock"}}, headers=headers
        )
        assert response.status_code == 201
        assert (await recv(ws))["data"]["event"] == "unlock"
        assert not sim.is_locked(conference_id)

        bodies: list[dict[str, Any]] = [{"action": "explode", "data": {}}, {"data": {}}]
        for body in bodies:
            response = await http.put(conferences_path(conference_id), json=body, headers=headers)
            assert_error(response, 404, "faulty_request")
        await assert_quiet(ws)


@pytest.mark.parametrize(
    ("action", "event", "flag", "value"),
    [
        ("mute", "mute-member", "speak", False),
        ("unmute", "unmute-member", "speak", True),
        ("deaf", "deaf-member", "hear", False),
        ("undeaf", "undeaf-member", "hear", True),
    ],
)
async def test_participant_action_changes_state_and_publishes_event(
    sim: KazooSimulator,
    http: httpx.AsyncClient,
    token: str,
    action: str,
    event: str,
    flag: str,
    value: bool,
) -> None:
    conference_id = sim.add_conference("Standup")
    # Start in the opposite state so that every action is a real change.
    pid = sim.join(conference_id, "Bob", "101", muted=action == "unmute", deaf=action == "undeaf")
    headers = {"X-Auth-Token": token}

    async with subscribed(sim, token, conference_id) as ws:
        path = conferences_path(conference_id, "participants", str(pid))
        response = await http.put(path, json={"data": {"action": action}}, headers=headers)

        assert response.status_code == 201
        assert response.json()["data"] == "ok"
        recorded = sim.requests[-1]
        assert (recorded.method, recorded.path, recorded.json) == (
            "PUT",
            f"/v2{path}",
            {"data": {"action": action}},
        )
        message = await recv(ws)
        data = message["data"]
        assert data["event"] == event
        assert data["participant_id"] == pid
        assert data["conference_channel_vars"][flag] is value
        assert data["conference_channel_vars"]["member_id"] == pid
        assert message["routing_key"] == (
            f"conference.event.{event}.{ACCOUNT_ID}.{conference_id}.{data['call_id']}"
        )
        [participant] = sim.participants(conference_id)
        assert participant["conference_channel_vars"][flag] is value
        rest = (await http.get(path, headers=headers)).json()["data"]
        assert rest["conference_channel_vars"][flag] is value


async def test_kick_publishes_del_member_then_destroy_for_the_last_one(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    pid = sim.join(conference_id, "Bob", "101")
    headers = {"X-Auth-Token": token}

    async with subscribed(sim, token, conference_id) as ws:
        response = await http.put(
            conferences_path(conference_id, "participants", str(pid)),
            json={"data": {"action": "kick"}},
            headers=headers,
        )
        assert response.status_code == 201
        assert (await recv(ws))["data"]["event"] == "del-member"
        destroy = await recv(ws)
        assert destroy["data"]["event"] == "conference-destroy"
        assert "call_id" not in destroy["data"]
    assert sim.participants(conference_id) == []
    participants = await http.get(conferences_path(conference_id, "participants"), headers=headers)
    assert participants.json()["data"] == []


async def test_unknown_action_or_non_integer_participant_is_a_silent_success(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    pid = sim.join(conference_id, "Bob", "101")
    headers = {"X-Auth-Token": token}

    async with subscribed(sim, token, conference_id) as ws:
        for participant, body in (
            (str(pid), {"data": {"action": "explode"}}),
            (str(pid), {"data": {}}),
            ("bob", {"data": {"action": "mute"}}),
        ):
            response = await http.put(
                conferences_path(conference_id, "participants", participant),
                json=body,
                headers=headers,
            )
            assert response.status_code == 201
            assert response.json()["status"] == "success"
            assert response.json()["data"]["id"] == conference_id  # the document, not "ok"
        await assert_quiet(ws)
    assert sim.participants(conference_id)[0]["conference_channel_vars"]["speak"] is True


async def test_action_on_an_absent_participant_is_accepted_and_does_nothing(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    sim.join(conference_id, "Bob", "101")

    async with subscribed(sim, token, conference_id) as ws:
        response = await http.put(
            conferences_path(conference_id, "participants", "9999"),
            json={"data": {"action": "mute"}},
            headers={"X-Auth-Token": token},
        )
        assert response.status_code == 201
        assert response.json()["data"] == "ok"
        await assert_quiet(ws)


async def test_bulk_mute_spares_moderators_and_the_already_muted(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    sim.join(conference_id, "Ada", "100", moderator=True)
    bob = sim.join(conference_id, "Bob", "101")
    sim.join(conference_id, "Cy", "102", muted=True)
    headers = {"X-Auth-Token": token}

    async with subscribed(sim, token, conference_id) as ws:
        response = await http.put(
            conferences_path(conference_id, "participants"),
            json={"data": {"action": "mute"}},
            headers=headers,
        )
        assert response.status_code == 201
        assert response.json()["data"]["id"] == conference_id  # the conference document
        event = await recv(ws)
        assert (event["data"]["event"], event["data"]["participant_id"]) == ("mute-member", bob)
        await assert_quiet(ws)

        speak = {
            p["caller_id_name"]: p["conference_channel_vars"]["speak"]
            for p in sim.participants(conference_id)
        }
        assert speak == {"Ada": True, "Bob": False, "Cy": False}

        response = await http.put(
            conferences_path(conference_id, "participants"),
            params={"action": "kick"},
            json={"data": {}},
            headers=headers,
        )
        assert response.status_code == 201
        events = [(await recv(ws))["data"]["event"] for _ in range(4)]
        assert events == ["del-member"] * 3 + ["conference-destroy"]

        response = await http.put(
            conferences_path(conference_id, "participants"),
            json={"data": {"action": "explode"}},
            headers=headers,
        )
        assert_error(response, 404, "faulty_request")


async def test_dial_play_and_relate(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    headers = {"X-Auth-Token": token}

    async with subscribed(sim, token, conference_id) as ws:
        dial = {
            "action": "dial",
            "data": {"data": {"endpoints": ["+15550199"], "participant_flags": ["mute"]}},
        }
        response = await http.put(conferences_path(conference_id), json=dial, headers=headers)
        assert response.status_code == 201
        [answer] = response.json()["data"]["endpoint_responses"]
        assert answer["status"] == "success"
        assert [(await recv(ws))["data"]["event"] for _ in range(2)] == [
            "conference-create",
            "add-member",
        ]
        [joined] = sim.participants(conference_id)
        assert joined["call_id"] == answer["call_id"]
        assert joined["conference_channel_vars"]["speak"] is False

        play = {"data": {"action": "play", "data": {"media_id": "tone://440"}}}
        path = conferences_path(conference_id, "participants", str(joined["participant_id"]))
        response = await http.put(path, json=play, headers=headers)
        assert (response.status_code, response.json()["data"]) == (201, "ok")
        response = await http.put(
            conferences_path(conference_id), json={"action": "play", "data": {}}, headers=headers
        )
        assert_error(response, 400, "validation error")

        relate = {
            "data": {
                "action": "relate",
                "data": {"participant_id": joined["participant_id"], "other_participant": 999},
            }
        }
        response = await http.put(
            conferences_path(conference_id, "participants"), json=relate, headers=headers
        )
        body = assert_error(response, 404, "bad_identifier")
        assert body["data"] == {"id": 999, "message": "bad identifier"}
        await assert_quiet(ws)


async def test_account_alias_uses_the_token_account(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    sim.add_conference("Standup")
    assert_error(await http.get("/account/conferences"), 401, "invalid_credentials")

    response = await http.get("/account/conferences", headers={"X-Auth-Token": token})

    assert [row["name"] for row in response.json()["data"]] == ["Standup"]


async def test_get_participant_absent_is_empty_object(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    pid = sim.join(conference_id, "Bob", "101")
    headers = {"X-Auth-Token": token}

    present = await http.get(
        conferences_path(conference_id, "participants", str(pid)), headers=headers
    )
    absent = await http.get(
        conferences_path(conference_id, "participants", "9999"), headers=headers
    )

    assert present.json()["data"]["caller_id_name"] == "Bob"
    assert present.json()["data"]["join_time"] > GREGORIAN_OFFSET
    assert (absent.status_code, absent.json()["data"]) == (200, {})


async def test_join_talk_and_leave_events_in_order(sim: KazooSimulator, token: str) -> None:
    conference_id = sim.add_conference("Standup")

    async with subscribed(sim, token, conference_id) as ws:
        ada = sim.join(conference_id, "Ada", "100", moderator=True)
        bob = sim.join(conference_id, "Bob", "101", muted=True)
        sim.start_talking(conference_id, ada)
        sim.start_talking(conference_id, bob)  # muted: FreeSWITCH does not announce it
        sim.stop_talking(conference_id, ada)
        sim.set_muted(conference_id, bob, False)
        sim.set_deaf(conference_id, ada, True)
        sim.leave(conference_id, bob)
        sim.leave(conference_id, ada)

        frames = [await recv(ws) for _ in range(10)]
        await assert_quiet(ws)

    assert [(f["data"]["event"], f["data"].get("participant_id")) for f in frames] == [
        ("conference-create", None),
        ("add-member", ada),
        ("add-member", bob),
        ("start-talking", ada),
        ("stop-talking", ada),
        ("unmute-member", bob),
        ("deaf-member", ada),
        ("del-member", bob),
        ("del-member", ada),
        ("conference-destroy", None),
    ]
    add_bob = frames[2]["data"]
    assert (add_bob["caller_id_name"], add_bob["caller_id_number"]) == ("Bob", "101")
    assert add_bob["conference_channel_vars"]["speak"] is False
    assert add_bob["conference_channel_vars"]["is_moderator"] is False
    assert add_bob["custom_channel_vars"]["account_id"] == ACCOUNT_ID
    assert (add_bob["app_name"], add_bob["event_name"]) == ("ecallmgr", "event")
    assert frames[1]["data"]["conference_channel_vars"]["is_moderator"] is True
    # Bob talked while muted, so he is still talking when he unmutes.
    assert frames[5]["data"]["conference_channel_vars"]["talking"] is True
    assert frames[6]["data"]["conference_channel_vars"]["hear"] is False
    instance = frames[0]["data"]["instance_id"]
    assert all(f["data"]["instance_id"] == instance for f in frames)

    # A new run is a new FreeSWITCH instance; member ids keep increasing.
    assert sim.join(conference_id, "Cy", "102") > bob
    run = (sim.participants(conference_id))[0]["conference_uuid"]
    assert run != instance


async def test_flat_layout_puts_flags_at_the_top_level(clock: FakeClock) -> None:
    async with (
        KazooSimulator(
            api_key=API_KEY, account_id=ACCOUNT_ID, clock=clock, event_layout="flat"
        ) as sim,
        httpx.AsyncClient(base_url=sim.http_url) as http,
    ):
        token = await api_login(http)
        conference_id = sim.add_conference("Standup")
        async with subscribed(sim, token, conference_id) as ws:
            pid = sim.join(conference_id, "Bob", "101")
            sim.set_muted(conference_id, pid, True)
            frames = [await recv(ws) for _ in range(3)]

    mute = frames[2]["data"]
    assert mute["event"] == "mute-member"
    assert (mute["speak"], mute["hear"], mute["talking"], mute["is_moderator"]) == (
        False,
        True,
        False,
        False,
    )
    assert "conference_channel_vars" not in mute
    [participant] = sim.participants(conference_id)
    assert participant["speak"] is False
    assert "conference_channel_vars" not in participant


# -- blackhole (§6) --------------------------------------------------------------------------------


async def test_subscribe_lists_every_binding_and_is_idempotent(
    sim: KazooSimulator, token: str
) -> None:
    first, second = "a" * 32, "b" * 32
    async with connect(sim.ws_url) as ws:
        one = await request(ws, subscribe_message(token, f"conference.event.{first}.*"))
        # Once authenticated, later messages need no token.
        two = await request(ws, subscribe_message(None, f"conference.event.{second}.*"))
        again = await request(ws, subscribe_message(None, f"conference.event.{second}.*"))
        gone = await request(
            ws,
            {
                "action": "unsubscribe",
                "request_id": "unsub",
                "data": {"account_id": ACCOUNT_ID, "binding": f"conference.event.{first}.*"},
            },
        )

    assert one == {
        "action": "reply",
        "request_id": "sub-1",
        "status": "success",
        "data": {"subscribed": [f"conference.event.{first}.*"]},
    }
    both = [f"conference.event.{first}.*", f"conference.event.{second}.*"]
    assert two["data"] == {"subscribed": both}
    assert again["data"] == {"subscribed": both}
    assert gone["data"] == {
        "unsubscribed": [f"conference.event.{first}.*"],
        "subscribed": [f"conference.event.{second}.*"],
    }


async def test_ping_replies_success_and_authenticates_the_session(
    sim: KazooSimulator, token: str
) -> None:
    async with connect(sim.ws_url) as ws:
        pong = await request(ws, {"action": "ping", "request_id": "p1", "auth_token": token})
        later = await request(ws, subscribe_message(None, "conference.event." + "c" * 32 + ".*"))

    assert (pong["status"], pong["request_id"]) == ("success", "p1")
    assert later["status"] == "success"


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (
            {"data": {"account_id": ACCOUNT_ID, "binding": "conference.event.x.*"}},
            "authentication token required",
        ),
        ({"auth_token": 42}, "invalid authentication token format"),
        ({"auth_token": "not.a.token"}, "failed to authenticate token not.a.token"),
        ({"auth_token": "TOKEN"}, "missing required keys in data object"),
        ({"auth_token": "TOKEN", "data": {}}, "missing required keys in data object"),
        (
            {"auth_token": "TOKEN", "data": {"account_id": ACCOUNT_ID, "bindings": ["x"]}},
            "missing required keys : binding",
        ),
        (
            {"auth_token": "TOKEN", "data": {"binding": "conference.event.x.*"}},
            "missing required keys : account_id",
        ),
        (
            {"auth_token": "TOKEN", "data": {"other": 1}},
            "missing required keys : account_id, binding",
        ),
        (
            {
                "auth_token": "TOKEN",
                "data": {"account_id": OTHER_ACCOUNT, "binding": "conference.event.x.*"},
            },
            "unauthorized account id",
        ),
        (
            {"auth_token": "TOKEN", "data": {"account_id": "*", "binding": "conference.event.x.*"}},
            "unauthorized wildcard account id",
        ),
        (
            {
                "auth_token": "TOKEN",
                "data": {"account_id": ACCOUNT_ID, "binding": "conference.event.*.*"},
            },
            "ConferenceId required",
        ),
        (
            {
                "auth_token": "TOKEN",
                "data": {"account_id": ACCOUNT_ID, "binding": "conference.event.x.call-1"},
            },
            "invalid format for conference subscription : event, x, call-1",
        ),
        (
            {
                "auth_token": "TOKEN",
                "data": {"account_id": ACCOUNT_ID, "binding": "conference.event.x.*.talk"},
            },
            "Unsupported conference event talk",
        ),
        (
            {
                "auth_token": "TOKEN",
                "data": {"account_id": ACCOUNT_ID, "binding": "call.CHANNEL_CREATE.*"},
            },
            "no available subscriptions to requested binding",
        ),
    ],
)
async def test_subscribe_error_strings(
    sim: KazooSimulator, token: str, message: dict[str, Any], error: str
) -> None:
    if message.get("auth_token") == "TOKEN":
        message = {**message, "auth_token": token}
    async with connect(sim.ws_url) as ws:
        reply = await request(ws, {"action": "subscribe", "request_id": "r", **message})

    assert reply == {
        "action": "reply",
        "request_id": "r",
        "status": "error",
        "data": {"errors": [error]},
    }


async def test_event_filter_binding_delivers_only_that_event(
    sim: KazooSimulator, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    binding = f"conference.event.{conference_id}.*.mute-member"
    async with subscribed(sim, token, conference_id, binding) as ws:
        pid = sim.join(conference_id, "Bob", "101")
        sim.set_muted(conference_id, pid, True)
        event = await recv(ws)
        await assert_quiet(ws)

    assert event["data"]["event"] == "mute-member"
    assert event["subscribed_key"] == binding
    assert event["subscription_key"] == (
        f"conference.event.mute-member.{ACCOUNT_ID}.{conference_id}.*"
    )


async def test_event_first_servers_refuse_conference_first_bindings(clock: FakeClock) -> None:
    async with (
        KazooSimulator(
            api_key=API_KEY, account_id=ACCOUNT_ID, clock=clock, binding_format="event-first"
        ) as sim,
        httpx.AsyncClient(base_url=sim.http_url) as http,
    ):
        token = await api_login(http)
        conference_id = sim.add_conference("Standup")
        async with connect(sim.ws_url) as ws:
            refused = await request(
                ws, subscribe_message(token, f"conference.event.{conference_id}.*")
            )
            wildcard = await request(ws, subscribe_message(token, "conference.event.*.*.*"))
            fallback = f"conference.event.*.{conference_id}.*"
            accepted = await request(ws, subscribe_message(token, fallback))
            sim.join(conference_id, "Bob", "101")
            event = await recv(ws)

    assert refused["data"] == {
        "errors": [f"invalid format for conference subscription : event, {conference_id}, *"]
    }
    assert wildcard["data"] == {"errors": ["unauthorized wildcard for conference id"]}
    assert accepted["data"] == {"subscribed": [fallback]}
    assert event["subscribed_key"] == fallback
    assert event["data"]["event"] == "conference-create"


async def test_expired_token_fails_a_new_subscribe_but_not_a_live_session(
    sim: KazooSimulator, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    async with subscribed(sim, token, conference_id) as live:
        sim.expire_tokens()
        async with connect(sim.ws_url) as ws:
            reply = await request(
                ws, subscribe_message(token, f"conference.event.{conference_id}.*")
            )
        sim.join(conference_id, "Bob", "101")
        assert (await recv(live))["data"]["event"] == "conference-create"

    assert reply["status"] == "error"
    assert reply["data"]["errors"] == [f"failed to authenticate token {token}"]


async def test_subprotocol_is_refused_with_400(sim: KazooSimulator) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(sim.ws_url, subprotocols=["kazoo"]):  # type: ignore[list-item]
            pass
    assert refused.value.response.status_code == 400


async def test_invalid_json_from_the_client_closes_the_socket(
    sim: KazooSimulator,
) -> None:
    async with connect(sim.ws_url) as ws:
        await ws.send("{not json")
        with pytest.raises(ConnectionClosed):
            await recv(ws)
    assert ws.close_code == 1011


async def test_drop_sockets_loses_subscriptions(sim: KazooSimulator, token: str) -> None:
    conference_id = sim.add_conference("Standup")
    async with subscribed(sim, token, conference_id) as ws:
        await sim.wait_for_subscribers(conference_id, 1)
        await sim.drop_sockets()
        with pytest.raises(ConnectionClosed):
            await recv(ws)

    async with connect(sim.ws_url) as again:
        sim.join(conference_id, "Bob", "101")  # nobody is subscribed: this is lost
        await request(again, subscribe_message(token, f"conference.event.{conference_id}.*"))
        sim.join(conference_id, "Cy", "102")
        event = await recv(again)
    assert (event["data"]["event"], event["data"]["caller_id_name"]) == ("add-member", "Cy")
    assert sim.connection_count == 2


async def test_wait_for_subscribers_resolves_on_subscribe_and_times_out(
    sim: KazooSimulator, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    waiter = asyncio.create_task(sim.wait_for_subscribers(conference_id, 2, timeout=5))
    async with subscribed(sim, token, conference_id), subscribed(sim, token, conference_id):
        await asyncio.wait_for(waiter, 5)
        with pytest.raises(TimeoutError):
            await sim.wait_for_subscribers(conference_id, 3, timeout=0.05)


async def test_send_raw_frame_reaches_every_socket(sim: KazooSimulator) -> None:
    async with connect(sim.ws_url) as one, connect(sim.ws_url) as two:
        await request(one, {"action": "noop", "request_id": "x"})  # the server has seen both
        await request(two, {"action": "noop", "request_id": "y"})
        sim.send_raw_frame("{broken")
        async with asyncio.timeout(2):
            assert await one.recv() == "{broken"
            assert await two.recv() == "{broken"


# -- fault switches --------------------------------------------------------------------------------


async def test_fail_next_answers_kazoo_errors_then_recovers(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    headers = {"X-Auth-Token": token}
    sim.fail_next(2, path_contains="/conferences")

    for _ in range(2):
        body = assert_error(
            await http.get(conferences_path(), headers=headers), 503, "datastore_fault"
        )
        assert body["data"] == {"message": "datastore fatal error"}
    assert (await http.get(conferences_path(), headers=headers)).status_code == 200

    sim.fail_next(1, 429)
    response = await http.put("/api_auth", json={"data": {"api_key": API_KEY}})
    assert_error(response, 429, "too_many_requests")
    assert response.headers["Retry-After"] == "1"
    assert [r.status for r in sim.requests] == [201, 503, 503, 200, 429]
    sim.clear_requests()
    assert sim.requests == []


async def test_rate_limit_bucket_refuses_a_third_login_until_refilled(
    sim: KazooSimulator, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    sim.rate_limit = True
    await api_login(http)
    await api_login(http)

    response = await http.put("/api_auth", json={"data": {"api_key": API_KEY}})
    assert_error(response, 429, "too_many_requests")
    assert int(response.headers["Retry-After"]) >= 1

    clock.advance(3)
    await api_login(http)
    assert sim.auth_count == 3


async def test_latency_delays_answers(sim: KazooSimulator, http: httpx.AsyncClient) -> None:
    sim.latency = 0.2
    loop = asyncio.get_running_loop()
    started = loop.time()
    await api_login(http)
    assert loop.time() - started >= 0.2


# -- the scripted meeting and the command line -----------------------------------------------------


async def test_scripted_meeting_runs_start_to_end(sim: KazooSimulator, token: str) -> None:
    conference_id = sim.add_conference("Standup")
    async with subscribed(sim, token, conference_id) as ws:
        await sim.run_script(conference_id, pace=0)
        events: list[str] = []
        while not events or events[-1] != "conference-destroy":
            events.append((await recv(ws))["data"]["event"])

    assert events[0] == "conference-create"
    assert events.count("add-member") == events.count("del-member") == 4
    assert "start-talking" in events
    assert "mute-member" in events
    assert sim.participants(conference_id) == []


async def test_scripted_meeting_copes_with_kicks_and_locks(
    sim: KazooSimulator, http: httpx.AsyncClient, token: str
) -> None:
    conference_id = sim.add_conference("Standup")
    headers = {"X-Auth-Token": token}
    async with subscribed(sim, token, conference_id) as ws:
        task = asyncio.create_task(sim.run_script(conference_id, pace=0.05))
        added: list[dict[str, Any]] = []
        while len(added) < 2:  # the moderator, then Grace
            event = (await recv(ws))["data"]
            if event["event"] == "add-member":
                added.append(event)
        grace = added[1]["participant_id"]
        await http.put(
            conferences_path(conference_id), json={"action": "lock", "data": {}}, headers=headers
        )
        await http.put(
            conferences_path(conference_id, "participants", str(grace)),
            json={"data": {"action": "kick"}},
            headers=headers,
        )
        async with asyncio.timeout(10):
            await task
        names: list[tuple[str, str]] = []
        while not names or names[-1][0] != "conference-destroy":
            event = (await recv(ws))["data"]
            names.append((event["event"], event.get("caller_id_name", "")))

    # Grace stays gone after the kick, and the latecomer is kept out by the lock.
    assert ("add-member", "Grace Hopper") not in names
    assert ("del-member", "Grace Hopper") in names
    assert not [name for _, name in names if name == "Katherine Johnson"]
    assert sim.participants(conference_id) == []


class _Lines(io.StringIO):
    """stdout stand-in that signals once the four .env lines are out."""

    def __init__(self) -> None:
        super().__init__()
        self.ready = asyncio.Event()

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.getvalue().count("\n") >= 4:
            self.ready.set()
        return written


async def test_serve_prints_env_lines_then_stops_cleanly_on_cancel() -> None:
    lines = _Lines()
    with contextlib.redirect_stdout(lines):
        task = asyncio.create_task(serve("127.0.0.1", 0, 0, quiet_meeting=False))
        async with asyncio.timeout(5):
            await lines.ready.wait()
    env = dict(line.split("=", 1) for line in lines.getvalue().splitlines())
    assert list(env) == ["KAZOO_URL", "KAZOO_WS_URL", "KAZOO_API_KEY", "KAZOO_ACCOUNT_ID"]

    async with httpx.AsyncClient(base_url=env["KAZOO_URL"]) as http:
        login = await http.put("/api_auth", json={"data": {"api_key": env["KAZOO_API_KEY"]}})
        assert login.json()["data"]["account_id"] == env["KAZOO_ACCOUNT_ID"]
        token = login.json()["auth_token"]
        listing = await http.get(
            f"/accounts/{env['KAZOO_ACCOUNT_ID']}/conferences", headers={"X-Auth-Token": token}
        )
        names = {row["name"] for row in listing.json()["data"]}
        assert "Standup" in names

    task.cancel()
    async with asyncio.timeout(5):
        await task
    assert not task.cancelled()  # it returned: cancellation is its normal way to stop


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_main_exits_zero_on_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from bot.simulator.cli import main; sys.exit(main(sys.argv[1:]))",
        "--quiet-meeting",
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert process.stdout is not None
    async with asyncio.timeout(15):
        first = [(await process.stdout.readline()).decode() for _ in range(4)]
        process.send_signal(signal.SIGTERM)
        await process.wait()
    assert [line.split("=")[0] for line in first] == [
        "KAZOO_URL",
        "KAZOO_WS_URL",
        "KAZOO_API_KEY",
        "KAZOO_ACCOUNT_ID",
    ]
    assert process.returncode == 0


def test_constructor_rejects_bad_settings() -> None:
    for kwargs in (
        {"api_key": "short"},
        {"account_id": "XYZ"},
        {"binding_format": "other"},
        {"event_layout": "other"},
    ):
        with pytest.raises(ValueError):
            KazooSimulator(**kwargs)  # type: ignore[arg-type]
