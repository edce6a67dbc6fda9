"""The fast tier's scripted model is strict, and urgency is still judged by the real rules."""

from __future__ import annotations

import pytest

from nlu.fallback import FallbackModel
from tests.bot.scripted import ScriptedClassifier, UnscriptedText, location


async def test_a_scripted_text_gets_its_intent_and_entities(fallback_model: FallbackModel) -> None:
    script = ScriptedClassifier(fallback_model)
    text = "someone keeps taking my stuff from the gym lockers"
    script.says(text, "report_theft", entities=(location(text, "the gym lockers"),))
    result = await script.classify(text)
    assert result.intent == "report_theft"
    assert [(e.entity, e.value) for e in result.entities] == [("location", "the gym lockers")]
    assert not result.urgent
    assert script.problems() == []


async def test_an_unscripted_text_fails_loudly_and_is_reported(fallback_model: FallbackModel) -> None:
    script = ScriptedClassifier(fallback_model)
    script.says("hi", "greet")
    await script.classify("hi")
    with pytest.raises(UnscriptedText):
        await script.classify("hello there")
    assert script.problems() == ["unscripted: 'hello there'"]


def test_a_scripted_text_never_classified_is_reported(fallback_model: FallbackModel) -> None:
    script = ScriptedClassifier(fallback_model)
    script.says("hi", "greet")
    assert script.problems() == ["never classified: 'hi'"]


async def test_the_real_safety_net_still_judges_urgency(fallback_model: FallbackModel) -> None:
    """A script cannot hide danger words: the net, not the script, makes this urgent."""
    script = ScriptedClassifier(fallback_model)
    danger = "he said he will bring a gun to school tomorrow"
    script.script({danger: "report_other", "my bike got stolen": "report_theft"})
    urgent = await script.classify(danger)
    assert urgent.intent == "report_other"
    assert urgent.urgent
    assert urgent.urgent_intent is not None
    # Control: the same scripted answer on words without danger stays not urgent.
    calm = await script.classify("my bike got stolen")
    assert not calm.urgent


async def test_a_scripted_urgent_intent_is_urgent_as_the_model_would_make_it(
    fallback_model: FallbackModel,
) -> None:
    script = ScriptedClassifier(fallback_model)
    script.says("there is something in his bag", "report_weapon")
    result = await script.classify("there is something in his bag")
    assert result.urgent
    assert result.urgent_reason == "model: report_weapon"
