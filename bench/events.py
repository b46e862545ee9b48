"""Frames per second through parse, translate and reducer, beside json.loads of the same frames.

Run: `.venv/bin/python bench/events.py [--frames N] [--participants P] [--rounds R]`.
Both are measured in the same process, on one core, best of R rounds; the ratio is what matters on a
shared machine. Target: the pipeline keeps at least a quarter of json.loads' throughput.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Callable

from bot.engine import Engine
from bot.kazoo import translate
from bot.kazoo.models import EventFrame, parse_frame

ACCOUNT = "9d351ad7ffd6f846313af9eed3bb7b85"
CONFERENCE = "5edbfdd3b825314a71b0a05957392edb"


def frame(event: str, pid: int, **vars_: object) -> str:
    """A 4.3-layout event frame, as blackhole delivers it (reference section 7.4)."""
    call_id = f"call-{pid}"
    channel_vars = {
        "is_moderator": pid == 1,
        "member_id": pid,
        "speak": True,
        "hear": True,
        "talking": False,
        "floor": False,
        "video": False,
        "mute_detect": False,
        "energy_level": 20,
        "member_type": "member",
        **vars_,
    }
    return json.dumps(
        {
            "action": "event",
            "subscribed_key": f"conference.event.{CONFERENCE}.*",
            "subscription_key": f"conference.event.*.{ACCOUNT}.{CONFERENCE}.*",
            "name": "event",
            "routing_key": f"conference.event.{event}.{ACCOUNT}.{CONFERENCE}.{call_id}",
            "data": {
                "event": event,
                "conference_id": CONFERENCE,
                "instance_id": "d5765180-53d5-4104-860e-b352f3f8e6b1",
                "account_id": ACCOUNT,
                "call_id": call_id,
                "participant_id": pid,
                "caller_id_name": f"Caller {pid}",
                "caller_id_number": f"1{pid:03d}",
                "channel_presence_id": f"{pid}@kamailio.kazoo",
                "conference_channel_vars": channel_vars,
                "custom_channel_vars": {"account_id": ACCOUNT, "owner_id": uuid.uuid4().hex},
                "custom_application_vars": {},
                "app_name": "ecallmgr",
                "app_version": "4.0.0",
                "event_category": "conference",
                "event_name": "event",
                "msg_id": uuid.uuid4().hex[:16],
            },
        }
    )


def workload(count: int, participants: int, seed: int = 7) -> list[str]:
    """Everyone joins, then a realistic mix: mostly talking, some mute/deaf, a few rejoins."""
    rng = random.Random(seed)
    frames = [frame("add-member", pid) for pid in range(1, participants + 1)]
    talking: set[int] = set()
    while len(frames) < count:
        pid = rng.randint(1, participants)
        roll = rng.random()
        if roll < 0.8:
            on = pid not in talking
            talking.symmetric_difference_update({pid})
            frames.append(frame("start-talking" if on else "stop-talking", pid, talking=on))
        elif roll < 0.9:
            frames.append(frame(rng.choice(["mute-member", "unmute-member"]), pid))
        elif roll < 0.97:
            frames.append(frame(rng.choice(["deaf-member", "undeaf-member"]), pid))
        else:
            frames.append(frame("del-member", pid))
            frames.append(frame("add-member", pid))
    return frames[:count]


def pipeline(frames: list[str]) -> None:
    engine = Engine()
    now = time.time()
    for raw in frames:
        parsed = parse_frame(raw)
        if isinstance(parsed, EventFrame):
            event = translate.event(parsed, now)
            if event is not None:
                engine.apply(event)


def raw_json(frames: list[str]) -> None:
    for raw in frames:
        json.loads(raw)


def best(fn: Callable[[list[str]], None], frames: list[str], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(frames)
        timings.append(time.perf_counter() - start)
    return min(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    frames = workload(args.frames, args.participants)
    size = sum(len(f) for f in frames) / len(frames)
    loads = best(raw_json, frames, args.rounds)
    piped = best(pipeline, frames, args.rounds)
    loads_fps = len(frames) / loads
    piped_fps = len(frames) / piped
    print(f"frames: {len(frames)} (avg {size:.0f} bytes), participants: {args.participants}")
    print(f"json.loads:                        {loads_fps:12,.0f} frames/s")
    print(f"parse + translate + reducer:       {piped_fps:12,.0f} frames/s")
    print(f"ratio (pipeline / json.loads):     {piped_fps / loads_fps:12.2f}  (target >= 0.25)")


if __name__ == "__main__":
    main()
