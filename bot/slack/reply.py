"""What a command or a click produces, whichever transport carries it (Slack or the console)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.slack.render import Message


@dataclass(frozen=True, slots=True)
class Reply:
    """`private` goes to the caller only; `channel_line` is the one audit line for everyone."""

    private: Message | None = None
    channel_line: str | None = None
    # A button on an ephemeral message: replace that message (paging, a refreshed roster).
    replace_original: bool = False


class Handler(Protocol):
    """The bot's answer to Slack input, independent of how the input arrived."""

    async def command(self, user_id: str, channel_id: str, text: str) -> Reply: ...

    async def click(self, user_id: str, channel_id: str, action_id: str, value: str) -> Reply: ...
