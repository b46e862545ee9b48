"""Make text safe to put inside Slack mrkdwn, and keep secrets out of what we show.

Slack's own rule is that only ``&``, ``<`` and ``>`` must be written as entities (``&amp;``,
``&lt;``, ``&gt;``). That alone stops *control sequences*: every mention (``<@U1>``,
``<!subteam^S1>``, ``<!channel>``, ``<!here>``, ``<!everyone>``), every labelled link
(``<http://x|y>``) and every date token needs a literal ``<``.

Text that comes from the PBX (caller names and numbers, conference names) is hostile, so
:func:`untrusted` goes further:

* **Formatting.** Slack mrkdwn has no backslash escape, and zero-width characters next to a marker
  do not reliably stop Slack's formatter, so the four marker characters are replaced by
  look-alikes that mrkdwn ignores: ``*`` -> ``∗`` (U+2217), ``_`` -> ``ˍ`` (U+02CD), ``~`` -> ``∼``
  (U+223C), `````` ` `````` -> ``ˋ`` (U+02CB). A name still reads the same; it can never turn bold,
  italic, struck-through or code, nor unbalance *our* ``*bold*`` around it.
* **Quotes.** Newlines are collapsed, so only a leading ``>`` could start a block quote; it becomes
  ``˃`` (U+02C3) rather than ``&gt;``, whose treatment at a line start differs between clients.
* **Mentions by name.** With ``link_names`` (or a client that parses plain text) ``@here``,
  ``@channel``, ``@everyone`` and also ``@someone`` / ``@some-group`` can notify people. Every ``@``
  is followed by U+2060 WORD JOINER, an invisible character that splits the word Slack would match.
* **Auto-links.** Every ``://`` gets a word joiner after the colon so it is shown as text
  rather than made clickable. (A bare domain such as ``evil.example`` may still be auto-linked by
  Slack; its label is then the text itself, so no link can pretend to be something else.)
* **Lines and invisible characters.** Control characters, bidirectional overrides and other format
  characters (``Cf``: U+202E and friends, zero-width spaces) are removed, except the zero-width
  joiner and non-joiner that emoji sequences and some scripts need; runs of whitespace, newlines
  included, become one space; runs of combining marks are capped (no "Zalgo" towers).
* **Length.** The result is at most ``limit`` characters *as sent* (entities count in full and are
  never cut in half), ending in "…" when shortened. An empty result reads "(unknown)".

Render functions also mark their mrkdwn text objects ``verbatim`` so Slack does not auto-parse
them; the rules above do not rely on that.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

WORD_JOINER = "\u2060"
ELLIPSIS = "…"
UNKNOWN = "(unknown)"
REDACTED = "[redacted]"

#: Formatting markers and the look-alikes that replace them (see the module docstring).
FORMAT_LOOKALIKES: dict[str, str] = {
    "*": "\u2217",  # ∗ ASTERISK OPERATOR
    "_": "\u02cd",  # ˍ MODIFIER LETTER LOW MACRON
    "~": "\u223c",  # ∼ TILDE OPERATOR
    "`": "\u02cb",  # ˋ MODIFIER LETTER GRAVE ACCENT
}
LEADING_QUOTE_LOOKALIKE = "\u02c3"  # ˃ MODIFIER LETTER RIGHT ARROWHEAD
ENTITIES: dict[str, str] = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

# Format characters that carry meaning inside emoji sequences and some scripts.
_KEEP_FORMAT = frozenset({"\u200c", "\u200d"})  # ZERO WIDTH NON-JOINER, ZERO WIDTH JOINER
_MAX_COMBINING_RUN = 4
_MIN_LIMIT = len(UNKNOWN)
_RAW_FACTOR = 64


def _is_noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE


def _clean(text: str) -> str:
    """Drop control/format characters, collapse whitespace, cap combining-mark runs."""
    out: list[str] = []
    combining = 0
    for ch in text:
        if ch.isspace():
            out.append(" ")
            combining = 0
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or _is_noncharacter(ord(ch)):
            continue
        if category == "Cf" and ch not in _KEEP_FORMAT:
            continue
        if category.startswith("M"):
            combining += 1
            if combining > _MAX_COMBINING_RUN:
                continue
        else:
            combining = 0
        out.append(ch)
    return " ".join("".join(out).split())


def _tokens(text: str) -> list[str]:
    """One output token per input character; a token is never split when truncating."""
    tokens: list[str] = []
    for i, ch in enumerate(text):
        if ch == ">" and i == 0:
            tokens.append(LEADING_QUOTE_LOOKALIKE)
        elif ch in ENTITIES:
            tokens.append(ENTITIES[ch])
        elif ch in FORMAT_LOOKALIKES:
            tokens.append(FORMAT_LOOKALIKES[ch])
        elif ch == "@":
            tokens.append("@" + WORD_JOINER)
        elif ch == ":" and text.startswith("//", i + 1):
            tokens.append(":" + WORD_JOINER)
        else:
            tokens.append(ch)
    return tokens


def untrusted(text: str, *, limit: int = 100) -> str:
    """Return PBX-supplied ``text`` as inert mrkdwn of at most ``limit`` characters.

    Safe both inside Block Kit mrkdwn and in a message's ``text`` fallback: it cannot mention,
    link, format, quote or break the line. See the module docstring for each rule and why.
    """
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT}, not {limit}")
    # Each character becomes at least one output character, so nothing past limit + 1 can show.
    # Bound the work on absurd input first (hostile text is still hostile when cut).
    tokens = _tokens(_clean(text[: _RAW_FACTOR * limit])[: limit + 1])
    if not tokens:
        return UNKNOWN
    total = sum(len(t) for t in tokens)
    if total <= limit:
        return "".join(tokens)
    budget = limit - len(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for token in tokens:
        if used + len(token) > budget:
            break
        kept.append(token)
        used += len(token)
    return "".join(kept).rstrip() + ELLIPSIS


def mrkdwn(text: str) -> str:
    """Slack's minimal escape for text of ours: ``&``, ``<``, ``>`` only; formatting stays live.

    For our own wording and for text a user typed into their own command (it can hold ``*`` but
    no control sequence). Never for PBX text: use :func:`untrusted`.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each non-empty secret with "[redacted]".

    Longer secrets are replaced first, so a secret that contains another is hidden whole.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
