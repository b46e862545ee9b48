"""Owning the lease: one replica at a time runs the Kazoo stream, live notices and scheduler.

Every replica runs this loop. The owner renews every `renew_every` seconds; a standby tries to take
the lease as often. The owner also keeps a local deadline, `ttl - margin` after the start of its
last successful renewal: past it, it steps down on its own, even if the database cannot be reached
to say so, so it stops acting before any standby can take over (no split brain).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.storage.lease import Lease

log = logging.getLogger("bot.ownership")

TTL = 10.0  # a dead owner's lease is free after this long
RENEW_EVERY = 2.0  # also how often a standby tries to take over
MARGIN = 3.0  # the owner steps down this long before its lease could expire


class Ownership:
    def __init__(
        self,
        lease: Lease,
        *,
        on_acquire: Callable[[], Awaitable[None]],
        on_lose: Callable[[], Awaitable[None]],
        on_tick: Callable[[], Awaitable[None]] | None = None,
        ttl: float = TTL,
        renew_every: float = RENEW_EVERY,
        margin: float = MARGIN,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < renew_every < ttl - margin:
            raise ValueError("renew_every must be shorter than ttl - margin")
        self.lease = lease
        self.on_acquire = on_acquire
        self.on_lose = on_lose
        self.on_tick = on_tick
        self.ttl = ttl
        self.renew_every = renew_every
        self.margin = margin
        self.monotonic = monotonic
        self._valid_until = 0.0
        self._owner = False
        self.epoch: int | None = None
        self.changed = asyncio.Event()

    @property
    def is_owner(self) -> bool:
        """True only while the lease is certainly ours (checked before every side effect)."""
        return self._owner and self.monotonic() < self._valid_until

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception:
                # A failure while starting or ticking must not end the lease loop: the deadline
                # logic still has to run, or an owner could act without a lease.
                log.exception("the lease loop hit an error; carrying on")
            await asyncio.sleep(self._pause())

    def _pause(self) -> float:
        if not self._owner:
            return self.renew_every
        # Wake up in time to step down if the renewals keep failing.
        return max(0.0, min(self.renew_every, self._valid_until - self.monotonic()))

    async def step(self) -> None:
        """One renewal (or takeover attempt), then acting on its outcome."""
        started = self.monotonic()
        try:
            # asyncio.timeout rather than wait_for, which can swallow a cancel on Python 3.11.
            async with asyncio.timeout(self.renew_every):
                holding = await self.lease.try_acquire(self.ttl)
        except Exception as exc:  # the database is unreachable or slow: we cannot prove ownership
            log.warning("lease renewal failed: %s", exc)
            holding = None
            if self._owner and self.monotonic() < self._valid_until:
                return  # keep acting until the local deadline, then step down below
        if holding is not None:
            self._valid_until = started + self.ttl - self.margin
            if not self._owner:
                self._owner = True
                self.epoch = holding.epoch
                log.info("this replica now owns the Kazoo stream and the scheduler")
                self.changed.set()
                await self.on_acquire()
            elif self.on_tick is not None:
                await self.on_tick()
            return
        if self._owner:
            await self.step_down()

    async def step_down(self, *, reason: str = "lost") -> None:
        if not self._owner:
            return
        self._owner = False
        self._valid_until = 0.0
        if reason == "released":
            log.info("giving up the lease: stopping the stream and scheduler")
        else:
            log.warning("this replica no longer owns the lease: stopping the stream and scheduler")
        self.changed.set()
        await self.on_lose()

    async def release(self) -> None:
        """Clean shutdown: stop acting, then free the lease so a standby takes over at once."""
        was_owner = self._owner
        await self.step_down(reason="released")
        if was_owner:
            try:
                await self.lease.release()
            except Exception as exc:
                log.warning("could not release the lease: %s", exc)
