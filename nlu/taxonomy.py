"""The intent taxonomy (shared/intents.md) as data: names, urgency, plain labels.

labels.yml is the one list of intents. Rasa's domain (for `rasa data
validate`) is derived from it: `rasa_domain()` adds the intents to what
domain.yml holds besides them (its version and entities).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LABELS_FILE = Path(__file__).with_name("labels.yml")
DOMAIN_FILE = Path(__file__).with_name("domain.yml")


@dataclass(frozen=True, slots=True)
class Intent:
    name: str
    label: str
    urgent: bool
    report: bool
    label_fr: str | None = None  # the label in French (labels.yml `fr`), for a student answered in French


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
            label_fr=str(entry["fr"]) if "fr" in entry else None,
        )
        for name, entry in raw["intents"].items()
    }


def intent_names() -> frozenset[str]:
    return frozenset(intents())


def urgent_intents() -> frozenset[str]:
    return frozenset(name for name, intent in intents().items() if intent.urgent)


def is_report(name: str) -> bool:
    """The intent reports something (a `report_*` intent of the contract); False for any other name."""
    intent = intents().get(name)
    return intent is not None and intent.report


def label(name: str, language: str = "en") -> str:
    """A plain-language label for an intent ("a weapon"; in French if asked and known), or the name itself."""
    intent = intents().get(name)
    if intent is None:
        return name
    return intent.label_fr if language == "fr" and intent.label_fr else intent.label


def rasa_domain(domain_file: Path = DOMAIN_FILE) -> dict[str, Any]:
    """Rasa's domain: domain.yml with the intents of labels.yml, in their order."""
    domain: dict[str, Any] = yaml.safe_load(domain_file.read_text(encoding="utf-8"))
    if "intents" in domain:
        raise ValueError(f"{domain_file} lists intents: they are listed once, in {LABELS_FILE.name}")
    return {"version": domain["version"], "intents": list(intents()), **domain}


def write_rasa_domain(path: Path) -> Path:
    """Write the derived domain where Rasa can read it (a scratch directory, not the source tree)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(rasa_domain(), sort_keys=False), encoding="utf-8")
    return path
