"""One REST request being answered, and the shapes of an answer, shared by the crossbar modules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.simulator.envelope import VALIDATION_ERROR, Meta, error, success, system_error

Reply = tuple[int, dict[str, Any], dict[str, str]]  # HTTP status, envelope, extra headers


@dataclass(frozen=True)
class Route:
    """The resource a request path names."""

    kind: str  # api_auth | user_auth | conferences | conference | participants | participant
    methods: tuple[str, ...]
    account_id: str | None = None  # None on the /v2/account/... alias: the token's account
    conference_id: str = ""
    participant: str = ""


@dataclass
class Call:
    """The request being answered."""

    method: str
    route: Route
    body: dict[str, Any]
    query: dict[str, str]
    meta: Meta

    @property
    def data(self) -> Any:
        return self.body.get("data")

    def req_value(self, key: str) -> Any:
        """``cb_context:req_value/2``: ``data`` first, then the query string, then the top level."""
        if isinstance(self.data, dict) and key in self.data:
            return self.data[key]
        if key in self.query:
            return self.query[key]
        return self.body.get(key)

    def request_action(self) -> Any:
        """``cb_modules_util:get_request_action/1``: the top level first, then ``data``."""
        if "action" in self.body:
            return self.body["action"]
        return self.data.get("action") if isinstance(self.data, dict) else None

    def payload(self) -> Any:
        """``req_value(Context, "data")``: ``data.data`` if present, else ``data`` itself."""
        return self.req_value("data") if isinstance(self.data, dict) else self.data


def ok(call: Call, status: int, data: Any, revision: str | None = None) -> Reply:
    return status, success(call.meta, data, revision=revision), {}


def fail(meta: Meta, name: str, **details: Any) -> Reply:
    """A crossbar system error by name (``bad_identifier``, ``faulty_request``...)."""
    status, envelope = system_error(meta, name, **details)
    return status, envelope, {}


def invalid(meta: Meta, data: dict[str, Any]) -> Reply:
    """A 400 validation error with its ``{path: {rule: detail}}`` map."""
    return 400, error(meta, 400, VALIDATION_ERROR, data), {}
