"""Notices to Slack: chat.postMessage and chat.update, with Slack's refusals made ours."""

from __future__ import annotations

from typing import Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.render import Message


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f}s")
        self.retry_after = retry_after


class MessageGone(Exception):
    """The message to edit no longer exists (deleted by someone): post a new one."""


class Poster(Protocol):
    """Where notices go: Slack's chat.postMessage / chat.update, or the demo console."""

    async def post(self, channel_id: str, message: Message) -> str: ...

    async def update(self, channel_id: str, ts: str, message: Message) -> None: ...


# chat.update answers these when the message is gone or no longer ours to edit.
GONE = {"message_not_found", "cant_update_message", "edit_window_closed", "channel_not_found"}


class SlackPoster:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel_id: str, message: Message) -> str:
        try:
            response = await self.client.chat_postMessage(
                channel=channel_id,
                text=message.text,
                blocks=message.blocks or None,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as exc:
            raise _translated(exc) from exc
        return str(response.get("ts", ""))

    async def update(self, channel_id: str, ts: str, message: Message) -> None:
        try:
            await self.client.chat_update(
                channel=channel_id, ts=ts, text=message.text, blocks=message.blocks or []
            )
        except SlackApiError as exc:
            if exc.response.get("error") in GONE:
                raise MessageGone(str(exc.response.get("error"))) from exc
            raise _translated(exc) from exc


def _translated(exc: SlackApiError) -> Exception:
    if exc.response.status_code == 429:
        retry_after = exc.response.headers.get("Retry-After", "1")
        try:
            return RateLimited(max(1.0, float(retry_after)))
        except ValueError:
            return RateLimited(1.0)
    return exc
