"""Block Kit as terminal text, for the `confbot demo` console.

The console shows the very messages the Slack layer would send. Buttons are numbered inline
(``[3 Mute]``) and returned as :class:`ButtonRef` so the console can offer ``press 3``; a button
with a Slack confirm dialog carries the dialog's text so the console can ask before pressing.

mrkdwn is made readable, not rendered: ``*bold*`` stays as typed, entities are decoded for display,
``<@U123>`` becomes ``@U123`` (or ``@name`` through ``user_name``), links become ``label (url)``,
and the invisible word joiners our escaping inserts are dropped. Headers are underlined, context
lines get a ``  · `` prefix (and are dimmed with ``color=True``). No ANSI codes unless asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from bot.slack.escape import WORD_JOINER

UserName = Callable[[str], str | None]

CONTEXT_PREFIX: Final = "  · "
DIVIDER: Final = "─" * 40

_DIM: Final = "\x1b[2m"
_BOLD: Final = "\x1b[1m"
_RED: Final = "\x1b[31m"
_GREEN: Final = "\x1b[32m"
_RESET: Final = "\x1b[0m"

_SPECIAL_RE: Final = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True, slots=True)
class ButtonRef:
    """A numbered button: ``press number`` sends ``action_id``/``value`` back to the bot."""

    number: int
    action_id: str
    value: str
    confirm_text: str | None = None
    label: str = ""


def _special(match: re.Match[str], user_name: UserName | None) -> str:
    body = match.group(1)
    target, _, label = body.partition("|")
    if target.startswith("@"):
        user_id = target[1:]
        name = label or (user_name(user_id) if user_name is not None else None)
        return f"@{name or user_id}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        command = target[1:]
        if command in ("here", "channel", "everyone"):
            return f"@{command}"
        if command.startswith("subteam^"):
            return label or f"@{command.split('^', 1)[1]}"
        return label or command  # <!date^...|fallback> and friends
    if label:
        return f"{label} ({target})"
    return target


# The emoji codes our messages use, as a terminal shows them (Slack draws them itself).
EMOJI: Final[Mapping[str, str]] = {
    ":star:": "★",
    ":mute:": "🔇",
    ":hear_no_evil:": "🙉",
    ":speaking_head_in_silhouette:": "🗣",
    ":lock:": "🔒",
    ":unlock:": "🔓",
    ":large_green_circle:": "🟢",
    ":white_circle:": "⚪",
    ":checkered_flag:": "🏁",
    ":warning:": "⚠",
    ":white_check_mark:": "✅",
}
_EMOJI_RE: Final = re.compile(r":[a-z0-9_+-]+:")


def readable(text: str, *, user_name: UserName | None = None) -> str:
    """mrkdwn as a person would read it in a terminal."""
    text = _EMOJI_RE.sub(lambda m: EMOJI.get(m.group(0), m.group(0)), text)
    text = _SPECIAL_RE.sub(lambda m: _special(m, user_name), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.replace(WORD_JOINER, "")


def _text_of(obj: Any, user_name: UserName | None) -> str:
    if not isinstance(obj, Mapping):
        return ""
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return readable(text, user_name=user_name)
    return text


def _style(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


class _Renderer:
    def __init__(self, first_button: int, color: bool, user_name: UserName | None) -> None:
        self.next_number = first_button
        self.color = color
        self.user_name = user_name
        self.buttons: list[ButtonRef] = []

    def text(self, obj: Any) -> str:
        return _text_of(obj, self.user_name)

    def element(self, element: Any) -> str:
        if not isinstance(element, Mapping):
            return ""
        kind = element.get("type")
        if kind == "button":
            label = self.text(element.get("text"))
            if "action_id" not in element and "url" in element:
                return f"[{label}: {element['url']}]"
            confirm = element.get("confirm")
            confirm_text = None
            if isinstance(confirm, Mapping):
                parts = [self.text(confirm.get("title")), self.text(confirm.get("text"))]
                confirm_text = " ".join(p for p in parts if p) or None
            ref = ButtonRef(
                self.next_number,
                str(element.get("action_id", "")),
                str(element.get("value", "")),
                confirm_text,
                label,
            )
            self.buttons.append(ref)
            self.next_number += 1
            shown = f"[{ref.number} {label}]"
            style = element.get("style")
            if style == "danger":
                return _style(shown, _RED, self.color)
            if style == "primary":
                return _style(shown, _GREEN, self.color)
            return shown
        if kind in ("mrkdwn", "plain_text"):
            return self.text(element)
        if kind == "image":
            return f"[image: {element.get('alt_text', '')}]"
        return f"[{kind}]"

    def block(self, block: Any) -> list[str]:
        if not isinstance(block, Mapping):
            return []
        kind = block.get("type")
        if kind == "header":
            title = self.text(block.get("text"))
            return [_style(title, _BOLD, self.color), "=" * len(title)]
        if kind == "section":
            lines: list[str] = []
            if block.get("text"):
                lines.extend(self.text(block["text"]).split("\n"))
            for field in block.get("fields") or []:
                lines.extend(self.text(field).split("\n"))
            accessory = block.get("accessory")
            if accessory is not None:
                shown = self.element(accessory)
                if lines:
                    lines[0] = f"{lines[0]}  {shown}"
                else:
                    lines.append(shown)
            return lines
        if kind == "context":
            joined = "  ".join(self.element(e) for e in block.get("elements") or [])
            return [_style(CONTEXT_PREFIX + line, _DIM, self.color) for line in joined.split("\n")]
        if kind == "actions":
            return [" ".join(self.element(e) for e in block.get("elements") or [])]
        if kind == "divider":
            return [DIVIDER]
        return [f"[{kind} block]"]


def to_text(
    blocks: list[dict[str, Any]],
    *,
    first_button: int = 1,
    color: bool = False,
    user_name: UserName | None = None,
) -> tuple[str, list[ButtonRef]]:
    """Render ``blocks`` for a terminal; buttons are numbered from ``first_button``."""
    renderer = _Renderer(first_button, color, user_name)
    lines: list[str] = []
    for block in blocks:
        lines.extend(renderer.block(block))
    return "\n".join(lines), renderer.buttons
