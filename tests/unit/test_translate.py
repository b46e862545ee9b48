"""Kazoo frames and REST documents become domain events, in both participant layouts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.domain.events import (
    ConferenceEnded,
    ConferenceStarted,
    LockChanged,
    ParticipantFlags,
    ParticipantJoined,
    ParticipantLeft,
)
from bot.kazoo import translate
from bot.kazoo.models import (
    GREGORIAN_UNIX_OFFSET,
    ConferenceDoc,
    EventFrame,
    ParticipantWire,
    parse_frame,
)

ACCOUNT = "9d351ad7ffd6f846313af9eed3bb7b85"
CID = "5edbfdd3b825314a71b0a05957392edb"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "kazoo-data"


def frame(event: str, *, nested: bool = True, **flags: Any) -> EventFrame:
    vars_ = {"is_moderator": False, "member_id": 20, "speak": True, "hear": True, "talking": False}
    vars_.update(flags)
    data: dict[str, Any] = {
        "event": event,
        "conference_id": CID,
        "instance_id": "run-1",
        "account_id": ACCOUNT,
        "call_id": "934800819",
        "participant_id": 20,
        "caller_id_name": "Ada",
        "caller_id_number": "1000",
    }
    if nested:
        data["conference_channel_vars"] = vars_
    else:
        data.update({k: v for k, v in vars_.items() if k != "member_id"})
    raw = {
        "action": "event",
        "subscribed_key": f"conference.event.{CID}.*",
        "subscription_key": f"conference.event.*.{ACCOUNT}.{CID}.*",
        "name": "event",
        "routing_key": f"conference.event.{event}.{ACCOUNT}.{CID}.934800819",
        "data": data,
    }
    parsed = parse_frame(json.dumps(raw))
    assert isinstance(parsed, EventFrame)
    return parsed


@pytest.mark.parametrize("nested", [True, False])
def test_participant_events_in_both_layouts(nested: bool) -> None:
    joined = translate.event(frame("add-member", nested=nested, speak=False), 5.0)
    assert isinstance(joined, ParticipantJoined)
    assert joined.participant.name == "Ada" and joined.participant.muted
    assert joined.instance_id == "run-1"
    muted = translate.event(frame("mute-member", nested=nested, speak=False), 6.0)
    assert muted == ParticipantFlags(
        CID, 20, 6.0, muted=True, deaf=False, talking=False, is_moderator=False
    )
    talking = translate.event(frame("start-talking", nested=nested), 7.0)
    assert isinstance(talking, ParticipantFlags) and talking.talking is True
    left = translate.event(frame("del-member", nested=nested), 8.0)
    assert left == ParticipantLeft(CID, 20, 8.0, "934800819")


def test_the_event_name_wins_over_stale_vars() -> None:
    # A legacy payload might carry vars from before the change: the event says what happened.
    unmuted = translate.event(frame("unmute-member", speak=False), 1.0)
    assert isinstance(unmuted, ParticipantFlags) and unmuted.muted is False


def test_conference_events() -> None:
    assert translate.event(frame("lock"), 1.0) == LockChanged(CID, True, 1.0)
    assert translate.event(frame("unlock"), 1.0) == LockChanged(CID, False, 1.0)
    assert translate.event(frame("conference-create"), 1.0) == ConferenceStarted(CID, 1.0, "run-1")
    assert translate.event(frame("conference-destroy"), 1.0) == ConferenceEnded(CID, 1.0)
    assert translate.event(frame("some-future-event"), 1.0) is None


def test_the_legacy_doc_example_translates() -> None:
    path = SHARED / "master/docs-examples/applications__crossbar__doc__conference.md.block12.json"
    if not path.exists():
        pytest.skip("the shared Kazoo reference data is not beside this checkout")
    parsed = parse_frame(path.read_bytes())
    assert isinstance(parsed, EventFrame)
    change = translate.event(parsed, 1.0)
    assert change is not None
    assert getattr(change, "conference_id", None) == parsed.data.conference_id


def test_rest_participants_become_a_snapshot() -> None:
    doc = ConferenceDoc.model_validate(
        {
            "id": CID,
            "name": "Standup",
            "conference_numbers": ["4000"],
            "member": {"numbers": ["4001"], "pins": ["1234"]},
            "_read_only": {"uuid": "run-9", "is_locked": True, "members": 1, "moderators": 0},
        }
    )
    wire = ParticipantWire.model_validate(
        {
            "participant_id": 3,
            "call_id": "c3",
            "caller_id_name": "Grace",
            "caller_id_number": "1001",
            "join_time": GREGORIAN_UNIX_OFFSET + 1_700_000_000,
            "conference_channel_vars": {"speak": False, "hear": True, "talking": True},
        }
    )
    snap = translate.snapshot(doc, [wire], 1_700_000_100.0)
    assert snap.locked and snap.instance_id == "run-9"
    assert snap.info.numbers == ("4000", "4001")  # numbers, never pins
    (grace,) = snap.participants
    assert grace.muted and grace.talking and grace.joined_at == 1_700_000_000.0
