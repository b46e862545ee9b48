"""Fakes of the outside services confbot talks to, for integration tests."""

from .slack import FakeSlack
from .slack_records import (
    Ack,
    ApiCall,
    Envelope,
    Message,
    ResponsePost,
    ResponseUrlContext,
    SocketConnection,
)

__all__ = [
    "Ack",
    "ApiCall",
    "Envelope",
    "FakeSlack",
    "Message",
    "ResponsePost",
    "ResponseUrlContext",
    "SocketConnection",
]
