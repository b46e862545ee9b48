"""Composition root: builds every part from Settings and runs them until told to stop."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import socket
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.config import Settings
from bot.domain.events import ConferenceRestored
from bot.domain.model import Conference
from bot.domain.permissions import RightsPolicy
from bot.engine import Engine
from bot.frontend import Frontend
from bot.kazoo.rest import KazooClient
from bot.metrics import LIVE, exposition
from bot.notices import Notices
from bot.ownership import Ownership
from bot.scheduling import Scheduler
from bot.service import Service
from bot.slack.app import Gateway, Inflight, build_app, web_client
from bot.slack.identity import Directory
from bot.slack.poster import SlackPoster
from bot.slack.render import Message
from bot.storage.lease import Lease
from bot.storage.store import Store
from bot.tracker import Tracker

log = logging.getLogger("bot.app")

# How often the owner re-reads the schedules table (schedules made through other replicas).
SCHEDULE_REFRESH = 5.0
# How long shutdown waits for commands already acknowledged to finish.
DRAIN_SECONDS = 10.0


def kazoo_client(settings: Settings) -> KazooClient:
    assert settings.KAZOO_URL is not None  # checked by Settings.check
    return KazooClient(
        settings.KAZOO_URL,
        api_key=settings.KAZOO_API_KEY.get_secret_value() if settings.KAZOO_API_KEY else None,
        username=settings.KAZOO_USERNAME,
        password=settings.KAZOO_PASSWORD.get_secret_value() if settings.KAZOO_PASSWORD else None,
        account_name=settings.KAZOO_ACCOUNT_NAME,
        account_id=settings.KAZOO_ACCOUNT_ID,
    )


def policy(settings: Settings) -> RightsPolicy:
    return RightsPolicy(
        admins=frozenset(settings.admins), moderators=frozenset(settings.moderators)
    )


async def apply_watches(
    store: Store, tracker: Tracker, notices: Notices, scheduler: Scheduler | None = None
) -> None:
    """Make the stream and the notices follow the persisted watches (and schedules) exactly."""
    watches = await store.watches()
    await notices.set_watches([(w.channel_id, w.conference_id, w.talking) for w in watches])
    meetings = scheduler.meeting_conferences() if scheduler is not None else frozenset()
    tracker.track({w.conference_id for w in watches} | meetings)


def replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


@dataclass
class Bot:
    """Every long-lived part, wired; `run()` drives them until `stop` is set.

    Every replica serves Slack. The one holding the lease (see `bot.ownership`) also runs the Kazoo
    stream, the live notices and the scheduler; the others stand by to take over.
    """

    settings: Settings
    store: Store
    kazoo: KazooClient
    engine: Engine
    tracker: Tracker
    service: Service
    frontend: Frontend
    gateway: Gateway
    inflight: Inflight
    notices: Notices
    scheduler: Scheduler
    ownership: Ownership
    http_session: aiohttp.ClientSession
    owner_tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    async def build(cls, settings: Settings, *, name: str | None = None) -> Bot:
        store = await Store.open(settings.CONFBOT_DATABASE_URL)
        kazoo = kazoo_client(settings)
        engine = Engine()
        tracker = Tracker(kazoo, engine, ws_url=settings.KAZOO_WS_URL)
        rights = policy(settings)
        assert settings.SLACK_BOT_TOKEN is not None
        # One HTTP session for every Slack call and response URL (connections are reused).
        http_session = aiohttp.ClientSession()
        client = web_client(
            settings.SLACK_BOT_TOKEN.get_secret_value(), settings.SLACK_API_URL, http_session
        )
        poster = SlackPoster(client)
        holder: list[Bot] = []

        def owner() -> bool:
            return bool(holder) and holder[0].ownership.is_owner

        def restore(conference: Conference) -> None:
            engine.submit(ConferenceRestored(conference, time.time()))

        notices = Notices(
            store,
            poster,
            engine.conference,
            command=settings.CONFBOT_COMMAND,
            allowed=owner,
            restore=restore,
        )

        async def report(channel_id: str, line: str) -> None:
            await poster.post(channel_id, Message(text=line, blocks=[]))

        async def act(action: str, conference_id: str) -> None:
            await kazoo.conference_action(conference_id, action)

        scheduler = Scheduler(
            store.engine,
            act,
            report,
            grace=settings.CONFBOT_MISFIRE_GRACE,
            refresh_every=SCHEDULE_REFRESH,
            command=settings.CONFBOT_COMMAND,
        )
        engine.listen(notices.on_changes)
        engine.listen(scheduler.on_changes)

        async def watches_changed() -> None:
            # Only the owner follows conferences; the others leave it to the owner's next tick.
            if owner():
                await apply_watches(store, tracker, notices, scheduler)

        service = Service(
            kazoo,
            engine,
            store,
            rights,
            on_watches_changed=watches_changed,
            scheduler=scheduler,
            default_tz=settings.timezone,
        )
        inflight = Inflight()
        frontend = Frontend(
            service, Directory(client, rights.groups), command=settings.CONFBOT_COMMAND
        )
        slack_app = build_app(
            client=client,
            signing_secret=(
                settings.SLACK_SIGNING_SECRET.get_secret_value()
                if settings.SLACK_SIGNING_SECRET
                else None
            ),
            command=settings.CONFBOT_COMMAND,
            handler=frontend,
            inflight=inflight,
            on_channel_post=notices.note_post,
            session=http_session,
        )
        app_token = (
            settings.SLACK_APP_TOKEN.get_secret_value() if settings.SLACK_APP_TOKEN else None
        )
        gateway = Gateway(
            slack_app,
            app_token=app_token,
            port=settings.CONFBOT_HTTP_PORT,
            health=lambda: (False, {}),
            metrics=exposition,
        )

        async def acquired() -> None:
            await holder[0].start_owning()

        async def lost() -> None:
            await holder[0].stop_owning()

        async def tick() -> None:
            # Watches and schedules made through other replicas reach the owner here.
            await apply_watches(store, tracker, notices, scheduler)

        ownership = Ownership(
            Lease(store.engine, name or replica_name()),
            on_acquire=acquired,
            on_lose=lost,
            on_tick=tick,
        )
        bot = cls(
            settings=settings,
            store=store,
            kazoo=kazoo,
            engine=engine,
            tracker=tracker,
            service=service,
            frontend=frontend,
            gateway=gateway,
            inflight=inflight,
            notices=notices,
            scheduler=scheduler,
            ownership=ownership,
            http_session=http_session,
        )
        holder.append(bot)
        gateway.health = bot.health
        bot.expose_live_metrics()
        return bot

    def health(self) -> tuple[bool, dict[str, Any]]:
        owner = self.ownership.is_owner
        stream_ok = self.tracker.connected if owner else True
        slack_ok = self.gateway.slack_connected
        return stream_ok and slack_ok, {
            "role": "owner" if owner else "standby",
            # Bumped by every takeover: tells an operator which ownership period this is.
            "lease_epoch": self.ownership.epoch,
            "kazoo_stream": ("up" if self.tracker.connected else "down") if owner else "standby",
            "slack": "up" if slack_ok else "down",
            "watched_conferences": len(self.tracker.stream.watched),
        }

    def expose_live_metrics(self) -> None:
        LIVE.add(
            "confbot_websocket_reconnects",
            "counter",
            "Kazoo websocket reconnections.",
            lambda: float(self.tracker.stream.reconnects),
        )
        LIVE.add(
            "confbot_kazoo_stream_up",
            "gauge",
            "1 while the Kazoo event stream is connected and subscribed.",
            lambda: float(self.tracker.connected),
        )
        LIVE.add(
            "confbot_watched_conferences",
            "gauge",
            "Conferences watched by at least one channel.",
            lambda: float(len(self.tracker.stream.watched)),
        )
        LIVE.add(
            "confbot_lease_owner",
            "gauge",
            "1 while this replica owns the Kazoo stream, the notices and the scheduler.",
            lambda: float(self.ownership.is_owner),
        )

    async def start_owning(self) -> None:
        """Took the lease: stream, notices and scheduler start, from the database's state."""
        self.engine.reset()
        # Feeds are rebuilt from the anchors, which restore the saved conferences into the
        # engine before the stream's first resync diffs Kazoo's state against them.
        await self.notices.set_watches([])
        await apply_watches(self.store, self.tracker, self.notices, self.scheduler)
        self.owner_tasks = [
            asyncio.create_task(self.tracker.run(), name="kazoo-stream"),
            asyncio.create_task(self.notices.run(), name="notices"),
        ]
        await self.scheduler.start()
        await apply_watches(self.store, self.tracker, self.notices, self.scheduler)

    async def stop_owning(self) -> None:
        """Lost (or gave up) the lease: stop acting at once."""
        tasks, self.owner_tasks = self.owner_tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self.scheduler.stop()
        await self.notices.set_watches([])
        self.tracker.track(())
        self.engine.reset()

    async def run(self, stop: asyncio.Event) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            tasks.append(asyncio.create_task(self.engine.run(), name="engine"))
            await self.gateway.start()
            tasks.append(asyncio.create_task(self.ownership.run(), name="lease"))
            log.info(
                "confbot is running (%s mode)", "socket" if self.settings.socket_mode else "HTTP"
            )
            await stop.wait()
            log.info("stopping: finishing work in flight")
            if not await self.inflight.wait_idle(DRAIN_SECONDS):
                log.warning("some work did not finish within %.0fs", DRAIN_SECONDS)
        finally:
            for task in tasks[1:]:
                task.cancel()
                with suppress(asyncio.CancelledError):
                    await task
            await self.ownership.release()
            await self.gateway.stop()
            tasks[0].cancel()
            with suppress(asyncio.CancelledError):
                await tasks[0]
            await self.kazoo.aclose()
            await self.http_session.close()
            await self.store.close()


async def serve(settings: Settings) -> int:
    """`confbot run`: until SIGINT/SIGTERM, then a clean shutdown (exit 0)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bot = await Bot.build(settings)
    await bot.run(stop)
    return 0
