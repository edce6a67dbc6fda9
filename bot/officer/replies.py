"""An officer's free text: a reply to a tip message, the answer after Reply, or a last message at close."""

from __future__ import annotations

import asyncio
import logging

from telegram import Message

from bot.officer import actions, render
from bot.officer.gate import OfficerTurn
from casework.cases import intake
from casework.cases.reply_modes import Closing, Holding, Replying
from casework.delivery import outbox
from casework.errors import AccessDenied, CaseClosed, UnknownCase
from storage.models import Direction

logger = logging.getLogger(__name__)


# A tip's message id is recorded just after Telegram accepts it: a reply that comes in that moment
# waits for the record (while a delivery to this officer is being sent) instead of being taken for
# free text; the waits add up to under 4 seconds.
RECORD_WAITS = (0.1, 0.2, 0.5, 1.0, 2.0)


async def _case_replied_to(turn: OfficerTurn, replied: Message) -> int | None:
    """The case of the bot's message the officer replied to, if it was about one."""
    for wait in (*RECORD_WAITS, None):
        async with turn.services.db.transaction() as session:
            case_id = await outbox.case_of_sent_message(session, turn.officer.id, replied.message_id)
            in_flight = await outbox.sending_to(session, turn.officer.id)
        if case_id is not None or not in_flight or wait is None:
            return case_id
        await asyncio.sleep(wait)
    return None


async def free_text(turn: OfficerTurn) -> None:
    """Telegram's reply to a tip wins; else the mode says what the text is for; anything else gets a hint."""
    services, officer = turn.services, turn.officer
    message = turn.update.effective_message
    assert message is not None  # the handler's filter: a text message
    assert message.text is not None
    case_id: int | None = None
    if message.reply_to_message is not None:
        case_id = await _case_replied_to(turn, message.reply_to_message)
    mode = await turn.mode()
    if case_id is None and isinstance(mode, Closing):
        await actions.close_case(turn, mode.case_id, mode.outcome, last_message=message.text)
        return
    if case_id is None and isinstance(mode, Replying):
        case_id = mode.case_id
    if case_id is None:
        await turn.say("officer_free_text")
        return
    try:
        async with services.db.transaction() as session:
            await intake.add_message(
                session, services.keys, services.policy, case_id,
                direction=Direction.OFFICER, body={"text": message.text}, now=services.now(),
                author_officer_id=officer.id,
            )  # fmt: skip
    except (AccessDenied, UnknownCase):
        await turn.say("officer_not_yours")
        return
    except CaseClosed:
        # Said plainly: nothing went out. The words are kept (sealed, as the officer's mode) so that
        # reopening can send them without retyping.
        reference = await actions.reference(turn, case_id)
        await turn.set_mode(Holding(case_id, message.text))
        logger.info("officer.reply_to_closed_case")
        await turn.say(
            "officer_closed_not_sent", markup=render.reopen_button(case_id, send=True), case=reference
        )
        return
    await turn.set_mode(None)
    services.outbox_ready.set()
    logger.info("officer.replied")
    await turn.say("officer_reply_sent", case=await actions.reference(turn, case_id))
