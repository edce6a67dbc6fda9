"""The safety net's lexicon, one data file a language (nlu/lexicon/en.yml), loaded and checked at start-up.

The files hold the phrases; this module reads one, expands its pieces, and
compiles every pattern, so that a malformed file stops the program when it
starts (`LexiconError`) instead of letting a rule silently never fire. What
each category stands for in the intent taxonomy is code, not data: it is the
same in every language.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

LEXICON_DIR = Path(__file__).with_name("lexicon")
DEFAULT_LANGUAGE = "en"

Category = Literal["weapon", "threat", "self_harm", "abuse", "sexual_harm"]
# The intent a safety-net hit stands for, when the model said something else.
CATEGORY_INTENT: dict[str, str] = {
    "weapon": "report_weapon",
    "threat": "report_threat",
    "self_harm": "report_self_harm",
    "abuse": "report_abuse",
    "sexual_harm": "report_sexual_harassment",
}

# {NAME} in a pattern stands for a piece; upper case, so a quantifier such as {0,4} is left alone.
_PLACEHOLDER = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")
_RULE_ID = r"^[a-z][a-z0-9-]*$"
_WORD = r"^[a-z]+$"


class LexiconError(ValueError):
    """A lexicon file is missing or malformed: the safety net must not start without its rules."""


# A pattern is one string or several joined end to end (a long one broken where it reads best).
Pattern = str | list[str]


def _joined(pattern: Pattern) -> str:
    return pattern if isinstance(pattern, str) else "".join(pattern)


class CategoryRules(BaseModel):
    """One category's rules (first match names the hit), harmless phrases, and misspellable words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rules: dict[str, Pattern] = Field(min_length=1)
    harmless: Pattern | None = None
    fuzzy: tuple[str, ...] = ()

    @field_validator("rules")
    @classmethod
    def _rule_ids(cls, rules: dict[str, Pattern]) -> dict[str, Pattern]:
        for rule in rules:
            if not re.match(_RULE_ID, rule):
                raise ValueError(f"rule id {rule!r}: lower-case words joined by '-'")
        return rules

    @field_validator("fuzzy")
    @classmethod
    def _fuzzy_words(cls, words: tuple[str, ...]) -> tuple[str, ...]:
        # Matched against the message's words ([a-z]+): anything else could never match.
        for word in words:
            if not re.match(_WORD, word):
                raise ValueError(f"fuzzy word {word!r}: lower-case letters only")
        return words


class LexiconFile(BaseModel):
    """What a nlu/lexicon/<language>.yml holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pieces: dict[str, Pattern] = {}
    categories: dict[Category, CategoryRules]
    emoji: dict[str, str] = {}
    contractions: dict[str, str] = {}

    @model_validator(mode="after")
    def _complete(self) -> LexiconFile:
        missing = set(CATEGORY_INTENT) - set(self.categories)
        if missing:
            raise ValueError(f"categories missing: {', '.join(sorted(missing))}")
        for name in self.pieces:
            if not _PLACEHOLDER.fullmatch("{" + name + "}"):
                raise ValueError(f"piece name {name!r}: upper-case letters, digits and _")
        return self


class Lexicon:
    """One language's lexicon, expanded and compiled: what the safety net runs."""

    __slots__ = ("contractions", "emoji", "fuzzy", "harmless", "language", "rules")

    def __init__(self, language: str, data: LexiconFile) -> None:
        self.language = language
        pieces = {name: _joined(value) for name, value in data.pieces.items()}
        self.rules: dict[str, tuple[tuple[str, re.Pattern[str]], ...]] = {}
        self.harmless: dict[str, re.Pattern[str] | None] = {}
        self.fuzzy: dict[str, tuple[str, ...]] = {}
        for category, entry in data.categories.items():
            self.rules[category] = tuple(
                (rule, _compile(pieces, _joined(pattern), f"{category}/{rule}"))
                for rule, pattern in entry.rules.items()
            )
            harmless = _joined(entry.harmless) if entry.harmless is not None else ""
            self.harmless[category] = _compile(pieces, harmless, f"{category}/harmless") if harmless else None
            self.fuzzy[category] = entry.fuzzy
        self.emoji = dict(data.emoji)
        self.contractions = dict(data.contractions)

    def __repr__(self) -> str:
        return f"Lexicon({self.language!r}, {sum(len(r) for r in self.rules.values())} rules)"


def _compile(pieces: dict[str, str], pattern: str, where: str) -> re.Pattern[str]:
    def piece(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in pieces:
            raise LexiconError(f"{where}: unknown piece {{{name}}}")
        return pieces[name]

    try:
        return re.compile(_PLACEHOLDER.sub(piece, pattern))
    except re.error as error:
        raise LexiconError(f"{where}: not a regular expression ({error})") from error


class _StrictLoader(yaml.BaseLoader):
    """Every scalar a string (no 'on' read as true), and a key written twice is an error, not a loss."""


def _mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise LexiconError(f"line {key_node.start_mark.line + 1}: {key!r} is written twice")
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def parse(text: str, language: str) -> Lexicon:
    """A lexicon from a file's text; `LexiconError` says what is wrong, and where."""
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader: strings, lists, maps only
        return Lexicon(language, LexiconFile.model_validate(raw))
    except yaml.YAMLError as error:
        raise LexiconError(f"lexicon {language!r} is not valid YAML: {error}") from error
    except ValidationError as error:
        raise LexiconError(f"lexicon {language!r} is malformed: {error}") from error
    except LexiconError as error:
        raise LexiconError(f"lexicon {language!r}: {error}") from error


@cache
def load(language: str = DEFAULT_LANGUAGE, directory: Path = LEXICON_DIR) -> Lexicon:
    """The lexicon of `language`, read once per process."""
    path = directory / f"{language}.yml"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise LexiconError(f"no lexicon for {language!r}: cannot read {path}") from error
    return parse(text, language)
