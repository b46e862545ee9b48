"""The conferences resource of crossbar (reference §3-§5): documents, realtime data and actions.

Actions are fire and forget, as on Kazoo: crossbar casts a command to ``conference.command.{C}``
whether or not the conference runs or the member exists, and the switch applies what it can. The
answer never says whether anything happened; the websocket events do.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from bot.simulator.calls import Call, Reply, fail, invalid, ok
from bot.simulator.documents import ConferenceStore, Doc, adhoc, client_fields, deep_merge, public
from bot.simulator.envelope import error, success
from bot.simulator.model import Participant
from bot.simulator.state import ConferenceLocked, Message, Switchboard, UnknownParticipant
from bot.simulator.tokens import b64url_decode, b64url_encode

DEFAULT_PAGE_SIZE = 50
_INTEGER = re.compile(r"^-?[0-9]+$")

# action -> (the AMQP command crossbar casts, whom a bulk action touches: §3.7's flag filter)
_MEMBER_ACTIONS: dict[str, tuple[str, Callable[[Participant], bool]]] = {
    "mute": ("mute_participant", lambda p: not p.moderator and p.speak),
    "unmute": ("unmute_participant", lambda p: not p.moderator and not p.speak),
    "deaf": ("deaf_participant", lambda p: not p.moderator and p.hear),
    "undeaf": ("undeaf_participant", lambda p: not p.moderator and not p.hear),
    "kick": ("kick", lambda p: True),
}


def encode_start_key(doc_id: str) -> str:
    """Base64url of ``term_to_binary(<<DocId>>)``, as crossbar encodes start keys (§1.5)."""
    raw = doc_id.encode()
    return b64url_encode(b"\x83m" + len(raw).to_bytes(4, "big") + raw)


def decode_start_key(key: str) -> str | None:
    try:
        raw = b64url_decode(key)
    except ValueError:
        return None
    if raw[:2] != b"\x83m" or int.from_bytes(raw[2:6], "big") != len(raw) - 6:
        return None
    try:
        return raw[6:].decode()
    except UnicodeDecodeError:
        return None


class Conferences:
    """``/v2/accounts/{A}/conferences[/{C}[/participants[/{P}]]]`` once the caller is authorized."""

    def __init__(
        self,
        *,
        store: ConferenceStore,
        switchboard: Switchboard,
        publish: Callable[[list[Message]], None],
    ) -> None:
        self._store = store
        self._switchboard = switchboard
        self._publish = publish

    def handle(self, call: Call) -> Reply:
        kind, method = call.route.kind, call.method
        if kind == "conferences":
            return self._list(call) if method == "GET" else self._create(call)
        if kind == "conference":
            handler = {
                "GET": self._read,
                "PUT": self._conference_action,
                "POST": self._replace,
                "PATCH": self._patch,
                "DELETE": self._delete,
            }[method]
            return handler(call)
        if kind == "participants":
            return self._participants(call) if method == "GET" else self._bulk_action(call)
        return self._participant(call) if method == "GET" else self._participant_action(call)

    def _list(self, call: Call) -> Reply:
        paginate = str(call.query.get("paginate", "true")).lower() != "false"
        rows = self._store.listing()
        paging: dict[str, Any] = {}
        if paginate:
            raw_size = call.query.get("page_size", str(DEFAULT_PAGE_SIZE))
            if not _INTEGER.match(raw_size) or int(raw_size) < 1:
                detail = {"message": "Value must be at least 1", "target": 1, "value": raw_size}
                return invalid(call.meta, {"page_size": {"minimum": detail}})
            size = int(raw_size)
            start_key = call.query.get("start_key")
            if start_key is not None:
                start_id = decode_start_key(start_key)
                if start_id is None:
                    detail = {"message": "Failed to decode start_key", "value": start_key}
                    return invalid(call.meta, {"start_key": {"invalid": detail}})
                rows = [row for row in rows if row["id"] >= start_id]
                paging["start_key"] = start_key
            if len(rows) > size:
                paging["next_start_key"] = encode_start_key(rows[size]["id"])
                rows = rows[:size]
        for row in rows:
            row["_read_only"] = self._switchboard.listing_read_only(row["id"])
        # add_realtime/2 always sets page_size to the number returned.
        return 200, success(call.meta, rows, paging={"page_size": len(rows), **paging}), {}

    def _create(self, call: Call) -> Reply:
        problems = self._store.check(call.data)
        if problems is not None:
            return invalid(call.meta, problems)
        doc = self._store.create(call.data)
        return ok(call, 201, public(doc), doc["_rev"])

    def _conference_doc(self, conference_id: str) -> tuple[Doc, str | None]:
        """The stored document, or the ad-hoc default for an unknown id (§3.0)."""
        stored = self._store.get(conference_id)
        if stored is None:
            return adhoc(conference_id), None
        return public(stored), stored["_rev"]

    def _read(self, call: Call) -> Reply:
        doc, revision = self._conference_doc(call.route.conference_id)
        doc["_read_only"] = self._switchboard.detail_read_only(call.route.conference_id)
        return ok(call, 200, doc, revision)

    def _replace(self, call: Call) -> Reply:
        conference_id = call.route.conference_id
        if self._store.get(conference_id) is None:
            return fail(call.meta, "bad_identifier", cause=conference_id)
        problems = self._store.check(call.data, exclude_id=conference_id)
        if problems is not None:
            return invalid(call.meta, problems)
        doc = self._store.replace(conference_id, call.data)
        return ok(call, 200, public(doc), doc["_rev"])

    def _patch(self, call: Call) -> Reply:
        conference_id = call.route.conference_id
        stored = self._store.get(conference_id)
        if stored is None:
            return fail(call.meta, "bad_identifier", cause=conference_id)
        patch = call.data if isinstance(call.data, dict) else {}
        merged = deep_merge(client_fields(public(stored)), client_fields(patch))
        problems = self._store.check(merged, exclude_id=conference_id)
        if problems is not None:
            return invalid(call.meta, problems)
        doc = self._store.replace(conference_id, merged)
        return ok(call, 200, public(doc), doc["_rev"])

    def _delete(self, call: Call) -> Reply:
        conference_id = call.route.conference_id
        if self._store.get(conference_id) is None:
            return fail(call.meta, "bad_identifier", cause=conference_id)
        doc = self._store.delete(conference_id)
        return ok(call, 200, public(doc), doc["_rev"])

    def _conference_action(self, call: Call) -> Reply:
        conference_id = call.route.conference_id
        _, revision = self._conference_doc(conference_id)
        action = call.request_action()
        if action in ("lock", "unlock"):
            # Fire and forget: accepted whether or not the conference runs (§3.5).
            self._publish([self._switchboard.command(conference_id, action)])
            self._publish(self._switchboard.set_locked(conference_id, action == "lock"))
            return ok(call, 201, "ok", revision)
        if action == "play":
            return self._play(call, None, revision)
        if action == "dial":
            return self._dial(call)
        return fail(call.meta, "faulty_request")

    def _play(self, call: Call, participant_id: int | None, revision: str | None) -> Reply:
        payload = call.payload()
        media_id = payload.get("media_id") if isinstance(payload, dict) else None
        if not isinstance(media_id, str) or not media_id:
            detail = {"message": "Field is required but missing"}
            return invalid(call.meta, {"data.media_id": {"required": detail}})
        # Media is not modelled: any id or URL is accepted, nothing is heard.
        message = self._switchboard.command(call.route.conference_id, "play", participant_id)
        self._publish([message])
        return ok(call, 201, "ok", revision)

    def _dial(self, call: Call) -> Reply:
        """``dial``: every endpoint answers at once and joins the conference as a member."""
        payload = call.payload()
        endpoints = payload.get("endpoints") if isinstance(payload, dict) else None
        if not isinstance(payload, dict) or not isinstance(endpoints, list) or not endpoints:
            detail = {"message": "Field is required but missing"}
            return invalid(call.meta, {"data.endpoints": {"required": detail}})
        flags = payload.get("participant_flags") or []
        conference_id = call.route.conference_id
        self._publish([self._switchboard.command(conference_id, "dial")])
        responses = []
        for endpoint in endpoints:
            endpoint_id = endpoint if isinstance(endpoint, str) else json.dumps(endpoint)
            try:
                participant_id, messages = self._switchboard.join(
                    conference_id,
                    str(payload.get("caller_id_name") or endpoint_id),
                    str(payload.get("caller_id_number") or endpoint_id),
                    moderator="is_moderator" in flags,
                    speak="mute" not in flags,
                    hear="deaf" not in flags,
                )
            except ConferenceLocked:
                responses.append(
                    {"endpoint_id": endpoint_id, "status": "error", "message": "conference locked"}
                )
                continue
            self._publish(messages)
            joined = self._switchboard.participant(conference_id, participant_id)
            call_id = joined.call_id if joined is not None else ""
            responses.append(
                {
                    "call_id": call_id,
                    "endpoint_id": endpoint_id,
                    "job_id": str(uuid.uuid4()),
                    "message": f"dial resulted in call id {call_id}",
                    "status": "success",
                }
            )
        return ok(call, 201, {"endpoint_responses": responses})

    # -- participants (§3.6-§3.9) ------------------------------------------------------------------

    def _participants(self, call: Call) -> Reply:
        return ok(call, 200, self._switchboard.participant_objects(call.route.conference_id))

    def _participant(self, call: Call) -> Reply:
        wanted = call.route.participant
        for participant in self._switchboard.participant_objects(call.route.conference_id):
            if str(participant["participant_id"]) == wanted:
                return ok(call, 200, participant)
        return ok(call, 200, {})  # enrich_participant/3 answers {} rather than 404

    def _bulk_action(self, call: Call) -> Reply:
        conference_id = call.route.conference_id
        doc, revision = self._conference_doc(conference_id)
        action = call.req_value("action")
        if action == "relate":
            return self._relate(call)
        if action == "play":
            return self._play(call, None, revision)
        if not isinstance(action, str) or action not in _MEMBER_ACTIONS:
            return fail(call.meta, "faulty_request")
        run = self._switchboard.run(conference_id)
        _, affected = _MEMBER_ACTIONS[action]
        for participant in list(run.participants.values()) if run is not None else []:
            if affected(participant):
                self._act(conference_id, participant.participant_id, action)
        # The handler returns the validated context unchanged: the conference document, not "ok".
        return ok(call, 201, doc, revision)

    def _relate(self, call: Call) -> Reply:
        payload = call.payload()
        payload = payload if isinstance(payload, dict) else {}
        conference_id = call.route.conference_id
        for key in ("participant_id", "other_participant"):
            value = payload.get(key)
            known = isinstance(value, int) and self._switchboard.participant(conference_id, value)
            if not known:
                detail = {"id": value, "message": "bad identifier"}
                return 404, error(call.meta, 404, "bad_identifier", detail), {}
        self._publish([self._switchboard.command(conference_id, "relate_participants")])
        return ok(call, 201, "relating participants")

    def _participant_action(self, call: Call) -> Reply:
        conference_id = call.route.conference_id
        doc, revision = self._conference_doc(conference_id)
        action = call.req_value("action")
        if not _INTEGER.match(call.route.participant):
            # kz_term:to_integer/1 raises, kazoo_bindings swallows it: success, the document (§3.9).
            return ok(call, 201, doc, revision)
        participant_id = int(call.route.participant)
        if action == "play":
            return self._play(call, participant_id, revision)
        if not isinstance(action, str) or action not in _MEMBER_ACTIONS:
            return ok(call, 201, doc, revision)  # no matching clause: the same silent success
        self._act(conference_id, participant_id, action)
        return ok(call, 201, "ok", revision)

    def _act(self, conference_id: str, participant_id: int, action: str) -> None:
        """Cast the command, then let the switch apply it (if the member is there) and report it."""
        command, _ = _MEMBER_ACTIONS[action]
        self._publish([self._switchboard.command(conference_id, command, participant_id)])
        board = self._switchboard
        try:
            if action == "kick":
                self._publish(board.leave(conference_id, participant_id))
            elif action in ("mute", "unmute"):
                self._publish(board.set_speak(conference_id, participant_id, action == "unmute"))
            else:
                self._publish(board.set_hear(conference_id, participant_id, action == "undeaf"))
        except UnknownParticipant:
            pass  # nothing checks that the member exists; the command just goes nowhere
