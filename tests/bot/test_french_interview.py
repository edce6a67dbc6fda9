"""The interview understands when and where in French: what a first message says is never asked again."""

from __future__ import annotations

import pytest

from bot.student.known import covered_by_description, says_when, says_where
from nlu.result import Classification
from tests.bot.scripted import location


@pytest.mark.parametrize(
    "text",
    [
        "il m'a frappé hier",
        "ça va arriver demain",
        "c'est arrivé ce midi",
        "à la récré il m'a poussé",
        "a la recre il ma pousse",  # no accents, no apostrophes
        "lundi passé y m'ont volé mon cell",
        "y'a une bagarre à 3h",
        "vers 15h30 derrière le gym",
        "cet aprèm dans le bus",
        "au dîner y'a des gars qui vapotent",
        "en 2e période le prof était pas là",
        "y'a 2 jours quelqu'un a écrit des menaces",
        "il me niaise tout le temps",
        "tantôt dans le corridor",
        "AUJOURD'HUI au casier",
    ],
)
def test_french_times_are_understood(text: str) -> None:
    assert says_when(text)
    assert "when" in covered_by_description(text, None)


@pytest.mark.parametrize(
    "text",
    [
        "y'a un gars qui vend de la drogue à la caf",
        "ils fument dans les toilettes des gars",
        "quelqu'un a forcé mon casier",
        "il y a une bataille dans le stationnement",
    ],
)
def test_french_places_are_understood_without_the_models_tag(text: str) -> None:
    """From the French lookup table the model learns from, when the model tagged no place."""
    assert says_where(text, None)
    assert "where" in covered_by_description(text, None)


@pytest.mark.parametrize(
    "text",
    [
        "quelqu'un vend de la drogue",  # no time, no place: both asked
        "mon ami m'a volé mon cell",
        "il me menace sur snap",
    ],
)
def test_control_french_without_time_or_place_asks_both(text: str) -> None:
    assert covered_by_description(text, None) == []


def test_control_english_is_read_as_before() -> None:
    """English keeps its own rules: a place needs the model's tag (no lookup fallback), times as before."""
    text = "someone sold drugs in the cafeteria yesterday"
    assert covered_by_description(text, None) == ["when"]
    tagged = Classification(
        intent="report_drugs",
        confidence=0.9,
        ranking=(),
        entities=(location(text, "cafeteria"),),
        urgent=False,
        urgent_reason=None,
        source="rasa",
    )
    assert covered_by_description(text, tagged) == ["where", "when"]
    assert not says_when("someone sold drugs in the cafeteria")
