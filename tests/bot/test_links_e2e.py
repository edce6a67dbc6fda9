"""Posters' deep links and 'Did this help?', end to end (issue 13): the real bot over HTTP to the emulator.

A poster's QR code is decoded with a real decoder and its link's start parameter sent as Telegram sends
it (`/start <token>`): the school is chosen without a question, and nothing keeps the token. After a
case is closed, the student's next /status asks once whether it helped; the one tap adds to a count
that nothing ties to the case.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import inspect, select, text

from app.logs import configure_logging
from casework import links, schools
from devtools.emulator.client import Message, User
from storage.models import FeedbackAnswer, FeedbackAsked, FeedbackCount
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, now
from tests.bot.scripted import ScriptedClassifier
from web import posters

QUESTION = "can i talk to the officer about getting a police check for volunteering"
BOT = "sro_connect_test_bot"  # the emulator's bot username
Snapshot = dict[str, set[tuple[Any, ...]]]


async def token_of(world: World, code: str) -> str:
    async with world.database() as (db, _keys), db.transaction() as session:
        return (await links.ensure_link(session, world.school_ids[code])).token


async def scanned_token(world: World, code: str) -> str:
    """What a phone gets from the school's printed poster: the QR decoded, the link's start parameter."""
    async with world.database() as (db, _keys), db.transaction() as session:
        school = await schools.find_school(session, code)
        link = await links.school_deep_link(session, BOT, school)
        name = school.name
    image = Image.open(io.BytesIO(posters.poster_png(name, link)))
    (found,) = [r.text for r in zxingcpp.read_barcodes(image)]
    parts = urlsplit(found)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", f"/{BOT}")
    return parse_qs(parts.query)["start"][0]


def labels(message: Message) -> list[str]:
    return [label for row in message.buttons for label, _ in row]


async def ask_and_send(student: Student) -> str:
    """The question, sent from the preview; returns the case code."""
    preview = await student.says(QUESTION)
    assert "question" in preview.text
    sent = await student.taps(preview, "✅ Send")
    code = CODE.search(sent.text)
    assert code is not None, sent.text
    return code.group()


class Capture(logging.Handler):
    """Every log line, as the bot's own logging configuration lets it through."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Capture]:
    configure_logging()
    capture = Capture()
    capture.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logging.getLogger().addHandler(capture)
    yield capture
    logging.getLogger().removeHandler(capture)


async def test_a_posters_link_preselects_its_school(
    scripted_world_both: World, script: ScriptedClassifier, logs: Capture
) -> None:
    world = scripted_world_both
    script.says(QUESTION, "ask_officer", confidence=0.98)
    maple = await world.enroll("maple")
    lakeshore = await world.enroll("lakeshore")
    token = await scanned_token(world, "MRS")
    assert token == await token_of(world, "MRS")
    async with world.running():
        student = await new_student(world)
        welcome = await student.says(f"/start {token}")
        assert "911" in welcome.text
        chosen = await student.then()
        assert "This link is for Maple Ridge Secondary School" in chosen.text
        assert labels(chosen) == ["Not my school"]
        # No school question: the question goes straight to its preview, then to Maple's officer.
        await ask_and_send(student)
        tip = await world.emu.next_message(maple, timeout=15)
        assert "police check" in tip.text
        assert "Maple Ridge" in tip.text
        await world.emu.assert_no_message(lakeshore, within=0)

        # 'Not my school': the preselection is dropped and the school asked, as after a plain /start.
        other = await new_student(world)
        await other.says(f"/start {token}")
        offered = await other.then()
        asked = await other.taps(offered, "Not my school")
        assert "Which school" in asked.text
        await other.choose_school("lakeshore", "Lakeshore Collegiate Institute")
        await ask_and_send(other)
        assert "police check" in (await world.emu.next_message(lakeshore, timeout=15)).text
        await world.settled()
    # The token is kept nowhere but in its school's row, and logged nowhere. Positive control: the
    # search finds it there, so it would find it anywhere else too.
    assert await tables_holding(world, token) == {"school_links"}
    logged = "\n".join(logs.lines)
    assert "student.deep_link_school" in logged  # the capture works: the bot's lines are in it
    assert token not in logged


@pytest.mark.parametrize("kind", ["garbage", "unknown", "removed school", "near miss"])
async def test_any_other_start_parameter_gets_the_usual_welcome(
    scripted_world: World, script: ScriptedClassifier, kind: str
) -> None:
    world = scripted_world
    token = await token_of(world, "MRS")
    if kind == "removed school":
        token = await token_of(world, "NBH")
        async with world.database() as (db, _keys), db.transaction() as session:
            await schools.remove_school(session, "NBH", now())
    wrong = {
        "garbage": "<b>hi</b>%20DROP",
        "unknown": links.new_token(),
        "removed school": token,
        "near miss": token[:-1] + ("A" if token[-1] != "A" else "B"),
    }[kind]
    async with world.running():
        student = await new_student(world)
        await student.says(f"/start {wrong}")
        assert "Which school do you go to?" in (await student.then()).text
        await student.quiet()
        # Positive control: the same chat with the right token gets Maple preselected.
        await student.says(f"/start {await token_of(world, 'MRS')}")
        assert "This link is for Maple Ridge Secondary School" in (await student.then()).text


URGENT = "a kid has a knife in his locker near room 204"


async def test_a_posters_link_while_a_report_waits_for_its_school_is_that_reports_school(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """An urgent report already sent without a school, or a question waiting for one: the link's school
    is offered as the tap that carries them on (never set behind their back, bypassing the routing)."""
    world = scripted_world
    script.says(URGENT, "report_weapon", confidence=0.99)
    script.says(QUESTION, "ask_officer", confidence=0.98)
    maple = await world.enroll("maple")
    token = await token_of(world, "MRS")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await world.emu.send_text(student.user, URGENT)
        told = [(await student.then()).text for _ in range(3)]  # safety first, saved, then the school
        assert "911" in told[0]
        assert "Which school is this about" in told[2]
        await student.quiet()
        await student.says(f"/start {token}")
        offered = await student.then()
        assert labels(offered) == ["Maple Ridge Secondary School", "My school isn't here"]
        chosen = await student.taps(offered, "Maple Ridge Secondary School")
        assert "Your report is going to its officer now" in chosen.text
        tip = await world.emu.next_message(maple, timeout=15)
        assert "knife" in tip.text
        assert "URGENT" in tip.text

        asker = await new_student(world)
        await asker.says("/start")
        await asker.then()
        waiting = await asker.says(QUESTION)  # a sentence where the school was asked: kept, school asked
        assert "which school" in waiting.text.lower()
        await asker.quiet()
        await asker.says(f"/start {token}")
        offered = await asker.then()
        assert labels(offered) == ["Maple Ridge Secondary School", "My school isn't here"]
        await asker.taps(offered, "Maple Ridge Secondary School")
        preview = await asker.then()
        assert "police check" in preview.text  # the waiting question, ready to send
        assert "✅ Send" in labels(preview)


async def tables_holding(world: World, needle: str) -> set[str]:
    """The tables with a row in which `needle` appears (as text, or as bytes in a blob)."""
    found = set()
    for table, rows in (await snapshot(world)).items():
        for row in rows:
            if any(needle in str(value) or needle.encode() in _bytes(value) for value in row):
                found.add(table)
    return found


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else b""


async def snapshot(world: World) -> Snapshot:
    """Every row of every table, to compare the database before and after one tap (either database)."""
    async with world.database() as (db, _keys), db.transaction() as session:
        connection = await session.connection()
        tables = sorted(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
        rows: Snapshot = {}
        for table in tables:  # names read from the database itself, not typed by anyone
            rows[table] = {tuple(r) for r in (await session.execute(text(f'SELECT * FROM "{table}"'))).all()}  # noqa: S608
        return rows


def changed(before: Snapshot, after: Snapshot) -> set[str]:
    return {t for t in after if before.get(t) != after[t]}


async def close_case(world: World, officer: User) -> None:
    tip = await world.emu.next_message(officer, timeout=15)
    await world.emu.press(officer, tip, "✖️ Close")
    outcomes = await world.emu.next_message(officer, timeout=15)
    await world.emu.press(officer, outcomes, "Resolved")
    last = await world.emu.next_message(officer, timeout=15)
    await world.emu.press(officer, last, "✖️ Close without a message")
    assert "is closed" in (await world.emu.next_message(officer, timeout=15)).text


async def test_did_this_help_is_asked_once_after_close_and_only_counted(
    scripted_world_both: World, script: ScriptedClassifier, logs: Capture
) -> None:
    world = scripted_world_both
    script.says(QUESTION, "ask_officer", confidence=0.98)
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says(f"/start {await token_of(world, 'MRS')}")
        await student.then()
        code = await ask_and_send(student)
        # Open: /status shows the case and asks nothing.
        assert "Your case" in (await student.says(f"/status {code}")).text
        await student.quiet()

        await close_case(world, officer)
        await world.settled()
        before_asking = await snapshot(world)
        status = await student.says(f"/status {code}")
        assert "This case is closed" in status.text
        question = await student.then()
        assert "did this help?" in question.text
        assert labels(question) == ["👍 Yes", "👎 No", "🤷 Not sure"]
        await world.settled()
        asked = await snapshot(world)
        # What asking stores: that this case was asked (and the chat's sealed state), nothing else.
        assert changed(before_asking, asked) - {"drafts", "rate_limits"} == {"feedback_asked"}
        case_id = next(iter(asked["feedback_asked"]))[0]

        # Two taps at once (a double tap, or 👍 then 👎 before the buttons go): one answer is counted.
        taps = await asyncio.gather(
            world.emu.press(student.user, question, "👍 Yes"),
            world.emu.press(student.user, question, "👎 No"),
            return_exceptions=True,
        )
        assert not any(isinstance(tap, BaseException) for tap in taps)  # both taps reached the bot
        thanks = await student.then()
        assert "Thanks" in thanks.text
        await world.settled()
        answered = await snapshot(world)
        # What the answer stores: one count (school, month, answer), the chat's sealed state, and the
        # tap counted against the chat's flood limit (sealed, under its pseudonym, as its messages are).
        # Positive control: the same comparison saw the question being recorded above.
        assert changed(asked, answered) - {"drafts", "rate_limits"} == {"feedback_counts"}
        assert answered["cases"] == asked["cases"]
        assert answered["feedback_asked"] == asked["feedback_asked"] == {(case_id,)}
        assert answered["audit_events"] == asked["audit_events"]

        # Asked once: not at the next /status; the question's buttons are gone.
        again = await student.says(f"/status {code}")
        assert "This case is closed" in again.text
        await student.quiet()
        shown = [m for m in await world.emu.messages(student.user) if m.message_id == question.message_id]
        assert labels(shown[0]) == []
        assert sum("Thanks for telling us" in m.text for m in await world.emu.messages(student.user)) == 1
    async with world.database() as (db, _keys), db.transaction() as session:
        counts = (await session.scalars(select(FeedbackCount))).all()
        assert [(c.school_id, c.answer, c.count) for c in counts] == [
            (world.school_ids["MRS"], FeedbackAnswer.HELPED, 1)
        ]
        assert (await session.scalars(select(FeedbackAsked.case_id))).all() == [case_id]
    # The log says that an answer was counted, never which.
    logged = "\n".join(logs.lines)
    assert "student.feedback_counted" in logged  # control: the capture holds the bot's lines
    assert not [word for word in ("helped", "unsure", "👍", "👎", "🤷") if word in logged]
    # No column of the counts can name a case: month, school, answer and count, nothing else.
    assert {c.name for c in FeedbackCount.__table__.columns} == {"month", "school_id", "answer", "count"}
