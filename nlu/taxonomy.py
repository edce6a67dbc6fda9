"""The intent taxonomy (shared/intents.md) as data: names, urgency, plain labels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

LABELS_FILE = Path(__file__).with_name("labels.yml")


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    label: str
    urgent: bool
    report: bool


@cache
def intents() -> dict[str, Intent]:
    """Every intent of the contract, in the order of labels.yml."""
    raw = yaml.safe_load(LABELS_FILE.read_text(encoding="utf-8"))
    return {
        name: Intent(
            name=name,
            label=str(entry["label"]),
            urgent=bool(entry.get("urgent", False)),
            report=name.startswith("report_"),
        )
        for name, entry in raw["intents"].items()
    }


def intent_names() -> frozenset[str]:
    return frozenset(intents())


def urgent_intents() -> frozenset[str]:
    return frozenset(name for name, intent in intents().items() if intent.urgent)


def label(name: str) -> str:
    """A plain-language label for an intent ("a weapon"), or the name itself."""
    intent = intents().get(name)
    return intent.label if intent else name
