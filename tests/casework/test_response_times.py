"""Response times are published only over enough cases, and rounded, so no case's own wait comes out."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from casework.cases import lifecycle
from casework.policy import CasePolicy
from casework.stats import recording, responses
from casework.stats.report import StatsQuery, build_report
from casework.vault.keys import KeyRing
from storage.db import Database
from tests.casework.world import build_world, open_report

# Minutes each case waited for its acknowledgement. The median of all ten is 18 minutes
# ((14 + 22) / 2) and their 90th percentile (nearest rank) is case nine's own 44 minutes.
WAITS = [1, 3, 7, 12, 14, 22, 26, 31, 44, 58]
TODAY = date(2026, 5, 1)  # March 2026 (the `now` fixture's month) is settled
MARCH = StatsQuery(date(2026, 3, 1), date(2026, 3, 31), school_code="NTH")


async def _acknowledged_after(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime, waits: list[int]
) -> None:
    world = await build_world(database, keys, policy, now)
    for minutes in waits:
        opened = await open_report(database, keys, policy, now, world.north, "a report")
        async with database.transaction() as session:
            await lifecycle.acknowledge(
                session, policy, opened.case_id, world.north_officer, now + timedelta(minutes=minutes)
            )
            await recording.record(
                session, school_id=world.north, intent="report_bullying", urgent=False, day=now.date()
            )


async def test_ten_cases_are_shown_rounded_to_five_minutes(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    await _acknowledged_after(database, keys, policy, now, WAITS)
    report = await build_report(database, MARCH, TODAY, workers=1)
    [times] = [t for t in report.response_times if t.measure == "acknowledgement"]
    assert (times.median_minutes, times.p90_minutes) == (20, 45)  # 18 and 44, rounded
    assert times.p90_minutes not in WAITS  # no case's own exact wait is published


async def test_nine_cases_are_withheld(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    # The positive control is the test above: one case more and the same report shows them.
    await _acknowledged_after(database, keys, policy, now, WAITS[:9])
    report = await build_report(database, MARCH, TODAY, workers=1)
    assert report.schools == ["NTH"]  # the school is in the report...
    assert report.response_times == []  # ...but its response times are not


def test_the_threshold_and_the_rounding() -> None:
    assert responses.MIN_CASES_FOR_TIMES == 10
    nine, ten = [m * 60 for m in WAITS[:9]], [m * 60 for m in WAITS]
    assert responses.publishable(nine) is None
    assert responses.publishable(ten) == responses.PublishedTimes(median_minutes=20, p90_minutes=45)
    # Nearest multiple of 5 minutes, halves up; seconds count.
    for seconds, shown in ((0, 0), (149, 0), (150, 5), (7 * 60 + 29, 5), (7 * 60 + 30, 10), (3600, 60)):
        assert responses.round_minutes(seconds) == shown, seconds
    # An odd count: the median is the middle case's own wait, and it is still rounded.
    eleven = [*ten, 90 * 60]
    assert responses.publishable(eleven) == responses.PublishedTimes(median_minutes=20, p90_minutes=60)
