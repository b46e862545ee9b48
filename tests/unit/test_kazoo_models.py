"""Wire models against Kazoo's own schemas and examples (from ../shared/reference/kazoo-data)."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.errors import KazooProtocolError
from bot.kazoo.models import (
    CONFERENCE_EVENT_ADAPTER,
    GREGORIAN_UNIX_OFFSET,
    KNOWN_EVENT_NAMES,
    AddMember,
    AuthResult,
    ConferenceCreate,
    ConferenceDestroy,
    ConferenceDoc,
    DeafMember,
    DelMember,
    Envelope,
    EventFrame,
    Lock,
    MemberSettings,
    MuteMember,
    ParticipantEvent,
    ParticipantWire,
    RealtimeBlock,
    ReplyFrame,
    StartTalking,
    StopTalking,
    UndeafMember,
    UnknownEvent,
    UnknownFrame,
    Unlock,
    UnmuteMember,
    parse_frame,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
KAZOO_DATA = REPO_ROOT.parent / "shared" / "reference" / "kazoo-data"
BRANCHES = ["4.3", "master"]
CONFERENCE_SCHEMA = "applications/crossbar/priv/couchdb/schemas/conferences.json"
LEGACY_EVENT = {  # the "Example event" block of conference.md; its number differs per branch
    "4.3": "docs-examples/applications__crossbar__doc__conference.md.block13.json",
    "master": "docs-examples/applications__crossbar__doc__conference.md.block12.json",
}


def kazoo_file(branch: str, path: str) -> Path:
    if not KAZOO_DATA.is_dir():
        pytest.skip(f"Kazoo reference data not available at {KAZOO_DATA}")
    return KAZOO_DATA / branch / path


def kazoo_json(branch: str, path: str) -> Any:
    return json.loads(kazoo_file(branch, path).read_text())


# §7.4 of the reference: a 4.3 mute-member event as delivered (flags nested).
MUTE_FRAME_4_3 = {
    "action": "event",
    "subscribed_key": "conference.event.5edbfdd3b825314a71b0a05957392edb.*",
    "subscription_key": (
        "conference.event.*.9d351ad7ffd6f846313af9eed3bb7b85.5edbfdd3b825314a71b0a05957392edb.*"
    ),
    "name": "event",
    "routing_key": (
        "conference.event.mute-member.9d351ad7ffd6f846313af9eed3bb7b85."
        "5edbfdd3b825314a71b0a05957392edb.934800819"
    ),
    "data": {
        "event": "mute-member",
        "conference_id": "5edbfdd3b825314a71b0a05957392edb",
        "instance_id": "d5765180-53d5-4104-860e-b352f3f8e6b1",
        "account_id": "9d351ad7ffd6f846313af9eed3bb7b85",
        "call_id": "934800819",
        "participant_id": 20,
        "caller_id_name": "sip1",
        "caller_id_number": "sip1",
        "channel_presence_id": "1000@kamailio.kazoo",
        "conference_channel_vars": {
            "is_moderator": False,
            "member_id": 20,
            "speak": False,
            "hear": True,
            "talking": False,
            "floor": False,
            "video": False,
            "mute_detect": False,
            "energy_level": 20,
            "member_type": "member",
        },
        "custom_channel_vars": {
            "account_id": "9d351ad7ffd6f846313af9eed3bb7b85",
            "owner_id": "32d8788da9506b4b1991d5bb86d27b0a",
            "authorizing_id": "6507f40b09a61fbb8b025dbad9316eb5",
            "authorizing_type": "device",
        },
        "custom_application_vars": {},
        "app_name": "ecallmgr",
        "app_version": "4.0.0",
        "event_category": "conference",
        "event_name": "event",
        "msg_id": "a6fbbf034b5cd3af",
    },
}


def frame_with(data: dict[str, Any]) -> str:
    return json.dumps({**MUTE_FRAME_4_3, "data": data})


# --- events ---------------------------------------------------------------------------------------


def test_4_3_nested_event_parses_with_flags_from_channel_vars() -> None:
    frame = parse_frame(json.dumps(MUTE_FRAME_4_3))

    assert isinstance(frame, EventFrame)
    assert frame.subscribed_key == MUTE_FRAME_4_3["subscribed_key"]
    event = frame.data
    assert isinstance(event, MuteMember)
    assert (event.participant_id, event.call_id) == (20, "934800819")
    assert (event.speak, event.hear, event.talking, event.is_moderator) == (
        False,
        True,
        False,
        False,
    )
    assert event.conference_channel_vars is not None
    assert event.conference_channel_vars.member_type == "member"
    # Unknown keys are kept, not dropped.
    assert event.model_extra is not None
    assert event.model_extra["msg_id"] == "a6fbbf034b5cd3af"


@pytest.mark.parametrize("branch", BRANCHES)
def test_legacy_flat_event_parses_in_an_envelope(branch: str) -> None:
    payload = kazoo_json(branch, LEGACY_EVENT[branch])
    assert payload["event_name"] == "participant_event"  # the file is the legacy layout

    frame = parse_frame(frame_with(payload))

    assert isinstance(frame, EventFrame)
    event = frame.data
    assert isinstance(event, AddMember)
    assert event.conference_channel_vars is None
    assert (event.speak, event.hear, event.talking) == (True, True, False)
    assert event.is_moderator is None  # the legacy example does not say
    assert event.participant_id == 20
    assert event.member_id == 20
    assert event.custom_channel_vars is not None
    assert event.custom_channel_vars["owner_id"] == "32d8788da9506b4b1991d5bb86d27b0a"
    assert event.model_extra is not None
    assert event.model_extra["focus"] == "freeswitch@freeswitch.kazoo"


@pytest.mark.parametrize("branch", BRANCHES)
def test_bare_legacy_payload_becomes_an_event_frame(branch: str) -> None:
    raw = kazoo_file(branch, LEGACY_EVENT[branch]).read_bytes()

    frame = parse_frame(raw)

    assert isinstance(frame, EventFrame)
    assert (frame.name, frame.routing_key) == ("participant_event", "participant_event")
    assert isinstance(frame.data, AddMember)
    assert frame.data.caller_id_name == "sip1"


def test_nested_flag_wins_over_flat_and_flat_fills_gaps() -> None:
    data = {
        "event": "unmute-member",
        "participant_id": 3,
        "speak": False,
        "hear": False,
        "is_moderator": True,
        "conference_channel_vars": {"speak": True, "is_moderator": None},
    }

    event = CONFERENCE_EVENT_ADAPTER.validate_python(data)

    assert isinstance(event, UnmuteMember)
    assert event.speak is True  # nested wins
    assert event.hear is False  # not nested: flat
    assert event.is_moderator is True  # nested null: flat


def test_member_id_falls_back_to_channel_vars() -> None:
    event = CONFERENCE_EVENT_ADAPTER.validate_python(
        {"event": "del-member", "conference_channel_vars": {"member_id": 9}}
    )
    assert isinstance(event, DelMember)
    assert (event.participant_id, event.member_id) == (None, 9)


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("add-member", AddMember),
        ("del-member", DelMember),
        ("start-talking", StartTalking),
        ("stop-talking", StopTalking),
        ("mute-member", MuteMember),
        ("unmute-member", UnmuteMember),
        ("deaf-member", DeafMember),
        ("undeaf-member", UndeafMember),
        ("lock", Lock),
        ("unlock", Unlock),
        ("conference-create", ConferenceCreate),
        ("conference-destroy", ConferenceDestroy),
    ],
)
def test_each_event_name_has_its_model(name: str, model: type[Any]) -> None:
    data = {**MUTE_FRAME_4_3["data"], "event": name}  # type: ignore[dict-item]
    frame = parse_frame(frame_with(data))
    assert isinstance(frame, EventFrame)
    assert type(frame.data) is model
    assert frame.data.conference_id == "5edbfdd3b825314a71b0a05957392edb"
    assert issubclass(model, ParticipantEvent) == name.endswith(("-member", "-talking"))


def test_conference_level_event_without_member_keys() -> None:
    frame = parse_frame(
        frame_with(
            {
                "event": "conference-destroy",
                "conference_id": "5edbfdd3b825314a71b0a05957392edb",
                "instance_id": "d5765180-53d5-4104-860e-b352f3f8e6b1",
                "account_id": "9d351ad7ffd6f846313af9eed3bb7b85",
            }
        )
    )
    assert isinstance(frame, EventFrame)
    assert isinstance(frame.data, ConferenceDestroy)
    assert frame.data.instance_id == "d5765180-53d5-4104-860e-b352f3f8e6b1"


def test_unknown_event_name_is_kept_not_refused() -> None:
    frame = parse_frame(frame_with({"event": "play-file-done", "conference_id": "c", "x": [1]}))
    assert isinstance(frame, EventFrame)
    assert isinstance(frame.data, UnknownEvent)
    assert frame.data.event == "play-file-done"
    assert frame.data.model_extra == {"x": [1]}


def test_event_data_without_event_key_is_unknown() -> None:
    frame = parse_frame(frame_with({"something": "else"}))
    assert isinstance(frame, EventFrame)
    assert isinstance(frame.data, UnknownEvent)
    assert frame.data.event is None


def test_known_event_that_does_not_fit_is_an_error_not_unknown() -> None:
    data = {**MUTE_FRAME_4_3["data"], "participant_id": "twenty"}  # type: ignore[dict-item]
    with pytest.raises(KazooProtocolError, match="participant_id"):
        parse_frame(frame_with(data))


# --- other frames ---------------------------------------------------------------------------------


def test_reply_frames() -> None:
    ok = parse_frame(
        '{"action":"reply","request_id":"r1","status":"success",'
        '"data":{"subscribed":["conference.event.c.*"]}}'
    )
    assert isinstance(ok, ReplyFrame)
    assert ok.ok and ok.errors == [] and ok.request_id == "r1"
    assert ok.data == {"subscribed": ["conference.event.c.*"]}

    failed = parse_frame(
        b'{"action":"reply","request_id":"r2","status":"error",'
        b'"data":{"errors":["invalid format for conference subscription : event, c, *"]}}'
    )
    assert isinstance(failed, ReplyFrame)
    assert not failed.ok
    assert failed.errors == ["invalid format for conference subscription : event, c, *"]


def test_unknown_frames_are_kept() -> None:
    frame = parse_frame('{"action":"noop","hello":1}')
    assert isinstance(frame, UnknownFrame)
    assert frame.action == "noop"
    assert frame.model_extra == {"hello": 1}
    assert isinstance(parse_frame("{}"), UnknownFrame)


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        b"\xff\xfe",
        "[1, 2]",
        '"event"',
        "",
        '{"action":"event"}',  # an event needs data
        '{"action":"event","data":[]}',
        '{"action":"reply","request_id":5}',
    ],
)
def test_frames_that_do_not_fit_raise_protocol_error(raw: str | bytes) -> None:
    with pytest.raises(KazooProtocolError):
        parse_frame(raw)


def test_protocol_error_does_not_echo_the_frame() -> None:
    secret = "eyJhbGciOiJSUzI1NiJ9.secret.sig"
    with pytest.raises(KazooProtocolError) as caught:
        parse_frame('{"action":"reply","request_id":["' + secret + '"]}')
    assert secret not in str(caught.value)
    with pytest.raises(KazooProtocolError) as caught:
        parse_frame('{"auth_token":"' + secret + '" oops')
    assert secret not in str(caught.value)


def test_frames_are_frozen() -> None:
    frame = parse_frame(json.dumps(MUTE_FRAME_4_3))
    with pytest.raises(ValidationError):
        frame.action = "reply"


@given(st.one_of(st.text(), st.binary()))
def test_parse_frame_only_ever_raises_protocol_errors(raw: str | bytes) -> None:
    with contextlib.suppress(KazooProtocolError):
        parse_frame(raw)


@given(st.text())
def test_any_event_name_parses(name: str) -> None:
    frame = parse_frame(json.dumps({"action": "event", "data": {"event": name}}))
    assert isinstance(frame, EventFrame)
    assert frame.data.event == name
    assert isinstance(frame.data, UnknownEvent) == (name not in KNOWN_EVENT_NAMES)


# --- conference documents -------------------------------------------------------------------------


@pytest.mark.parametrize("branch", BRANCHES)
def test_every_schema_key_is_a_declared_field(branch: str) -> None:
    schema = kazoo_json(branch, CONFERENCE_SCHEMA)
    fields = {f.alias or name for name, f in ConferenceDoc.model_fields.items()}
    assert set(schema["properties"]) <= fields
    settings_fields = set(MemberSettings.model_fields)
    for role in ("member", "moderator"):
        assert set(schema["properties"][role]["properties"]) <= settings_fields


@pytest.mark.parametrize("branch", BRANCHES)
def test_defaults_agree_with_the_schema(branch: str) -> None:
    props = kazoo_json(branch, CONFERENCE_SCHEMA)["properties"]
    doc = ConferenceDoc.model_validate({})
    for role in ("member", "moderator"):
        settings = getattr(doc, role)
        for key, spec in props[role]["properties"].items():
            if "default" in spec:
                assert getattr(settings, key) == spec["default"], (role, key)
    assert doc.member.join_muted is True and doc.moderator.join_muted is False
    assert doc.conference_numbers == props["conference_numbers"]["default"]
    assert doc.play_name is props["play_name"]["default"]


@pytest.mark.parametrize("branch", BRANCHES)
@pytest.mark.parametrize("key", ["name", "owner_id"])
def test_string_lengths_agree_with_the_schema(branch: str, key: str) -> None:
    spec = kazoo_json(branch, CONFERENCE_SCHEMA)["properties"][key]
    low, high = spec["minLength"], spec["maxLength"]
    ConferenceDoc.model_validate({key: "x" * low})
    ConferenceDoc.model_validate({key: "x" * high})
    for bad in (low - 1, high + 1):
        with pytest.raises(ValidationError):
            ConferenceDoc.model_validate({key: "x" * bad})


def _number_lists(props: dict[str, Any]) -> list[tuple[list[str], dict[str, Any]]]:
    """(path, schema) of every list of digit strings in the conference schema."""
    found = [(["conference_numbers"], props["conference_numbers"])]
    for role in ("member", "moderator"):
        for key in ("numbers", "pins"):
            found.append(([role, key], props[role]["properties"][key]))
    return found


def _nest(path: list[str], value: Any) -> dict[str, Any]:
    return {path[0]: value} if len(path) == 1 else {path[0]: _nest(path[1:], value)}


@pytest.mark.parametrize("branch", BRANCHES)
def test_digit_lists_agree_with_the_schema(branch: str) -> None:
    props = kazoo_json(branch, CONFERENCE_SCHEMA)["properties"]
    for path, spec in _number_lists(props):
        pattern = re.compile(spec["items"]["pattern"])
        for value in ("1000", "0", "12a", "", " 1", "١٢"):
            good = pattern.search(value) is not None
            try:
                ConferenceDoc.model_validate(_nest(path, [value]))
            except ValidationError:
                assert not good, (path, value)
            else:
                assert good, (path, value)
        duplicated = _nest(path, ["1000", "1000"])
        if spec.get("uniqueItems"):
            with pytest.raises(ValidationError):
                ConferenceDoc.model_validate(duplicated)
        else:
            # Pins: the schema allows duplicates; we refuse them on purpose (see ConferenceDoc).
            assert path[-1] == "pins"
            with pytest.raises(ValidationError):
                ConferenceDoc.model_validate(duplicated)


@pytest.mark.parametrize("branch", BRANCHES)
@pytest.mark.parametrize("key", ["play_entry_tone", "play_exit_tone"])
def test_tones_are_boolean_or_string_in_both_schema_spellings(branch: str, key: str) -> None:
    spec = kazoo_json(branch, CONFERENCE_SCHEMA)["properties"][key]
    types = spec.get("type") or [choice["type"] for choice in spec["oneOf"]]
    assert sorted(types) == ["boolean", "string"]
    assert ConferenceDoc.model_validate({key: True}).model_dump()[key] is True
    assert ConferenceDoc.model_validate({key: "tone_stream://%(200,0,500)"}).model_dump()[key]
    with pytest.raises(ValidationError):  # stricter than the schema: an empty tone means nothing
        ConferenceDoc.model_validate({key: ""})
    with pytest.raises(ValidationError):
        ConferenceDoc.model_validate({key: {"tone": 1}})


@pytest.mark.parametrize("branch", BRANCHES)
def test_stored_document_fixture(branch: str) -> None:
    raw = kazoo_json(branch, "core/kazoo_call/test/fixtures/twiml_conference_doc.json")

    doc = ConferenceDoc.model_validate(raw)

    assert doc.id == "1a8dbba6c6237d7442404069a655f12c"
    assert doc.max_participants == 40
    assert doc.play_entry_tone is False
    assert doc.wait_for_moderator is True
    assert doc.member.join_muted is True  # `member: {}` takes the schema default
    assert doc.moderator.join_muted is False
    assert doc.moderator.play_entry_prompt is True
    assert doc.moderator.model_extra == {"play_name": False}  # unknown, kept
    assert doc.profile is not None and doc.profile["max-members"] == 40
    assert doc.model_extra == {"pvt_account_id": "a8e11608508ba9212dab6023638d597c"}
    assert doc.read_only is None and not doc.running


def _lenient_doc_example(branch: str, name: str) -> Any:
    """Doc examples with `...` placeholders; dropping those leaves strict JSON."""
    text = kazoo_file(branch, f"docs-examples/{name}").read_text()
    return json.loads(re.sub(r",\s*\.{3,}", "", text))


@pytest.mark.parametrize("branch", BRANCHES)
def test_stale_document_example_with_flat_participants(branch: str) -> None:
    raw = _lenient_doc_example(
        branch, "applications__crossbar__doc__conference.md.block11.json.txt"
    )

    block = RealtimeBlock.model_validate(raw["_read_only"])
    assert block.participants is not None
    (participant,) = block.participants
    assert (participant.speak, participant.hear, participant.is_moderator) == (True, True, False)
    assert participant.joined_at_unix == 63635217275 - GREGORIAN_UNIX_OFFSET
    assert block.model_extra == {"admins": 0}  # the stale key is kept, not trusted
    assert block.running  # it lists a participant

    # The example's "owner_id": "" placeholder breaks the schema's 32 characters.
    with pytest.raises(ValidationError, match="owner_id"):
        ConferenceDoc.model_validate(raw)
    doc = ConferenceDoc.model_validate({**raw, "owner_id": "0" * 32})
    assert doc.read_only is not None and doc.read_only.participants is not None
    assert doc.model_extra == {"ui_metadata": {"ui": "kazoo-ui"}}


@pytest.mark.parametrize("branch", BRANCHES)
def test_stale_list_example(branch: str) -> None:
    rows = _lenient_doc_example(
        branch, "applications__crossbar__doc__conference.md.block10.json.txt"
    )
    row = rows[0]
    # Its "" placeholders for name and owner_id break the schema's lengths, as they would ours.
    with pytest.raises(ValidationError) as caught:
        ConferenceDoc.model_validate(row)
    assert {error["loc"][0] for error in caught.value.errors()} == {"name", "owner_id"}
    doc = ConferenceDoc.model_validate({**row, "name": "Standup", "owner_id": "0" * 32})
    assert doc.member.join_muted is False
    assert doc.model_extra is not None and doc.model_extra["admins"] == 0


def test_read_only_alias_and_realtime_shapes() -> None:
    idle = {"members": 0, "moderators": 0, "duration": 0, "is_locked": False}
    running_in_list = {
        "uuid": "d5765180-53d5-4104-860e-b352f3f8e6b1",
        "run_time": 0,
        "start_time": 63_850_000_000,
        "is_locked": True,
        "switch_hostname": "fs1",
        "switch_url": "sip:mod_sofia@fs1:11000",
        "switch_external_ip": "10.0.0.1",
        "participant_count": 1,
        "moderators": 0,
        "members": 1,
    }
    master_get_one = {**idle, "duration": 12, "participants": []}
    legacy_get_one = {**idle, "locked": True, "conference_id": "c", "zone": "local"}

    assert not ConferenceDoc.model_validate({"_read_only": idle}).running
    listed = ConferenceDoc.model_validate({"_read_only": running_in_list})
    assert listed.running and listed.read_only is not None
    assert listed.read_only.lock_state is True
    assert listed.read_only.started_at_unix == 63_850_000_000 - GREGORIAN_UNIX_OFFSET
    assert RealtimeBlock.model_validate(master_get_one).running
    assert RealtimeBlock.model_validate(legacy_get_one).lock_state is False  # is_locked wins
    assert RealtimeBlock.model_validate({"locked": True}).lock_state is True
    # Serialising back gives the wire key.
    assert "_read_only" in listed.model_dump(by_alias=True)


def test_secrets_stay_out_of_reprs() -> None:
    doc = ConferenceDoc.model_validate(
        {"member": {"pins": ["424242"]}, "bridge_password": "hunter2"}
    )
    assert "424242" not in repr(doc) and "hunter2" not in repr(doc)
    auth = AuthResult(auth_token="tok-secret", account_id="a" * 32)
    assert "tok-secret" not in repr(auth)
    assert "tok-secret" not in repr(Envelope(status="success", auth_token="tok-secret"))


# --- participants ---------------------------------------------------------------------------------


def test_rest_participant_in_4_3_layout() -> None:
    participant = ParticipantWire.model_validate(
        {
            "call_id": "abc",
            "participant_id": 7,
            "caller_id_name": "Ann",
            "caller_id_number": "1001",
            "conference_name": "5edbfdd3b825314a71b0a05957392edb",
            "conference_uuid": "d5765180",
            "switch_hostname": "fs1",
            "join_time": 63_850_000_100,
            "duration": 42,
            "conference_channel_vars": {"speak": False, "hear": True, "is_moderator": True},
            "custom_channel_vars": {"owner_id": "o"},
        }
    )
    assert (participant.speak, participant.hear, participant.is_moderator) == (False, True, True)
    assert participant.talking is None
    assert participant.joined_at_unix == 63_850_000_100 - 62_167_219_200


def test_rest_participant_needs_an_integer_id() -> None:
    assert ParticipantWire.model_validate({"participant_id": "12"}).participant_id == 12
    for bad in ({}, {"participant_id": "x"}, {"participant_id": 1.5}):
        with pytest.raises(ValidationError):
            ParticipantWire.model_validate(bad)


# --- envelopes ------------------------------------------------------------------------------------


@pytest.mark.parametrize("branch", BRANCHES)
def test_user_auth_example_envelope(branch: str) -> None:
    raw = kazoo_file(
        branch, "docs-examples/applications__crossbar__doc__user_authentication.md.block01.json"
    ).read_text()

    result = AuthResult.from_envelope(Envelope.model_validate_json(raw))

    assert result.auth_token == "{AUTH_TOKEN}"
    assert (result.account_id, result.owner_id, result.ws_url) == (
        "{ACCOUNT_ID}",
        "{OWNER_ID}",
        None,
    )


@pytest.mark.parametrize("branch", BRANCHES)
def test_error_example_envelope(branch: str) -> None:
    raw = kazoo_file(
        branch, "docs-examples/applications__crossbar__doc__how_to_authenticate.md.block01.json"
    ).read_text()
    envelope = Envelope.model_validate_json(raw)
    assert (envelope.status, envelope.error, envelope.message) == (
        "error",
        "401",
        "invalid_credentials",
    )
    assert envelope.data == {"message": "invalid credentials"}


def test_auth_result_reads_the_websocket_url() -> None:
    envelope = Envelope.model_validate(
        {
            "status": "success",
            "auth_token": "t",
            "data": {
                "account_id": "a" * 32,
                "ui_config": {"api": {"kazoo_websocket": {"url": "wss://pbx:5556"}}},
            },
        }
    )
    result = AuthResult.from_envelope(envelope)
    assert (result.ws_url, result.owner_id) == ("wss://pbx:5556", None)


@pytest.mark.parametrize(
    "envelope",
    [
        {"status": "success", "data": {"account_id": "a"}},
        {"status": "success", "auth_token": "undefined", "data": {"account_id": "a"}},
        {"status": "success", "auth_token": "t", "data": {}},
        {"status": "success", "auth_token": "t", "data": "ok"},
    ],
)
def test_auth_result_needs_token_and_account(envelope: dict[str, Any]) -> None:
    with pytest.raises(KazooProtocolError):
        AuthResult.from_envelope(Envelope.model_validate(envelope))
