"""'Did this help?': asked once at the first /status after a case is closed; one optional tap, counted."""

from __future__ import annotations

import logging

from bot.state import Step
from bot.turn import Button, Turn
from casework.stats import feedback
from storage.models import FeedbackAnswer

logger = logging.getLogger(__name__)

BUTTONS: list[list[Button]] = [
    [
        ("feedback_helped_button", f"feedback:{FeedbackAnswer.HELPED.value}"),
        ("feedback_not_helped_button", f"feedback:{FeedbackAnswer.NOT_HELPED.value}"),
        ("feedback_unsure_button", f"feedback:{FeedbackAnswer.UNSURE.value}"),
    ]
]
_ANSWERS = {answer.value: answer for answer in FeedbackAnswer}


async def ask_if_first_time(turn: Turn, case_id: int) -> None:
    """Under a closed case's status: the question, if this case's student was never asked."""
    async with turn.services.db.transaction() as session:
        first = await feedback.ask_once(session, case_id)
    if not first:
        return
    # The case the buttons answer for lives only in the sealed, pseudonymous state, until the tap.
    turn.state.feedback_case_id = case_id
    await turn.say("feedback_ask", buttons=BUTTONS)


async def button(turn: Turn, argument: str) -> Step | None:
    """One tap: counted for the case's school and month, then the case is forgotten here."""
    case_id, answer = turn.state.feedback_case_id, _ANSWERS.get(argument)
    if case_id is None or answer is None:
        return None  # stale: already answered, or the question has expired with the state
    turn.state.feedback_case_id = None
    services = turn.services
    async with services.db.transaction() as session:
        counted = await feedback.count_answer(session, services.policy, case_id, answer, services.now())
    if not counted:
        return None  # the case was purged or forgotten meanwhile: nothing to count it for
    logger.info("student.feedback_counted")  # never which answer: a log line has a time
    await turn.say("feedback_thanks")
    return turn.state.step
