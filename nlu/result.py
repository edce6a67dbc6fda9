"""What classifying one message yields: the contract between `nlu` and its callers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NLU_FALLBACK = "nlu_fallback"
# What the models read of a text: Telegram's message limit; longer texts add nothing to the intent.
MAX_CHARS = 4096

Source = Literal["rasa", "fallback"]


@dataclass(frozen=True, slots=True)
class Entity:
    """An extracted entity; `start`/`end` index the text that was classified."""

    entity: str
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class IntentScore:
    name: str
    confidence: float


@dataclass(frozen=True, slots=True)
class ModelOutput:
    """What a model (Rasa or the fallback) said, before the safety net."""

    intent: str
    confidence: float
    ranking: tuple[IntentScore, ...]
    entities: tuple[Entity, ...] = ()


@dataclass(frozen=True, slots=True)
class Classification:
    """The answer for one message.

    `intent` is what the bot acts on (`nlu_fallback` below the model's
    threshold); `confidence` is the model's confidence in its top intent;
    `ranking` lists the top real intents. `urgent` is set by an urgent intent
    or by the safety net, which never changes `intent`.
    """

    intent: str
    confidence: float
    ranking: tuple[IntentScore, ...]
    entities: tuple[Entity, ...]
    urgent: bool
    urgent_reason: str | None
    source: Source
    urgent_intent: str | None = field(default=None)
    # The language the student wrote in ("en" or "fr"; nlu.language.detect), for replies and tips.
    language: Literal["en", "fr"] = field(default="en")

    def as_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "ranking": [{"intent": s.name, "confidence": round(s.confidence, 4)} for s in self.ranking],
            "urgent": self.urgent,
            "urgent_reason": self.urgent_reason,
            "urgent_intent": self.urgent_intent,
            "entities": [
                {"entity": e.entity, "value": e.value, "start": e.start, "end": e.end} for e in self.entities
            ],
            "source": self.source,
            "language": self.language,
        }
