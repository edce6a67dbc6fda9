"""Schools' deep links: a random start token per school that Telegram accepts, and what it opens."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select, text

from casework import links, schools
from casework.schools import NewSchool, parse_schools_csv
from storage import migrations
from storage.db import Database
from storage.models import SchoolLink

# Telegram's rule for `?start=`: 1-64 characters of A-Za-z0-9_- (written out again here, independently).
TELEGRAM_START = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


async def test_a_new_school_gets_a_token_telegram_accepts_and_it_opens_that_school(
    database: Database, now: datetime
) -> None:
    async with database.transaction() as session:
        north = await schools.add_school(session, NewSchool.checked("North Collegiate", "NTH"), now)
        south = await schools.add_school(session, NewSchool.checked("South Secondary", "STH"), now)
        link = await links.school_deep_link(session, "@sro_connect_bot", north)
    token = link.removeprefix("https://t.me/sro_connect_bot?start=")
    assert link == f"https://t.me/sro_connect_bot?start={token}"
    assert TELEGRAM_START.match(token)
    # Random, not the school's code or id: nothing about the program can be read from it.
    assert "NTH" not in token.upper()
    assert len(token) == 16
    async with database.transaction() as session:
        found = await links.school_for_token(session, token)
        assert found is not None
        assert found.id == north.id
        other = await links.ensure_link(session, south.id)
        assert other.token != token
        assert links.deep_link("sro_connect_bot", other).endswith(other.token)
        # Garbage, an unknown token and a near miss open nothing (the right token above did).
        for wrong in ("", "x" * 65, "a b", "<script>", "NTH", token[:-1], token + "A", token.lower()):
            if wrong != token:
                assert await links.school_for_token(session, wrong) is None, wrong


async def test_a_removed_school_is_not_preselected(database: Database, now: datetime) -> None:
    async with database.transaction() as session:
        school = await schools.add_school(session, NewSchool.checked("Old School", "OLD"), now)
        token = (await links.ensure_link(session, school)).token
        assert await links.school_for_token(session, token) is not None  # control: it works while active
        await schools.remove_school(session, "OLD", now)
        assert await links.school_for_token(session, token) is None


async def test_imported_schools_each_get_their_own_token(database: Database, now: datetime) -> None:
    rows = parse_schools_csv("name,code\nA School,AAA\nB School,BBB\nC School,CCC\n")
    async with database.transaction() as session:
        await schools.import_schools(session, rows, now)
    async with database.transaction() as session:
        tokens = (await session.scalars(select(SchoolLink.token))).all()
    assert len(tokens) == 3
    assert len(set(tokens)) == 3
    assert all(TELEGRAM_START.match(t) for t in tokens)


async def test_replacing_a_token_retires_the_old_one(database: Database, now: datetime) -> None:
    async with database.transaction() as session:
        school = await schools.add_school(session, NewSchool.checked("North Collegiate", "NTH"), now)
        old = (await links.ensure_link(session, school)).token
        new = (await links.replace_token(session, school, now)).token
        assert new != old
        assert await links.school_for_token(session, old) is None
        found = await links.school_for_token(session, new)
        assert found is not None
        assert found.id == school.id


def test_a_deep_link_needs_a_bot_username_and_a_start_parameter() -> None:
    assert links.link_for_token("SroConnectBot", "abc_-9") == "https://t.me/SroConnectBot?start=abc_-9"
    for username in ("", "@", "a b", "bot/evil", "x" * 40, "https://t.me/x"):
        with pytest.raises(ValueError, match="username"):
            links.link_for_token(username, "abc")
    for token in ("", "a?b", "a&start=b", "x" * 65):
        with pytest.raises(ValueError, match="start parameter"):
            links.link_for_token("sro_connect_bot", token)
    assert all(TELEGRAM_START.match(links.new_token()) for _ in range(200))


async def test_the_migration_gives_every_existing_school_a_token(empty_url: str) -> None:
    await migrations.upgrade(empty_url, "0009")
    db = Database.connect(empty_url)
    try:
        async with db.transaction() as session:
            await session.execute(
                text(
                    "INSERT INTO schools (id, name, code, active, created_at) VALUES"
                    " (1, 'North', 'NTH', true, '2026-09-01 00:00:00'),"
                    " (2, 'South', 'STH', false, '2026-09-01 00:00:00')"
                )
            )
    finally:
        await db.close()
    await migrations.upgrade(empty_url, "0010")
    db = Database.connect(empty_url)
    try:
        async with db.transaction() as session:
            rows = (await session.execute(select(SchoolLink.school_id, SchoolLink.token))).all()
            assert sorted(r.school_id for r in rows) == [1, 2]
            assert all(TELEGRAM_START.match(r.token) for r in rows)
            assert rows[0].token != rows[1].token
    finally:
        await db.close()
    await migrations.downgrade(empty_url, "0009")  # and back: the tables go, the schools stay
    db = Database.connect(empty_url)
    try:
        async with db.transaction() as session:
            assert (await session.execute(text("SELECT count(*) FROM schools"))).scalar_one() == 2
    finally:
        await db.close()
