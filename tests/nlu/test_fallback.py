"""The fallback classifier alone (what answers while Rasa is down) meets its bar on the held-out splits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nlu import taxonomy
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.rasa_client import RasaClient
from nlu.result import NLU_FALLBACK
from nlu.training_data import Example
from tests.conftest import free_port
from tests.nlu.quality import heldout, heldout_fr, score


@pytest.fixture(scope="module")
def fallback() -> FallbackModel:
    return FallbackModel.load_or_train()


def test_fallback_meets_its_bar_on_heldout(fallback: FallbackModel) -> None:
    examples = heldout()
    judge = Classifier(rasa=None, fallback=fallback)
    results = [judge.judge(fallback.predict(e.text), e.text, "fallback") for e in examples]
    # Strict: an `nlu_fallback` answer counts as wrong.
    scores = score(examples, [r.intent for r in results], [r.urgent for r in results])
    assert scores.accuracy >= 0.80, scores
    assert scores.urgent_recall >= 0.95, scores


def test_blank_text_is_fallback_intent(fallback: FallbackModel) -> None:
    output = fallback.predict("   ")
    assert output.intent == NLU_FALLBACK
    assert output.confidence == 0.0


def test_entities_from_lookup_tables_with_synonyms(fallback: FallbackModel) -> None:
    text = "kid has a strap by the portables"
    entities = fallback.predict(text).entities
    found = {(e.entity, text[e.start : e.end]) for e in entities}
    assert ("weapon", "strap") in found
    assert ("location", "portables") in found
    assert next(e.value for e in entities if e.entity == "weapon") == "gun"


def test_cache_is_reused_and_refreshed_when_data_changes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n    - hello\n'
        "- intent: goodbye\n  examples: |\n    - bye\n    - see ya\n"
    )
    cache = tmp_path / "fallback.joblib"
    first = FallbackModel.load_or_train(cache, data)
    stamp = cache.stat().st_mtime_ns
    again = FallbackModel.load_or_train(cache, data)
    assert cache.stat().st_mtime_ns == stamp  # not retrained
    assert again.predict("hello there").ranking[0].name == first.predict("hello there").ranking[0].name
    (data / "a.yml").write_text((data / "a.yml").read_text() + "- intent: thank\n  examples: |\n    - ty\n")
    refreshed = FallbackModel.load_or_train(cache, data)
    assert "thank" in {s.name for s in refreshed.predict("ty").ranking}


@pytest.mark.parametrize(("language", "examples"), [("fr", heldout_fr), ("en", heldout)])
async def test_rasa_unreachable_both_languages_are_answered_and_urgent_ones_caught(
    fallback: FallbackModel, language: str, examples: Callable[[], list[Example]]
) -> None:
    # The bot's own classifier with nothing listening where Rasa should be: every held-out
    # message, French and English, is answered by the fallback, marked with its language, and
    # the urgent ones are caught. Control: non-urgent messages are not all made urgent.
    held = examples()
    rasa = RasaClient(
        f"http://127.0.0.1:{free_port()}", "irrelevant", known_intents=taxonomy.intent_names(), timeout=2
    )
    classifier = Classifier(rasa, fallback)
    try:
        results = [await classifier.classify(e.text) for e in held]
    finally:
        await classifier.aclose()
    assert {r.source for r in results} == {"fallback"}
    # A few one-word or code-switched lines read as English (tests/nlu/test_french_heldout.py).
    assert sum(r.language == language for r in results) >= 0.98 * len(held)
    scores = score(held, [r.intent for r in results], [r.urgent for r in results])
    assert scores.accuracy >= 0.80, scores
    assert scores.urgent_recall >= 0.95, scores
    assert scores.false_urgent_rate <= 0.05, scores
