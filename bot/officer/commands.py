"""Officers' typed commands: /help, /cases, /case, /close, /reopen, /cancel (free text: officer.replies)."""

from __future__ import annotations

from bot.officer import actions
from bot.officer.gate import OfficerTurn
from casework.cases import references
from casework.errors import AmbiguousReference, MalformedReference, UnknownReference


def _argument(turn: OfficerTurn) -> str:
    return " ".join(turn.context.args or []).strip()


async def help_command(turn: OfficerTurn) -> None:
    """/help and /start, and any command the officer side does not know."""
    await turn.say("officer_help")


async def list_cases(turn: OfficerTurn) -> None:
    await actions.list_cases(turn)


async def show_case(turn: OfficerTurn) -> None:
    case_id = await _typed_case(turn, _argument(turn))
    if case_id is not None:
        await actions.show_case(turn, case_id)


async def close(turn: OfficerTurn) -> None:
    case_id = await _typed_case(turn, _argument(turn))
    if case_id is not None:
        await actions.ask_outcome(turn, case_id)


async def reopen(turn: OfficerTurn) -> None:
    typed = _argument(turn)
    if not typed:
        await turn.say("officer_reopen_usage")
        return
    case_id = await _typed_case(turn, typed)
    if case_id is not None:
        await actions.reopen(turn, case_id)


async def cancel(turn: OfficerTurn) -> None:
    await turn.set_mode(None)
    await turn.say("officer_cancelled")


async def _typed_case(turn: OfficerTurn, typed: str) -> int | None:
    """The officer's case a typed reference names (`MRC-12`, `mrc12`, `12`), or None after saying why."""
    if not typed:
        await turn.say("officer_case_usage")
        return None
    try:
        async with turn.services.db.transaction() as session:
            return await references.resolve(session, turn.officer.id, typed)
    except MalformedReference:
        await turn.say("officer_case_usage")
    except UnknownReference:
        await turn.say("officer_unknown_reference", reference=typed.strip()[:40])
    except AmbiguousReference as ambiguous:
        await turn.say(
            "officer_ambiguous_reference", number=typed.strip().lstrip("#"),
            references=", ".join(ambiguous.references), example=ambiguous.references[0],
        )  # fmt: skip
    return None
