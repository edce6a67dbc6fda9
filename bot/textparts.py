"""Measuring, cutting and splitting texts the way Telegram counts them, always before escaping.

A message the bot builds is a list of fragments: `Html` (catalog text, trusted
markup, short) and plain strings (a student's or an officer's words, of any
length). `html_parts` lays them out into as many messages as needed, each at
most `limit` UTF-16 code units once Telegram has parsed the entities, with
every tag closed at the end of a part and reopened at the start of the next.
Plain text is cut only as plain text and escaped afterwards, so a cut can
never fall inside a tag or an entity. `plain_parts` gives the same content
without any markup, for the safe resend when Telegram refused the HTML.
"""

from __future__ import annotations

import html
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MESSAGE_LIMIT = 4096  # UTF-16 code units of a message text, after entity parsing
CAPTION_LIMIT = 1024  # UTF-16 code units of a caption, after entity parsing
CALLBACK_DATA_BYTES = 64  # bytes of UTF-8 in a button's callback_data

# How far back a cut may move to land on a line break or a space instead of inside a word.
_SOFT_CUT_SHARE = 2  # look back at most 1/2 of the room
_GRAPHEME_LOOKBACK = 16
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*>")
_ZWJ = "\u200d"


@dataclass(frozen=True, slots=True)
class Html:
    """Markup we wrote (catalog text): kept whole within one part."""

    markup: str


Fragment = Html | str
Document = Sequence[Fragment]


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP is 2)."""
    return len(text.encode("utf-16-le")) // 2


def visible(markup: str) -> str:
    """What Telegram shows of our own markup: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", markup))


def template(text: str, values: Mapping[str, Fragment | int | Sequence[Fragment]]) -> list[Fragment]:
    """A catalog template as fragments: its literal text is Html, each `{name}` the value as given.

    A str value is plain text (escaped at layout); pass `Html` for markup already safe, or a list
    of fragments (a document) to nest one.
    """
    fragments: list[Fragment] = []
    for literal, name, spec, conversion in string.Formatter().parse(text):
        if literal:
            fragments.append(Html(literal))
        if name is None:
            continue
        if spec or conversion:
            raise ValueError("catalog placeholders take no format spec here")
        value = values[name]
        if isinstance(value, int):
            fragments.append(Html(str(value)))
        elif isinstance(value, str | Html):
            fragments.append(value)
        else:
            fragments.extend(value)
    return fragments


def joined(blocks: Iterable[Sequence[Fragment]], separator: str = "\n\n") -> list[Fragment]:
    """Blocks (lists of fragments) one after another, `separator` between non-empty ones."""
    out: list[Fragment] = []
    for block in blocks:
        if not any(visible(f.markup) if isinstance(f, Html) else f for f in block):
            continue
        if out:
            out.append(Html(separator))
        out.extend(block)
    return out


def cut_point(text: str, room: int) -> int:
    """How many characters of `text` fit in `room` UTF-16 units, ending at a gentle place if one is near.

    Prefers the end of a line, then a space (kept with the first piece, since Telegram trims it),
    and never separates the code points of one visible character (combining marks, ZWJ emoji
    sequences, skin tones, variation selectors) when it can avoid it.
    """
    if utf16_len(text) <= room:
        return len(text)
    if room <= 0:
        return 0
    # Largest prefix within the room (a character outside the BMP takes two units).
    end, used = 0, 0
    for char in text:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > room:
            break
        used += width
        end += 1
    floor = max(end - max(room // _SOFT_CUT_SHARE, 1), 0)
    for breaker in ("\n", " ", "\t"):
        found = text.rfind(breaker, floor, end)
        if found >= 0 and found + 1 > floor:
            return found + 1
    for back in range(min(_GRAPHEME_LOOKBACK, end - 1) + 1):
        candidate = end - back
        if candidate > 0 and not _joins(text, candidate):
            return candidate
    return max(end, 1) if end else 0


def _joins(text: str, index: int) -> bool:
    """True if cutting before text[index] would split one visible character."""
    after, before = text[index], text[index - 1]
    if before == _ZWJ or after == _ZWJ:
        return True
    if unicodedata.combining(after) or unicodedata.category(after) in ("Mn", "Me", "Mc"):
        return True
    code = ord(after)
    if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F:
        return True
    regional = range(0x1F1E6, 0x1F200)
    if code in regional and ord(before) in regional:
        # Flags are pairs: cut only after an even run of regional indicators.
        run = 0
        while index - run - 1 >= 0 and ord(text[index - run - 1]) in regional:
            run += 1
        return run % 2 == 1
    return False


def split_plain(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Plain text in pieces of at most `limit` UTF-16 units; the pieces joined give `text` back."""
    pieces: list[str] = []
    while text:
        cut = cut_point(text, limit)
        pieces.append(text[:cut])
        text = text[cut:]
    return pieces


class _Layout:
    """Fills parts one after another, closing open tags at a part's end and reopening them after."""

    def __init__(self, limit: int, continued: Sequence[Fragment]) -> None:
        self.limit = limit
        self.continued = continued
        self.parts: list[str] = []
        self.current: list[str] = []
        self.used = 0
        self.open_tags: list[tuple[str, str]] = []  # (name, start tag as written)
        self.has_content = False
        self.fresh = True  # nothing in this part yet but the continuation header

    def room(self) -> int:
        return self.limit - self.used

    def html(self, markup: str) -> None:
        width = utf16_len(visible(markup))
        if width > self.room() and self.has_content:
            self.new_part()
        if width > self.room():  # catalog text longer than a message: never happens; stay valid anyway
            self.plain(visible(markup))
            return
        self.current.append(markup)
        self.used += width
        self.fresh = False
        self.has_content = self.has_content or bool(visible(markup).strip())
        for tag in _TAG.finditer(markup):
            name = tag.group(2).lower()
            if not tag.group(1):
                self.open_tags.append((name, tag.group(0)))
            elif self.open_tags and self.open_tags[-1][0] == name:
                self.open_tags.pop()

    def plain(self, text: str) -> None:
        while text:
            # A part that holds anything (even only blank lines) makes way for a character it
            # cannot fit; a fresh one always takes at least one.
            if self.room() <= 0 or (not self.fresh and cut_point(text, self.room()) == 0):
                self.new_part()
            cut = cut_point(text, self.room())
            if cut == 0:  # an empty fresh part cannot take one character: impossible with limit >= 2
                raise ValueError("a part cannot hold a single character")
            piece, text = text[:cut], text[cut:]
            self.current.append(html.escape(piece, quote=False))
            self.used += utf16_len(piece)
            self.fresh = False
            self.has_content = self.has_content or bool(piece.strip())
            if text:
                self.new_part()

    def new_part(self) -> None:
        reopen = list(self.open_tags)
        self.current.extend(f"</{name}>" for name, _ in reversed(self.open_tags))
        self.flush()
        self.open_tags = []
        for fragment in self.continued:
            if isinstance(fragment, Html):
                self.html(fragment.markup)
            else:
                self.plain(fragment)
        self.has_content = False
        self.fresh = True
        self.current.extend(start for _, start in reopen)
        self.open_tags.extend(reopen)

    def flush(self) -> None:
        text = "".join(self.current)
        if visible(text).strip():
            self.parts.append(text)
        self.current, self.used = [], 0

    def finish(self) -> list[str]:
        self.current.extend(f"</{name}>" for name, _ in reversed(self.open_tags))
        self.flush()
        return self.parts


def html_parts(document: Document, limit: int = MESSAGE_LIMIT, *, continued: Document = ()) -> list[str]:
    """The document as HTML messages of at most `limit` UTF-16 units each after entity parsing.

    `continued` (short) starts every part after the first, e.g. "case 12, continued".
    """
    layout = _Layout(limit, continued)
    for fragment in document:
        if isinstance(fragment, Html):
            layout.html(fragment.markup)
        else:
            layout.plain(fragment)
    return layout.finish()


def plain_text(document: Document) -> str:
    """The document without any markup: what the reader sees, as plain text."""
    return "".join(visible(f.markup) if isinstance(f, Html) else f for f in document)


def plain_parts(document: Document, limit: int = MESSAGE_LIMIT) -> list[str]:
    """The document as plain-text messages (no parse mode) of at most `limit` UTF-16 units each."""
    return [piece for piece in split_plain(plain_text(document), limit) if piece.strip()]
