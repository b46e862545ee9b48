"""The exception tree of confbot.

    BotError
      ConfigError          bad settings, at start-up only
      KazooError
        KazooUnavailable   transport errors, timeouts, 5xx, 429 after retries; transient
        KazooAuthError     401/403 after a fresh login
        KazooNotFound      404 (also a LookupError)
        KazooRequestError  other 4xx, carrying Kazoo's message and validation details
        KazooProtocolError a payload that does not fit the models
      CommandError         bad user input (unknown conference, ambiguous participant, bad WHEN)
      PermissionDenied     carries the action and why

Only the Slack layer (and the console) turns a ``BotError`` into words for a user; anything else is
logged with its traceback and answered with a generic error.
"""

from __future__ import annotations

from typing import Any


class BotError(Exception):
    """Base of every error confbot raises on purpose."""


class ConfigError(BotError):
    """A missing or contradictory setting; ``variable`` names the one to fix."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable
        self.message = message


class KazooError(BotError):
    """Anything that went wrong talking to Kazoo."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        kazoo_message: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kazoo_message = kazoo_message
        self.details = details


class KazooUnavailable(KazooError):
    """Transient: Kazoo could not be reached, timed out, or answered 5xx/429."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class KazooAuthError(KazooError):
    """Kazoo refused our credentials (401/403 even after a fresh login)."""


class KazooNotFound(KazooError, LookupError):
    """Kazoo has no such document (404)."""


class KazooRequestError(KazooError):
    """Kazoo rejected the request (other 4xx); ``details`` holds its validation map."""


class KazooProtocolError(KazooError):
    """Kazoo sent something that does not fit the wire models."""


class CommandError(BotError):
    """The user's input cannot be carried out as given; the message says why and what to do."""


class PermissionDenied(BotError):
    """The actor lacks the right for ``action``; ``reason`` says which right is needed."""

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(f"{action}: {reason}")
        self.action = action
        self.reason = reason
