"""A scripted classifier for the fast tier: the model's answers written in the test, the rest real.

The bot depends on `IntentClassifier` only. Here the model's output for each text a test sends is
written down (intent, confidence, entities); the real `Classifier.judge` then applies the real safety
net and urgency rules to it, exactly as it does to Rasa's answer. It is strict: a text the script
does not name fails the test (at once in the handler, and again, with the text, at teardown), and so
does a scripted text the bot never asked about (a script that no longer matches the conversation).
Tests whose point is the real model's judgement keep the real Rasa server (`rasa` marker).
"""

from __future__ import annotations

from dataclasses import dataclass

from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.result import Classification, Entity, IntentScore, ModelOutput


class UnscriptedText(AssertionError):
    """The bot classified a text the test's script does not name."""


@dataclass(frozen=True)
class Said:
    """What the model is scripted to answer for one text."""

    intent: str
    confidence: float = 0.95
    entities: tuple[Entity, ...] = ()
    # The model's ranking (did-you-mean offers it); by default the intent alone.
    ranking: tuple[IntentScore, ...] | None = None

    def output(self) -> ModelOutput:
        ranking = self.ranking if self.ranking is not None else (IntentScore(self.intent, self.confidence),)
        return ModelOutput(self.intent, self.confidence, ranking, self.entities)


def entity(text: str, kind: str, value: str) -> Entity:
    """An entity as the model tags it in `text` (the value must occur in it)."""
    start = text.index(value)
    return Entity(kind, value, start, start + len(value))


def location(text: str, value: str) -> Entity:
    return entity(text, "location", value)


class ScriptedClassifier:
    """An `IntentClassifier` answering from a script; urgency is judged by the real rules."""

    def __init__(self, fallback: FallbackModel) -> None:
        # `judge` never calls the fallback model; the real Classifier needs one to be built.
        self._judge = Classifier(None, fallback)
        self._script: dict[str, Said] = {}
        self.asked: list[str] = []
        self.unscripted: list[str] = []

    def says(
        self,
        text: str,
        intent: str,
        *,
        confidence: float = 0.95,
        entities: tuple[Entity, ...] = (),
        ranking: tuple[IntentScore, ...] | None = None,
    ) -> None:
        """Script the model's answer to `text`."""
        self._script[text] = Said(intent, confidence, entities, ranking)

    def script(self, answers: dict[str, str | Said]) -> None:
        """Script several texts at once: an intent name (sure of it) or a full Said."""
        for text, said in answers.items():
            self._script[text] = said if isinstance(said, Said) else Said(said)

    async def classify(self, text: str) -> Classification:
        self.asked.append(text)
        said = self._script.get(text)
        if said is None:
            self.unscripted.append(text)
            raise UnscriptedText(f"the test's script has no answer for {text!r}")
        return self._judge.judge(said.output(), text, "rasa")

    def problems(self) -> list[str]:
        """What is wrong with the script after a test: unscripted texts, and scripted ones never asked."""
        unused = [text for text in self._script if text not in self.asked]
        return [f"unscripted: {t!r}" for t in self.unscripted] + [f"never classified: {t!r}" for t in unused]
