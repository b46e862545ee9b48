"""What the fake Slack records, and the state it shows users.

These are plain data classes: tests read them, the fake (``tests.fakes.slack``) writes them.
All times are ``time.monotonic()`` seconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

#: Slack wants a Socket Mode envelope acknowledged within this many seconds.
ACK_DEADLINE = 3.0


@dataclass
class ApiCall:
    """One Web API request, recorded when it arrives.

    ``args`` merges the query string with the form-encoded or JSON body (the body wins).
    Form and query values are strings, exactly as sent; JSON values keep their types.
    ``status``/``response`` are ``None`` while the call is in flight (only an ``on_call``
    handler can keep it there), then hold the HTTP status and JSON body the fake answered.
    """

    method: str
    args: JSON
    headers: Mapping[str, str]
    time: float
    http_method: str
    token: str | None
    status: int | None = None
    response: JSON | None = None

    @property
    def ok(self) -> bool:
        return bool(self.response and self.response.get("ok"))

    @property
    def error(self) -> str | None:
        if self.response is None:
            return None
        error = self.response.get("error")
        return error if isinstance(error, str) else None


@dataclass(frozen=True)
class ResponseUrlContext:
    """Where a response_url came from: what ``replace_original``/``in_channel`` act on."""

    response_id: str
    channel_id: str | None
    user_id: str | None
    message_ts: str | None
    is_ephemeral: bool
    created: float


@dataclass
class ResponsePost:
    """One POST to a response_url; ``status`` is the HTTP status the fake answered."""

    url: str
    body: JSON
    time: float
    status: int
    context: ResponseUrlContext | None

    @property
    def text(self) -> str | None:
        text = self.body.get("text")
        return text if isinstance(text, str) else None

    @property
    def blocks(self) -> list[JSON] | None:
        blocks = self.body.get("blocks")
        return blocks if isinstance(blocks, list) else None

    @property
    def response_type(self) -> str:
        """``"ephemeral"`` (Slack's default) or ``"in_channel"``."""
        return str(self.body.get("response_type") or "ephemeral")

    @property
    def replace_original(self) -> bool:
        return truthy(self.body.get("replace_original"))

    @property
    def delete_original(self) -> bool:
        return truthy(self.body.get("delete_original"))


@dataclass
class Message:
    """A message as users see it now. Ephemeral ones have ``ephemeral_to`` set."""

    channel: str
    ts: str
    text: str
    blocks: list[JSON]
    attachments: list[JSON]
    thread_ts: str | None
    user: str
    bot_id: str | None
    ephemeral_to: str | None = None
    edited_ts: str | None = None
    metadata: JSON | None = None

    def to_api(self, *, team_id: str, app_id: str) -> JSON:
        """The message object Slack puts in ``chat.postMessage``/``chat.update`` answers."""
        out: JSON = {"user": self.user, "type": "message", "ts": self.ts}
        if self.bot_id is not None:
            out["bot_id"] = self.bot_id
            out["app_id"] = app_id
        out["text"] = self.text
        out["team"] = team_id
        if self.blocks:
            out["blocks"] = self.blocks
        if self.attachments:
            out["attachments"] = self.attachments
        if self.thread_ts is not None:
            out["thread_ts"] = self.thread_ts
            out["parent_user_id"] = self.user
        if self.edited_ts is not None:
            out["edited"] = {"user": self.user, "ts": self.edited_ts}
        if self.metadata is not None:
            out["metadata"] = self.metadata
        return out

    def action_ids(self) -> list[str]:
        """Every ``action_id`` of an interactive element in the blocks (handy in asserts)."""
        return [str(e["action_id"]) for e in _elements(self.blocks) if "action_id" in e]

    def find_element(self, action_id: str) -> JSON | None:
        for element in _elements(self.blocks):
            if element.get("action_id") == action_id:
                return element
        return None


@dataclass
class Envelope:
    """A Socket Mode envelope the fake pushed, and when."""

    envelope_id: str
    type: str
    payload: JSON
    accepts_response_payload: bool
    sent_at: float
    connection: int


@dataclass(frozen=True)
class Ack:
    """A client acknowledgement of an envelope.

    ``payload`` is what the app answered with (``None`` for a bare ack); ``latency`` is the
    seconds between the push and the ack.
    """

    envelope_id: str
    payload: JSON | None
    time: float
    latency: float
    raw: JSON

    @property
    def late(self) -> bool:
        """True if Slack would have given up on this ack (it waits 3 seconds)."""
        return self.latency > ACK_DEADLINE


@dataclass
class SocketConnection:
    """One accepted Socket Mode websocket; ``index`` counts from 1 since the fake started."""

    index: int
    ticket: str
    connected_at: float
    ws: web.WebSocketResponse = field(repr=False)
    request: web.Request = field(repr=False)
    closed_at: float | None = None
    received: list[str] = field(default_factory=list, repr=False)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None and not self.ws.closed


def truthy(value: Any) -> bool:
    """A Slack boolean that may arrive as a JSON bool or a form string."""
    if isinstance(value, str):
        return value.lower() in {"true", "1"}
    return bool(value)


def block_elements(block: JSON) -> list[JSON]:
    """The interactive elements of one block (accessory, element, elements)."""
    found: list[JSON] = []
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            found.append(block[key])
    if isinstance(block.get("elements"), list):
        found.extend(e for e in block["elements"] if isinstance(e, dict))
    return found


def _elements(blocks: list[JSON]) -> list[JSON]:
    return [e for block in blocks for e in block_elements(block)]
