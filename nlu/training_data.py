"""Reads Rasa NLU YAML (training data, held-out data, lookups, synonyms) without Rasa."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).with_name("data")

_ANNOTATION = re.compile(r"\[(?P<span>[^\]]+)\](?:\((?P<entity>[^)]+)\)|(?P<json>\{[^}]+\}))")


@dataclass(frozen=True, slots=True)
class AnnotatedEntity:
    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    intent: str
    entities: tuple[AnnotatedEntity, ...] = field(default=())


@dataclass(slots=True)
class NLUData:
    examples: list[Example] = field(default_factory=list)
    lookups: dict[str, list[str]] = field(default_factory=dict)
    synonyms: dict[str, str] = field(default_factory=dict)  # variant (lowercase) -> value

    @property
    def intents(self) -> list[str]:
        return sorted({e.intent for e in self.examples})


def parse_example(line: str, intent: str) -> Example:
    """Turn `a [strap](weapon) by the [portable](location)` into text and entity spans."""
    entities = []
    text_parts: list[str] = []
    position = 0
    cursor = 0
    for match in _ANNOTATION.finditer(line):
        before = line[cursor : match.start()]
        text_parts.append(before)
        position += len(before)
        span = match.group("span")
        if match.group("json"):
            meta = json.loads(match.group("json"))
            name, value = str(meta["entity"]), str(meta.get("value", span))
        else:
            name, _, value = match.group("entity").partition(":")
            value = value or span
        entities.append(AnnotatedEntity(name, value, position, position + len(span)))
        text_parts.append(span)
        position += len(span)
        cursor = match.end()
    text_parts.append(line[cursor:])
    return Example("".join(text_parts), intent, tuple(entities))


def _lines(block: str) -> Iterable[str]:
    for raw in block.splitlines():
        raw = raw.strip()
        if raw.startswith("- "):
            yield raw[2:].strip()


def load(paths: Iterable[Path]) -> NLUData:
    """Load every `nlu:` entry of the given YAML files."""
    data = NLUData()
    for path in sorted(paths):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for entry in document.get("nlu") or []:
            block = entry.get("examples") or ""
            if "intent" in entry:
                data.examples.extend(parse_example(line, entry["intent"]) for line in _lines(block))
            elif "lookup" in entry:
                data.lookups.setdefault(entry["lookup"], []).extend(_lines(block))
            elif "synonym" in entry:
                for variant in _lines(block):
                    data.synonyms[variant.lower()] = str(entry["synonym"])
    return data


def load_dir(directory: Path = DATA_DIR) -> NLUData:
    return load(directory.glob("*.yml"))
