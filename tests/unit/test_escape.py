"""PBX text can never mention, link, format, quote or break a line once escaped."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.slack.escape import (
    ELLIPSIS,
    UNKNOWN,
    WORD_JOINER,
    mrkdwn,
    redact,
    untrusted,
)

BROADCAST_RE = re.compile(r"@(here|channel|everyone)", re.IGNORECASE)
ENTITY_RE = re.compile(r"&(?!amp;|lt;|gt;)")
ALLOWED_FORMAT_CHARS = {WORD_JOINER, "\u200c", "\u200d"}

# Text built from what an attacker would reach for, mixed with anything at all.
hostile_text = st.lists(
    st.one_of(
        st.sampled_from(list("<>&@!*_~`|:/#^\n\r\t >\u202e\u2066\u200b\u2060\x00\x1b")),
        st.sampled_from(["here", "channel", "everyone", "http", "U999", "subteam^", "://"]),
        st.characters(),
    ),
    max_size=150,
).map("".join)


def assert_inert(out: str, limit: int) -> None:
    assert out
    assert len(out) <= limit
    assert "<" not in out and ">" not in out
    assert not set("*_~`") & set(out)
    assert BROADCAST_RE.search(out) is None
    assert all(out[i + 1 : i + 2] == WORD_JOINER for i, ch in enumerate(out) if ch == "@")
    assert "://" not in out
    assert ENTITY_RE.search(out) is None, "every & starts one of Slack's three entities"
    assert out == out.strip()
    assert "  " not in out
    for ch in out:
        category = unicodedata.category(ch)
        assert category not in ("Cc", "Cs", "Zl", "Zp"), repr(ch)
        assert category != "Cf" or ch in ALLOWED_FORMAT_CHARS, repr(ch)


@given(hostile_text, st.integers(min_value=10, max_value=400))
@example("<!channel> @here <@U999> *b* _i_ ~s~ `c` > q\nx http://e", 100)
@example("&" * 300, 10)
@example("@" * 300, 11)
def test_untrusted_output_is_inert(text: str, limit: int) -> None:
    assert_inert(untrusted(text, limit=limit), limit)


@given(st.from_regex(r"[A-Za-z0-9.,'()+-]+( [A-Za-z0-9.,'()+-]+){0,5}", fullmatch=True))
def test_ordinary_names_are_unchanged(text: str) -> None:
    assert untrusted(text, limit=400) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U999>", "&lt;@\u2060U999&gt;"),
        ("<!subteam^S1|@devs>", "&lt;!subteam^S1|@\u2060devs&gt;"),
        ("@here", "@\u2060here"),
        ("hi @Everyone!", "hi @\u2060Everyone!"),
        ("*bold*", "∗bold∗"),
        ("_it_ ~s~ `c`", "ˍitˍ ∼s∼ ˋcˋ"),
        ("<http://evil|click>", "&lt;http:\u2060//evil|click&gt;"),
        ("see https://evil.example", "see https:\u2060//evil.example"),
        ("> quoted", "˃ quoted"),
        ("a > b", "a &gt; b"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("&lt;@U1&gt;", "&amp;lt;@\u2060U1&amp;gt;"),
        ("line1\nline2\r\n\tline3", "line1 line2 line3"),
        ("a\u2028b\u2029c", "a b c"),
        ("\u202eevil\u202c name\u200b", "evil name"),
        ("\x00\x1b[31mred", "[31mred"),
        ("  padded  ", "padded"),
        ("", UNKNOWN),
        (" \n\t ", UNKNOWN),
        ("\u202e\u200b", UNKNOWN),
        ("👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧"),
    ],
)
def test_untrusted_examples(raw: str, expected: str) -> None:
    assert untrusted(raw) == expected


def test_long_text_is_capped_with_an_ellipsis() -> None:
    out = untrusted("A" * 10_000, limit=100)
    assert len(out) == 100
    assert out == "A" * 99 + ELLIPSIS


def test_entities_are_never_cut_in_half() -> None:
    out = untrusted("a" + "&" * 50, limit=20)
    assert out == "a" + "&amp;" * 3 + ELLIPSIS
    assert ENTITY_RE.search(out) is None


def test_truncation_does_not_leave_a_trailing_space() -> None:
    assert untrusted("abcdefgh ijklmnopqrstuvwxyz", limit=10) == "abcdefgh…"


def test_combining_mark_towers_are_capped() -> None:
    out = untrusted("e" + "\u0301" * 50 + "x")
    assert out == "e" + "\u0301" * 4 + "x"


def test_huge_input_is_cheap_and_capped() -> None:
    out = untrusted("<" * 1_000_000, limit=50)
    assert len(out) <= 50


def test_limit_must_fit_unknown() -> None:
    with pytest.raises(ValueError):
        untrusted("x", limit=3)


def test_mrkdwn_escapes_control_characters_only() -> None:
    assert mrkdwn("*a* <b> & c") == "*a* &lt;b&gt; &amp; c"


def test_redact_hides_every_secret() -> None:
    text = "pin 1234 and token abc123xyz and abc123"
    assert (
        redact(text, ["1234", "abc123", "abc123xyz", ""])
        == "pin [redacted] and token [redacted] and [redacted]"
    )
    assert redact("nothing here", []) == "nothing here"
