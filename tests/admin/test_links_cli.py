"""`sro school link` (a school's poster deep link) and `sro feedback` (its students' answers, protected)."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner, Result

from admin.cli import app
from casework import audit, links
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import FeedbackAnswer, FeedbackCount, School
from tests.storage.fixtures import DatabaseUnderTest

TOKEN = re.compile(r"start token ([A-Za-z0-9_-]{16}) ")


@pytest.fixture
def sro(test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_USERNAME", raising=False)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    return invoke


def opens(url: str, token: str) -> str | None:
    """The school code a start token opens, straight from the database."""
    return asyncio.run(_opens(url, token))


async def _opens(url: str, token: str) -> str | None:
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            school = await links.school_for_token(session, token)
            return school.code if school is not None else None
    finally:
        await db.close()


def test_school_link_prints_the_deep_link_and_new_retires_the_old_one(  # type: ignore[no-untyped-def]
    sro, test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    sro("school", "add", "--name", "North Collegiate", "--code", "NTH")
    bare = sro("school", "link", "nth").output
    found = TOKEN.search(bare)
    assert found, bare
    token = found.group(1)
    assert "TELEGRAM_BOT_USERNAME" in bare
    assert opens(test_database.url, token) == "NTH"

    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "@sro_connect_bot")
    assert sro("school", "link", "NTH").output.strip() == f"NTH: https://t.me/sro_connect_bot?start={token}"
    replaced = sro("school", "link", "NTH", "--new").output
    new = replaced.split("start=")[1].split()[0]
    assert new != token
    assert "no longer preselect" in replaced
    assert opens(test_database.url, token) is None
    assert opens(test_database.url, new) == "NTH"
    events = asyncio.run(_events(test_database.url))
    assert ("school.link_replaced", "NTH") in events
    assert "no school with code 'XYZ'" in sro("school", "link", "XYZ", ok=False).output


def test_sro_feedback_shows_settled_months_protected(sro, test_database: DatabaseUnderTest) -> None:  # type: ignore[no-untyped-def]
    sro("school", "add", "--name", "North Collegiate", "--code", "NTH")
    sro("school", "add", "--name", "South Secondary", "--code", "STH")
    asyncio.run(_seed_september(test_database.url))
    shown = json.loads(
        sro("feedback", "--from", "2026-09-01", "--to", "2026-09-30", "--format", "json").output
    )
    assert shown["months"] == ["2026-09"]
    rows = {row["school"]: row for row in shown["rows"]}
    assert rows["STH"] == {
        "school": "STH",
        "month": "2026-09",
        "helped": 6,
        "not_helped": 0,
        "unsure": 5,
        "total": 11,
    }
    assert rows["NTH"]["not_helped"] in ("<5", "x")  # the 3 is never printed
    assert rows["ALL"]["not_helped"] == "x"  # else 3 + 0 would be read off
    assert rows["ALL"]["unsure"] == 5
    table = sro("feedback", "--from", "2026-09-01", "--to", "2026-09-30").output
    assert "Did this help?" in table
    assert "STH" in table
    csv_out = sro(
        "feedback", "--from", "2026-09-01", "--to", "2026-09-30", "--format", "csv", "--school", "sth"
    ).output
    assert csv_out.splitlines() == [
        "school,month,helped,not_helped,unsure,total",
        "STH,2026-09,6,0,5,11",
        "ALL,2026-09,6,0,5,11",
    ]
    assert "Nothing to show" in sro("feedback", "--from", "2099-01-01").output


async def _events(url: str) -> list[tuple[str, str | None]]:
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            return [(e.action, e.detail) for e in await audit.list_events(session)]
    finally:
        await db.close()


async def _seed_september(url: str) -> None:
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            ids = {s.code: s.id for s in await session.scalars(select(School))}
            for code, answer, count in (
                ("NTH", FeedbackAnswer.HELPED, 9),
                ("NTH", FeedbackAnswer.NOT_HELPED, 3),
                ("STH", FeedbackAnswer.HELPED, 6),
                ("STH", FeedbackAnswer.UNSURE, 5),
            ):
                session.add(
                    FeedbackCount(month=date(2026, 9, 1), school_id=ids[code], answer=answer, count=count)
                )
    finally:
        await db.close()
