"""Case references per school (`MRC-12`): assigned atomically at creation, read back from what officers type.

A reference is the school's code and that school's own sequence number, so
it reveals how many cases one school has had, never the program's volume.
An urgent report sent before the student chose a school is numbered under
`NO_SCHOOL_PREFIX` (only supervisors receive it then) and is renumbered
under its school once the student names it: a lasting program-wide number
would tell the school's officers how many such reports the whole program
had. Numbers come from a counter per prefix, not from the highest case
still stored, so a purge never lets a number be given twice.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from casework.errors import AmbiguousReference, MalformedReference, UnknownReference
from storage.models import Case, CaseRecipient, Officer
from storage.models.cases import CaseReferenceCounter

# One letter: a school code is 2 to 16 letters or digits, so it can never be this.
NO_SCHOOL_PREFIX = "U"

_TYPED = re.compile(r"^#?([A-Z0-9]*?)[-\s#]*([0-9]{1,9})$")


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


async def next_number(session: AsyncSession, prefix: str, count: int = 1) -> int:
    """The next number under `prefix`, atomically: concurrent cases of one school get different numbers.

    `count`: that many numbers at once; the last of them is returned.

    The counter row is locked by the UPDATE until the transaction ends; the
    first case of a prefix inserts it, and if another transaction inserted it
    at the same moment, the unique key refuses ours and the UPDATE is retried.
    """
    for _ in range(2):
        number = await session.scalar(
            update(CaseReferenceCounter)
            .where(CaseReferenceCounter.prefix == prefix)
            .values(last_number=CaseReferenceCounter.last_number + count)
            .returning(CaseReferenceCounter.last_number)  # one round trip (PostgreSQL, SQLite >= 3.35)
            .execution_options(synchronize_session=False)
        )
        if number is not None:
            return number
        try:
            async with session.begin_nested():
                session.add(CaseReferenceCounter(prefix=prefix, last_number=count))
            return count
        except IntegrityError:
            continue  # another transaction created the counter first: increment theirs
    raise RuntimeError(f"could not number a case under {prefix!r}")


async def take_numbers(session: AsyncSession, prefixes: Sequence[str]) -> list[int]:
    """`next_number` for each prefix in turn, one counter UPDATE per distinct prefix."""
    wanted = Counter(prefixes)
    last: dict[str, int] = {}
    for prefix, count in wanted.items():
        last[prefix] = await next_number(session, prefix, count) - count
    numbers = []
    for prefix in prefixes:
        last[prefix] += 1
        numbers.append(last[prefix])
    return numbers


def candidates(typed: str) -> tuple[list[tuple[str, int]], int | None]:
    """The (prefix, number) pairs a typed reference can mean, or, for a bare number, that number.

    `MRC-12`, `mrc 12`, `#MRC12` and `MRC-012` all mean ('MRC', 12). Without a
    hyphen a code ending in digits is ambiguous (`S123`: S1-23 or S12-3), so
    every split is a candidate and the officer's own cases decide.
    """
    text = typed.strip().upper()
    found = _TYPED.match(text)
    if found is None:
        raise MalformedReference("not a case reference")
    prefix, digits = found.groups()
    if not prefix:
        return [], int(digits)
    if re.search(r"[-\s#]", text.lstrip("#")):  # the split was typed
        return [(prefix, int(digits))], None
    compact = prefix + digits
    pairs = [
        (compact[:i], int(compact[i:]))
        for i in range(1, len(compact))
        if compact[i:].isdigit() and len(compact[i:]) <= 9
    ]
    return pairs, None


async def resolve(session: AsyncSession, officer_id: int, typed: str) -> int:
    """The id of the officer's case a typed reference names.

    Only cases sealed for this (active) officer are searched, so a reference
    of another school's case is `UnknownReference`, exactly like one that
    does not exist. A bare number must be unique among the officer's cases,
    else `AmbiguousReference` lists them.
    """
    pairs, bare = candidates(typed)
    query = (
        select(Case.id, Case.reference_prefix, Case.reference_number)
        .join(CaseRecipient, CaseRecipient.case_id == Case.id)
        .join(Officer, Officer.id == CaseRecipient.officer_id)
        .where(CaseRecipient.officer_id == officer_id, Officer.active)
        .order_by(Case.reference_prefix, Case.reference_number)
    )
    if bare is not None:
        query = query.where(Case.reference_number == bare)
    else:
        query = query.where(tuple_(Case.reference_prefix, Case.reference_number).in_(pairs))
    rows = (await session.execute(query)).all()
    if not rows:
        raise UnknownReference("none of this officer's cases has that reference")
    if len(rows) > 1:
        raise AmbiguousReference([format_reference(prefix, number) for _, prefix, number in rows])
    return int(rows[0][0])


async def reference_for_officer(session: AsyncSession, case_id: int, officer_id: int) -> str | None:
    """The reference of a case sealed for this active officer, else None (nothing about other cases)."""
    row = (
        await session.execute(
            select(Case.reference_prefix, Case.reference_number)
            .join(CaseRecipient, CaseRecipient.case_id == Case.id)
            .join(Officer, Officer.id == CaseRecipient.officer_id)
            .where(Case.id == case_id, CaseRecipient.officer_id == officer_id, Officer.active)
        )
    ).first()
    return None if row is None else format_reference(row[0], row[1])
