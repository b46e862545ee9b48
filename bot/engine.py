"""The single writer: one task takes events from the inbox, reduces them into the registry, and
hands the resulting changes to listeners. Everything else reads frozen `Conference` values.

Listeners are called synchronously from the engine task and must be quick (queue the work); a
listener that raises is logged and does not stop the engine.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from bot.domain.events import Change, Event
from bot.domain.model import Conference
from bot.domain.reducer import reduce

log = logging.getLogger("bot.engine")

Listener = Callable[[Sequence[Change]], None]


class Engine:
    def __init__(self) -> None:
        self._registry: dict[str, Conference] = {}
        self._inbox: asyncio.Queue[Event | asyncio.Future[None]] = asyncio.Queue()
        self._listeners: list[Listener] = []
        self.events_applied = 0

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def submit(self, event: Event) -> None:
        """Queue an event; never blocks (the websocket reader calls this)."""
        self._inbox.put_nowait(event)

    async def settle(self) -> None:
        """Wait until everything submitted before this call has been applied."""
        marker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait(marker)
        await marker

    async def run(self) -> None:
        while True:
            item = await self._inbox.get()
            if isinstance(item, asyncio.Future):
                if not item.done():
                    item.set_result(None)
                continue
            self.apply(item)

    def apply(self, event: Event) -> Sequence[Change]:
        """Reduce one event now (the engine task, or a benchmark, calls this)."""
        changes = reduce(self._registry, event)
        self.events_applied += 1
        if changes:
            for listener in self._listeners:
                try:
                    listener(changes)
                except Exception:
                    log.exception("a change listener failed")
        return changes

    def reset(self) -> None:
        """Forget all live state (a replica that loses or takes the lease starts from REST).

        Names and numbers stay: they are what commands resolve conferences by.
        """
        self._registry = {
            cid: Conference(c.conference_id, c.name, c.numbers) for cid, c in self._registry.items()
        }

    # --- reads --------------------------------------------------------------------------------

    def conference(self, conference_id: str) -> Conference | None:
        return self._registry.get(conference_id)

    def conferences(self) -> list[Conference]:
        return list(self._registry.values())
