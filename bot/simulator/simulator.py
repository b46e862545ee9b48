"""``KazooSimulator``: a fake Kazoo PBX (crossbar REST + blackhole websocket) for demos and tests.

Everything runs on the asyncio loop that calls :meth:`KazooSimulator.start`. The scripted-caller
methods (``join``, ``leave``, ...) are plain synchronous calls that change the state and queue the
resulting events for the websocket clients in one step, so events always go out in the order things
happened.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

from bot.simulator.accounts import Account, generate_api_key
from bot.simulator.bindings import BINDING_FORMATS, CONFERENCE_FIRST
from bot.simulator.blackhole import Blackhole
from bot.simulator.conferences import Conferences
from bot.simulator.documents import ConferenceStore, adhoc
from bot.simulator.model import LAYOUTS, NESTED
from bot.simulator.rest import Crossbar, RecordedRequest
from bot.simulator.script import run_meeting
from bot.simulator.state import Message, Switchboard
from bot.simulator.tokens import TokenIssuer

_HEX = frozenset("0123456789abcdef")


class KazooSimulator:
    """A Kazoo account with conferences, its REST API under ``/v2`` and its blackhole websocket."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        http_port: int = 0,
        ws_port: int = 0,
        api_key: str | None = None,
        account_id: str | None = None,
        account_name: str = "Demo Co",
        token_ttl: float = 3600.0,
        binding_format: str = CONFERENCE_FIRST,
        event_layout: str = NESTED,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if api_key is not None and len(api_key) != 64:
            raise ValueError("api_key must be 64 characters")
        if account_id is not None and (len(account_id) != 32 or not set(account_id) <= _HEX):
            raise ValueError("account_id must be 32 lowercase hex characters")
        if binding_format not in BINDING_FORMATS:
            raise ValueError(f"binding_format must be one of {BINDING_FORMATS}")
        if event_layout not in LAYOUTS:
            raise ValueError(f"event_layout must be one of {LAYOUTS}")
        self._host = host
        self._http_port = http_port
        self._ws_port = ws_port
        self._clock = clock
        self._account = Account(
            account_id=account_id or secrets.token_hex(16),
            name=account_name,
            api_key=api_key or generate_api_key(),
        )
        self._tokens = TokenIssuer(ttl=token_ttl, clock=clock)
        self._store = ConferenceStore(account_id=self._account.account_id, clock=clock)
        self._switchboard = Switchboard(
            account_id=self._account.account_id,
            realm=self._account.realm,
            layout=event_layout,
            clock=clock,
        )
        self._blackhole = Blackhole(tokens=self._tokens, binding_format=binding_format)
        self._crossbar = Crossbar(
            account=self._account,
            tokens=self._tokens,
            conferences=Conferences(
                store=self._store, switchboard=self._switchboard, publish=self._publish
            ),
            ws_url=lambda: self.ws_url,
            clock=clock,
        )
        self._bound_http: int | None = None
        self._bound_ws: int | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        # The websocket first: the REST login answers advertise its URL.
        self._bound_ws = await self._blackhole.start(self._host, self._ws_port)
        try:
            self._bound_http = await self._crossbar.start(self._host, self._http_port)
        except BaseException:
            await self._blackhole.stop()
            raise

    async def stop(self) -> None:
        await self._crossbar.stop()
        await self._blackhole.stop()

    async def __aenter__(self) -> KazooSimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def http_url(self) -> str:
        if self._bound_http is None:
            raise RuntimeError("the simulator is not started")
        return f"http://{self._url_host}:{self._bound_http}/v2"

    @property
    def ws_url(self) -> str:
        if self._bound_ws is None:
            raise RuntimeError("the simulator is not started")
        return f"ws://{self._url_host}:{self._bound_ws}/"

    @property
    def _url_host(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    # -- account -----------------------------------------------------------------------------------

    @property
    def api_key(self) -> str:
        return self._account.api_key

    @property
    def account_id(self) -> str:
        return self._account.account_id

    @property
    def account_name(self) -> str:
        return self._account.name

    def add_user(self, username: str, password: str, *, enabled: bool = True) -> str:
        """A user for ``user_auth``; returns its id (the token's ``owner_id``)."""
        return self._account.add_user(username, password, enabled=enabled)

    def add_conference(
        self,
        name: str,
        *,
        numbers: Sequence[str] = (),
        member_pins: Sequence[str] = (),
        moderator_pins: Sequence[str] = (),
        conference_id: str | None = None,
        member_join_muted: bool = False,
        **extra: Any,
    ) -> str:
        """Store a conference document, validated like a REST create; returns its id."""
        data: dict[str, Any] = {
            "name": name,
            "conference_numbers": list(numbers),
            "member": {"join_muted": member_join_muted, "pins": list(member_pins)},
            "moderator": {"pins": list(moderator_pins)},
            **extra,
        }
        problems = self._store.check(data)
        if problems is not None:
            raise ValueError(f"invalid conference: {problems}")
        return str(self._store.create(data, conference_id=conference_id)["_id"])

    # -- callers -----------------------------------------------------------------------------------

    def join(
        self,
        conference_id: str,
        name: str,
        number: str,
        *,
        moderator: bool = False,
        muted: bool | None = None,
        deaf: bool = False,
    ) -> int:
        """A caller joins; returns the participant id. ``muted=None`` follows the conference's
        ``member``/``moderator`` ``join_muted`` setting. Raises ``ConferenceLocked`` if locked."""
        if muted is None:
            doc = self._store.get(conference_id) or adhoc(conference_id)
            role = doc.get("moderator" if moderator else "member") or {}
            muted = bool(role.get("join_muted", not moderator))
        participant_id, messages = self._switchboard.join(
            conference_id, name, number, moderator=moderator, speak=not muted, hear=not deaf
        )
        self._publish(messages)
        return participant_id

    def leave(self, conference_id: str, participant_id: int) -> None:
        """The caller hangs up. Raises ``UnknownParticipant`` if not in the call."""
        self._publish(self._switchboard.leave(conference_id, participant_id))

    def start_talking(self, conference_id: str, participant_id: int) -> None:
        """Voice activity starts. Not announced for a muted caller (FreeSWITCH does not either)."""
        self._publish(self._switchboard.set_talking(conference_id, participant_id, True))

    def stop_talking(self, conference_id: str, participant_id: int) -> None:
        self._publish(self._switchboard.set_talking(conference_id, participant_id, False))

    def set_muted(self, conference_id: str, participant_id: int, muted: bool) -> None:
        """The caller mutes or unmutes themself (e.g. by DTMF)."""
        self._publish(self._switchboard.set_speak(conference_id, participant_id, not muted))

    def set_deaf(self, conference_id: str, participant_id: int, deaf: bool) -> None:
        self._publish(self._switchboard.set_hear(conference_id, participant_id, not deaf))

    def participants(self, conference_id: str) -> list[dict[str, Any]]:
        """The participants exactly as ``GET .../participants`` would return them."""
        return self._switchboard.participant_objects(conference_id)

    def is_locked(self, conference_id: str) -> bool:
        run = self._switchboard.run(conference_id)
        return run is not None and run.locked

    async def run_script(self, conference_id: str, *, pace: float = 1.0) -> None:
        """The scripted meeting (see ``script.py``); ``pace`` scales its pauses, 0 for none."""
        await run_meeting(self, conference_id, pace=pace)

    # -- observation and fault switches ------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._crossbar.requests

    def clear_requests(self) -> None:
        self._crossbar.requests.clear()

    @property
    def auth_count(self) -> int:
        return self._crossbar.auth_count

    @property
    def connection_count(self) -> int:
        return self._blackhole.connection_count

    @property
    def latency(self) -> float:
        return self._crossbar.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._crossbar.latency = seconds

    @property
    def rate_limit(self) -> bool:
        return self._crossbar.rate_limit

    @rate_limit.setter
    def rate_limit(self, enabled: bool) -> None:
        self._crossbar.rate_limit = enabled

    def fail_next(
        self,
        count: int,
        status: int = 503,
        *,
        path_contains: str | None = None,
        retry_after: float = 1.0,
    ) -> None:
        """The next ``count`` REST requests (whose path contains ``path_contains``) answer
        ``status`` with Kazoo's error body; a 429 also carries ``Retry-After``."""
        self._crossbar.fail_next(count, status, path_contains, retry_after)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (REST 401; new websocket sessions refused).
        Websocket sessions already authenticated carry on, as on Kazoo."""
        self._tokens.expire_all()

    async def drop_sockets(self) -> None:
        """Cut every websocket connection abruptly; their subscriptions are gone."""
        await self._blackhole.drop_all()

    def send_raw_frame(self, text: str) -> None:
        """Push ``text`` as-is (valid JSON or not) to every connected websocket."""
        self._blackhole.send_raw(text)

    async def wait_for_subscribers(
        self, conference_id: str, count: int = 1, timeout: float = 5.0
    ) -> None:
        """Return once ``count`` live sockets are subscribed to the conference; ``TimeoutError``
        after ``timeout`` seconds."""
        await self._blackhole.wait_for_subscribers(conference_id, count, timeout)

    def _publish(self, messages: list[Message]) -> None:
        self._blackhole.publish(messages)
