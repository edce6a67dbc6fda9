"""What a student's message already says (where, when), so that no question asks for it again."""

from __future__ import annotations

import re

from bot.state import Draft
from nlu.result import Classification

# Words that already say when something happened, so the interview does not ask.
_WHEN = re.compile(
    r"\b(?:today|tonight|yesterday|tomorrow|tmrw|tmr|now|rn|right now|earlier|ago"
    r"|this (?:morning|afternoon|week)|last (?:night|week|weekend|period|class)|every ?day|always"
    r"|all the time|(?:mon|tues|wednes|thurs|fri|satur|sun)day|weekend|at lunch|lunch|after school"
    r"|before school|recess|(?:first|second|third|fourth|1st|2nd|3rd|4th) period|period \d"
    r"|\d{1,2}(?::\d\d)? ?(?:am|pm)|in class|during class)\b",
    re.IGNORECASE,
)


def covered_by_description(text: str, classification: Classification | None) -> list[str]:
    """Interview fields the first message already answers: never asked again."""
    covered = []
    if classification is not None and any(e.entity == "location" for e in classification.entities):
        covered.append("where")
    if _WHEN.search(text):
        covered.append("when")
    return covered


# The general details prompt by what is still missing of where and when.
_DETAILS_ASKING = {
    frozenset({"where", "when"}): "urgent_details",
    frozenset({"where"}): "urgent_details_where",
    frozenset({"when"}): "urgent_details_when",
    frozenset[str](): "urgent_details_known",
}


def details_key(intent: str, known: frozenset[str] = frozenset()) -> str:
    """What to ask after an urgent report: "where and when did this happen" fits neither a threat
    about the future nor a student's own crisis, and is never asked when the message already said it."""
    if intent in ("report_self_harm", "report_threat"):
        return "urgent_details_self_harm" if intent == "report_self_harm" else "urgent_details_threat"
    missing = frozenset({"where", "when"} - known)
    return _DETAILS_ASKING[missing]


def known_fields(draft: Draft) -> frozenset[str]:
    """Where and when, if the report says them (answered, found in its description, or skipped:
    a student who skipped a question is not asked it again)."""
    return frozenset(name for name in ("where", "when") if name in draft.answers or name in draft.skipped)
