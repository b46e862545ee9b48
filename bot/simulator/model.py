"""The realtime objects of a FreeSWITCH conference as ecallmgr reports them; shared constants."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

GREGORIAN_OFFSET = (
    62_167_219_200  # Kazoo counts seconds from year 0: Unix + this (reference §3.1, §5)
)

# The events ecallmgr publishes by default (reference §7.1), in its order.
CONFERENCE_EVENTS = (
    "conference-create",
    "conference-destroy",
    "lock",
    "unlock",
    "add-member",
    "del-member",
    "stop-talking",
    "start-talking",
    "mute-member",
    "unmute-member",
    "deaf-member",
    "undeaf-member",
)

NESTED = "nested"  # 4.3 and master: flags under conference_channel_vars
FLAT = "flat"  # legacy: flags at the top level of events and participants
LAYOUTS = (NESTED, FLAT)

SWITCH_HOSTNAME = "fs1.sim.kazoo"
SWITCH_URL = "sip:mod_sofia@192.0.2.10:11000"
SWITCH_EXTERNAL_IP = "192.0.2.10"
ZONE = "local"


def gregorian(unix: float) -> int:
    return math.floor(unix) + GREGORIAN_OFFSET


@dataclass
class Participant:
    """One conference member (a FreeSWITCH member on one call leg)."""

    participant_id: int
    call_id: str
    name: str
    number: str
    moderator: bool
    join_time: float
    speak: bool
    hear: bool
    device_id: str
    talking: bool = False
    mute_detect: bool = False
    energy_level: int = 20


@dataclass
class Run:
    """One run of a conference: from its first member joining until its last one leaves."""

    conference_id: str
    instance_id: str
    start_time: float
    locked: bool = False
    participants: dict[int, Participant] = field(default_factory=dict)

    def counts(self) -> tuple[int, int]:
        """(members, moderators), split on ``is_moderator`` as crossbar does."""
        moderators = sum(1 for p in self.participants.values() if p.moderator)
        return len(self.participants) - moderators, moderators
