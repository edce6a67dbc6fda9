"""The audit trail: who did what to which case, when. Never content, intent, urgency, codes or Telegram ids.

Accountable without being a surveillance log: one case's timeline is shown
only on request (`timeline`), and every such look is itself a row of that
case; otherwise there are counts per action and period (`counts`), and the
events about no case (the program's directory and keys, `program_events`). A case's
rows go with the case (a cascading foreign key, and the purge deletes them
explicitly too), leaving one count-only 'cases.purged' row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import references
from casework.errors import MalformedReference
from storage.models import AuditEvent, Case, Officer

OFFICER_PREFIX = "officer:"


class Period(StrEnum):
    """What `counts` groups by (UTC): nothing finer than a day."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


_PERIOD_FORMATS = {Period.DAY: "%Y-%m-%d", Period.MONTH: "%Y-%m", Period.YEAR: "%Y"}


def officer_actor(officer_id: int) -> str:
    return f"{OFFICER_PREFIX}{officer_id}"


async def record_event(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    now: datetime,
    case_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Append one event. `actor`: 'admin', 'system', 'student' or 'officer:<id>'.

    `detail` says what happened to the case (an outcome, a level), never what
    the case is about.
    """
    session.add(AuditEvent(at=now, actor=actor, action=action, case_id=case_id, detail=detail))


async def case_read(session: AsyncSession, case_id: int, officer_id: int, now: datetime) -> None:
    """An officer opened the case (/case): kept, like every other act on it."""
    await record_event(session, actor=officer_actor(officer_id), action="case.read", case_id=case_id, now=now)


async def list_events(
    session: AsyncSession, *, case_id: int | None = None, limit: int | None = None
) -> Sequence[AuditEvent]:
    """Events oldest first; only one case's when `case_id` is given; the newest `limit` if given."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if case_id is not None:
        query = query.where(AuditEvent.case_id == case_id)
    if limit is not None:
        query = query.limit(limit)
    return list(reversed((await session.scalars(query)).all()))


async def program_events(session: AsyncSession, *, limit: int) -> Sequence[AuditEvent]:
    """The newest `limit` events about no case (schools, officers, assignments, keys, purges), oldest first.

    Listed in full because they are the operator's and officers' acts on the
    program (adding a reader is one), never a case's timeline.
    """
    query = (
        select(AuditEvent)
        .where(AuditEvent.case_id.is_(None))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(reversed((await session.scalars(query)).all()))


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    actor: str  # an officer's name where the actor is an officer
    action: str
    detail: str | None


async def find_case(session: AsyncSession, typed: str) -> int | None:
    """The case a coordinator names: its reference (`MRC-12`, as officers see it) or its internal id."""
    text = typed.strip()
    if text.isdigit():
        return int(text) if await session.get(Case, int(text)) is not None else None
    try:
        pairs, _ = references.candidates(text)
    except MalformedReference:
        return None
    if not pairs:
        return None
    rows = list(
        await session.scalars(
            select(Case.id).where(tuple_(Case.reference_prefix, Case.reference_number).in_(pairs))
        )
    )
    return rows[0] if len(rows) == 1 else None


async def timeline(
    session: AsyncSession, case_id: int, *, viewer: str, now: datetime
) -> list[TimelineEntry] | None:
    """One case's events with officers' names, oldest first; None if there is no such case.

    The look is recorded first, as a row of the case itself (no content): the
    timeline shows who looked at it, and the row goes when the case does.
    """
    if await session.get(Case, case_id) is None:
        return None
    await record_event(session, actor=viewer, action="audit.timeline_viewed", case_id=case_id, now=now)
    await session.flush()
    events = await list_events(session, case_id=case_id)
    officer_ids = {
        int(e.actor.removeprefix(OFFICER_PREFIX))
        for e in events
        if e.actor.startswith(OFFICER_PREFIX) and e.actor.removeprefix(OFFICER_PREFIX).isdigit()
    }
    rows = await session.execute(select(Officer.id, Officer.display_name).where(Officer.id.in_(officer_ids)))
    names = {int(officer_id): str(name) for officer_id, name in rows.all()}
    entries = []
    for event in events:
        actor = event.actor
        if actor.startswith(OFFICER_PREFIX) and actor.removeprefix(OFFICER_PREFIX).isdigit():
            officer_id = int(actor.removeprefix(OFFICER_PREFIX))
            actor = f"{names.get(officer_id, 'officer')} (officer {officer_id})"
        entries.append(TimelineEntry(event.at, actor, event.action, event.detail))
    return entries


def period_of(moment: datetime, period: Period) -> str:
    """The label of the (UTC) day, month or year a moment falls in."""
    return moment.strftime(_PERIOD_FORMATS[period])


async def counts(session: AsyncSession, *, period: Period = Period.MONTH) -> dict[tuple[str, str], int]:
    """How many events of each action in each period: no case, no actor, no time finer than `period`."""
    tally: Counter[tuple[str, str]] = Counter()
    for at, action in (await session.execute(select(AuditEvent.at, AuditEvent.action))).all():
        tally[(period_of(at, period), action)] += 1
    return dict(sorted(tally.items()))


async def forget_cases(session: AsyncSession, case_ids: Sequence[int], now: datetime) -> None:
    """The purge: the cases' own rows go, and one row keeps only how many cases were purged."""
    if not case_ids:
        return
    await session.execute(
        delete(AuditEvent)
        .where(AuditEvent.case_id.in_(list(case_ids)))
        .execution_options(synchronize_session=False)
    )
    await record_event(
        session, actor="system", action="cases.purged", now=now, detail=f"count {len(case_ids)}"
    )
