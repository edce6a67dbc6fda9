"""The trained model, served by the real Rasa server, meets the bar on the held-out split.

A change to the data or to config.yml that breaks these thresholds turns CI red.
`make nlu-eval` writes the full report (docs/nlu-report.md).
"""

from __future__ import annotations

import asyncio

import pytest

from nlu import taxonomy
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.rasa_client import RasaClient
from nlu.result import Classification
from tests.conftest import RasaServer
from tests.nlu.quality import heldout, score

pytestmark = pytest.mark.rasa


async def classify_all(classifier: Classifier, texts: list[str]) -> list[Classification]:
    semaphore = asyncio.Semaphore(8)

    async def one(text: str) -> Classification:
        async with semaphore:
            return await classifier.classify(text)

    return await asyncio.gather(*(one(t) for t in texts))


async def test_heldout_thresholds_through_the_real_server(rasa_server: RasaServer) -> None:
    examples = heldout()
    rasa = RasaClient(rasa_server.url, rasa_server.token, known_intents=taxonomy.intent_names(), timeout=10)
    classifier = Classifier(rasa, FallbackModel.load_or_train())
    try:
        results = await classify_all(classifier, [e.text for e in examples])
    finally:
        await classifier.aclose()
    assert {r.source for r in results} == {"rasa"}
    # Strict: the intent the bot acts on, so `nlu_fallback` counts as wrong.
    scores = score(examples, [r.intent for r in results], [r.urgent for r in results])
    assert scores.accuracy >= 0.90, scores
    assert scores.macro_f1 >= 0.88, scores
    assert scores.urgent_recall >= 0.98, scores
    assert scores.false_urgent_rate <= 0.10, scores
