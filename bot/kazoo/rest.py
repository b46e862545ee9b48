"""Async client for Kazoo's conferences REST API (crossbar `/v2`), over `httpx.AsyncClient`.

Behaviour worth knowing (§ = `reference/kazoo-conferences-protocol.md`):
- Every body is the `{"data": ...}` envelope; any 2xx with `"status":"success"` is success (PUT
  answers 201, §1.4).
- 401: the token is dropped, we log in again once and retry once; a second 401 is `KazooAuthError`.
- 429, 5xx, timeouts and transport errors are retried with exponential backoff and full jitter,
  honouring `Retry-After`, up to `max_attempts` requests; then `KazooUnavailable`.
- Create (`PUT /conferences`) is not idempotent: it is retried only when Kazoo certainly did not
  act on it (429, 503, or a connection that never opened).
- Actions and ids are checked here before any request, because Kazoo accepts an unknown action or
  a non-numeric participant id silently (§3.9): a bad one raises `CommandError`.

Logs go to the `bot.kazoo.rest` logger and never carry tokens, keys, passwords or bodies (pins).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from bot.errors import (
    CommandError,
    ConfigError,
    KazooAuthError,
    KazooNotFound,
    KazooProtocolError,
    KazooRequestError,
    KazooUnavailable,
)
from bot.kazoo.auth import (
    Clock,
    KazooAuth,
    Sleep,
    full_jitter,
    is_retryable_status,
    login_request,
    parse_retry_after,
)
from bot.kazoo.models import (
    AuthResult,
    ConferenceDoc,
    Envelope,
    ParticipantWire,
    describe_validation_error,
)
from bot.metrics import KAZOO_REQUESTS

log = logging.getLogger("bot.kazoo.rest")

PARTICIPANT_ACTIONS: Final = frozenset({"mute", "unmute", "deaf", "undeaf", "kick"})
CONFERENCE_ACTIONS: Final = frozenset({"lock", "unlock"})

BACKOFF_BASE: Final = 0.5
BACKOFF_CAP: Final = 30.0
# A safety net against a server that keeps handing out new start keys.
MAX_PAGES: Final = 1000

_ID = re.compile(r"[0-9a-f]{32}")
# The request certainly never reached Kazoo: safe to retry even a create.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Statuses where Kazoo certainly did not act on the request.
_REFUSED: Final = frozenset({429, 503})

_T = TypeVar("_T")
_DOCS: TypeAdapter[list[ConferenceDoc]] = TypeAdapter(list[ConferenceDoc])
_DOC: TypeAdapter[ConferenceDoc] = TypeAdapter(ConferenceDoc)
_PARTICIPANTS: TypeAdapter[list[ParticipantWire]] = TypeAdapter(list[ParticipantWire])
_PARTICIPANT: TypeAdapter[ParticipantWire] = TypeAdapter(ParticipantWire)


@dataclass(frozen=True, slots=True)
class _Call:
    """One logical request; `_send` may put it on the wire several times."""

    method: str
    path: str
    what: str  # for messages: "conference 5edb…"
    body: dict[str, Any] | None = None
    params: dict[str, str] | None = None
    # False for non-idempotent calls: never repeat one Kazoo may already have carried out.
    retry_ambiguous: bool = True
    # For DELETE: a 404 after an attempt that may have worked means it did.
    gone_means_done: bool = False


class KazooClient:
    """Conferences, participants and their actions on one Kazoo account."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        account_name: str | None = None,
        account_id: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        max_attempts: int = 4,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        base = base_url.rstrip("/")
        if not base.startswith(("http://", "https://")) or not base.endswith("/v2"):
            raise ConfigError("KAZOO_URL", "must be the crossbar URL ending in /v2")
        if account_id is not None and not _ID.fullmatch(account_id):
            raise ConfigError("KAZOO_ACCOUNT_ID", "must be 32 lowercase hex characters")
        # Checked before the httpx client exists, so a ConfigError leaves nothing to close.
        login_request(api_key, username, password, account_name)
        self._account_id = account_id
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        # Trailing slash: httpx then appends relative paths ("accounts/…") after "/v2/".
        self._http = httpx.AsyncClient(
            base_url=base + "/",
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
        )
        self._auth = KazooAuth(
            self._http,
            api_key=api_key,
            username=username,
            password=password,
            account_name=account_name,
            sleep=sleep,
            clock=clock,
            rng=self._rng,
        )

    # --- lifecycle ---

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # --- auth ---

    @property
    def auth(self) -> KazooAuth:
        """The token source, shared with the websocket stream (which needs fresh tokens)."""
        return self._auth

    async def login(self) -> AuthResult:
        """Make sure we hold a valid token (logging in if needed) and return the auth answer."""
        await self._auth.token()
        result = self._auth.result
        if result is None:  # token() only returns after a successful login
            raise KazooProtocolError("Kazoo login gave no result")
        return result

    @property
    def account_id(self) -> str | None:
        """The configured account, else the one the login answered with (None before login)."""
        return self._account_id or self._auth.account_id

    @property
    def ws_url(self) -> str | None:
        """The blackhole URL advertised in the auth response (§2.3), if the server sets one."""
        return self._auth.ws_url

    # --- conferences ---

    async def list_conferences(self) -> list[ConferenceDoc]:
        """Every conference document with its `_read_only` block, following pagination."""
        path = f"{await self._account_path()}/conferences"
        docs: list[ConferenceDoc] = []
        seen: set[str] = set()
        start_key: Any = None
        for _ in range(MAX_PAGES):
            params = {"start_key": _key_param(start_key)} if start_key is not None else None
            envelope = await self._send(_Call("GET", path, "conference list", params=params))
            for doc in _parse(_DOCS, envelope.data, "conference list"):
                # Pages must not overlap, but a duplicate would confuse everything downstream.
                if doc.id is None or doc.id not in seen:
                    docs.append(doc)
                    seen.update([doc.id] if doc.id else [])
            next_key = envelope.next_start_key
            if next_key is None or next_key == "" or next_key == start_key:
                return docs
            start_key = next_key
        raise KazooProtocolError(f"conference list did not end after {MAX_PAGES} pages")

    async def get_conference(self, conference_id: str) -> ConferenceDoc:
        """One conference with live data. Kazoo answers 200 even for an unknown id (§3.0)."""
        path = await self._conference_path(conference_id)
        envelope = await self._send(_Call("GET", path, f"conference {conference_id}"))
        return _parse(_DOC, envelope.data, "conference")

    async def create_conference(self, doc: Mapping[str, Any] | ConferenceDoc) -> ConferenceDoc:
        body = _outgoing_doc(doc)
        path = f"{await self._account_path()}/conferences"
        call = _Call("PUT", path, "new conference", body={"data": body}, retry_ambiguous=False)
        envelope = await self._send(call)
        return _parse(_DOC, envelope.data, "created conference")

    async def update_conference(
        self, conference_id: str, doc: Mapping[str, Any] | ConferenceDoc
    ) -> ConferenceDoc:
        """Replace the document (POST); Kazoo keeps its private fields."""
        body = {"data": _outgoing_doc(doc)}
        path = await self._conference_path(conference_id)
        envelope = await self._send(_Call("POST", path, f"conference {conference_id}", body=body))
        return _parse(_DOC, envelope.data, "updated conference")

    async def patch_conference(
        self, conference_id: str, changes: Mapping[str, Any]
    ) -> ConferenceDoc:
        """Merge `changes` into the document (PATCH)."""
        body = {"data": _outgoing_doc(changes)}
        path = await self._conference_path(conference_id)
        envelope = await self._send(_Call("PATCH", path, f"conference {conference_id}", body=body))
        return _parse(_DOC, envelope.data, "patched conference")

    async def delete_conference(self, conference_id: str) -> None:
        path = await self._conference_path(conference_id)
        call = _Call(
            "DELETE", path, f"conference {conference_id}", body={"data": {}}, gone_means_done=True
        )
        await self._send(call)

    async def conference_action(self, conference_id: str, action: str) -> None:
        """`lock` or `unlock`. Accepted is not applied: confirm from the event or a GET (§3.5)."""
        _check_action(action, CONFERENCE_ACTIONS)
        path = await self._conference_path(conference_id)
        body = {"action": action, "data": {}}
        await self._send(_Call("PUT", path, f"conference {conference_id}", body=body))

    # --- participants ---

    async def participants(self, conference_id: str) -> list[ParticipantWire]:
        """Who is in the conference now; [] when it is not running (§3.6)."""
        path = f"{await self._conference_path(conference_id)}/participants"
        envelope = await self._send(_Call("GET", path, f"conference {conference_id}"))
        return _parse(_PARTICIPANTS, envelope.data, "participant list")

    async def participant(self, conference_id: str, participant_id: int) -> ParticipantWire | None:
        """One participant, or None: Kazoo answers `{}` (not 404) for one it does not know."""
        _check_participant_id(participant_id)
        path = f"{await self._conference_path(conference_id)}/participants/{participant_id}"
        what = f"participant {participant_id} of conference {conference_id}"
        envelope = await self._send(_Call("GET", path, what))
        if not envelope.data:
            return None
        return _parse(_PARTICIPANT, envelope.data, "participant")

    async def participants_action(self, conference_id: str, action: str) -> None:
        """Bulk action; Kazoo spares moderators for mute/unmute/deaf/undeaf, not for kick (§3.7)."""
        _check_action(action, PARTICIPANT_ACTIONS)
        path = f"{await self._conference_path(conference_id)}/participants"
        body = {"data": {"action": action}}
        await self._send(_Call("PUT", path, f"conference {conference_id}", body=body))

    async def participant_action(
        self, conference_id: str, participant_id: int, action: str
    ) -> None:
        """Act on one participant. Fire-and-forget on Kazoo's side: confirm from the event."""
        _check_action(action, PARTICIPANT_ACTIONS)
        _check_participant_id(participant_id)
        path = f"{await self._conference_path(conference_id)}/participants/{participant_id}"
        what = f"participant {participant_id} of conference {conference_id}"
        await self._send(_Call("PUT", path, what, body={"data": {"action": action}}))

    # --- paths ---

    async def _account_path(self) -> str:
        account_id = self._account_id
        if account_id is None:
            await self._auth.token()
            account_id = self._auth.account_id
            if not account_id:
                raise KazooProtocolError("Kazoo login did not name an account")
        return f"accounts/{_segment(account_id)}"

    async def _conference_path(self, conference_id: str) -> str:
        _check_conference_id(conference_id)  # before the login _account_path may trigger
        return f"{await self._account_path()}/conferences/{_segment(conference_id)}"

    # --- the request loop ---

    async def _send(self, call: _Call) -> Envelope:
        failures = 0  # retryable failures so far
        relogged = False
        ambiguous = False  # an earlier attempt may have been carried out
        while True:
            token = await self._auth.token()
            try:
                response = await self._request(call, token)
            except httpx.TransportError as exc:
                failure = _transport_failure(call, exc)
                sent = not isinstance(exc, _NOT_SENT)
                if sent and not call.retry_ambiguous:
                    raise failure from None
                ambiguous = ambiguous or sent
                failures += 1
                await self._backoff_or_raise(call, failures, failure)
                continue
            except httpx.RequestError as exc:  # e.g. an undecodable body
                raise KazooProtocolError(f"Kazoo {call.what}: {type(exc).__name__}") from None

            status = response.status_code
            if 200 <= status < 300:
                return _success(call, response)
            if status == 401 and not relogged:
                log.info("%s %s: HTTP 401, logging in again", call.method, call.path)
                relogged = True
                await self._auth.invalidate(token)
                continue
            if is_retryable_status(status):
                failure = self._unavailable(call, response)
                if status not in _REFUSED and not call.retry_ambiguous:
                    raise failure
                ambiguous = ambiguous or status not in _REFUSED
                failures += 1
                await self._backoff_or_raise(call, failures, failure)
                continue
            if status == 404 and call.gone_means_done and ambiguous:
                log.info("%s %s: 404 after an uncertain attempt: done", call.method, call.path)
                return Envelope(status="success")
            raise _refusal(call, response)

    async def _request(self, call: _Call, token: str) -> httpx.Response:
        headers = {"X-Auth-Token": token}
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        content = json.dumps(call.body).encode() if call.body is not None else None
        started = time.perf_counter()
        try:
            response = await self._http.request(
                call.method, call.path, content=content, params=call.params, headers=headers
            )
        except httpx.HTTPError:
            KAZOO_REQUESTS.labels(call.method, "error").inc()
            raise
        KAZOO_REQUESTS.labels(call.method, str(response.status_code)).inc()
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.debug("%s %s -> %d (%.0f ms)", call.method, call.path, response.status_code, elapsed_ms)
        return response

    def _unavailable(self, call: _Call, response: httpx.Response) -> KazooUnavailable:
        envelope = _envelope_or_none(response)
        kazoo_message = _kazoo_message(envelope)
        retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
        reason = f"HTTP {response.status_code}" + (f" {kazoo_message}" if kazoo_message else "")
        return KazooUnavailable(
            f"Kazoo is unavailable for {call.what} ({reason})",
            retry_after=retry_after,
            status=response.status_code,
            kazoo_message=kazoo_message,
        )

    async def _backoff_or_raise(
        self, call: _Call, failures: int, failure: KazooUnavailable
    ) -> None:
        if failures >= self._max_attempts:
            log.warning("%s %s: giving up after %d attempts", call.method, call.path, failures)
            raise failure
        if failure.retry_after is not None:
            if failure.retry_after > BACKOFF_CAP:
                # Kazoo asks for a long pause: better to tell the caller (with retry_after)
                # than to hold a user's command hostage.
                raise failure
            delay = failure.retry_after
        else:
            delay = full_jitter(failures, self._rng, base=BACKOFF_BASE, cap=BACKOFF_CAP)
        log.warning(
            "%s %s: %s; retry %d in %.2f s", call.method, call.path, failure, failures, delay
        )
        await self._sleep(delay)


# --- validation before any request ---------------------------------------------------------


def _check_conference_id(conference_id: object) -> None:
    if not isinstance(conference_id, str) or not _ID.fullmatch(conference_id):
        raise CommandError(
            f"{_short(conference_id)} is not a Kazoo conference id (32 lowercase hex characters)"
        )


def _check_participant_id(participant_id: object) -> None:
    # bool is an int in Python; a participant id never is.
    if (
        isinstance(participant_id, bool)
        or not isinstance(participant_id, int)
        or participant_id < 0
    ):
        raise CommandError(f"{_short(participant_id)} is not a participant number")


def _check_action(action: object, allowed: frozenset[str]) -> None:
    if not isinstance(action, str) or action not in allowed:
        raise CommandError(
            f"unknown action {_short(action)}; use one of: {', '.join(sorted(allowed))}"
        )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _segment(value: str) -> str:
    """One path segment: ids are checked already, quoting is the second line of defence."""
    return quote(value, safe="")


def _outgoing_doc(doc: Mapping[str, Any] | ConferenceDoc) -> dict[str, Any]:
    """The document to send: checked against the schema here, minus server-owned keys."""
    if isinstance(doc, ConferenceDoc):
        body = doc.model_dump(by_alias=True, exclude_none=True)
    else:
        body = dict(doc)
    # `_read_only` is Kazoo's (CouchDB refuses unknown `_` keys); the id belongs in the URL.
    for key in ("_read_only", "id"):
        body.pop(key, None)
    if not isinstance(doc, ConferenceDoc):
        try:
            ConferenceDoc.model_validate(body)
        except ValidationError as exc:
            raise CommandError(
                f"the conference settings are not valid: {describe_validation_error(exc)}"
            ) from None
    return body


def _key_param(start_key: Any) -> str:
    """`start_key` is opaque (§1.5): a string goes back unchanged, anything else as JSON."""
    if isinstance(start_key, str):
        return start_key
    return json.dumps(start_key, separators=(",", ":"))


# --- reading answers -------------------------------------------------------------------------


def _parse(adapter: TypeAdapter[_T], data: Any, what: str) -> _T:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise KazooProtocolError(
            f"Kazoo sent a {what} that does not fit: {describe_validation_error(exc)}"
        ) from None


def _envelope_or_none(response: httpx.Response) -> Envelope | None:
    try:
        return Envelope.model_validate_json(response.content)
    except ValidationError:
        return None  # e.g. an HTML error page from a proxy


def _success(call: _Call, response: httpx.Response) -> Envelope:
    envelope = _envelope_or_none(response)
    if envelope is None:
        raise KazooProtocolError(
            f"Kazoo answered {call.what} with an unreadable body", status=response.status_code
        )
    if envelope.status != "success":
        raise KazooProtocolError(
            f"Kazoo answered {call.what} with HTTP {response.status_code} but status "
            f"{envelope.status!r}",
            status=response.status_code,
        )
    return envelope


def _kazoo_message(envelope: Envelope | None) -> str | None:
    return envelope.message if envelope is not None else None


def _refusal(call: _Call, response: httpx.Response) -> Exception:
    """The exception for a non-retryable, non-2xx answer."""
    status = response.status_code
    envelope = _envelope_or_none(response)
    kazoo_message = _kazoo_message(envelope)
    details = envelope.data if envelope is not None else None
    kw: dict[str, Any] = {"status": status, "kazoo_message": kazoo_message, "details": details}
    if status in (401, 403):
        verb = "rejected a fresh token" if status == 401 else "refused access"
        said = f": {kazoo_message}" if kazoo_message else ""
        return KazooAuthError(f"Kazoo {verb} for {call.what} (HTTP {status}{said})", **kw)
    if status == 404:
        said = f" ({kazoo_message})" if kazoo_message else ""
        return KazooNotFound(f"Kazoo has no {call.what}{said}", **kw)
    if 400 <= status < 500:
        return KazooRequestError(_request_error_text(status, kazoo_message, details), **kw)
    return KazooProtocolError(f"Kazoo answered {call.what} with HTTP {status}", **kw)


def _request_error_text(status: int, kazoo_message: str | None, details: Any) -> str:
    """E.g. "Kazoo refused the request: validation error (numbers: Numbers already in use)"."""
    text = f"Kazoo refused the request: {kazoo_message or f'HTTP {status}'}"
    explained = describe_details(details)
    if explained and explained != kazoo_message:
        text += f" ({explained})"
    return text


def describe_details(details: Any, limit: int = 300) -> str | None:
    """Kazoo's error `data` in words: a system error's `message`, or `path: message` per rule.

    Validation maps look like `{"numbers": {"unique": {"message": "...", "cause": "..."}}}`
    (§1.3). Values and causes are left out: they may echo pins or other secrets.
    """
    if not isinstance(details, dict):
        return None
    if isinstance(details.get("message"), str) and not any(
        isinstance(v, dict) for v in details.values()
    ):
        text: str = details["message"]
    else:
        text = "; ".join(
            f"{path}: {_rule_message(rule, info)}"
            for path, rules in details.items()
            if isinstance(rules, dict)
            for rule, info in rules.items()
        )
    if not text:
        return None
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _rule_message(rule: str, info: Any) -> str:
    message = info.get("message") if isinstance(info, dict) else None
    return message if isinstance(message, str) and message else rule


def _transport_failure(call: _Call, exc: httpx.TransportError) -> KazooUnavailable:
    if isinstance(exc, _NOT_SENT):
        return KazooUnavailable(f"Kazoo could not be reached for {call.what}")
    if not call.retry_ambiguous:
        return KazooUnavailable(
            f"Kazoo did not answer {call.method} {call.what} in time; it may have been "
            "carried out, so check before trying again"
        )
    if isinstance(exc, httpx.TimeoutException):
        return KazooUnavailable(f"Kazoo timed out on {call.what}")
    return KazooUnavailable(f"Kazoo connection failed for {call.what} ({type(exc).__name__})")


__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CONFERENCE_ACTIONS",
    "PARTICIPANT_ACTIONS",
    "KazooClient",
    "describe_details",
]
