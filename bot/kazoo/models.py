"""Pydantic wire models for Kazoo's conferences REST API and blackhole websocket.

Every model is frozen and keeps unknown fields (`extra="allow"`): Kazoo adds keys between versions
and we must neither drop them nor fail on them. Field names are the snake_case keys of the wire.
Section numbers (§) refer to `reference/kazoo-conferences-protocol.md`.

Two layouts of participant flags exist (§5, §7.4, §7.5): 4.3 and master nest `speak`, `hear`,
`talking`, `is_moderator` under `conference_channel_vars`; the legacy `participant_event` and the
stale doc examples put them at the top level. Both parse; the properties `speak`, `hear`, `talking`
and `is_moderator` read the nested value first and fall back to the flat one.

`parse_frame` is on the hot path of the event stream, so it is one `TypeAdapter.validate_json` call
over a union built once at import (see `_FRAME_ADAPTER`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from bot.errors import KazooProtocolError

# Kazoo stamps times in gregorian seconds (seconds since year 0); Unix time = gregorian - this.
GREGORIAN_UNIX_OFFSET = 62_167_219_200

_WIRE_CONFIG = ConfigDict(frozen=True, extra="allow")
# Models with aliased fields accept both the wire key and the Python name.
_ALIASED_CONFIG = ConfigDict(
    frozen=True, extra="allow", validate_by_alias=True, validate_by_name=True
)

_T = TypeVar("_T", bound=Hashable)


def _unique(items: list[_T]) -> list[_T]:
    """`uniqueItems: true` of the JSON schema."""
    if len(set(items)) != len(items):
        raise ValueError("items must be unique")
    return items


Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]
UniqueDigits = Annotated[list[Digits], AfterValidator(_unique)]
NonEmptyStr = Annotated[str, StringConstraints(min_length=1)]


class _Wire(BaseModel):
    model_config = _WIRE_CONFIG


# --- conference document (§4) -------------------------------------------------------------------


class MemberSettings(_Wire):
    """`member` (and, through `ModeratorSettings`, `moderator`) of a conference document."""

    join_muted: bool = True
    join_deaf: bool = False
    numbers: UniqueDigits = Field(default_factory=list)
    # Pins are secrets: keep them out of reprs (and so out of logs).
    pins: UniqueDigits = Field(default_factory=list, repr=False)
    play_entry_prompt: bool | None = None


class ModeratorSettings(MemberSettings):
    """`moderator`: same keys as `member`, but moderators join unmuted by default."""

    join_muted: bool = False


class ChannelVars(_Wire):
    """`conference_channel_vars`: FreeSWITCH member state, values *after* the event (§7.3)."""

    is_moderator: bool | None = None
    floor: bool | None = None
    video: bool | None = None
    see: bool | None = None
    speak: bool | None = None
    hear: bool | None = None
    talking: bool | None = None
    mute_detect: bool | None = None
    energy_level: int | None = None
    member_id: int | None = None
    member_type: str | None = None
    member_ghost: bool | None = None


class _ParticipantBase(BaseModel):
    """Fields and either-layout flag properties shared by REST participants and member events."""

    model_config = _ALIASED_CONFIG

    call_id: str | None = None
    participant_id: int | None = None
    caller_id_name: str | None = None
    caller_id_number: str | None = None
    conference_channel_vars: ChannelVars | None = None
    custom_channel_vars: dict[str, Any] | None = None
    # Legacy flat flags. They live under other attribute names so that the properties below,
    # which merge both layouts, can own the natural names.
    flat_is_moderator: bool | None = Field(default=None, alias="is_moderator")
    flat_speak: bool | None = Field(default=None, alias="speak")
    flat_hear: bool | None = Field(default=None, alias="hear")
    flat_talking: bool | None = Field(default=None, alias="talking")

    def _flag(self, name: str, flat: bool | None) -> bool | None:
        cvars = self.conference_channel_vars
        if cvars is not None:
            nested: bool | None = getattr(cvars, name)
            if nested is not None:
                return nested
        return flat

    @property
    def is_moderator(self) -> bool | None:
        return self._flag("is_moderator", self.flat_is_moderator)

    @property
    def speak(self) -> bool | None:
        """False means muted."""
        return self._flag("speak", self.flat_speak)

    @property
    def hear(self) -> bool | None:
        """False means deaf."""
        return self._flag("hear", self.flat_hear)

    @property
    def talking(self) -> bool | None:
        return self._flag("talking", self.flat_talking)

    @property
    def member_id(self) -> int | None:
        """`participant_id`, or `conference_channel_vars.member_id` when the former is missing."""
        if self.participant_id is not None:
            return self.participant_id
        cvars = self.conference_channel_vars
        return cvars.member_id if cvars is not None else None


class ParticipantWire(_ParticipantBase):
    """One element of `GET …/participants` or `_read_only.participants` (§5)."""

    participant_id: int
    conference_name: str | None = None
    conference_uuid: str | None = None
    switch_hostname: str | None = None
    join_time: int | None = None  # gregorian seconds
    duration: int | None = None
    custom_application_vars: dict[str, Any] | None = None

    @property
    def joined_at_unix(self) -> float | None:
        if self.join_time is None:
            return None
        return float(self.join_time - GREGORIAN_UNIX_OFFSET)


class RealtimeBlock(_Wire):
    """`_read_only` of a listed or fetched conference (§3.1, §3.3), running or idle.

    Idle: `{"members":0,"moderators":0,"duration":0,"is_locked":false}`. Running in a list:
    `uuid, run_time, start_time, is_locked, switch_*, participant_count, moderators, members`.
    GET one adds `participants`, `duration` and (4.3) `locked`, `conference_id`, `zone`, ...
    """

    uuid: str | None = None
    conference_id: str | None = None
    run_time: int | None = None
    start_time: int | None = None  # gregorian seconds
    duration: int | None = None
    is_locked: bool | None = None
    locked: bool | None = None
    switch_hostname: str | None = None
    switch_url: str | None = None
    switch_external_ip: str | None = None
    zone: str | None = None
    participant_count: int | None = None
    members: int | None = None
    moderators: int | None = None
    participants: list[ParticipantWire] | None = None

    @property
    def running(self) -> bool:
        """Whether a media server reported this conference as live.

        The idle block has no `uuid` and only zero counters; any sign of life means running.
        """
        if self.uuid or self.participants:
            return True
        counters = (self.run_time, self.duration, self.participant_count)
        if any((value or 0) > 0 for value in counters):
            return True
        return (self.members or 0) + (self.moderators or 0) > 0

    @property
    def lock_state(self) -> bool:
        """`is_locked`, or 4.3's `locked` from the raw search response."""
        if self.is_locked is not None:
            return self.is_locked
        return bool(self.locked)

    @property
    def started_at_unix(self) -> float | None:
        if self.start_time is None:
            return None
        return float(self.start_time - GREGORIAN_UNIX_OFFSET)


class ConferenceDoc(BaseModel):
    """A conference document (§4), plus the server-added `id` and `_read_only` block.

    Constraints follow `schemas/conferences.json` (identical in 4.3 and master for these keys);
    two rules are deliberately stricter than the schema: `pins` must be unique and a string
    `play_*_tone` must not be empty.
    """

    model_config = _ALIASED_CONFIG

    id: str | None = None
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    owner_id: Annotated[str, StringConstraints(min_length=32, max_length=32)] | None = None
    conference_numbers: UniqueDigits = Field(default_factory=list)
    member: MemberSettings = Field(default_factory=MemberSettings)
    moderator: ModeratorSettings = Field(default_factory=ModeratorSettings)
    play_entry_tone: bool | NonEmptyStr | None = None
    play_exit_tone: bool | NonEmptyStr | None = None
    play_name: bool = False
    play_welcome: bool | None = None
    max_participants: int | None = None
    max_members_media: str | None = None
    language: str | None = None
    profile: dict[str, Any] | None = None
    profile_name: str | None = None
    caller_controls: str | None = None
    moderator_controls: str | None = None
    controls: dict[str, Any] | None = None
    require_moderator: bool | None = None
    wait_for_moderator: bool | None = None
    flags: list[str] | None = None
    focus: str | None = None
    domain: str | None = None
    bridge_username: str | None = None
    bridge_password: str | None = Field(default=None, repr=False)
    read_only: RealtimeBlock | None = Field(default=None, alias="_read_only")

    @property
    def running(self) -> bool:
        return self.read_only is not None and self.read_only.running


# --- websocket frames (§6.3, §6.4, §7) ------------------------------------------------------------


class _ConferenceEventBase(_Wire):
    """Keys every conference event carries (§7.3); the rest (app_name, msg_id, ...) are extras."""

    conference_id: str | None = None
    instance_id: str | None = None
    account_id: str | None = None


class ParticipantEvent(_ConferenceEventBase, _ParticipantBase):
    """Base of the member events. `participant_id` is the id for `/participants/{P}`."""

    model_config = _ALIASED_CONFIG

    channel_presence_id: str | None = None
    custom_application_vars: dict[str, Any] | None = None


class AddMember(ParticipantEvent):
    event: Literal["add-member"]


class DelMember(ParticipantEvent):
    event: Literal["del-member"]


class StartTalking(ParticipantEvent):
    event: Literal["start-talking"]


class StopTalking(ParticipantEvent):
    event: Literal["stop-talking"]


class MuteMember(ParticipantEvent):
    event: Literal["mute-member"]


class UnmuteMember(ParticipantEvent):
    event: Literal["unmute-member"]


class DeafMember(ParticipantEvent):
    event: Literal["deaf-member"]


class UndeafMember(ParticipantEvent):
    event: Literal["undeaf-member"]


class Lock(_ConferenceEventBase):
    event: Literal["lock"]


class Unlock(_ConferenceEventBase):
    event: Literal["unlock"]


class ConferenceCreate(_ConferenceEventBase):
    event: Literal["conference-create"]


class ConferenceDestroy(_ConferenceEventBase):
    event: Literal["conference-destroy"]


KnownConferenceEvent = (
    AddMember
    | DelMember
    | StartTalking
    | StopTalking
    | MuteMember
    | UnmuteMember
    | DeafMember
    | UndeafMember
    | Lock
    | Unlock
    | ConferenceCreate
    | ConferenceDestroy
)

KNOWN_EVENT_NAMES: frozenset[str] = frozenset(
    {
        "add-member",
        "del-member",
        "start-talking",
        "stop-talking",
        "mute-member",
        "unmute-member",
        "deaf-member",
        "undeaf-member",
        "lock",
        "unlock",
        "conference-create",
        "conference-destroy",
    }
)


def _not_a_known_event(name: str) -> str:
    # A known event that failed its own model must stay an error, not slip into the fallback.
    if name in KNOWN_EVENT_NAMES:
        raise ValueError(f"{name!r} is a known event but does not fit its model")
    return name


class UnknownEvent(_ConferenceEventBase):
    """Any event name we do not model (or none): kept whole in the extras, never an error."""

    event: Annotated[str, AfterValidator(_not_a_known_event)] | None = None


# Speed: the known events form a tagged union on the plain "event" key, which pydantic-core
# resolves with one dict lookup while parsing JSON. A callable Discriminator would be needed for a
# default branch, but it forces a full JSON -> Python conversion first (measured about 1.4x slower
# for the whole frame). Instead the fallback is a left-to-right union: try the tagged union, and
# only if that fails try `UnknownEvent`, which refuses known names (see `_not_a_known_event`).
ConferenceEvent = Annotated[
    Annotated[KnownConferenceEvent, Field(discriminator="event")] | UnknownEvent,
    Field(union_mode="left_to_right"),
]
CONFERENCE_EVENT_ADAPTER: TypeAdapter[KnownConferenceEvent | UnknownEvent] = TypeAdapter(
    ConferenceEvent
)


class ReplyFrame(_Wire):
    """The server's answer to subscribe, unsubscribe or ping, matched by `request_id` (§6.3)."""

    action: Literal["reply"]
    request_id: str | None = None
    status: str | None = None
    data: Any = None

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def errors(self) -> list[str]:
        """`data.errors` as strings (newest first, as Kazoo sends them); [] when there are none."""
        data = self.data
        if isinstance(data, dict):
            found = data.get("errors")
            if isinstance(found, list):
                return [str(item) for item in found]
            if isinstance(found, str):
                return [found]
        if not self.ok and isinstance(data, str):
            return [data]
        return []


class EventFrame(_Wire):
    """An event on a subscription (§6.4); dispatch on `subscribed_key` and `data.event`."""

    action: Literal["event"]
    subscribed_key: str | None = None
    subscription_key: str | None = None
    name: str | None = None
    routing_key: str | None = None
    data: ConferenceEvent


def _not_a_known_action(action: str) -> str:
    if action in ("reply", "event"):
        raise ValueError(f"{action!r} frame does not fit its model")
    return action


class UnknownFrame(_Wire):
    """A JSON object that is neither a reply nor an event; all keys are kept in the extras."""

    action: Annotated[str, AfterValidator(_not_a_known_action)] | None = None


Frame = ReplyFrame | EventFrame | UnknownFrame

# Same trick as `ConferenceEvent`: a plain-key tagged union first, the fallback second.
_FRAME_ADAPTER: TypeAdapter[Frame] = TypeAdapter(
    Annotated[
        Annotated[ReplyFrame | EventFrame, Field(discriminator="action")] | UnknownFrame,
        Field(union_mode="left_to_right"),
    ]
)


def describe_validation_error(exc: ValidationError, limit: int = 3) -> str:
    """A short `loc: message` summary that never echoes input values (they may hold secrets)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False)[:limit]:
        loc = ".".join(str(part) for part in error["loc"])
        parts.append(f"{loc}: {error['msg']}" if loc else error["msg"])
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def parse_frame(raw: str | bytes) -> Frame:
    """Parse one websocket text frame.

    Raises `KazooProtocolError` for invalid JSON, a non-object, or a reply/event that does not
    fit. A bare legacy `participant_event` payload (§7.5, no envelope) becomes an `EventFrame`.
    """
    try:
        frame = _FRAME_ADAPTER.validate_json(raw)
    except ValidationError as exc:
        raise KazooProtocolError(
            f"websocket frame does not fit: {describe_validation_error(exc)}"
        ) from None
    if isinstance(frame, UnknownFrame) and frame.action is None:
        return _legacy_event(frame) or frame
    return frame


def _legacy_event(frame: UnknownFrame) -> EventFrame | None:
    """Wrap a pre-2020 bare `participant_event` payload into the current envelope; rare path."""
    payload = frame.model_extra or {}
    if payload.get("event_name") != "participant_event" or "event" not in payload:
        return None
    try:
        event = CONFERENCE_EVENT_ADAPTER.validate_python(payload)
    except ValidationError as exc:
        raise KazooProtocolError(
            f"legacy event does not fit: {describe_validation_error(exc)}"
        ) from None
    routing_key = payload.get("routing_key")
    return EventFrame(
        action="event",
        name="participant_event",
        routing_key=routing_key if isinstance(routing_key, str) else None,
        data=event,
    )


# --- REST envelopes (§1.3, §2.3) ------------------------------------------------------------------


class Envelope(_Wire):
    """Crossbar's response envelope, success or error."""

    status: str
    data: Any = None
    # The token is echoed in every envelope: keep it out of reprs.
    auth_token: str | None = Field(default=None, repr=False)
    request_id: str | None = None
    revision: str | None = None
    page_size: int | None = None
    start_key: Any = None
    next_start_key: Any = None
    error: str | int | None = None
    message: str | None = None


class AuthResult(_Wire):
    """What a successful `api_auth` / `user_auth` gives us (§2.3)."""

    auth_token: str = Field(repr=False)
    account_id: str
    owner_id: str | None = None
    ws_url: str | None = None

    @classmethod
    def from_envelope(cls, envelope: Envelope) -> AuthResult:
        data = envelope.data if isinstance(envelope.data, dict) else {}
        token = envelope.auth_token
        account_id = data.get("account_id")
        if not token or token == "undefined" or not isinstance(account_id, str) or not account_id:
            raise KazooProtocolError("auth response lacks auth_token or data.account_id")
        owner_id = data.get("owner_id")
        return cls(
            auth_token=token,
            account_id=account_id,
            owner_id=owner_id if isinstance(owner_id, str) else None,
            ws_url=_dig_str(data, ("ui_config", "api", "kazoo_websocket", "url")),
        )


def _dig_str(data: dict[str, Any], path: Sequence[str]) -> str | None:
    node: Any = data
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, str) and node else None


__all__ = [
    "CONFERENCE_EVENT_ADAPTER",
    "GREGORIAN_UNIX_OFFSET",
    "KNOWN_EVENT_NAMES",
    "AddMember",
    "AuthResult",
    "ChannelVars",
    "ConferenceCreate",
    "ConferenceDestroy",
    "ConferenceDoc",
    "ConferenceEvent",
    "DeafMember",
    "DelMember",
    "Envelope",
    "EventFrame",
    "Frame",
    "KnownConferenceEvent",
    "Lock",
    "MemberSettings",
    "ModeratorSettings",
    "MuteMember",
    "ParticipantEvent",
    "ParticipantWire",
    "RealtimeBlock",
    "ReplyFrame",
    "StartTalking",
    "StopTalking",
    "UndeafMember",
    "UnknownEvent",
    "UnknownFrame",
    "Unlock",
    "UnmuteMember",
    "describe_validation_error",
    "parse_frame",
]
