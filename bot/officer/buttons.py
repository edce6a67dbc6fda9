"""Officers' buttons: the callback data each one carries, and what a tap does.

The data is `o:<action>:<case id>` (and `:<outcome>` for the outcome
buttons), matched whole by each `CallbackQueryHandler`'s pattern; any other
data is a stale or foreign button and is answered as such.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.officer import actions, render
from bot.officer.gate import OfficerStep, OfficerTurn
from casework.cases import reading
from casework.cases.reply_modes import Replying
from casework.errors import AccessDenied, CaseClosed, UnknownCase
from storage.models import CaseStatus, Outcome

CaseStep = Callable[[OfficerTurn, int], Awaitable[None]]

_OUTCOME = "|".join(o.value for o in Outcome)


def pattern(action: str, *, outcome: bool = False) -> str:
    """The whole callback data of a button: its action, an ASCII case id, and its outcome if it has one."""
    return rf"^o:{action}:(?P<case>[0-9]+)" + (rf":(?P<outcome>{_OUTCOME})" if outcome else "") + "$"


def on_case(step: CaseStep) -> OfficerStep:
    """A tap on a case's button: answered at once; a case not theirs, or closed meanwhile, said plainly."""

    async def press(turn: OfficerTurn) -> None:
        query, match = turn.update.callback_query, turn.context.match
        assert query is not None  # a CallbackQueryHandler's update...
        assert match is not None  # ...matched by its pattern
        await query.answer()
        case_id = int(match["case"])
        try:
            await step(turn, case_id)
        except (AccessDenied, UnknownCase):
            await turn.say("officer_not_yours")
        except CaseClosed:
            try:
                reference = await actions.reference(turn, case_id)
            except AccessDenied:
                await turn.say("officer_not_yours")
                return
            await turn.say("officer_case_closed", markup=render.reopen_button(case_id), case=reference)

    return press


def _outcome(turn: OfficerTurn) -> Outcome:
    match = turn.context.match
    assert match is not None
    return Outcome(match["outcome"])


async def reply(turn: OfficerTurn, case_id: int) -> None:
    reference = await actions.reference(turn, case_id)
    async with turn.services.db.transaction() as session:
        status = (await reading.case_summary(session, case_id)).status
    if status == CaseStatus.CLOSED:  # said now, not after the officer typed a whole answer
        await turn.say("officer_closed_no_reply", markup=render.reopen_button(case_id), case=reference)
        return
    await turn.set_mode(Replying(case_id))
    await turn.say("officer_reply_prompt", case=reference)


async def choose_outcome(turn: OfficerTurn, case_id: int) -> None:
    await actions.ask_last_message(turn, case_id, _outcome(turn))
    await turn.remove_buttons()


async def close_now(turn: OfficerTurn, case_id: int) -> None:
    await turn.remove_buttons()
    await actions.close_case(turn, case_id, _outcome(turn), last_message=None)


async def reopen(turn: OfficerTurn, case_id: int) -> None:
    await turn.remove_buttons()
    await actions.reopen(turn, case_id)


async def stale(turn: OfficerTurn) -> None:
    """A button whose data no officer handler takes: from an old version of the bot, or not ours."""
    query = turn.update.callback_query
    assert query is not None
    await query.answer()
    await turn.say("officer_stale_button")
