"""Keeps the engine in step with Kazoo for the conferences that need live events.

Events from the websocket are translated and queued for the engine as they arrive; after every
(re)connect, once the subscriptions are confirmed, each tracked conference is read from REST and
its snapshot queued too, so the reducer announces exactly what was missed during the gap.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

from bot.domain.events import Event
from bot.engine import Engine
from bot.errors import BotError, KazooError
from bot.kazoo import translate
from bot.kazoo.models import EventFrame
from bot.kazoo.rest import KazooClient
from bot.kazoo.stream import EventStream
from bot.metrics import KAZOO_EVENTS

log = logging.getLogger("bot.tracker")


class Tracker:
    def __init__(
        self,
        kazoo: KazooClient,
        engine: Engine,
        *,
        ws_url: str | None = None,
        clock: Callable[[], float] = time.time,
        initial_backoff: float = 0.25,
        max_backoff: float = 60.0,
        ping_interval: float = 30.0,
    ) -> None:
        self.kazoo = kazoo
        self.engine = engine
        self.clock = clock
        self._ws_url_setting = ws_url
        self.resyncs = 0
        # Events for a conference whose REST read is in flight wait here and are replayed after
        # its snapshot: a snapshot read before them must not undo them, and replaying one the
        # snapshot already shows is a no-op in the reducer.
        self._held: dict[str, list[Event]] = {}
        self.stream = EventStream(
            ws_url=self._ws_url,
            token=kazoo.auth.token,
            invalidate_token=kazoo.auth.invalidate,
            account_id=self._account_id,
            on_event=self._on_event,
            on_connected=self.resync,
            initial_backoff=initial_backoff,
            max_backoff=max_backoff,
            ping_interval=ping_interval,
        )

    def _ws_url(self) -> str:
        url = self._ws_url_setting or self.kazoo.ws_url
        if not url:
            raise BotError(
                "KAZOO_WS_URL is not set and Kazoo's auth response does not advertise one"
            )
        return url

    def _account_id(self) -> str:
        account_id = self.kazoo.account_id
        if not account_id:
            raise BotError("no Kazoo account id yet (set KAZOO_ACCOUNT_ID or log in first)")
        return account_id

    def _on_event(self, frame: EventFrame) -> None:
        KAZOO_EVENTS.labels(getattr(frame.data, "event", "unknown")).inc()
        event = translate.event(frame, self.clock())
        if event is None:
            return
        held = self._held.get(getattr(event, "conference_id", ""))
        if held is not None:
            held.append(event)
        else:
            self.engine.submit(event)

    def track(self, conference_ids: Iterable[str]) -> None:
        """Subscribe to exactly these conferences (at once when connected, else on connect)."""
        before = self.stream.watched
        wanted = frozenset(conference_ids)
        if wanted != before:
            log.info("following %d conference(s) on the Kazoo event stream", len(wanted))
        self.stream.set_watched(wanted)
        added = wanted - before
        if added and self.stream.connected:
            # A conference newly tracked while connected: read it once so its state is known.
            asyncio.get_running_loop().create_task(self._resync_some(added))

    @property
    def connected(self) -> bool:
        return self.stream.connected

    async def run(self) -> None:
        await self._login_until_ready()
        await self.stream.run()

    async def _login_until_ready(self) -> None:
        # The websocket needs the account id and, without KAZOO_WS_URL, the URL from the auth
        # response: log in first. Retried gently: each login costs a third of Kazoo's bucket.
        delay = 1.0
        while True:
            try:
                await self.kazoo.login()
                return
            except KazooError as exc:
                log.warning("Kazoo login failed (%s); retrying in %.0fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)

    async def resync(self) -> None:
        """Read every tracked conference from REST and queue the snapshots."""
        done: frozenset[str] = frozenset()
        # A conference tracked while this resync runs must be read too, before we call it done.
        while missing := self.stream.watched - done:
            await self._resync_some(missing)
            done |= missing
        self.resyncs += 1

    async def _resync_some(self, conference_ids: Iterable[str]) -> None:
        for conference_id in sorted(conference_ids):
            held = self._held.setdefault(conference_id, [])
            try:
                doc = await self.kazoo.get_conference(conference_id)
                participants = await self.kazoo.participants(conference_id)
                self.engine.submit(translate.snapshot(doc, participants, self.clock()))
            except KazooError as exc:
                log.warning("resync of conference %s failed: %s", conference_id, exc)
            finally:
                self._held.pop(conference_id, None)
                for event in held:
                    self.engine.submit(event)
