"""What the bot calls: Rasa when it answers, the fallback when it cannot, the safety net always."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Protocol

from nlu import language, taxonomy
from nlu.fallback import FallbackModel
from nlu.rasa_client import NLUUnavailable, RasaClient
from nlu.result import MAX_CHARS, NLU_FALLBACK, Classification, ModelOutput, Source
from nlu.safety_lexicon import CATEGORY_INTENT
from nlu.safety_net import SafetyNet

logger = logging.getLogger(__name__)

# Control characters become spaces one for one, so entity offsets still index the text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# Below Rasa's fallback threshold the bot asks "did you mean"; but when the
# model's best guess is an urgent intent with at least this confidence, the
# message is still treated as urgent. A false alarm costs a student a screen of
# safety information; a miss can cost far more.
URGENT_GUESS_CONFIDENCE = 0.25


class IntentClassifier(Protocol):
    """The small interface the bot depends on; tests can pass a fake."""

    async def classify(self, text: str) -> Classification: ...


def model_text(text: str) -> str:
    """The text the models see: control characters blanked, cut at Telegram's limit."""
    return _CONTROL.sub(" ", text[:MAX_CHARS])


class Classifier:
    """Classifies one message: intent, entities, urgency, and where the answer came from."""

    def __init__(
        self, rasa: RasaClient | None, fallback: FallbackModel, safety_net: SafetyNet | None = None
    ) -> None:
        self._rasa = rasa
        self._fallback = fallback
        self._net = safety_net or SafetyNet()
        self._urgent = taxonomy.urgent_intents()

    async def classify(self, text: str) -> Classification:
        source: Source = "rasa"
        output: ModelOutput | None = None
        sent = model_text(text)
        if self._rasa is not None and self._rasa.available:
            try:
                output = await self._rasa.parse(sent)
            except NLUUnavailable:
                output = None
        if output is None:
            source = "fallback"
            # CPU-bound but ~1 ms; a thread keeps the event loop free under load.
            output = await asyncio.to_thread(self._fallback.predict, sent)
        return self.judge(output, text, source)

    def judge(self, output: ModelOutput, text: str, source: Source) -> Classification:
        """Combine a model's output with the safety net, which sees the full text."""
        hit = self._net.check(text)
        model_guess = output.ranking[0].name if output.ranking else output.intent
        guess_confidence = output.ranking[0].confidence if output.ranking else 0.0
        reason: str | None = None
        urgent_intent: str | None = None
        if output.intent in self._urgent:
            reason, urgent_intent = f"model: {output.intent}", output.intent
        elif (
            output.intent == NLU_FALLBACK
            and model_guess in self._urgent
            and guess_confidence >= URGENT_GUESS_CONFIDENCE
        ):
            reason, urgent_intent = f"model (low confidence): {model_guess}", model_guess
        if hit is not None:
            reason = f"{reason}; {hit.reason}" if reason else hit.reason
            urgent_intent = urgent_intent or CATEGORY_INTENT[hit.category]
        return Classification(
            intent=output.intent,
            confidence=output.confidence,
            ranking=output.ranking,
            entities=output.entities,
            urgent=reason is not None,
            urgent_reason=reason,
            source=source,
            urgent_intent=urgent_intent,
            language=language.detect(text),
        )

    async def aclose(self) -> None:
        if self._rasa is not None:
            await self._rasa.aclose()


def build_classifier(nlu_url: str, nlu_token: str, timeout: float = 3.0) -> Classifier:
    """The production wiring: the Rasa server at `nlu_url`, the cached fallback."""
    fallback = FallbackModel.load_or_train()
    rasa = RasaClient(nlu_url, nlu_token, known_intents=taxonomy.intent_names(), timeout=timeout)
    return Classifier(rasa, fallback)
