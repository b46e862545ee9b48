"""The notices publisher on its own: a fake poster, a fake clock, changes in, Slack calls out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.events import ParticipantJoined, ParticipantLeft
from bot.domain.model import Participant
from bot.engine import Engine
from bot.notices import Notices
from bot.slack.poster import RateLimited
from bot.slack.render import Message
from bot.storage.store import Store

CID = "5edbfdd3b825314a71b0a05957392edb"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Poster:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []  # (kind, channel, text)
        self.refuse = 0

    async def post(self, channel_id: str, message: Message) -> str:
        if self.refuse:
            self.refuse -= 1
            raise RateLimited(2.0)
        self.calls.append(("post", channel_id, message.text))
        return f"ts{len(self.calls)}"

    async def update(self, channel_id: str, ts: str, message: Message) -> None:
        self.calls.append(("update", channel_id, message.text))


@pytest.fixture
async def setup(tmp_path: Path) -> tuple[Notices, Engine, Poster, Clock]:
    store = await Store.open(f"sqlite:///{tmp_path / 'n.db'}")
    engine = Engine()
    poster = Poster()
    clock = Clock()
    notices = Notices(
        store, poster, engine.conference, clock=clock, monotonic=clock, batch_window=0.0
    )
    engine.listen(notices.on_changes)
    await notices.set_watches([("C1", CID, False)])
    yield notices, engine, poster, clock  # type: ignore[misc]
    await store.close()


def join(engine: Engine, pid: int, name: str, at: float) -> None:
    engine.apply(ParticipantJoined(CID, Participant(pid, name, f"+1{pid}", f"c{pid}"), at, "run"))


async def test_a_burst_is_one_status_post_then_one_line(
    setup: tuple[Notices, Engine, Poster, Clock],
) -> None:
    notices, engine, poster, clock = setup
    for pid in range(20):
        join(engine, pid, f"Caller {pid}", clock.now)
    await notices.flush()
    assert [kind for kind, _, _ in poster.calls] == ["post"]  # the status message
    await notices.flush()  # too soon for another post in the channel
    assert len(poster.calls) == 1
    clock.now += 1.0
    await notices.flush()
    assert poster.calls[-1][2].startswith("Caller 0, Caller 1 and 18 others joined")


async def test_a_users_own_command_goes_first(setup: tuple[Notices, Engine, Poster, Clock]) -> None:
    notices, engine, poster, clock = setup
    join(engine, 1, "Ada", clock.now)
    notices.note_post("C1")  # an audit line was just posted in the channel
    await notices.flush()
    assert poster.calls == []
    clock.now += 1.0
    await notices.flush()
    assert [kind for kind, _, _ in poster.calls] == ["post"]


async def test_a_429_loses_nothing(setup: tuple[Notices, Engine, Poster, Clock]) -> None:
    notices, engine, poster, clock = setup
    join(engine, 1, "Ada", clock.now)
    await notices.flush()  # status message
    join(engine, 2, "Grace", clock.now)
    engine.apply(ParticipantLeft(CID, 1, clock.now))
    poster.refuse = 2
    for _ in range(3):
        clock.now += 1.0
        await notices.flush()
    assert notices.rate_limited >= 1
    clock.now += 2.0
    await notices.flush()
    posted = [text for kind, _, text in poster.calls if kind == "post"]
    assert any("Grace joined" in t and "Ada left" in t for t in posted), posted


async def test_edits_share_one_budget(setup: tuple[Notices, Engine, Poster, Clock]) -> None:
    notices, engine, poster, clock = setup
    join(engine, 1, "Ada", clock.now)
    await notices.flush()
    for n in range(40):
        engine.apply(
            ParticipantJoined(CID, Participant(100 + n, f"N{n}", "", f"x{n}"), clock.now, "run")
        )
        clock.now += 0.1
        await notices.flush()
    edits = sum(kind == "update" for kind, _, _ in poster.calls)
    # 4 s of changes: the burst allowance (5) plus 50 a minute, never one edit per change.
    assert 1 <= edits <= 5 + 4 * 50 / 60 + 1


async def test_at_most_one_call_a_second_per_channel(
    setup: tuple[Notices, Engine, Poster, Clock],
) -> None:
    notices, engine, poster, clock = setup
    start = clock.now
    for tick in range(100):  # 10 s of joins, leaves and talking, a change every 0.1 s
        join(engine, 1000 + tick, f"Caller {tick}", clock.now)
        if tick % 3 == 0:
            engine.apply(ParticipantLeft(CID, 1000 + tick - 3, clock.now))
        clock.now += 0.1
        await notices.flush()
    for _ in range(30):
        clock.now += 0.5
        await notices.flush()
    assert len(poster.calls) <= (clock.now - start) + 1
    assert notices.idle()
