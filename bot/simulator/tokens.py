"""JWT-shaped auth tokens, checked against the simulator's own table.

Kazoo signs RS256 JWTs and clients only base64url-decode the payload to read ``exp``. So an HMAC
signature is enough here. Every issued token is also kept in a table, so that ``expire_all`` can
void them all at once, the way a password reset voids tokens on a real server (reference §2.4).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass

API_AUTH = "cb_api_auth"
USER_AUTH = "cb_user_auth"


def b64url_encode(raw: bytes) -> str:
    """Base64url without padding, as JWTs (and Kazoo's start keys) are written."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url_encode`; accepts text with or without padding."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Claims:
    """What a valid token stands for."""

    account_id: str
    method: str
    owner_id: str | None
    expires_at: float | None  # exact clock value; the JWT carries it rounded down to whole seconds
    jti: str


class TokenIssuer:
    """Issues tokens and validates them (signature, table membership, expiry)."""

    def __init__(self, *, ttl: float, clock: Callable[[], float]) -> None:
        self._secret = secrets.token_bytes(32)
        self._ttl = ttl
        self._clock = clock
        self._live: dict[str, Claims] = {}

    def issue(self, account_id: str, method: str, owner_id: str | None = None) -> str:
        now = self._clock()
        jti = secrets.token_hex(16)
        # A lifetime <= 0 means "no exp claim, never expires", as in crossbar_auth (reference §2.4).
        expires_at = now + self._ttl if self._ttl > 0 else None
        payload: dict[str, object] = {
            "account_id": account_id,
            "method": method,
            "iat": math.floor(now),
            "jti": jti,
        }
        if owner_id is not None:
            payload["owner_id"] = owner_id
        if expires_at is not None:
            # Rounded down: a client refreshing "before exp" then never sends an expired token.
            payload["exp"] = math.floor(expires_at)
        header = {"alg": "HS256", "typ": "JWT"}
        signing_input = f"{_segment(header)}.{_segment(payload)}"
        self._live[jti] = Claims(account_id, method, owner_id, expires_at, jti)
        return f"{signing_input}.{self._sign(signing_input)}"

    def validate(self, token: object) -> Claims | None:
        """The claims of a live token, or None if it is malformed, forged, voided or expired."""
        if not isinstance(token, str):
            return None
        parts = token.split(".")
        if len(parts) != 3:
            return None
        signing_input = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signing_input), parts[2]):
            return None
        try:
            payload = json.loads(b64url_decode(parts[1]))
        except (ValueError, binascii.Error):
            return None
        jti = payload.get("jti") if isinstance(payload, dict) else None
        claims = self._live.get(jti) if isinstance(jti, str) else None
        if claims is None:
            return None
        if claims.expires_at is not None and self._clock() >= claims.expires_at:
            return None
        return claims

    def expire_all(self) -> None:
        """Every token issued so far stops validating; new ones are unaffected."""
        self._live.clear()

    def _sign(self, signing_input: str) -> str:
        digest = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return b64url_encode(digest)


def _segment(obj: object) -> str:
    return b64url_encode(json.dumps(obj, separators=(",", ":")).encode("utf-8"))
