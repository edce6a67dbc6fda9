"""Students' "Did this help?" answers on the dashboard: counted through the real case flow, shown on
the evaluation page per school with the same protection as every count, and only to who may see them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx

from casework.cases import lifecycle
from casework.policy import CasePolicy
from casework.stats import feedback
from casework.vault.keys import KeyRing
from storage.db import Database
from storage.models import FeedbackAnswer, Outcome, WebRole
from tests.casework.world import build_world, open_report
from tests.web.conftest import BASE, NOW, WEB_KEY, ZONE, add_person, login, next_code
from web.app import WebConfig, create_app

ANSWERED, HELPED = "“Did this help?” answered", "… of which “yes”"
IN_MARCH = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)  # the dashboard's last settled month (its NOW: April 10)


async def _answers(
    db: Database, keys: KeyRing, policy: CasePolicy, school: int, officer: int, n: int
) -> None:
    """`n` reports at `school`, each closed, its student asked once and answering 'yes'."""
    for _ in range(n):
        case = await open_report(db, keys, policy, IN_MARCH, school, "a report")
        async with db.transaction() as session:
            await lifecycle.close(session, policy, case.case_id, officer, Outcome.RESOLVED, IN_MARCH)
        async with db.transaction() as session:
            assert await feedback.ask_once(session, case.case_id)
            assert await feedback.count_answer(session, policy, case.case_id, FeedbackAnswer.HELPED, IN_MARCH)


async def _evaluation(db: Database, email: str, role: WebRole, codes: list[str]) -> dict[str, list[str]]:
    """The evaluation table as this account downloads it: indicator -> [before, latest, change]."""
    person = await add_person(db, email, role, codes)
    config = WebConfig(db=db, timezone=ZONE, base_url=BASE, web_key=WEB_KEY, clock=lambda: NOW)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(config)), base_url=BASE
    ) as client:
        assert (await login(client, person.email, person.password, next_code(person))).status_code == 303
        page = await client.get("/evaluation.csv?section=0")
        assert page.status_code == 200
    rows = list(csv.reader(io.StringIO(page.text)))
    assert rows[0][2:4] == ["2025-02", "2025-03"], rows[0]
    return {row[1]: row[2:] for row in rows[1:]}


async def test_did_this_help_answers_reach_the_evaluation_page_protected_and_per_school(
    database: Database, keys: KeyRing, policy: CasePolicy
) -> None:
    world = await build_world(database, keys, policy, IN_MARCH)
    await _answers(database, keys, policy, world.north, world.north_officer, 10)
    await _answers(database, keys, policy, world.south, world.south_officer, 2)
    # North's principal sees North's ten answers, exactly (ten is above the small-count range).
    north = await _evaluation(database, "head@north.example", WebRole.SCHOOL, ["NTH"])
    assert north[ANSWERED][:2] == ["0", "10"]
    assert north[HELPED][:2] == ["0", "10"]
    # South's principal sees South's two answers only as protected, never the 2 (nor North's 10).
    south = await _evaluation(database, "head@south.example", WebRole.SCHOOL, ["STH"])
    assert south[ANSWERED][1] in ("<5", "x")
    assert south[HELPED][1] in ("<5", "x")
    assert "10" not in {cell for row in south.values() for cell in row}
