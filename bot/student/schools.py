"""Which school: the student types part of its name (typos tolerated) and taps it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, utils

from bot.state import Step
from bot.turn import Button, Turn
from casework import schools

MAX_CHOICES = 5
MIN_SCORE = 62


@dataclass(frozen=True, slots=True)
class SchoolChoice:
    id: int
    name: str


def best_matches(query: str, candidates: Sequence[SchoolChoice]) -> list[SchoolChoice]:
    """The schools whose name or code best matches what was typed, best first."""
    query = query.strip()
    if not query:
        return []
    by_name = {c.id: c for c in candidates}
    scored: dict[int, float] = {}
    for choice_id, text in [(c.id, c.name) for c in candidates]:
        score = max(
            fuzz.WRatio(query, text, processor=utils.default_process),
            fuzz.partial_ratio(query, text, processor=utils.default_process) if len(query) >= 4 else 0,
        )
        scored[choice_id] = score
    ranked = sorted(scored.items(), key=lambda item: (-item[1], by_name[item[0]].name))
    return [by_name[i] for i, score in ranked[:MAX_CHOICES] if score >= MIN_SCORE]


async def active_schools(turn: Turn) -> list[SchoolChoice]:
    async with turn.services.db.transaction() as session:
        found = await schools.list_schools(session, include_removed=False)
    return [SchoolChoice(s.id, s.name) for s in found]


async def ask_school(turn: Turn, key: str = "ask_school") -> Step:
    await turn.say(key)
    return Step.CHOOSE_SCHOOL


async def matching(turn: Turn, typed: str) -> list[SchoolChoice]:
    return best_matches(typed, await active_schools(turn))


async def offer_schools(turn: Turn, typed: str, matches: list[SchoolChoice] | None = None) -> Step:
    """Show the schools that match what the student typed, as buttons."""
    if matches is None:
        matches = await matching(turn, typed)
    if not matches:
        await turn.say("school_none_found")
        return Step.CHOOSE_SCHOOL
    turn.state.school_choices = [m.id for m in matches]
    rows: list[list[Button]] = [[(m.name, f"school:{m.id}")] for m in matches]
    rows.append([("school_not_listed_button", "school:none")])
    await turn.say("school_choices", buttons=rows)
    return Step.CHOOSE_SCHOOL


async def school_name(turn: Turn, school_id: int) -> str | None:
    """The name of an active school, or None if it is gone."""
    for choice in await active_schools(turn):
        if choice.id == school_id:
            return choice.name
    return None
