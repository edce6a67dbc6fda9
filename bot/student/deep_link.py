"""`/start <token>`: a school poster's deep link preselects its school; the token is kept nowhere."""

from __future__ import annotations

import logging

from bot.state import Step
from bot.student import schools
from bot.student.schools import SchoolChoice
from bot.turn import Button, Turn
from casework import links

logger = logging.getLogger(__name__)

CHANGE_BUTTONS: list[list[Button]] = [[("school_change_button", "preset:change")]]


async def preselect(turn: Turn, token: str) -> Step | None:
    """Make the token's school the student's and say so; None (the usual welcome) for any other token.

    The token is looked up and dropped: neither it nor the fact that the student came from a poster
    is stored or logged, only the school, as if they had tapped it.
    """
    if not links.is_start_token(token):
        logger.info("student.deep_link_ignored")
        return None
    async with turn.services.db.transaction() as session:
        school = await links.school_for_token(session, token)
        choice = SchoolChoice(school.id, school.name) if school is not None else None
    if choice is None:
        logger.info("student.deep_link_ignored")
        return None
    logger.info("student.deep_link_school")
    if turn.state.draft is not None or turn.state.school_deadline is not None:
        # Something waits for a school (a draft, an urgent report already sent): the tap that
        # chooses one carries it on (router.school_chosen), so offer this school as that tap.
        return await schools.offer_schools(turn, "", [choice])
    turn.state.school_id, turn.state.school_name, turn.state.school_choices = choice.id, choice.name, []
    await turn.say("school_preselected", school=choice.name, buttons=CHANGE_BUTTONS)
    return Step.IDLE


async def change_button(turn: Turn, argument: str) -> Step | None:
    """'Not my school': the preselected school is dropped and the student picks theirs."""
    state = turn.state
    if argument != "change" or state.step != Step.IDLE or state.draft is not None or state.school_id is None:
        return None  # stale: a report under way keeps the school it is being written for
    state.school_id = state.school_name = None
    return await schools.ask_school(turn)
