"""Composition root: builds every part from Settings and runs them until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.domain.permissions import RightsPolicy
from bot.engine import Engine
from bot.frontend import Frontend
from bot.kazoo.rest import KazooClient
from bot.metrics import LIVE, exposition
from bot.notices import Notices
from bot.service import Service
from bot.slack.app import Gateway, Inflight, build_app, web_client
from bot.slack.identity import Directory
from bot.slack.poster import SlackPoster
from bot.storage.store import Store
from bot.tracker import Tracker

log = logging.getLogger("bot.app")

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


async def apply_watches(store: Store, tracker: Tracker, notices: Notices) -> None:
    """Make the stream and the notices follow the persisted watches exactly."""
    watches = await store.watches()
    await notices.set_watches([(w.channel_id, w.conference_id, w.talking) for w in watches])
    tracker.track({w.conference_id for w in watches})


@dataclass
class Bot:
    """Every long-lived part, wired; `run()` drives them until `stop()`."""

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

    @classmethod
    async def build(cls, settings: Settings) -> Bot:
        store = await Store.open(settings.CONFBOT_DATABASE_URL)
        kazoo = kazoo_client(settings)
        engine = Engine()
        tracker = Tracker(kazoo, engine, ws_url=settings.KAZOO_WS_URL)
        rights = policy(settings)

        assert settings.SLACK_BOT_TOKEN is not None
        client = web_client(settings.SLACK_BOT_TOKEN.get_secret_value(), settings.SLACK_API_URL)
        notices = Notices(
            store, SlackPoster(client), engine.conference, command=settings.CONFBOT_COMMAND
        )
        engine.listen(notices.on_changes)

        async def watches_changed() -> None:
            await apply_watches(store, tracker, notices)

        service = Service(kazoo, engine, store, rights, on_watches_changed=watches_changed)
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
        )
        app_token = (
            settings.SLACK_APP_TOKEN.get_secret_value() if settings.SLACK_APP_TOKEN else None
        )
        bot = cls(
            settings=settings,
            store=store,
            kazoo=kazoo,
            engine=engine,
            tracker=tracker,
            service=service,
            frontend=frontend,
            gateway=Gateway(
                slack_app,
                app_token=app_token,
                port=settings.CONFBOT_HTTP_PORT,
                health=lambda: (False, {}),
                metrics=exposition,
            ),
            inflight=inflight,
            notices=notices,
        )
        bot.gateway.health = bot.health
        bot.expose_live_metrics()
        return bot

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

    def health(self) -> tuple[bool, dict[str, Any]]:
        kazoo_ok = self.tracker.connected or not self.tracker.stream.watched
        slack_ok = self.gateway.slack_connected
        return kazoo_ok and slack_ok, {
            "kazoo_stream": "up" if self.tracker.connected else "down",
            "slack": "up" if slack_ok else "down",
            "watched_conferences": len(self.tracker.stream.watched),
        }

    async def run(self, stop: asyncio.Event) -> None:
        tasks: list[asyncio.Task[None]] = []
        try:
            tasks.append(asyncio.create_task(self.engine.run(), name="engine"))
            tasks.append(asyncio.create_task(self.tracker.run(), name="kazoo-stream"))
            tasks.append(asyncio.create_task(self.notices.run(), name="notices"))
            await apply_watches(self.store, self.tracker, self.notices)
            await self.gateway.start()
            log.info(
                "confbot is running (%s mode)", "socket" if self.settings.socket_mode else "HTTP"
            )
            await stop.wait()
            log.info("stopping: finishing work in flight")
            if not await self.inflight.wait_idle(DRAIN_SECONDS):
                log.warning("some work did not finish within %.0fs", DRAIN_SECONDS)
        finally:
            await self.gateway.stop()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError):
                    await task
            await self.kazoo.aclose()
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
