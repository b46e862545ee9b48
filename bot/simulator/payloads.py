"""The JSON shapes of realtime data: REST participant objects, ``_read_only`` blocks and event
payloads.

All keys are the normalized (snake_case) ones crossbar and blackhole deliver (reference §3, §5, §7).
"""

from __future__ import annotations

import math
import re
import secrets
from typing import Any

from bot.simulator.model import (
    NESTED,
    SWITCH_EXTERNAL_IP,
    SWITCH_HOSTNAME,
    SWITCH_URL,
    ZONE,
    Participant,
    Run,
    gregorian,
)

_UNSAFE = re.compile(r"[^A-Za-z0-9\-~_]")


def amqp_escape(word: str) -> str:
    """``kz_amqp_util:encode/1``: anything outside ``[A-Za-z0-9-~_]`` becomes ``%XX``."""
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), word)


def routing_key(event: str, account_id: str, conference_id: str, call_id: str | None) -> str:
    # Events without a member fall back to the conference id in the call position (reference §7.1).
    call = amqp_escape(call_id) if call_id is not None else conference_id
    return f"conference.event.{event}.{account_id}.{conference_id}.{call}"


def channel_vars(p: Participant) -> dict[str, Any]:
    """``conference_channel_vars``: the member's flags as they are now."""
    return {
        "is_moderator": p.moderator,
        "member_id": p.participant_id,
        "speak": p.speak,
        "hear": p.hear,
        "talking": p.talking,
        "floor": False,
        "video": False,
        "mute_detect": p.mute_detect,
        "energy_level": p.energy_level,
        "member_type": "moderator" if p.moderator else "member",
    }


def custom_channel_vars(p: Participant, *, account_id: str, realm: str) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "authorizing_id": p.device_id,
        "authorizing_type": "device",
        "presence_id": f"{p.number}@{realm}",
        "realm": realm,
        "username": f"user_{p.device_id[:6]}",
    }


def _with_flags(body: dict[str, Any], p: Participant, layout: str) -> dict[str, Any]:
    if layout == NESTED:
        body["conference_channel_vars"] = channel_vars(p)
    else:
        # The legacy layout carried the flags flat, plus current_energy (reference §7.5).
        body.update(channel_vars(p))
        body["current_energy"] = 0
    return body


def participant_object(
    run: Run, p: Participant, *, account_id: str, realm: str, now: float, layout: str
) -> dict[str, Any]:
    """One entry of ``GET .../participants`` (reference §5)."""
    join_time = gregorian(p.join_time)
    body: dict[str, Any] = {
        "call_id": p.call_id,
        "participant_id": p.participant_id,
        "caller_id_name": p.name,
        "caller_id_number": p.number,
        "conference_name": run.conference_id,
        "conference_uuid": run.instance_id,
        "switch_hostname": SWITCH_HOSTNAME,
        "join_time": join_time,
        "duration": gregorian(now) - join_time,
    }
    _with_flags(body, p, layout)
    body["custom_channel_vars"] = custom_channel_vars(p, account_id=account_id, realm=realm)
    body["custom_application_vars"] = {}
    return body


def idle_read_only() -> dict[str, Any]:
    """``empty_realtime_data/0``: the block of a conference that is not running."""
    return {"members": 0, "moderators": 0, "duration": 0, "is_locked": False}


def run_time(run: Run, now: float) -> int:
    return max(0, math.floor(now - run.start_time))


def listing_read_only(run: Run, now: float) -> dict[str, Any]:
    """``_read_only`` of a running conference in the list: the normalized conference_resp (§3.1)."""
    members, moderators = run.counts()
    return {
        "uuid": run.instance_id,
        "run_time": run_time(run, now),
        "start_time": gregorian(run.start_time),
        "is_locked": run.locked,
        "switch_hostname": SWITCH_HOSTNAME,
        "switch_url": SWITCH_URL,
        "switch_external_ip": SWITCH_EXTERNAL_IP,
        "participant_count": len(run.participants),
        "moderators": moderators,
        "members": members,
    }


def detail_read_only(
    run: Run | None, participants: list[dict[str, Any]], now: float
) -> dict[str, Any]:
    """``_read_only`` of ``GET .../conferences/{C}`` in the 4.3 form (§3.3)."""
    if run is None:
        return {**idle_read_only(), "participants": []}
    members, moderators = run.counts()
    return {
        "conference_id": run.conference_id,
        "uuid": run.instance_id,
        "run_time": run_time(run, now),
        "start_time": gregorian(run.start_time),
        "locked": run.locked,
        "switch_hostname": SWITCH_HOSTNAME,
        "switch_url": SWITCH_URL,
        "switch_external_ip": SWITCH_EXTERNAL_IP,
        "participant_count": len(run.participants),
        "zone": ZONE,
        "members": members,
        "moderators": moderators,
        "duration": run_time(run, now),
        "is_locked": run.locked,
        "participants": participants,
    }


def _headers(event_name: str, app_name: str) -> dict[str, Any]:
    return {
        "app_name": app_name,
        "app_version": "4.0.0",
        "event_category": "conference",
        "event_name": event_name,
        "msg_id": secrets.token_hex(8),
    }


def event_data(
    event: str,
    run: Run,
    p: Participant | None,
    *,
    account_id: str,
    realm: str,
    layout: str,
) -> dict[str, Any]:
    """The websocket ``data`` of a conference event (§7.3, §7.4); flags are as after the event."""
    body: dict[str, Any] = {
        "event": event,
        "conference_id": run.conference_id,
        "instance_id": run.instance_id,
        "account_id": account_id,
    }
    if p is not None:
        body.update(
            call_id=p.call_id,
            participant_id=p.participant_id,
            caller_id_name=p.name,
            caller_id_number=p.number,
            channel_presence_id=f"{p.number}@{realm}",
        )
        _with_flags(body, p, layout)
        body["custom_channel_vars"] = custom_channel_vars(p, account_id=account_id, realm=realm)
        body["custom_application_vars"] = {}
    body.update(_headers("event", "ecallmgr"))
    return body


def command_data(
    application_name: str, conference_id: str, participant_id: int | None
) -> dict[str, Any]:
    """The payload of a ``conference.command.{C}`` message crossbar casts for an action (§6.5)."""
    body: dict[str, Any] = {"application_name": application_name, "conference_id": conference_id}
    if participant_id is not None:
        body["participant_id"] = participant_id
    body.update(_headers("command", "crossbar"))
    return body
