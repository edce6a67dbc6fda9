"""Properties of cutting and splitting: every part is one Telegram accepts, and no character is lost.

The oracle is the emulator's Telegram checker (devtools.emulator.formatting): Telegram's tag
set, entity parsing, and lengths in UTF-16 code units after parsing.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot import textparts
from bot.textparts import Html
from devtools.emulator.formatting import TextRefused, message_text, utf16_len

SPECIAL = [
    "<",
    ">",
    "&",
    "&amp;",
    "<b>",
    "</i>",
    "😀",
    "👍🏽",
    "👨‍👩‍👧",
    "🇨🇦",
    "é",
    "中文",
    "\n",
    " ",
    "\u200d",
    "؟",
]
TOKEN = st.one_of(st.characters(exclude_categories=("Cs", "Cc")), st.sampled_from(SPECIAL))
SHORT = st.lists(TOKEN, min_size=1, max_size=12).map("".join)
# A chunk repeated many times reaches Telegram's lengths without hypothesis drawing 10,000 characters.
CHUNK = st.tuples(SHORT, st.integers(1, 700)).map(lambda t: t[0] * t[1])
TEXTS = st.lists(st.one_of(CHUNK, SHORT), min_size=1, max_size=6).map("".join)
MARKUP = st.sampled_from(
    [
        Html("<b>What happened:</b> "),
        Html("\n\n"),
        Html("🚨 <b>URGENT</b> · <b>Weapon</b>\nNorth · case #12"),
        Html("<i>"),
        Html("</i>"),
        Html("<b>"),
        Html("</b>"),
        Html("<blockquote>"),
        Html("</blockquote>"),
        Html("&lt;catalog&gt; &amp; co"),
    ]
)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def balanced(document: list[textparts.Fragment]) -> list[textparts.Fragment]:
    """Close whatever the random markup left open, as every catalog template does."""
    stack: list[str] = []
    for fragment in document:
        if isinstance(fragment, Html):
            for closing, name in re.findall(r"<(/?)([a-z]+)", fragment.markup):
                if closing and stack and stack[-1] == name:
                    stack.pop()
                elif not closing:
                    stack.append(name)
    return [*document, *(Html(f"</{name}>") for name in reversed(stack))]


def documents() -> st.SearchStrategy[list[textparts.Fragment]]:
    fragment = st.one_of(MARKUP.filter(lambda h: not h.markup.startswith("</")), TEXTS)
    return st.lists(fragment, min_size=1, max_size=8).map(balanced)


def squeeze(text: str) -> str:
    """Telegram trims each message: compare contents without whitespace."""
    return re.sub(r"\s+", "", text)


def accepted(part: str, parse_mode: str | None, limit: int) -> str:
    plain, _ = message_text(part, parse_mode)  # TextRefused if Telegram would refuse it
    assert utf16_len(plain) <= limit
    return plain


@SETTINGS
@given(documents())
def test_every_html_part_is_accepted_and_nothing_is_lost(document: list[textparts.Fragment]) -> None:
    parts = textparts.html_parts(document)
    shown = "".join(accepted(part, "HTML", textparts.MESSAGE_LIMIT) for part in parts)
    assert squeeze(shown) == squeeze(textparts.plain_text(document))


@SETTINGS
@given(documents(), st.integers(8, 300))
# Found once by Hypothesis on CI: a part holding only blank lines had no room for a surrogate pair.
@example([Html("<b>What happened:</b> "), "0000" + "\n" * 33, "\U00010000"], 8)
def test_small_limits_too(document: list[textparts.Fragment], limit: int) -> None:
    parts = textparts.html_parts(document, limit)
    shown = "".join(accepted(part, "HTML", limit) for part in parts)
    assert squeeze(shown) == squeeze(textparts.plain_text(document))


@SETTINGS
@given(documents(), st.integers(60, 400))
def test_a_continuation_header_keeps_every_part_valid(document: list[textparts.Fragment], limit: int) -> None:
    continued = [Html("<i>case #12, continued</i>\n")]
    parts = textparts.html_parts(document, limit, continued=continued)
    shown = [accepted(part, "HTML", limit) for part in parts]
    assert all(text.startswith("case #12, continued") for text in shown[1:])
    body = "".join(text.removeprefix("case #12, continued") for text in shown)
    assert squeeze(body) == squeeze(textparts.plain_text(document))


@SETTINGS
@given(documents())
def test_the_plain_resend_is_accepted_and_complete(document: list[textparts.Fragment]) -> None:
    parts = textparts.plain_parts(document)
    shown = "".join(accepted(part, None, textparts.MESSAGE_LIMIT) for part in parts)
    assert squeeze(shown) == squeeze(textparts.plain_text(document))


@SETTINGS
@given(TEXTS, st.integers(2, 5000))
def test_split_plain_gives_the_text_back_in_pieces_within_the_limit(text: str, limit: int) -> None:
    pieces = textparts.split_plain(text, limit)
    assert "".join(pieces) == text
    assert all(1 <= utf16_len(piece) <= limit for piece in pieces)


def test_utf16_length_counts_emoji_as_two() -> None:
    assert textparts.utf16_len("a😀中") == 4
    assert textparts.utf16_len("😀" * 2048) == 4096


def test_an_emoji_sequence_is_not_split_when_it_can_be_avoided() -> None:
    family = "👨‍👩‍👧"  # 5 code points, 8 UTF-16 units
    pieces = textparts.split_plain("x" * 10 + family * 3, 20)
    assert all(not piece.endswith("\u200d") and not piece.startswith("\u200d") for piece in pieces)


def test_positive_control_cutting_after_escaping_is_refused() -> None:
    """The old bug, reproduced: the checker refuses it, and the new splitter does not make it."""
    words = "x < y & z " * 400  # 4,000 characters; escaped, far more
    escaped = f"<b>Tip</b>\n{html.escape(words, quote=False)}"
    old_clip = escaped[:3999] + "…"
    with pytest.raises(TextRefused, match=r"can.t parse entities|too long"):
        message_text(old_clip, "HTML")
    for part in textparts.html_parts([Html("<b>Tip</b>\n"), words]):
        message_text(part, "HTML")


def test_positive_control_counting_code_points_is_not_enough() -> None:
    emoji = "😀" * 3000  # 3,000 characters by len(), 6,000 UTF-16 units
    assert len(emoji) < 4096
    with pytest.raises(TextRefused, match="message is too long"):
        message_text(emoji, None)
    assert [utf16_len(p) for p in textparts.plain_parts([emoji])] == [4096, 1904]
