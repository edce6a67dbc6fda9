"""Message text the way Telegram stores it: markup parsed into entities, offsets in UTF-16.

Telegram refuses text whose markup it cannot parse ("can't parse entities"), and a
bot that puts a student's words into HTML without escaping them meets that error
only in production. Parsing strictly here brings it into the tests.
"""

from __future__ import annotations

import html
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
        return _Html(text).run()
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
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_ATTRIBUTE = re.compile(r"\s*([A-Za-z-]+)\s*(?:=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_CHAR_REF = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#[xX][0-9a-fA-F]{1,6});")


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

    def run(self) -> tuple[str, list[JSON]]:
        src, i = self.src, 0
        while i < len(src):
            char = src[i]
            if char == "<":
                i = self.end_tag(i) if src.startswith("</", i) else self.start_tag(i)
            elif char == "&" and (ref := _CHAR_REF.match(src, i)):
                self.emit(html.unescape(ref.group()))
                i = ref.end()
            else:
                self.emit(char)
                i += 1
        if self.stack:
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1][0]}"')
        return "".join(self.out), sort_entities(self.entities)

    def start_tag(self, i: int) -> int:
        name_match = _TAG_NAME.match(self.src, i + 1)
        name = name_match.group().lower() if name_match else ""
        if name not in _HTML_TYPES:
            raise EntityParseError(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(self.src, i)}'
            )
        assert name_match is not None
        j, attributes = name_match.end(), {}
        while True:
            while j < len(self.src) and self.src[j].isspace():
                j += 1
            if j >= len(self.src):
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(self.src, i)}")
            if self.src[j] == ">":
                break
            attribute = _ATTRIBUTE.match(self.src, j)
            if not attribute or attribute.end() == j:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {_byte_offset(self.src, j)}'
                )
            value = attribute.group(2) or ""
            if value[:1] in "\"'" and value:
                value = value[1:-1]
            attributes[attribute.group(1).lower()] = html.unescape(value)
            j = attribute.end()
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        self.stack.append((name, self.size, attributes))
        return j + 1

    def end_tag(self, i: int) -> int:
        name_match = _TAG_NAME.match(self.src, i + 2)
        end = self.src.find(">", i)
        if not name_match or end < 0 or self.src[name_match.end() : end].strip():
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(self.src, i)}")
        name = name_match.group().lower()
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(self.src, i)}")
        open_name, start, attributes = self.stack.pop()
        if open_name != name:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {_byte_offset(self.src, i)}, "
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
            entity["custom_emoji_id"] = attributes.get("emoji-id", "")
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
                if self.quote_start is None:
                    self.quote_start = self.size
                i += 1
                at_line_start = False
                continue
            at_line_start = False
            if char == "\\":
                if i + 1 >= len(src) or not 0 < ord(src[i + 1]) < 127:
                    raise EntityParseError(
                        "Character '\\' is reserved and must be escaped with the preceding '\\'"
                    )
                self.emit(src[i + 1])
                i += 2
            elif self.in_code():
                i = self.code_char(i)
            elif char == "\n":
                self.emit(char)
                i += 1
                at_line_start = True
                if self.quote_start is not None and not src.startswith(">", i):
                    self.close_quote(self.size - 1)
            elif char == "`":
                i = self.open_code(i)
            elif char == "[":
                self.stack.append(("[", "text_link", self.size, i))
                i += 1
            elif char == "]" and self.stack and self.stack[-1][0] == "[":
                i = self.close_link(i)
            else:
                marker = src[i : i + 2] if src[i : i + 2] in ("__", "||") else char
                if marker in _V2_MARKERS:
                    self.toggle(marker, i)
                    i += len(marker)
                elif char in _V2_RESERVED:
                    raise EntityParseError(
                        f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                    )
                else:
                    self.emit(char)
                    i += 1
        if self.stack:
            _, entity_type, _, index = self.stack[-1]
            raise self.unclosed(entity_type, index)
        if self.quote_start is not None:
            self.close_quote(self.size)
        return "".join(self.out), sort_entities(self.entities)

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
