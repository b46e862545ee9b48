"""Kazoo authentication: one cached token, renewed before it expires, never fetched in a loop.

Each login costs 35 of the 100 tokens in Kazoo's per-client bucket (§1.6 of the reference), so:
- the token is cached and renewed `refresh_margin` seconds before its JWT `exp` (§2.4);
- concurrent callers share one in-flight login;
- a login retries 429/5xx/transport failures only a few times, with growing delays;
- after a failed login, callers get the same failure without a new request for a cool-down period
  (or keep using the old token while it is still valid).

Secrets (API key, password, its hash, tokens) never appear in a message or a log line.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import email.utils
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from pydantic import ValidationError

from bot.errors import (
    ConfigError,
    KazooAuthError,
    KazooError,
    KazooProtocolError,
    KazooUnavailable,
)
from bot.kazoo.models import AuthResult, Envelope, describe_validation_error

log = logging.getLogger("bot.kazoo.auth")

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


# --- backoff, shared with the REST client ---------------------------------------------------


def full_jitter(attempt: int, rng: random.Random, *, base: float, cap: float) -> float:
    """AWS "full jitter": uniform in [0, min(cap, base * 2**(attempt-1))]; attempt counts from 1."""
    return rng.uniform(0.0, min(cap, base * 2.0 ** (attempt - 1)))


def parse_retry_after(value: str | None, now: float) -> float | None:
    """`Retry-After` in seconds (or an HTTP date, converted with `now`); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def is_retryable_status(status: int) -> bool:
    return status == 429 or status >= 500


# --- the token ------------------------------------------------------------------------------------


def jwt_times(token: str) -> tuple[float | None, float | None]:
    """(`exp`, `iat`) from a JWT payload, without checking the signature; (None, None) if absent."""
    parts = token.split(".")
    if len(parts) != 3:
        return None, None
    segment = parts[1]
    try:
        payload = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError):
        return None, None
    if not isinstance(payload, dict):
        return None, None
    return _number(payload.get("exp")), _number(payload.get("iat"))


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def user_credentials_hash(username: str, password: str) -> str:
    """Kazoo's `md5` credentials; the username is lower-cased (as Kazoo stores it)."""
    return hashlib.md5(f"{username.lower()}:{password}".encode()).hexdigest()


def login_request(
    api_key: str | None, username: str | None, password: str | None, account_name: str | None
) -> tuple[str, dict[str, dict[str, str]]]:
    """(path, body) of the login; `ConfigError` naming the variable unless exactly one set."""
    user = {
        "KAZOO_USERNAME": username,
        "KAZOO_PASSWORD": password,
        "KAZOO_ACCOUNT_NAME": account_name,
    }
    given = [name for name, value in user.items() if value]
    if api_key:
        if given:
            raise ConfigError(
                given[0], "contradicts KAZOO_API_KEY: give either the API key or the user set"
            )
        return "api_auth", {"data": {"api_key": api_key}}
    if not given:
        raise ConfigError(
            "KAZOO_API_KEY",
            "is required (or KAZOO_USERNAME, KAZOO_PASSWORD and KAZOO_ACCOUNT_NAME)",
        )
    if not (username and password and account_name):
        missing = [name for name, value in user.items() if not value]
        raise ConfigError(missing[0], "is required with the other KAZOO_USERNAME credentials")
    data = {
        "credentials": user_credentials_hash(username, password),
        "account_name": account_name,
        "method": "md5",
    }
    return "user_auth", {"data": data}


class KazooAuth:
    """Logs in with `api_auth` or `user_auth` and hands out a valid token.

    `http` is the client the REST layer uses; its `base_url` ends with `/v2`.
    """

    #: seconds a failed login is remembered before another is tried
    FAILURE_COOLDOWN = 30.0
    LOGIN_BACKOFF_BASE = 2.0
    LOGIN_BACKOFF_CAP = 30.0

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        account_name: str | None = None,
        refresh_margin: float = 300.0,
        max_attempts: int = 3,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self._http = http
        self._path, self._body = login_request(api_key, username, password, account_name)
        # Exact strings to blank out of anything Kazoo echoes back.
        self._secrets = [s for s in (api_key, password, self._body["data"].get("credentials")) if s]
        self._refresh_margin = refresh_margin
        self._max_attempts = max(1, max_attempts)
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

        self._result: AuthResult | None = None
        self._token: str | None = None
        self._expires_at: float | None = None  # local clock
        self._refresh_at: float | None = None  # local clock
        self._inflight: asyncio.Task[str] | None = None
        self._failed_until = 0.0
        self._failure: KazooError | None = None
        self.login_count = 0  # login requests sent (each costs Kazoo rate tokens)

    # --- what the last login told us ---

    @property
    def result(self) -> AuthResult | None:
        return self._result

    @property
    def account_id(self) -> str | None:
        return self._result.account_id if self._result else None

    @property
    def owner_id(self) -> str | None:
        return self._result.owner_id if self._result else None

    @property
    def ws_url(self) -> str | None:
        return self._result.ws_url if self._result else None

    # --- the token ---

    async def token(self) -> str:
        """A token valid now; logs in (once, shared by concurrent callers) when needed."""
        now = self._clock()
        if self._token is not None and (self._refresh_at is None or now < self._refresh_at):
            return self._token
        if now < self._failed_until and self._failure is not None:
            # A login failed moments ago: do not spend another 35 rate tokens yet.
            return self._still_valid_or_raise(now, self._failure, self._failed_until - now)
        if self._inflight is None:
            self._inflight = asyncio.get_running_loop().create_task(self._login())
            self._inflight.add_done_callback(self._login_finished)
        try:
            # shield: one caller being cancelled must not cancel the login the others wait for.
            return await asyncio.shield(self._inflight)
        except KazooError as exc:
            return self._still_valid_or_raise(self._clock(), exc)

    async def invalidate(self, stale: str) -> None:
        """Kazoo answered 401 to `stale`: forget it, unless a newer token already replaced it."""
        if self._token is not None and self._token == stale:
            log.info("Kazoo rejected the cached token; the next call logs in again")
            self._token = None
            self._expires_at = self._refresh_at = None

    def _still_valid_or_raise(
        self, now: float, failure: KazooError, wait: float | None = None
    ) -> str:
        # An early renewal that failed leaves the old token usable until it really expires.
        if self._token is not None and (self._expires_at is None or now < self._expires_at):
            return self._token
        raise _copy_error(failure, wait)

    def _login_finished(self, task: asyncio.Task[str]) -> None:
        self._inflight = None
        if not task.cancelled():
            task.exception()  # mark retrieved: every waiter already got it through shield()

    # --- one login, with a few retries ---

    async def _login(self) -> str:
        try:
            result = await self._login_with_retries()
        except KazooError as exc:
            cooldown = self.FAILURE_COOLDOWN
            if isinstance(exc, KazooUnavailable) and exc.retry_after is not None:
                cooldown = max(cooldown, exc.retry_after)
            self._failure, self._failed_until = exc, self._clock() + cooldown
            raise
        self._failure, self._failed_until = None, 0.0
        self._store(result)
        return result.auth_token

    async def _login_with_retries(self) -> AuthResult:
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._login_once()
            except KazooUnavailable as exc:
                delay = self._login_delay(attempt, exc)
                if delay is None:
                    raise
                log.warning(
                    "Kazoo login attempt %d failed (%s); retrying in %.1f s", attempt, exc, delay
                )
                await self._sleep(delay)

    def _login_delay(self, attempt: int, exc: KazooUnavailable) -> float | None:
        """Seconds before the next login attempt, or None to give up."""
        if attempt >= self._max_attempts:
            return None
        if exc.retry_after is not None:
            # Waiting longer than our cap inside a login would stall every caller: give up and
            # let the cool-down carry Kazoo's wish.
            return exc.retry_after if exc.retry_after <= self.LOGIN_BACKOFF_CAP else None
        # "Equal jitter": never close to zero, because a login is expensive for Kazoo.
        step = min(self.LOGIN_BACKOFF_CAP, self.LOGIN_BACKOFF_BASE * 2.0 ** (attempt - 1))
        return step / 2 + self._rng.uniform(0.0, step / 2)

    async def _login_once(self) -> AuthResult:
        self.login_count += 1
        log.info("logging in to Kazoo with %s", self._path)
        try:
            response = await self._http.put(self._path, json=self._body)
        except httpx.TimeoutException:
            raise KazooUnavailable("Kazoo login timed out") from None
        except httpx.TransportError as exc:
            raise KazooUnavailable(f"Kazoo login failed: {type(exc).__name__}") from None
        return self._login_result(response)

    def _login_result(self, response: httpx.Response) -> AuthResult:
        status = response.status_code
        envelope = _envelope_or_none(response)
        if 200 <= status < 300:
            if envelope is None or envelope.status != "success":
                raise KazooProtocolError(
                    "Kazoo login answered with an unreadable body", status=status
                )
            return AuthResult.from_envelope(envelope)
        kazoo_message = self._scrub(_kazoo_message(envelope))
        if is_retryable_status(status):
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
            raise KazooUnavailable(
                f"Kazoo login refused for now (HTTP {status})",
                retry_after=retry_after,
                status=status,
                kazoo_message=kazoo_message,
            )
        # 401 invalid credentials, 404 unknown API key, 400 schema, 403, 423: our credentials.
        # `data` is dropped on purpose: for an unknown API key it is the key itself (§2.1).
        what = "API key" if self._path == "api_auth" else "user credentials"
        detail = f": {kazoo_message}" if kazoo_message else ""
        raise KazooAuthError(
            f"Kazoo rejected the {what} (HTTP {status}){detail}",
            status=status,
            kazoo_message=kazoo_message,
        )

    def _store(self, result: AuthResult) -> None:
        now = self._clock()
        self._result = result
        self._token = result.auth_token
        self._expires_at, self._refresh_at = self._schedule(result.auth_token, now)

    def _schedule(self, token: str, now: float) -> tuple[float | None, float | None]:
        """(expires_at, refresh_at) on the local clock, from the token's own claims."""
        exp, iat = jwt_times(token)
        if exp is None:
            return None, None  # no expiry claim: rely on a 401 to tell us
        # With `iat` the lifetime is measured on Kazoo's clock alone, immune to clock skew.
        lifetime = exp - iat if iat is not None else exp - now
        if lifetime <= 0:
            log.warning("Kazoo token is already expired by the local clock; check the clock")
            return None, None
        margin = min(self._refresh_margin, lifetime / 2)
        log.info("Kazoo token valid for %.0f s; renewing %.0f s early", lifetime, margin)
        return now + lifetime, now + lifetime - margin

    def _scrub(self, text: str | None) -> str | None:
        if text is None:
            return None
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _envelope_or_none(response: httpx.Response) -> Envelope | None:
    try:
        return Envelope.model_validate_json(response.content)
    except ValidationError as exc:
        log.debug("unreadable Kazoo body: %s", describe_validation_error(exc))
        return None


def _kazoo_message(envelope: Envelope | None) -> str | None:
    """Kazoo's human message: `data.message` when it is a string, else the envelope `message`."""
    if envelope is None:
        return None
    data = envelope.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return envelope.message


def _copy_error(error: KazooError, wait: float | None = None) -> KazooError:
    """A fresh exception like `error`, so one object is never raised from two places at once.

    `wait`: seconds until another login will be tried, the best `retry_after` we can offer.
    """
    kwargs: dict[str, Any] = {
        "status": error.status,
        "kazoo_message": error.kazoo_message,
        "details": error.details,
    }
    if isinstance(error, KazooUnavailable):
        kwargs["retry_after"] = wait if wait is not None else error.retry_after
    return type(error)(str(error), **kwargs)
