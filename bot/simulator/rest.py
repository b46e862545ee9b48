"""Crossbar: the REST side of the simulator (aiohttp), following reference §1-§5.

One catch-all route does its own routing, so that every answer, 404 and 405 included, carries
Kazoo's envelope. A request goes through the steps crossbar (cowboy_rest) runs, in its order:
injected fault, route, rate limit, method, body, authentication, account authorization, then the
handler.
"""

from __future__ import annotations

import asyncio
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from bot.simulator.accounts import Account
from bot.simulator.calls import Call, Reply, Route, fail, invalid
from bot.simulator.conferences import Conferences
from bot.simulator.envelope import Meta, error, error_for_status, success, system_error
from bot.simulator.ratelimit import AUTH_COST, REQUEST_COST, TokenBuckets
from bot.simulator.schema import API_AUTH_SCHEMA, USER_AUTH_SCHEMA, errors_to_data, validate
from bot.simulator.tokens import API_AUTH, USER_AUTH, TokenIssuer

_BODY_METHODS = ("PUT", "POST", "PATCH")


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request as the simulator saw and answered it."""

    method: str
    path: str  # without host or query, e.g. "/v2/accounts/{A}/conferences"
    query: dict[str, str]
    json: Any  # the parsed body, None when empty or not JSON
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    remaining: int
    status: int
    path_contains: str | None
    retry_after: float


def _route(path: str) -> Route | None:
    parts = [p for p in path.split("/") if p]
    match parts:
        case ["v2", "api_auth"]:
            return Route("api_auth", ("PUT",))
        case ["v2", "user_auth"]:
            return Route("user_auth", ("PUT",))
        case ["v2", "accounts", account_id, "conferences", *rest]:
            return _conference_route(account_id, rest)
        case ["v2", "account", "conferences", *rest]:
            return _conference_route(None, rest)
    return None


def _conference_route(account_id: str | None, rest: list[str]) -> Route | None:
    match rest:
        case []:
            return Route("conferences", ("GET", "PUT"), account_id)
        case [conference_id]:
            methods = ("GET", "PUT", "POST", "PATCH", "DELETE")
            return Route("conference", methods, account_id, conference_id)
        case [conference_id, "participants"]:
            return Route("participants", ("GET", "PUT"), account_id, conference_id)
        case [conference_id, "participants", participant]:
            return Route("participant", ("GET", "PUT"), account_id, conference_id, participant)
    return None


class Crossbar:
    """The REST server plus the test controls that shape its answers."""

    def __init__(
        self,
        *,
        account: Account,
        tokens: TokenIssuer,
        conferences: Conferences,
        ws_url: Callable[[], str],
        clock: Callable[[], float],
    ) -> None:
        self._account = account
        self._tokens = tokens
        self._conferences = conferences
        self._ws_url = ws_url
        self._clock = clock
        self._buckets = TokenBuckets(clock=clock)
        self._faults: list[_Fault] = []
        self._runner: web.AppRunner | None = None
        self.requests: list[RecordedRequest] = []
        self.latency = 0.0
        self.rate_limit = False
        self.auth_count = 0

    async def start(self, host: str, port: int) -> int:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # Stopping waits for answers in flight, but not long: a latency switch could be set high.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def fail_next(
        self, count: int, status: int, path_contains: str | None, retry_after: float
    ) -> None:
        if count > 0:
            self._faults.append(_Fault(count, status, path_contains, retry_after))

    # -- the pipeline ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if self.latency > 0:
            # Simulated network and server time (a fault switch), not synchronisation.
            await asyncio.sleep(self.latency)
        query = dict(request.query)
        parsed: Any = None
        malformed = False
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:  # UnicodeDecodeError is a ValueError too
                malformed = True
        status, body, headers = self._answer(request, parsed, malformed, query)
        headers["X-Request-ID"] = str(body["request_id"])
        self.requests.append(
            RecordedRequest(
                request.method, request.path, query, parsed, status, dict(request.headers)
            )
        )
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, request: web.Request, parsed: Any, malformed: bool, query: dict[str, str]
    ) -> Reply:
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        meta = Meta(
            request_id=request.headers.get("X-Request-ID") or uuid.uuid4().hex,
            auth_token=self._sent_token(request, body, query),
            timestamp=self._clock(),
        )
        fault = self._take_fault(request.path)
        if fault is not None:
            status, envelope = error_for_status(meta, fault.status)
            return status, envelope, self._retry_after(status, fault.retry_after)
        route = _route(request.path)
        if route is None:
            return fail(meta, "not_found")
        if self.rate_limit:
            cost = AUTH_COST if route.kind in ("api_auth", "user_auth") else REQUEST_COST
            key = f"{request.remote}/{route.account_id or self._account.account_id}"
            wait = self._buckets.consume(key, cost)
            if wait is not None:
                status, envelope = system_error(meta, "too_many_requests")
                return status, envelope, self._retry_after(status, wait)
        allow = {"Allow": ", ".join(route.methods)}
        if request.method == "OPTIONS":
            return 200, success(meta, {}), allow
        if request.method not in route.methods:
            status, envelope = system_error(meta, "invalid_method")
            return status, envelope, allow
        if malformed:
            return invalid(
                meta, {"json": {"invalid": {"message": "All JSON must be valid", "target": "body"}}}
            )
        if request.method in _BODY_METHODS and not isinstance(body.get("data"), dict | list):
            detail = {"data": {"required": {"message": "Field is required but missing"}}}
            return 400, error(meta, 400, "invalid request envelope", detail), {}
        call = Call(request.method, route, body, query, meta)
        if route.kind == "api_auth":
            return self._api_auth(call)
        if route.kind == "user_auth":
            return self._user_auth(call)
        claims = self._tokens.validate(meta.auth_token)
        if claims is None:
            return fail(meta, "invalid_credentials")
        # The simulator's one account has no descendants: any other account id is forbidden.
        if (route.account_id or claims.account_id) != claims.account_id:
            return fail(meta, "forbidden")
        return self._conferences.handle(call)

    def _sent_token(
        self, request: web.Request, body: dict[str, Any], query: dict[str, str]
    ) -> str | None:
        """``api_util:get_auth_token/2``: the X-Auth-Token header, else ``auth_token`` anywhere."""
        token = request.headers.get("X-Auth-Token")
        if token is None:
            data = body.get("data")
            for source in (data if isinstance(data, dict) else {}, query, body):
                if isinstance(source.get("auth_token"), str):
                    return str(source["auth_token"])
        return token

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.path_contains is None or fault.path_contains in path:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _retry_after(status: int, seconds: float) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(seconds)))} if status == 429 else {}

    # -- authentication (§2) -----------------------------------------------------------------------

    def _api_auth(self, call: Call) -> Reply:
        errors = validate(API_AUTH_SCHEMA, call.data)
        if errors:
            return invalid(call.meta, errors_to_data(errors))
        api_key = call.data["api_key"]
        if api_key != self._account.api_key:
            # crossbar_util:response_bad_identifier/2: a 404 whose data is the bare key, not a 401.
            return 404, error(call.meta, 404, "bad identifier", [api_key]), {}
        return self._logged_in(call, API_AUTH, None)

    def _user_auth(self, call: Call) -> Reply:
        errors = validate(USER_AUTH_SCHEMA, call.data)
        if errors:
            return invalid(call.meta, errors_to_data(errors))
        data: dict[str, Any] = call.data
        realm = data.get("account_realm", data.get("realm"))
        if not self._account.is_named(name=data.get("account_name"), realm=realm):
            return fail(call.meta, "invalid_credentials")
        user = self._account.user_for(data["credentials"], data.get("method", "md5"))
        if user is None:
            return fail(call.meta, "invalid_credentials")
        return self._logged_in(call, USER_AUTH, user.user_id)

    def _logged_in(self, call: Call, method: str, owner_id: str | None) -> Reply:
        token = self._tokens.issue(self._account.account_id, method, owner_id)
        self.auth_count += 1
        data: dict[str, Any] = {"account_id": self._account.account_id}
        if owner_id is not None:
            data["owner_id"] = owner_id
        data.update(
            apps=[],
            language="en-us",
            account_name=self._account.name,
            is_reseller=False,
            is_master_account=False,
            capabilities={},
            ui_config={"api": {"kazoo_websocket": {"url": self._ws_url()}}},
        )
        return 201, success(replace(call.meta, auth_token=token), data), {}
