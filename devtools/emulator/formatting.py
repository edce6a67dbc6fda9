"""Message text the way Telegram stores it: markup parsed into entities, offsets in UTF-16.

Telegram refuses text whose markup it cannot parse ("can't parse entities"), and a
bot that puts a student's words into HTML without escaping them meets that error
only in production. Parsing strictly here brings it into the tests.
"""

from __future__ import annotations

import re
from typing import Any

JSON = dict[str, Any]


class EntityParseError(ValueError):
    """The markup is invalid; the message is Telegram's wording after "can't parse entities: "."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def parse(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Plain text and entities of `text` under `parse_mode` (None, HTML, MarkdownV2, Markdown)."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return _MarkdownV2(text).run()
    if mode == "markdown":
        return _MarkdownLegacy(text).run()
    if mode:
        raise UnsupportedParseMode(parse_mode or "")
    return text, []


class UnsupportedParseMode(ValueError):
    """parse_mode is none of the three Telegram knows."""


def trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip surrounding whitespace as Telegram does, keeping entities on the same characters."""
    left = text.lstrip()
    lead = utf16_len(text) - utf16_len(left)
    result = left.rstrip()
    size = utf16_len(result)
    kept: list[JSON] = []
    for entity in entities:
        start = max(int(entity["offset"]) - lead, 0)
        end = min(int(entity["offset"]) + int(entity["length"]) - lead, size)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return result, kept


MAX_MESSAGE_TEXT = 4096  # UTF-16 code units, after entity parsing
MAX_CAPTION = 1024  # UTF-16 code units, after entity parsing
MAX_CALLBACK_DATA = 64  # bytes of UTF-8


class TextRefused(ValueError):
    """Telegram would answer 400; `description` is its wording after "Bad Request: "."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


def message_text(text: str, parse_mode: str | None = "HTML") -> tuple[str, list[JSON]]:
    """What Telegram stores for a message `text` (plain text, entities), or TextRefused as it refuses it."""
    plain, entities = _checked(text, parse_mode)
    if not plain:
        raise TextRefused("message text is empty")
    if utf16_len(plain) > MAX_MESSAGE_TEXT:
        raise TextRefused("message is too long")
    return plain, entities


def caption_text(caption: str, parse_mode: str | None = "HTML") -> tuple[str, list[JSON]]:
    """What Telegram stores for a media caption (it may be empty), or TextRefused."""
    plain, entities = _checked(caption, parse_mode)
    if utf16_len(plain) > MAX_CAPTION:
        raise TextRefused("message caption is too long")
    return plain, entities


def check_callback_data(data: object) -> None:
    """TextRefused unless `data` is callback data Telegram takes (1-64 bytes of UTF-8)."""
    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
        raise TextRefused("BUTTON_DATA_INVALID")


def _checked(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    try:
        return trim(*parse(text, parse_mode))
    except UnsupportedParseMode:
        raise TextRefused("unsupported parse_mode") from None
    except EntityParseError as error:
        raise TextRefused(f"can't parse entities: {error}") from None


def sort_entities(entities: list[JSON]) -> list[JSON]:
    return sorted(entities, key=lambda e: (int(e["offset"]), -int(e["length"])))


_COMMAND = re.compile(r"(?:(?<=\s)|^)/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


def command_entities(text: str) -> list[JSON]:
    """The bot_command entities Telegram marks in a user's text (CommandHandler needs them)."""
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for m in _COMMAND.finditer(text)
    ]


# --- HTML ------------------------------------------------------------------------------------

# Telegram's tag set (Bot API "HTML style"); anything else is refused, as Telegram does.
_HTML_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_CHAR_REF = re.compile(r"&(?:([A-Za-z][A-Za-z0-9]*)|#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,7}));")
_PLAIN_RUN = re.compile(r"[^<>&]+")
_TAG_NAME_END = re.compile(r"[\s>]")
_UNQUOTED_VALUE = re.compile(r"[A-Za-z0-9.\-]+")


def _reference(match: re.Match[str]) -> str | None:
    """The character a `&...;` reference stands for; None for one Telegram does not know."""
    name, decimal, hexadecimal = match.groups()
    if name is not None:
        return _NAMED_REFS.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _attribute_value(value: str) -> str:
    """An attribute value with its references decoded (unknown ones stay as written, as in Telegram)."""
    return _CHAR_REF.sub(lambda m: _reference(m) or m.group(), value)


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Plain text and entities of `text` under parse_mode=HTML, or EntityParseError as Telegram refuses it.

    Stricter than Telegram's servers in one way, on purpose: the Bot API documentation says every
    `<`, `>` and `&` outside a tag must be written as an entity, and the emulator holds bots to the
    documented contract rather than to what the server happens to tolerate today.
    """
    return _Html(text).run()


class _Html:
    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.size = 0  # UTF-16 length of the output so far
        self.stack: list[tuple[str, int, dict[str, str]]] = []
        self.entities: list[JSON] = []

    def emit(self, piece: str) -> None:
        self.out.append(piece)
        self.size += utf16_len(piece)

    def offset(self, index: int) -> int:
        return _byte_offset(self.src, index)

    def run(self) -> tuple[str, list[JSON]]:
        src, i = self.src, 0
        while i < len(src):
            if plain := _PLAIN_RUN.match(src, i):
                self.emit(plain.group())
                i = plain.end()
            elif src[i] == "<":
                i = self.end_tag(i) if src.startswith("</", i) else self.start_tag(i)
            elif src[i] == "&":
                i = self.reference(i)
            else:  # ">" outside a tag
                raise EntityParseError(
                    f'Character ">" at byte offset {self.offset(i)} must be escaped as "&gt;"'
                )
        if self.stack:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        return "".join(self.out), sort_entities(self.entities)

    def reference(self, i: int) -> int:
        match = _CHAR_REF.match(self.src, i)
        if match is None:
            raise EntityParseError(
                f'Character "&" at byte offset {self.offset(i)} must be escaped as "&amp;"'
            )
        character = _reference(match)
        if character is None:
            raise EntityParseError(
                f'Unsupported HTML entity "{match.group()}" at byte offset {self.offset(i)}'
            )
        self.emit(character)
        return match.end()

    def start_tag(self, i: int) -> int:
        src = self.src
        name_end = _TAG_NAME_END.search(src, i + 1)
        j = name_end.start() if name_end else len(src)
        name = src[i + 1 : j].lower()
        if name not in _HTML_TYPES:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {self.offset(i)}')
        attributes: dict[str, str] = {}
        while True:
            while j < len(src) and src[j].isspace():
                j += 1
            if j >= len(src):
                raise EntityParseError(f"Unclosed start tag at byte offset {self.offset(i)}")
            if src[j] == ">":
                break
            j = self.attribute(name, i, j, attributes)
        self.check_start(name, attributes)
        self.stack.append((name, self.size, attributes))
        return j + 1

    def attribute(self, tag: str, tag_start: int, j: int, attributes: dict[str, str]) -> int:
        """Read one attribute at `j` into `attributes`; the index after it."""
        src = self.src
        k = j
        while k < len(src) and not src[k].isspace() and src[k] not in "=>":
            k += 1
        name = src[j:k].lower()
        if not name:
            raise EntityParseError(
                f'Empty attribute name in the tag "{tag}" at byte offset {self.offset(tag_start)}'
            )
        while k < len(src) and src[k].isspace():
            k += 1
        if k >= len(src) or src[k] != "=":
            if tag == "blockquote" and name == "expandable":
                attributes[name] = ""
                return k
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                f"at byte offset {self.offset(tag_start)}"
            )
        k += 1
        while k < len(src) and src[k].isspace():
            k += 1
        if k >= len(src):
            raise EntityParseError(f"Unclosed start tag at byte offset {self.offset(tag_start)}")
        if src[k] in "\"'":
            close = src.find(src[k], k + 1)
            if close < 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {self.offset(tag_start)}")
            value, k = src[k + 1 : close], close + 1
        else:
            unquoted = _UNQUOTED_VALUE.match(src, k)
            if unquoted is None:
                raise EntityParseError(
                    f'Expected quote in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {self.offset(tag_start)}"
                )
            value, k = unquoted.group(), unquoted.end()
        attributes[name] = _attribute_value(value)
        return k

    def check_start(self, name: str, attributes: dict[str, str]) -> None:
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji":
            emoji_id = attributes.get("emoji-id", "")
            if not emoji_id:
                raise EntityParseError("Custom emoji entity must contain a custom emoji identifier")
            if not emoji_id.isascii() or not emoji_id.isdigit() or int(emoji_id) == 0:
                raise EntityParseError("Invalid custom emoji identifier specified")

    def end_tag(self, i: int) -> int:
        end = self.src.find(">", i)
        if end < 0:
            raise EntityParseError(f"Unclosed end tag at byte offset {self.offset(i)}")
        name = self.src[i + 2 : end].rstrip().lower()
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self.offset(i)}")
        open_name, start, attributes = self.stack.pop()
        if open_name != name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self.offset(i)}, "
                f'expected "</{open_name}>", found "</{name}>"'
            )
        self.close(open_name, start, attributes)
        return end + 1

    def close(self, name: str, start: int, attributes: dict[str, str]) -> None:
        if name == "code" and self.stack and self.stack[-1][0] == "pre":
            # <pre><code class="language-x"> is one pre entity with a language.
            language = attributes.get("class", "")
            if language.startswith("language-"):
                self.stack[-1][2]["language"] = language[len("language-") :]
            return
        length = self.size - start
        if length <= 0:
            return
        entity: JSON = {"type": _HTML_TYPES[name], "offset": start, "length": length}
        if name == "a":
            if not attributes.get("href"):
                return
            entity["url"] = attributes["href"]
        elif name == "tg-emoji":
            entity["custom_emoji_id"] = attributes["emoji-id"]
        elif name == "blockquote" and "expandable" in attributes:
            entity["type"] = "expandable_blockquote"
        elif name == "pre" and attributes.get("language"):
            entity["language"] = attributes["language"]
        self.entities.append(entity)


# --- MarkdownV2 ------------------------------------------------------------------------------

_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_V2_MARKERS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_ENTITY_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
}


class _MarkdownV2:
    def __init__(self, source: str) -> None:
        self.src = source
        self.out: list[str] = []
        self.size = 0
        # (marker, entity type, output offset, source index)
        self.stack: list[tuple[str, str, int, int]] = []
        self.entities: list[JSON] = []
        self.quote_start: int | None = None
        self.pre_language = ""

    def emit(self, piece: str) -> None:
        self.out.append(piece)
        self.size += utf16_len(piece)

    def unclosed(self, entity_type: str, index: int) -> EntityParseError:
        name = _ENTITY_NAMES.get(entity_type, entity_type)
        return EntityParseError(
            f"Can't find end of {name} entity at byte offset {_byte_offset(self.src, index)}"
        )

    def run(self) -> tuple[str, list[JSON]]:
        src, i = self.src, 0
        at_line_start = True
        while i < len(src):
            char = src[i]
            if at_line_start and char == ">" and not self.in_code():
                self.quote_line()
                i += 1
                at_line_start = False
                continue
            at_line_start = False
            if char == "\\":
                i = self.escaped(i)
            elif self.in_code():
                i = self.code_char(i)
            elif char == "\n":
                i = self.line_end(i)
                at_line_start = True
            elif char == "`":
                i = self.open_code(i)
            elif char == "[":
                self.stack.append(("[", "text_link", self.size, i))
                i += 1
            elif char == "]" and self.stack and self.stack[-1][0] == "[":
                i = self.close_link(i)
            else:
                i = self.styled_char(i)
        if self.stack:
            _, entity_type, _, index = self.stack[-1]
            raise self.unclosed(entity_type, index)
        if self.quote_start is not None:
            self.close_quote(self.size)
        return "".join(self.out), sort_entities(self.entities)

    def escaped(self, i: int) -> int:
        """`\\` and the ASCII character it escapes, kept as that character."""
        src = self.src
        if i + 1 >= len(src) or not 0 < ord(src[i + 1]) < 127:
            raise EntityParseError("Character '\\' is reserved and must be escaped with the preceding '\\'")
        self.emit(src[i + 1])
        return i + 2

    def styled_char(self, i: int) -> int:
        """Outside code: a style marker toggles its entity; a reserved character is refused; else text."""
        src, char = self.src, self.src[i]
        marker = src[i : i + 2] if src[i : i + 2] in ("__", "||") else char
        if marker in _V2_MARKERS:
            self.toggle(marker, i)
            return i + len(marker)
        if char in _V2_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        self.emit(char)
        return i + 1

    def quote_line(self) -> None:
        """`>` at a line's start: the line is quoted (one blockquote over consecutive quoted lines)."""
        if self.quote_start is None:
            self.quote_start = self.size

    def line_end(self, i: int) -> int:
        """A newline, kept; a blockquote ends with it unless the next line is quoted too."""
        self.emit("\n")
        if self.quote_start is not None and not self.src.startswith(">", i + 1):
            self.close_quote(self.size - 1)
        return i + 1

    def in_code(self) -> bool:
        return bool(self.stack) and self.stack[-1][1] in ("code", "pre")

    def close_quote(self, end: int) -> None:
        assert self.quote_start is not None
        if end > self.quote_start:
            self.entities.append(
                {"type": "blockquote", "offset": self.quote_start, "length": end - self.quote_start}
            )
        self.quote_start = None

    def open_code(self, i: int) -> int:
        if self.src.startswith("```", i):
            # ```python\n...``` : a first line with a single word names the language.
            self.stack.append(("```", "pre", self.size, i))
            newline = self.src.find("\n", i + 3)
            language = self.src[i + 3 : newline] if newline >= 0 else ""
            has_language = bool(language) and not any(c.isspace() or c == "`" for c in language)
            self.pre_language = language if has_language else ""
            return newline + 1 if has_language else i + 3
        self.stack.append(("`", "code", self.size, i))
        return i + 1

    def code_char(self, i: int) -> int:
        marker, entity_type, start, _ = self.stack[-1]
        if self.src.startswith(marker, i):
            self.stack.pop()
            if self.size > start:
                entity: JSON = {"type": entity_type, "offset": start, "length": self.size - start}
                if entity_type == "pre" and self.pre_language:
                    entity["language"] = self.pre_language
                self.entities.append(entity)
            return i + len(marker)
        self.emit(self.src[i])
        return i + 1

    def close_link(self, i: int) -> int:
        _, _, start, _ = self.stack.pop()
        if not self.src.startswith("(", i + 1):
            raise EntityParseError("Character ']' is reserved and must be escaped with the preceding '\\'")
        url, j = [], i + 2
        while j < len(self.src) and self.src[j] != ")":
            if self.src[j] == "\\" and j + 1 < len(self.src):
                j += 1
            url.append(self.src[j])
            j += 1
        if j >= len(self.src):
            raise self.unclosed("text_link", i)
        if self.size > start:
            self.entities.append(
                {"type": "text_link", "offset": start, "length": self.size - start, "url": "".join(url)}
            )
        return j + 1

    def toggle(self, marker: str, i: int) -> None:
        open_markers = [entry[0] for entry in self.stack]
        if marker in open_markers:
            top_marker, entity_type, start, index = self.stack[-1]
            if top_marker != marker:
                raise self.unclosed(entity_type, index)
            self.stack.pop()
            if self.size > start:
                self.entities.append({"type": entity_type, "offset": start, "length": self.size - start})
        else:
            self.stack.append((marker, _V2_MARKERS[marker], self.size, i))


# --- legacy Markdown ----------------------------------------------------------------------------

_LEGACY_MARKERS = {"*": "bold", "_": "italic", "```": "pre", "`": "code"}


class _MarkdownLegacy:
    def __init__(self, source: str) -> None:
        self.src = source

    def run(self) -> tuple[str, list[JSON]]:
        src, out, entities = self.src, [], []
        size, i = 0, 0
        while i < len(src):
            char = src[i]
            if char == "\\" and i + 1 < len(src) and src[i + 1] in "_*`[":
                out.append(src[i + 1])
                size += 1
                i += 2
                continue
            marker = "```" if src.startswith("```", i) else char
            if marker in _LEGACY_MARKERS:
                end = src.find(marker, i + len(marker))
                if end < 0:
                    raise EntityParseError(
                        f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
                    )
                inner = src[i + len(marker) : end]
                if inner:
                    entities.append(
                        {"type": _LEGACY_MARKERS[marker], "offset": size, "length": utf16_len(inner)}
                    )
                out.append(inner)
                size += utf16_len(inner)
                i = end + len(marker)
            elif char == "[" and (link := re.match(r"\[([^\]]*)\]\(([^)]*)\)", src[i:])):
                inner = link.group(1)
                if inner:
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": size,
                            "length": utf16_len(inner),
                            "url": link.group(2),
                        }
                    )
                out.append(inner)
                size += utf16_len(inner)
                i += link.end()
            else:
                out.append(char)
                size += utf16_len(char)
                i += 1
        return "".join(out), sort_entities(entities)
