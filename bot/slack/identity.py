"""Who is asking: Slack's own view of a user (users.info) and of user groups, cached with a TTL.

Rights are decided from this, never from anything a request or a button carries besides the user
id Slack itself reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.permissions import Actor
from bot.errors import BotError

log = logging.getLogger("bot.slack.identity")

# A demoted admin or a new guest counts within a minute; users.info allows 100+ calls a minute.
USER_TTL = 60.0
# usergroups.users.list is a tier-2 method (about 20 calls a minute): cached longer.
GROUP_TTL = 300.0


class SlackCaller(Protocol):
    """The slice of slack_sdk's AsyncWebClient this module needs (easy to fake)."""

    async def api_call(
        self, api_method: str, *, http_verb: str = ..., params: dict[str, Any] | None = None
    ) -> Any: ...


class SlackUnavailable(BotError):
    """Slack could not tell us who the user is; the command is refused rather than guessed."""


@dataclass(frozen=True, slots=True)
class _Cached:
    value: Any
    at: float


class Directory:
    """users.info and usergroups.users.list, cached; concurrent lookups of one key share a call."""

    def __init__(
        self,
        client: SlackCaller,
        groups: Iterable[str] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        user_ttl: float = USER_TTL,
        group_ttl: float = GROUP_TTL,
    ) -> None:
        self.client = client
        self.groups = tuple(groups)
        self.clock = clock
        self.user_ttl = user_ttl
        self.group_ttl = group_ttl
        self._users: dict[str, _Cached] = {}
        self._members: dict[str, _Cached] = {}
        self._inflight: dict[str, asyncio.Future[Any]] = {}

    async def actor(self, user_id: str) -> Actor:
        user = await self._user(user_id)
        groups = frozenset(
            [group for group in self.groups if user_id in await self._group_members(group)]
        )
        return Actor(
            user_id=user_id,
            is_admin=bool(user.get("is_admin")),
            is_owner=bool(user.get("is_owner") or user.get("is_primary_owner")),
            is_guest=bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            groups=groups,
            tz=user.get("tz") or None,
        )

    async def _user(self, user_id: str) -> dict[str, Any]:
        cached = self._users.get(user_id)
        if cached is not None and self.clock() - cached.at < self.user_ttl:
            return dict(cached.value)
        response = await self._once(f"user:{user_id}", "users.info", {"user": user_id})
        user = response.get("user") or {}
        self._users[user_id] = _Cached(user, self.clock())
        return dict(user)

    async def _group_members(self, group_id: str) -> frozenset[str]:
        cached = self._members.get(group_id)
        if cached is not None and self.clock() - cached.at < self.group_ttl:
            return frozenset(cached.value)
        response = await self._once(
            f"group:{group_id}", "usergroups.users.list", {"usergroup": group_id}
        )
        members = frozenset(response.get("users") or ())
        self._members[group_id] = _Cached(members, self.clock())
        return members

    async def _once(self, key: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
        pending = self._inflight.get(key)
        if pending is not None:
            result: dict[str, Any] = await asyncio.shield(pending)
            return result
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            response = await self.client.api_call(method, http_verb="GET", params=params)
            data = dict(getattr(response, "data", response) or {})
            if not data.get("ok", False):
                raise SlackUnavailable(
                    f"Slack would not say who you are ({method}: {data.get('error', 'unknown')})"
                )
            future.set_result(data)
            return data
        except BaseException as exc:
            if isinstance(exc, BotError):
                future.set_exception(exc)
            else:
                log.warning("Slack %s failed: %s", method, exc)
                future.set_exception(SlackUnavailable(f"Slack could not be asked ({method})"))
            # Someone may be waiting on the future; make sure its exception counts as retrieved.
            future.exception()
            if isinstance(exc, BotError):
                raise
            raise SlackUnavailable(f"Slack could not be asked ({method}); try again") from exc
        finally:
            self._inflight.pop(key, None)
