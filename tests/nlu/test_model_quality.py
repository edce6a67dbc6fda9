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
from nlu.training_data import Example, load
from tests.conftest import ROOT, RasaServer
from tests.nlu.quality import heldout, heldout_fr, score

pytestmark = pytest.mark.rasa

# Hard English messages the safety net was tuned on: carrying slang, quoted threats, neglect, "jokes".
HARD = ROOT / "nlu" / "dev" / "hard.yml"


async def classify_all(classifier: Classifier, texts: list[str]) -> list[Classification]:
    semaphore = asyncio.Semaphore(8)

    async def one(text: str) -> Classification:
        async with semaphore:
            return await classifier.classify(text)

    return await asyncio.gather(*(one(t) for t in texts))


async def through_rasa(rasa_server: RasaServer, examples: list[Example]) -> list[Classification]:
    rasa = RasaClient(rasa_server.url, rasa_server.token, known_intents=taxonomy.intent_names(), timeout=10)
    classifier = Classifier(rasa, FallbackModel.load_or_train())
    try:
        return await classify_all(classifier, [e.text for e in examples])
    finally:
        await classifier.aclose()


async def test_heldout_thresholds_through_the_real_server(rasa_server: RasaServer) -> None:
    examples = heldout()
    results = await through_rasa(rasa_server, examples)
    assert {r.source for r in results} == {"rasa"}
    # Strict: the intent the bot acts on, so `nlu_fallback` counts as wrong.
    scores = score(examples, [r.intent for r in results], [r.urgent for r in results])
    assert scores.accuracy >= 0.90, scores
    assert scores.macro_f1 >= 0.88, scores
    assert scores.urgent_recall >= 0.98, scores
    assert scores.false_urgent_rate <= 0.10, scores


async def test_french_heldout_meets_the_french_targets_through_the_real_server(
    rasa_server: RasaServer,
) -> None:
    # The bot answers commands itself; Rasa would read "/status CODE" as an intent shortcut.
    examples = [e for e in heldout_fr() if not e.text.startswith("/")]
    results = await through_rasa(rasa_server, examples)
    assert {r.source for r in results} == {"rasa"}
    assert sum(r.language == "fr" for r in results) >= 0.98 * len(examples)
    scores = score(examples, [r.intent for r in results], [r.urgent for r in results])
    # Issue 14's French targets; false-urgent at the issue's 5 %.
    assert scores.accuracy >= 0.90, scores
    assert scores.macro_f1 >= 0.88, scores
    assert scores.urgent_recall >= 0.98, scores
    assert scores.false_urgent_rate <= 0.05, scores


async def test_no_urgent_message_is_missed_on_the_english_heldout_and_hard_dev_sets(
    rasa_server: RasaServer,
) -> None:
    urgent = taxonomy.urgent_intents()
    for examples in (heldout(), load([HARD]).examples):
        results = await through_rasa(rasa_server, examples)
        assert {r.source for r in results} == {"rasa"}
        pairs = zip(examples, results, strict=True)
        assert [e.text for e, r in pairs if e.intent in urgent and not r.urgent] == []
        # Control: non-urgent messages are not simply all marked urgent (hard ones are meant to
        # tempt: measured 0.19 on 2026-12-01; the held-out split 0.01).
        scores = score(examples, [r.intent for r in results], [r.urgent for r in results])
        assert scores.false_urgent_rate <= 0.25, scores
