"""The reducer: events and snapshots in, exactly the changes a channel should hear about out."""

from __future__ import annotations

import json

from bot.domain.events import (
    ConferenceEnded,
    ConferenceInfo,
    ConferenceSnapshot,
    ConferenceStarted,
    DirectoryListed,
    Event,
    FlagsChanged,
    Joined,
    Left,
    LockChanged,
    LockedChanged,
    MeetingEnded,
    MeetingStarted,
    ParticipantFlags,
    ParticipantJoined,
    ParticipantLeft,
)
from bot.domain.model import Conference, Participant
from bot.domain.reducer import Registry, reduce

CID = "5edbfdd3b825314a71b0a05957392edb"
INFO = ConferenceInfo(CID, "Standup", ("4000",))


def person(pid: int, name: str, **flags: object) -> Participant:
    return Participant(
        participant_id=pid, name=name, number=f"10{pid:02d}", call_id=f"call-{pid}", **flags
    )  # type: ignore[arg-type]


def run(registry: Registry, *events: Event) -> list[object]:
    changes: list[object] = []
    for event in events:
        changes.extend(reduce(registry, event))
    return changes


def kinds(changes: list[object]) -> list[str]:
    return [type(c).__name__ for c in changes]


def test_first_join_starts_a_meeting_and_joins() -> None:
    registry: Registry = {}
    changes = run(registry, ParticipantJoined(CID, person(1, "Ada"), at=100.0, instance_id="run-1"))
    assert kinds(changes) == ["MeetingStarted", "Joined"]
    conf = registry[CID]
    assert conf.meeting is not None and conf.meeting.meeting_id == "run-1"
    assert conf.participants[1].joined_at == 100.0


def test_duplicate_join_is_not_announced_twice() -> None:
    registry: Registry = {}
    run(registry, ParticipantJoined(CID, person(1, "Ada"), at=100.0))
    again = run(registry, ParticipantJoined(CID, person(1, "Ada"), at=101.0))
    assert again == []


def test_flags_and_talk_time() -> None:
    registry: Registry = {}
    run(
        registry,
        ParticipantJoined(CID, person(1, "Ada"), at=0.0),
        ParticipantFlags(CID, 1, at=10.0, talking=True),
        ParticipantFlags(CID, 1, at=25.0, talking=False),
        ParticipantFlags(CID, 1, at=30.0, muted=True),
    )
    ada = registry[CID].participants[1]
    assert ada.muted and not ada.talking
    assert ada.talk_time(1000.0) == 15.0


def test_flag_event_for_unknown_participant_is_ignored() -> None:
    registry: Registry = {}
    assert run(registry, ParticipantFlags(CID, 7, at=1.0, muted=True)) == []


def test_last_leave_ends_the_meeting_with_a_summary() -> None:
    registry: Registry = {}
    changes = run(
        registry,
        ParticipantJoined(CID, person(1, "Ada"), at=0.0),
        ParticipantJoined(CID, person(2, "Grace"), at=5.0),
        ParticipantFlags(CID, 2, at=6.0, talking=True),
        ParticipantLeft(CID, 1, at=50.0),
        ParticipantLeft(CID, 2, at=60.0),
        ConferenceEnded(CID, at=61.0),
    )
    assert kinds(changes) == [
        "MeetingStarted",
        "Joined",
        "Joined",
        "FlagsChanged",
        "Left",
        "Left",
        "MeetingEnded",
    ]
    ended = changes[-1]
    assert isinstance(ended, MeetingEnded)
    assert ended.meeting.peak == 2
    assert ended.meeting.duration(1000.0) == 60.0
    talk = {a.name: a.talk_seconds for a in ended.meeting.attendees.values()}
    assert talk == {"Ada": 0.0, "Grace": 54.0}
    assert registry[CID].meeting is None


def test_rejoin_counts_once_in_attendees_and_adds_talk_time() -> None:
    registry: Registry = {}
    changes = run(
        registry,
        ParticipantJoined(CID, person(1, "Ada"), at=0.0),
        ParticipantJoined(CID, person(2, "Grace"), at=0.0),
        ParticipantFlags(CID, 1, at=0.0, talking=True),
        ParticipantLeft(CID, 1, at=10.0),
        ParticipantJoined(CID, Participant(3, "Ada", "1001", "call-3"), at=20.0),
        ParticipantFlags(CID, 3, at=20.0, talking=True),
        ParticipantLeft(CID, 3, at=25.0),
        ParticipantLeft(CID, 2, at=30.0),
    )
    ended = changes[-1]
    assert isinstance(ended, MeetingEnded)
    assert ended.meeting.attendees["1001"].talk_seconds == 15.0
    assert len(ended.meeting.attendees) == 2


def test_lock_events() -> None:
    registry: Registry = {}
    changes = run(registry, LockChanged(CID, True, at=1.0), LockChanged(CID, True, at=2.0))
    assert kinds(changes) == ["LockedChanged"]
    assert registry[CID].locked


def test_conference_destroy_leaves_everyone() -> None:
    registry: Registry = {}
    run(
        registry,
        ConferenceStarted(CID, at=0.0, instance_id="run-1"),
        ParticipantJoined(CID, person(1, "Ada"), at=1.0),
    )
    changes = run(registry, ConferenceEnded(CID, at=9.0))
    assert kinds(changes) == ["Left", "MeetingEnded"]


def snapshot(
    *people: Participant, at: float, locked: bool = False, run_id: str | None = None
) -> ConferenceSnapshot:
    return ConferenceSnapshot(INFO, locked, tuple(people), at=at, instance_id=run_id)


def test_snapshot_after_gap_yields_exactly_what_was_missed() -> None:
    registry: Registry = {}
    run(
        registry,
        ParticipantJoined(CID, person(1, "Ada"), at=0.0, instance_id="run-1"),
        ParticipantJoined(CID, person(2, "Grace"), at=1.0, instance_id="run-1"),
    )
    # During the gap: Grace left, Linus joined, Ada was muted, the room was locked.
    changes = run(
        registry,
        snapshot(
            person(1, "Ada", muted=True), person(3, "Linus"), at=50.0, locked=True, run_id="run-1"
        ),
    )
    assert sorted(kinds(changes)) == ["FlagsChanged", "Joined", "Left", "LockedChanged"]
    left = next(c for c in changes if isinstance(c, Left))
    joined = next(c for c in changes if isinstance(c, Joined))
    flags = next(c for c in changes if isinstance(c, FlagsChanged))
    assert left.participant.name == "Grace" and left.resync
    assert joined.participant.name == "Linus" and joined.resync
    assert flags.after.muted and not flags.before.muted
    assert set(registry[CID].participants) == {1, 3}
    # The same snapshot again changes nothing: no duplicate lines.
    assert (
        run(
            registry,
            snapshot(
                person(1, "Ada", muted=True),
                person(3, "Linus"),
                at=51.0,
                locked=True,
                run_id="run-1",
            ),
        )
        == []
    )


def test_snapshot_sees_a_new_run_of_the_same_conference() -> None:
    registry: Registry = {}
    run(registry, ParticipantJoined(CID, person(1, "Ada"), at=0.0, instance_id="run-1"))
    changes = run(registry, snapshot(person(1, "Bob"), at=500.0, run_id="run-2"))
    assert kinds(changes) == ["Left", "MeetingEnded", "MeetingStarted", "Joined"]
    assert registry[CID].meeting is not None
    assert registry[CID].meeting.meeting_id == "run-2"


def test_empty_snapshot_ends_a_meeting_missed_during_gap() -> None:
    registry: Registry = {}
    run(registry, ParticipantJoined(CID, person(1, "Ada"), at=0.0))
    changes = run(registry, snapshot(at=40.0))
    assert kinds(changes) == ["Left", "MeetingEnded"]
    assert not registry[CID].running


def test_snapshot_of_running_conference_starts_tracking() -> None:
    registry: Registry = {}
    changes = run(registry, snapshot(person(1, "Ada", talking=True), at=10.0, run_id="r"))
    assert kinds(changes) == ["MeetingStarted", "Joined"]
    assert isinstance(changes[0], MeetingStarted)
    assert registry[CID].participants[1].talking_since == 10.0


def test_directory_keeps_running_conferences_and_drops_deleted_idle_ones() -> None:
    registry: Registry = {"old": Conference("old", "Old")}
    run(registry, ParticipantJoined(CID, person(1, "Ada"), at=0.0))
    run(registry, DirectoryListed((ConferenceInfo("new", "New", ("5000",)),), at=1.0))
    assert set(registry) == {CID, "new"}
    run(registry, DirectoryListed((INFO,), at=2.0))
    assert registry[CID].name == "Standup"
    assert registry[CID].running


def test_lock_change_object() -> None:
    registry: Registry = {}
    (change,) = run(registry, LockChanged(CID, True, at=3.0))
    assert isinstance(change, LockedChanged) and change.conference.locked


def test_restored_state_then_snapshot_yields_what_happened_while_away() -> None:
    from bot.domain.codec import conference_from_dict, conference_to_dict
    from bot.domain.events import ConferenceRestored

    before: Registry = {}
    run(
        before,
        ParticipantJoined(CID, person(1, "Ada"), at=0.0, instance_id="run-1"),
        ParticipantJoined(CID, person(2, "Grace"), at=1.0, instance_id="run-1"),
        ParticipantFlags(CID, 2, at=2.0, talking=True),
    )
    saved = conference_to_dict(before[CID])
    restored = conference_from_dict(json.loads(json.dumps(saved)))  # as stored, as read back
    assert conference_to_dict(restored) == saved
    assert restored.participants[2].talking_since == 2.0
    # A new owner: restore, then the first REST snapshot (Grace gone, Linus in).
    after: Registry = {}
    assert run(after, ConferenceRestored(restored, at=50.0)) == []
    changes = run(after, snapshot(person(1, "Ada"), person(3, "Linus"), at=60.0, run_id="run-1"))
    assert sorted(kinds(changes)) == ["Joined", "Left"]
    left = next(c for c in changes if isinstance(c, Left))
    assert left.participant.name == "Grace" and left.participant.talk_seconds == 58.0


def test_restore_never_overwrites_live_state() -> None:
    from bot.domain.events import ConferenceRestored

    registry: Registry = {}
    run(registry, ParticipantJoined(CID, person(1, "Ada"), at=0.0, instance_id="run-1"))
    live = registry[CID]
    run(registry, ConferenceRestored(Conference(CID, "Old"), at=1.0))
    assert registry[CID] is live
