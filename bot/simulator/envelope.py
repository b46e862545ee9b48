"""Crossbar's response envelopes and system errors (reference §1.3, §1.4)."""

from __future__ import annotations

import datetime as dt
import http
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

VERSION = "4.3.142"
NODE = (
    "a2F6b29fYXBwc0BzaW0ua2F6b28"  # crossbar sends an opaque encoded node name; this one is fixed
)

# atom -> (HTTP status, data.message), from cb_context:add_system_error/2.
SYSTEM_ERRORS: Mapping[str, tuple[int, str]] = {
    "invalid_credentials": (401, "invalid credentials"),
    "forbidden": (403, "forbidden"),
    "bad_identifier": (404, "bad identifier"),
    "faulty_request": (404, "faulty request"),
    "not_found": (404, "not found"),
    "invalid_method": (405, "method not allowed"),
    "datastore_conflict": (409, "conflicting documents"),
    "too_many_requests": (429, "too many requests"),
    "unspecified_fault": (500, "unspecified fault"),
    "bad_gateway": (502, "bad gateway"),
    "datastore_unreachable": (503, "datastore timeout"),
    "datastore_fault": (503, "datastore fatal error"),
}

# The error a fault switch answers for a given status.
_ERROR_FOR_STATUS: Mapping[int, str] = {
    401: "invalid_credentials",
    403: "forbidden",
    404: "bad_identifier",
    405: "invalid_method",
    409: "datastore_conflict",
    429: "too_many_requests",
    500: "unspecified_fault",
    502: "bad_gateway",
    503: "datastore_fault",
}

VALIDATION_ERROR = "validation error"


@dataclass(frozen=True)
class Meta:
    """The per-request envelope fields."""

    request_id: str
    auth_token: str | None
    timestamp: float


def iso_timestamp(unix: float) -> str:
    return dt.datetime.fromtimestamp(unix, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def success(
    meta: Meta,
    data: Any,
    *,
    revision: str | None = None,
    paging: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if meta.auth_token is not None:
        body["auth_token"] = meta.auth_token
    body.update(
        status="success",
        request_id=meta.request_id,
        node=NODE,
        version=VERSION,
        timestamp=iso_timestamp(meta.timestamp),
    )
    if revision is not None:
        body["revision"] = revision
    body["data"] = data
    if paging:
        body.update(paging)
    return body


def error(meta: Meta, status: int, message: str, data: Any) -> dict[str, Any]:
    # With no token, crossbar writes kz_term:to_binary('undefined'): the literal string.
    return {
        "auth_token": meta.auth_token if meta.auth_token is not None else "undefined",
        "request_id": meta.request_id,
        "node": NODE,
        "version": VERSION,
        "timestamp": iso_timestamp(meta.timestamp),
        "status": "error",
        "message": message,
        "error": str(status),
        "data": data,
    }


def system_error(meta: Meta, name: str, **details: Any) -> tuple[int, dict[str, Any]]:
    """A system error by atom name; ``details`` (e.g. ``cause``) join ``data.message``."""
    status, text = SYSTEM_ERRORS[name]
    return status, error(meta, status, name, {**details, "message": text})


def error_for_status(meta: Meta, status: int) -> tuple[int, dict[str, Any]]:
    """Kazoo's error body for an injected failure status."""
    name = _ERROR_FOR_STATUS.get(status)
    if name is not None:
        return system_error(meta, name)
    phrase = http.HTTPStatus(status).phrase.lower()
    return status, error(meta, status, phrase.replace(" ", "_"), {"message": phrase})
