"""Which urgent messages go to the officer without asking: the rule on the classifier's real output."""

from __future__ import annotations

import pytest

from bot.student.reports import sent_at_once
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.result import NLU_FALLBACK, IntentScore, ModelOutput


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(None, FallbackModel.load_or_train())


def unsure(guess: str = "report_other", confidence: float = 0.2) -> ModelOutput:
    """The model below its threshold, guessing something that is not urgent."""
    return ModelOutput(NLU_FALLBACK, confidence, (IntentScore(guess, confidence),))


def sure(intent: str) -> ModelOutput:
    return ModelOutput(intent, 0.97, (IntentScore(intent, 0.97),))


@pytest.mark.parametrize(
    "text",
    [
        "he has a glock in his bag",  # an explicit weapon word is enough
        "someone said theyll shoot up the school",
        "my stepdad hits me",
        "he touched me",
    ],
)
def test_an_explicit_net_term_goes_at_once_even_when_the_model_is_unsure(
    classifier: Classifier, text: str
) -> None:
    result = classifier.judge(unsure(), text, "rasa")
    assert result.urgent
    assert sent_at_once(result)


@pytest.mark.parametrize(
    "text",
    ["i dont want to go home", "something bad is going to happen tomorrow", "im scared to go to school tmrw"],
)
def test_only_a_soft_net_rule_or_a_low_guess_waits_for_the_tap(classifier: Classifier, text: str) -> None:
    result = classifier.judge(unsure("report_threat", 0.3), text, "rasa")
    assert result.urgent  # positive control: urgent, so safety information is shown
    assert not sent_at_once(result)


def test_the_model_sure_of_a_harm_to_others_goes_at_once(classifier: Classifier) -> None:
    for intent in ("report_weapon", "report_threat", "report_abuse", "report_sexual_harassment"):
        assert sent_at_once(classifier.judge(sure(intent), "please help", "rasa")), intent


@pytest.mark.parametrize("output", [sure("report_self_harm"), unsure()], ids=["model-sure", "model-unsure"])
def test_self_harm_never_goes_without_the_tap(classifier: Classifier, output: ModelOutput) -> None:
    result = classifier.judge(output, "i want to kill myself", "rasa")
    assert result.urgent  # positive control: the crisis lines are shown
    assert not sent_at_once(result)
