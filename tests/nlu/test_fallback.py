"""The fallback classifier alone (what answers while Rasa is down) meets its bar on the held-out split."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.result import NLU_FALLBACK
from tests.nlu.quality import heldout, score


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
