"""`confbot demo`: the real bot against the embedded Kazoo simulator, with a terminal for Slack.

Everything between the simulated PBX and the screen is the production code: the REST client,
the event stream, the engine, the service, the frontend that words replies, and the notices that
post and edit the live status message. Only the last hop differs: messages are printed instead of
sent to Slack, and typed lines stand in for slash commands and button clicks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TextIO

from bot.app import apply_watches
from bot.console.render import ButtonRef, to_text
from bot.domain.events import Change
from bot.domain.permissions import Actor, RightsPolicy
from bot.engine import Engine
from bot.frontend import Frontend
from bot.kazoo.rest import KazooClient
from bot.notices import Notices
from bot.service import Service
from bot.simulator import KazooSimulator
from bot.slack.render import Message
from bot.slack.reply import Reply
from bot.storage.store import Store
from bot.tracker import Tracker

CHANNEL = "C_DEMO"
USER = "U0DEMO"
USER_NAME = "you"
MEETING_GAP = 8.0

INTRO = """\
confbot demo — a simulated phone system (Kazoo) and this terminal in place of Slack.

This channel (#demo) watches the conference *Standup*: a scripted meeting is starting, and the
live status message below is edited as callers join, talk, are muted and leave.
Type what you would type in Slack, for example:
  /conf list            /conf status          /conf mute-all
  /conf mute grace      /conf lock            /conf help
Buttons are numbered like [3 Mute]: type `press 3`. `quit` (or end of input) leaves.
"""


class ConsoleActors:
    """The demo user is a workspace admin, so every command can be tried."""

    async def actor(self, user_id: str) -> Actor:
        return Actor(user_id=user_id, is_admin=True, tz="UTC")


class Screen:
    """Prints messages the way Slack would show them; remembers the latest buttons."""

    def __init__(self, out: TextIO, *, color: bool) -> None:
        self.out = out
        self.color = color
        self.buttons: dict[int, ButtonRef] = {}
        self._next_button = 1
        self._posts: dict[str, int] = {}

    def _user(self, user_id: str) -> str | None:
        return USER_NAME if user_id == USER else None

    def show(self, heading: str, message: Message, *, buttons: bool = False) -> None:
        first = self._next_button
        body, refs = to_text(
            list(message.blocks), first_button=first, color=self.color, user_name=self._user
        )
        if not body:
            body = to_text(
                [{"type": "section", "text": {"type": "mrkdwn", "text": message.text}}],
                user_name=self._user,
            )[0]
        if buttons and refs:
            self.buttons = {ref.number: ref for ref in refs}
            self._next_button = first + len(refs)
        self.write(f"── {heading}\n{body}\n")

    def line(self, heading: str, text: str) -> None:
        self.show(heading, Message(text=text, blocks=[]))

    def write(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")
        self.out.flush()


class ConsolePoster:
    """The notices' Slack calls, printed: a post is a new message, an update an edit."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.count = 0

    async def post(self, channel_id: str, message: Message) -> str:
        self.count += 1
        ts = f"{time.time():.6f}.{self.count}"
        self.screen.show("#demo · confbot", message)
        return ts

    async def update(self, channel_id: str, ts: str, message: Message) -> None:
        self.screen.show("#demo · confbot (live status, edited)", message)


async def _stdin_lines() -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            return
        yield line


class Demo:
    def __init__(self, screen: Screen, *, pace: float, command: str = "/conf") -> None:
        self.screen = screen
        self.pace = pace
        self.command_name = command
        self.pending_confirm: ButtonRef | None = None

    async def run(self, lines: AsyncIterator[str], *, loop_meetings: bool) -> int:
        sim = KazooSimulator()
        standup = sim.add_conference(
            "Standup", numbers=["4000"], member_pins=["1234"], moderator_pins=["4321"]
        )
        sim.add_conference("Planning", numbers=["4001"], member_pins=["5678"])
        sim.add_conference("All Hands", numbers=["4002", "4003"])
        with tempfile.TemporaryDirectory(prefix="confbot-demo-") as folder:
            async with sim:
                return await self._run(sim, standup, Path(folder), lines, loop_meetings)

    async def _run(
        self,
        sim: KazooSimulator,
        standup: str,
        folder: Path,
        lines: AsyncIterator[str],
        loop_meetings: bool,
    ) -> int:
        store = await Store.open(f"sqlite:///{folder / 'demo.db'}")
        kazoo = KazooClient(sim.http_url, api_key=sim.api_key)
        engine = Engine()
        tracker = Tracker(kazoo, engine, ws_url=sim.ws_url)
        notices = Notices(store, ConsolePoster(self.screen), engine.conference)
        engine.listen(notices.on_changes)

        async def watches_changed() -> None:
            await apply_watches(store, tracker, notices)

        service = Service(kazoo, engine, store, RightsPolicy(), on_watches_changed=watches_changed)
        frontend = Frontend(service, ConsoleActors(), command=self.command_name)
        await store.add_watch(CHANNEL, standup, talking=False, by=USER, at=time.time())
        tasks = [
            asyncio.create_task(engine.run()),
            asyncio.create_task(tracker.run()),
            asyncio.create_task(notices.run()),
        ]
        try:
            await watches_changed()
            await tracker.stream.wait_connected(timeout=10.0)
            self.screen.write(INTRO)
            underway = asyncio.Event()

            def watch_roster(changes: Sequence[Change]) -> None:
                conference = engine.conference(standup)
                if conference is not None and len(conference.participants) >= 3:
                    underway.set()

            engine.listen(watch_roster)
            meetings = asyncio.create_task(self._meetings(sim, standup, loop_meetings))
            # Commands make more sense once a few callers are in: wait for them (bounded).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(underway.wait(), timeout=15.0 * max(self.pace, 0.1))
            async for raw in lines:
                if not await self.handle(frontend, raw.strip()):
                    break
            else:
                # End of piped input: let the meeting finish so its summary is shown.
                if not loop_meetings:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(meetings), timeout=120.0)
            await _settle(engine, notices)
            meetings.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await meetings
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await kazoo.aclose()
            await store.close()
        self.screen.write("Bye. Run `confbot run` with real credentials to use it in Slack.")
        return 0

    async def _meetings(self, sim: KazooSimulator, standup: str, loop: bool) -> None:
        while True:
            await sim.run_script(standup, pace=self.pace)
            if not loop:
                return
            await asyncio.sleep(MEETING_GAP * self.pace)

    async def handle(self, frontend: Frontend, line: str) -> bool:
        """One typed line; False to stop."""
        if not line:
            return True
        if self.pending_confirm is not None:
            button, self.pending_confirm = self.pending_confirm, None
            if line.lower() in ("y", "yes"):
                await self._click(frontend, button)
            else:
                self.screen.write("Cancelled.")
            return True
        if line in ("quit", "exit"):
            return False
        if line.startswith(self.command_name):
            self.screen.write(f"> {line}")
            text = line[len(self.command_name) :].strip()
            reply = await frontend.command(USER, CHANNEL, text)
            self._show(reply)
            return True
        if line.split()[0] == "press":
            await self._press(frontend, line)
            return True
        self.screen.write(f"Type `{self.command_name} help`, `press N` or `quit`.")
        return True

    async def _press(self, frontend: Frontend, line: str) -> None:
        parts = line.split()
        number = int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else None
        button = self.screen.buttons.get(number) if number is not None else None
        if button is None:
            shown = ", ".join(str(n) for n in sorted(self.screen.buttons)) or "none yet"
            self.screen.write(f"No button {parts[1:] or ''} on screen (buttons: {shown}).")
            return
        self.screen.write(f"> press {number} ({button.label})")
        if button.confirm_text:
            self.screen.write(f"{button.confirm_text} — type yes to confirm.")
            self.pending_confirm = button
            return
        await self._click(frontend, button)

    async def _click(self, frontend: Frontend, button: ButtonRef) -> None:
        reply = await frontend.click(USER, CHANNEL, button.action_id, button.value)
        self._show(reply)

    def _show(self, reply: Reply) -> None:
        if reply.private is not None:
            self.screen.show("only you can see this", reply.private, buttons=True)
        if reply.channel_line is not None:
            self.screen.line("#demo · confbot", reply.channel_line)


async def _settle(engine: Engine, notices: Notices, timeout: float = 10.0) -> None:
    """Wait until every event is applied and every notice is out (or give up after timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await engine.settle()
        if notices.idle():
            return
        await notices.flush()
        await asyncio.sleep(0.05)


def main(argv: list[str] | None = None, *, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="confbot demo")
    parser.add_argument("--pace", type=float, default=1.0, help="scale the scripted meeting")
    args = parser.parse_args(argv)
    interactive = sys.stdin.isatty()
    screen = Screen(out or sys.stdout, color=interactive and (out is None))
    demo = Demo(screen, pace=args.pace)
    runner: Callable[[], AsyncIterator[str]] = _stdin_lines
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(demo.run(runner(), loop_meetings=interactive))
    return 0
