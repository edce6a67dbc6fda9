"""'Did this help?': asked once per closed case, counted per school and month, published protected."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

from sqlalchemy import select

from casework.cases import lifecycle
from casework.policy import CasePolicy
from casework.stats import feedback
from casework.stats.cube import ALL_SCHOOLS, NO_SCHOOL, Published
from casework.stats.disclosure import SMALL_MAX, Status
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import FeedbackAnswer, FeedbackAsked, FeedbackCount, Outcome
from tests.casework.world import build_world, open_report

HELPED, NOT_HELPED, UNSURE = FeedbackAnswer.HELPED, FeedbackAnswer.NOT_HELPED, FeedbackAnswer.UNSURE
SEARCH = 40  # the oracle's search box: far above any true count below, so "unbounded" is never cut short


def consistent(shown: feedback.FeedbackMonth) -> list[tuple[int, ...]]:
    """Every (helped, not helped, unsure) an adversary cannot rule out from what is shown (brute force)."""

    def candidates(published: Published) -> range:
        if published.status == Status.EXACT:
            return range(published.value, published.value + 1)
        if published.status == Status.SMALL:
            return range(1, SMALL_MAX + 1)
        return range(1, SEARCH)  # withheld: shown as `x`, so not zero

    first, second, third = (candidates(shown.answers[a]) for a in feedback.ANSWERS)
    totals = candidates(shown.total)
    return [(a, b, c) for a in first for b in second for c in third if a + b + c in totals]


def disclosed(truth: tuple[int, ...], shown: feedback.FeedbackMonth) -> list[FeedbackAnswer]:
    """The answers whose small count (1..4) is hidden yet the only value the adversary has left."""
    possible = consistent(shown)
    assert truth in possible  # what is shown is true
    return [
        answer
        for i, answer in enumerate(feedback.ANSWERS)
        if 1 <= truth[i] <= SMALL_MAX
        and shown.answers[answer].status != Status.EXACT
        and len({v[i] for v in possible}) == 1
    ]


def naive(truth: tuple[int, ...]) -> feedback.FeedbackMonth:
    """Counts of 1..4 shown as `<5` and nothing else: what protection must improve on."""

    def show(value: int) -> Published:
        return Published(0, Status.SMALL) if 1 <= value <= SMALL_MAX else Published(value, Status.EXACT)

    answers = {a: show(v) for a, v in zip(feedback.ANSWERS, truth, strict=True)}
    return feedback.FeedbackMonth(1, date(2026, 1, 1), answers, show(sum(truth)))


def test_no_hidden_count_can_be_worked_out_from_a_protected_month() -> None:
    # Every month with up to 7 answers of each kind, checked by an independent brute-force oracle.
    leaks_without_protection = 0
    for truth in itertools.product(range(8), repeat=3):
        counts = dict(zip(feedback.ANSWERS, truth, strict=True))
        shown = feedback.protect_school_month(1, date(2026, 1, 1), counts)
        assert disclosed(truth, shown) == [], (truth, shown)
        # Nothing more is hidden than needed: a month without a count of 1..4 is all exact.
        if not any(1 <= v <= SMALL_MAX for v in (*truth, sum(truth))):
            assert all(p.status == Status.EXACT for p in (*shown.answers.values(), shown.total))
        # Hidden values never leave the function.
        assert all(p.value == 0 for p in (*shown.answers.values(), shown.total) if p.status != Status.EXACT)
        leaks_without_protection += bool(disclosed(truth, naive(truth)))
    # Positive control: the oracle does catch what `<5` alone gives away (12 answers, 9 helped, 3 not:
    # 12 - 9 - 0 = 3), in many of these months.
    assert disclosed((9, 3, 0), naive((9, 3, 0))) == [NOT_HELPED]
    assert leaks_without_protection > 50


def test_the_all_schools_row_is_exact_only_as_a_sum_of_exact_numbers() -> None:
    month = date(2026, 1, 1)
    a = feedback.protect_school_month(1, month, {HELPED: 9, NOT_HELPED: 3})
    b = feedback.protect_school_month(2, month, {HELPED: 20, NOT_HELPED: 7, UNSURE: 5})
    both = feedback.all_schools([a, b], month)
    assert both.school == ALL_SCHOOLS
    assert a.answers[NOT_HELPED].status != Status.EXACT  # control: school 1 hides its 3
    assert both.answers[NOT_HELPED] == Published(0, Status.WITHHELD)  # else 10 - 7 = 3
    assert both.answers[UNSURE] == Published(5, Status.EXACT)  # 0 + 5: both exact
    assert both.total.status == (Status.EXACT if a.total.status == Status.EXACT else Status.WITHHELD)


async def _closed_case(
    db: Database, keys: KeyRing, policy: CasePolicy, now: datetime, school: int | None
) -> int:
    world_case = await open_report(db, keys, policy, now, school, "a report")
    return world_case.case_id


async def test_asked_once_only_for_a_closed_case_and_counted_per_school_and_month(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    case_id = await _closed_case(database, keys, policy, now, world.north)
    async with database.transaction() as session:
        assert await feedback.ask_once(session, case_id) is False  # still open: not asked
        assert await feedback.count_answer(session, policy, case_id, HELPED, now) is False
        await lifecycle.close(session, policy, case_id, world.north_officer, Outcome.RESOLVED, now)
    async with database.transaction() as session:
        # Not asked yet: an answer is not counted (no tap without a question).
        assert await feedback.count_answer(session, policy, case_id, HELPED, now) is False
        assert await feedback.ask_once(session, case_id) is True
    async with database.transaction() as session:
        assert await feedback.ask_once(session, case_id) is False  # once
        assert await feedback.count_answer(session, policy, case_id, HELPED, now) is True
    async with database.transaction() as session:
        rows = (await session.execute(select(FeedbackCount))).scalars().all()
        assert [(r.school_id, r.month, r.answer, r.count) for r in rows] == [
            (world.north, now.astimezone(policy.timezone).date().replace(day=1), HELPED, 1)
        ]
        assert (await session.scalars(select(FeedbackAsked.case_id))).all() == [case_id]


async def test_a_case_without_a_school_counts_as_no_school(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    case_id = await _closed_case(database, keys, policy, now, None)
    async with database.transaction() as session:
        await lifecycle.close(session, policy, case_id, world.supervisor, Outcome.RESOLVED, now)
        assert await feedback.ask_once(session, case_id)
        assert await feedback.count_answer(session, policy, case_id, UNSURE, now)
        assert (await session.scalars(select(FeedbackCount.school_id))).all() == [NO_SCHOOL]


async def test_the_month_is_the_programs_month_of_the_answer(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    case_id = await _closed_case(database, keys, policy, now, world.south)
    # 1 April, 01:00 UTC is still 31 March in Toronto.
    answered = datetime(2026, 4, 1, 1, 0, tzinfo=now.tzinfo)
    async with database.transaction() as session:
        await lifecycle.close(session, policy, case_id, world.south_officer, Outcome.RESOLVED, now)
        assert await feedback.ask_once(session, case_id)
        assert await feedback.count_answer(session, policy, case_id, NOT_HELPED, answered)
        assert (await session.scalars(select(FeedbackCount.month))).all() == [date(2026, 3, 1)]


async def _seed(database: Database, rows: list[tuple[int, date, FeedbackAnswer, int]]) -> None:
    async with database.transaction() as session:
        for school, month, answer, count in rows:
            session.add(FeedbackCount(school_id=school, month=month, answer=answer, count=count))


async def test_the_table_shows_settled_months_only_protected_and_by_school(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now, enroll=False)
    jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
    await _seed(
        database,
        [
            (world.north, jan, HELPED, 9),
            (world.north, jan, NOT_HELPED, 3),
            (world.south, jan, HELPED, 6),
            (world.south, jan, UNSURE, 5),
            (world.north, feb, HELPED, 2),
            (world.north, mar, HELPED, 8),  # the month still running on 10 March
        ],
    )
    today = date(2026, 3, 10)
    async with database.transaction() as session:
        table = await feedback.feedback_table(session, today=today, first=jan)
        assert table.months == [jan, feb]  # March is not over: never shown, not even as a total so far
        north_jan = table.get(world.north, jan)
        assert north_jan.answers[HELPED].status != Status.EXACT or north_jan.total.status != Status.EXACT
        assert north_jan.answers[NOT_HELPED].value == 0  # the 3 is hidden
        assert table.get(world.south, jan).answers[HELPED] == Published(6, Status.EXACT)
        assert table.get(ALL_SCHOOLS, jan).answers[UNSURE] == Published(5, Status.EXACT)
        assert table.get(world.north, feb).answers[HELPED] == Published(0, Status.SMALL)
        # A school account's view: its school only, the same numbers with the same statuses.
        mine = await feedback.feedback_table(session, today=today, first=jan, schools=[world.south])
        assert {r.school for r in mine.rows} == {world.south, ALL_SCHOOLS}
        assert mine.get(world.south, jan) == table.get(world.south, jan)
        # From the 2nd of April (the 1st + 1 day to settle), March is published.
        april = await feedback.feedback_table(session, today=date(2026, 4, 2), first=mar)
        assert april.months == [mar]
        assert april.get(world.north, mar).answers[HELPED] == Published(8, Status.EXACT)
        assert (await feedback.feedback_table(session, today=date(2026, 4, 1), first=mar)).months == []
    # An empty range answers with no months, not an error.
    async with database.transaction() as session:
        empty = await feedback.feedback_table(session, today=today, first=mar, last=mar)
        assert empty.first is None
        assert empty.rows == []


async def test_the_purge_takes_the_asked_mark_with_the_case_and_keeps_the_counts(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    case_id = await _closed_case(database, keys, policy, now, world.north)
    async with database.transaction() as session:
        retain_until = await lifecycle.close(
            session, policy, case_id, world.north_officer, Outcome.RESOLVED, now
        )
        assert await feedback.ask_once(session, case_id)
        assert await feedback.count_answer(session, policy, case_id, HELPED, now)
    async with database.transaction() as session:
        assert await lifecycle.purge_expired(session, retain_until - timedelta(seconds=1)) == 0
        assert (await session.scalars(select(FeedbackAsked.case_id))).all() == [case_id]  # control
        assert await lifecycle.purge_expired(session, retain_until) == 1
    async with database.transaction() as session:
        assert (await session.scalars(select(FeedbackAsked.case_id))).all() == []
        assert [(c.school_id, c.count) for c in await session.scalars(select(FeedbackCount))] == [
            (world.north, 1)
        ]
        # A purged case cannot be asked about or counted again.
        assert await feedback.ask_once(session, case_id) is False
        assert await feedback.count_answer(session, policy, case_id, HELPED, now) is False
