"""What an officer does to a case, typed or tapped: list, show, acknowledge, escalate, close, reopen."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import catalog
from bot.officer import images, render
from bot.officer.gate import OfficerTurn
from casework import audit, officers
from casework.cases import intake, lifecycle, reading, references
from casework.cases.reply_modes import Closing, Holding
from casework.delivery import escalation, routing
from casework.errors import AccessDenied, CaseClosed, InvalidTransition, UnknownCase
from storage.models import CaseStatus, Direction, Outcome

logger = logging.getLogger(__name__)

LISTED_BUTTONS = 24  # /cases: an Open button for the first 24 cases, four to a row


async def reference(turn: OfficerTurn, case_id: int) -> str:
    """The case's reference for this officer's notices; `AccessDenied` if the case is not theirs."""
    async with turn.services.db.transaction() as session:
        found = await references.reference_for_officer(session, case_id, turn.officer.id)
    if found is None:
        raise AccessDenied(f"case {case_id} is not shared with this officer")
    return found


async def send_parts(turn: OfficerTurn, parts: list[str], markup: InlineKeyboardMarkup | None) -> None:
    """A long text as several messages, in order; the buttons go under the last."""
    for number, part in enumerate(parts, start=1):
        await turn.send(part, markup=markup if number == len(parts) else None)


async def list_cases(turn: OfficerTurn) -> None:
    officer = turn.officer
    async with turn.services.db.transaction() as session:
        summaries = await reading.list_officer_cases(session, officer.id, open_only=True)
        names = {s.school_id: await reading.school_name(session, s.school_id) for s in summaries}
        # Only names whose record verifies (a writer must not rename who took a case).
        takers = await officers.display_names(session, {s.acknowledged_by for s in summaries})
    if not summaries:
        await turn.say("officer_no_cases")
        return
    zone = turn.services.policy.timezone
    lines = [catalog.t("officer_cases_header")]
    for s in summaries:
        lines.append(
            catalog.t(
                "officer_case_line",
                marker="🚨" if s.urgent else "📩",
                case=s.reference,
                category=render.kind_label(s),
                school=names.get(s.school_id) or catalog.t("officer_no_school"),
                status=_list_status(s, turn, takers),
                time=render.local_time(s.created_at, zone),
            )
        )
    buttons = [
        InlineKeyboardButton(
            catalog.t("officer_open_button", case=s.reference), callback_data=f"o:open:{s.case_id}"
        )
        for s in summaries[:LISTED_BUTTONS]
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    await send_parts(turn, render.html_lines(lines), InlineKeyboardMarkup(rows))


def _list_status(summary: reading.CaseSummary, turn: OfficerTurn, takers: dict[int, str]) -> str:
    """ "New: not acknowledged yet", or "Acknowledged by Cst. Lee" (by whom, when the record verifies)."""
    taker = summary.acknowledged_by
    if summary.status in (CaseStatus.ACKNOWLEDGED, CaseStatus.IN_PROGRESS) and taker is not None:
        who = catalog.t("officer_you") if taker == turn.officer.id else takers.get(taker)
        if who:
            return render.status_text(summary.status, by=who)
    return render.status_text(summary.status).replace("<i>", "").replace("</i>", "")


async def show_case(turn: OfficerTurn, case_id: int) -> None:
    services, officer = turn.services, turn.officer
    try:
        async with services.db.transaction() as session:
            thread = await reading.read_case_as_officer(session, services.keys, case_id, officer.id)
            school = await reading.school_name(session, thread.summary.school_id)
            names = await officers.display_names(session, {m.author_officer_id for m in thread.messages})
            await audit.case_read(session, case_id, officer.id, services.now())  # who read it is kept
    except (AccessDenied, UnknownCase):
        await turn.say("officer_not_yours")
        return
    parts = render.thread_parts(thread.summary, school, thread.messages, services.policy.timezone, names)
    closed = thread.summary.status == CaseStatus.CLOSED
    markup = render.reopen_button(case_id) if closed else render.case_buttons(thread.summary)
    await send_parts(turn, parts, markup)
    await images.send_case_images(turn, case_id)  # after the words: an album could carry no buttons


async def ask_outcome(turn: OfficerTurn, case_id: int) -> None:
    async with turn.services.db.transaction() as session:
        found = await references.reference_for_officer(session, case_id, turn.officer.id)
    if found is None:
        await turn.say("officer_not_yours")
        return
    await turn.say("officer_choose_outcome", markup=render.outcome_buttons(case_id), case=found)


async def ask_last_message(turn: OfficerTurn, case_id: int, outcome: Outcome) -> None:
    """The outcome is chosen: the next text is the student's last message, or the button closes now."""
    async with turn.services.db.transaction() as session:
        await intake.open_case_for_officer(session, case_id, turn.officer.id)  # open and theirs, or raises
    found = await reference(turn, case_id)
    await turn.set_mode(Closing(case_id, outcome))
    await turn.say(
        "officer_close_last_message", markup=render.close_now_button(case_id, outcome),
        case=found, outcome=render.outcome_text(outcome),
    )  # fmt: skip


async def close_case(turn: OfficerTurn, case_id: int, outcome: Outcome, *, last_message: str | None) -> None:
    """Close, with the student's last message first if there is one (sealed, then notified)."""
    services = turn.services
    try:
        async with services.db.transaction() as session:
            await lifecycle.close(
                session, services.policy, case_id, turn.officer.id, outcome, services.now(),
                last_message=last_message, keys=services.keys,
            )  # fmt: skip
    except (CaseClosed, AccessDenied, UnknownCase) as refused:
        # E.g. a colleague closed it while this officer typed the last message: nothing was sent.
        await turn.set_mode(None)
        if not isinstance(refused, CaseClosed):
            await turn.say("officer_not_yours")
            return
        found = await reference(turn, case_id)
        await turn.say("officer_case_closed", markup=render.reopen_button(case_id), case=found)
        return
    await turn.set_mode(None)
    if last_message:
        services.outbox_ready.set()
    logger.info("officer.closed with_message=%s", bool(last_message))
    await turn.say(
        "officer_closed_with_message" if last_message else "officer_closed",
        case=await reference(turn, case_id), outcome=render.outcome_text(outcome),
        days=services.settings.retention_days,
    )  # fmt: skip


async def reopen(turn: OfficerTurn, case_id: int) -> None:
    """Open a closed case again (audited); a message held back because it was closed is sent now."""
    services, officer = turn.services, turn.officer
    try:
        found = await reference(turn, case_id)
    except AccessDenied:
        await turn.say("officer_not_yours")
        return
    mode = await turn.mode()
    held = mode.text if isinstance(mode, Holding) and mode.case_id == case_id else None
    try:
        async with services.db.transaction() as session:
            await lifecycle.reopen(session, case_id, officer.id, services.now())
            if held is not None:
                await intake.add_message(
                    session, services.keys, services.policy, case_id,
                    direction=Direction.OFFICER, body={"text": held}, now=services.now(),
                    author_officer_id=officer.id,
                )  # fmt: skip
    except InvalidTransition:
        await turn.say("officer_not_closed", case=found)
        return
    except (AccessDenied, UnknownCase):
        await turn.say("officer_not_yours")
        return
    if held is not None:
        await turn.set_mode(None)
        services.outbox_ready.set()
    logger.info("officer.reopened")
    await turn.say("officer_reopened_and_sent" if held is not None else "officer_reopened", case=found)


async def acknowledge(turn: OfficerTurn, case_id: int) -> None:
    services, officer = turn.services, turn.officer
    async with services.db.transaction() as session:
        ack = await lifecycle.acknowledge(session, services.policy, case_id, officer.id, services.now())
        who = await officers.display_name(session, ack.acknowledged_by)
        found = await references.reference_for_officer(session, case_id, officer.id)
    if ack.already and ack.acknowledged_by != officer.id:
        await turn.say("officer_already_acknowledged", case=found, officer=who or "")
        return
    services.outbox_ready.set()
    logger.info("officer.acknowledged")
    await turn.say("officer_acknowledged", case=found)


async def escalate(turn: OfficerTurn, case_id: int) -> None:
    services = turn.services
    async with services.db.transaction() as session:
        route = await escalation.escalate_now(
            session, services.policy, case_id, turn.officer.id, services.now()
        )
        found = await references.reference_for_officer(session, case_id, turn.officer.id)
    if route is None:
        await turn.say("officer_escalate_top", case=found)
        return
    services.outbox_ready.set()
    await turn.say("officer_escalated", case=found, level=routing.LEVEL_NAMES[route.level])
