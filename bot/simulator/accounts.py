"""The simulated account, its API key and its users (reference §2.1, §2.2)."""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from dataclasses import dataclass, field

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def normalize_name(name: str) -> str:
    """``kzd_accounts:normalize_name/1``: lower-cased, then everything but ``[a-z0-9]`` removed."""
    return _NOT_ALNUM.sub("", name.lower())


def generate_api_key() -> str:
    return "".join(secrets.choice(string.hexdigits.lower()[:16]) for _ in range(64))


@dataclass(frozen=True)
class User:
    user_id: str
    username: str  # stored lower-cased, as Kazoo stores it
    md5: str  # pvt_md5_auth: md5("{username}:{password}")
    sha1: str  # pvt_sha1_auth
    enabled: bool


@dataclass
class Account:
    account_id: str
    name: str
    api_key: str
    users: dict[str, User] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return f"{normalize_name(self.name) or 'account'}.sim.kazoo"

    def add_user(self, username: str, password: str, *, enabled: bool = True) -> str:
        username = username.lower()
        creds = f"{username}:{password}".encode()
        user = User(
            user_id=secrets.token_hex(16),
            username=username,
            md5=hashlib.md5(creds).hexdigest(),
            sha1=hashlib.sha1(creds).hexdigest(),
            enabled=enabled,
        )
        self.users[user.user_id] = user
        return user.user_id

    def is_named(self, *, name: object, realm: object) -> bool:
        """Whether a user_auth lookup by realm or by (normalized) name finds this account."""
        if isinstance(realm, str) and realm.lower() == self.realm:
            return True
        return isinstance(name, str) and normalize_name(name) == normalize_name(self.name)

    def user_for(self, credentials: str, method: str) -> User | None:
        """The enabled user with these credentials; the creds_by_* views skip disabled users."""
        for user in self.users.values():
            stored = user.sha1 if method == "sha" else user.md5
            if user.enabled and stored == credentials:
                return user
        return None
