"""A screenshot of a threat is as urgent as the same words typed: 911 at once, the report sent at once.

The screenshot is drawn with Pillow in DejaVu Sans (a chat bubble's words) and sent as a file, so
the bytes the bot reads are exactly these. The fast-tier test scripts the model's answer for the
words Tesseract reads (computed here by the same function the bot uses); the `rasa` test leaves it
to the real model and safety net. Positive control: the image has no other way to be urgent (no
caption), and before it nothing was urgent.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select

from casework.evidence import strip_image
from casework.evidence.ocr import read_text
from storage.models import Case, EvidenceImage, IntentStat
from tests.bot.conftest import new_student
from tests.bot.harness import Student, World
from tests.bot.scripted import ScriptedClassifier
from tests.bot.test_evidence_e2e import QUESTION, answer_question, until

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
THREAT = "ur dead tmrw at lunch"
TAX = "someone keeps taking money from grade 9s at lunch, they call it tax"


def chat_screenshot(lines: list[str]) -> bytes:
    """A phone chat screenshot: a grey bubble of dark text on white, as a PNG."""
    font = ImageFont.truetype(FONT, 36)
    image = Image.new("RGB", (900, 140 + 70 * len(lines)), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((30, 40, 870, 100 + 70 * len(lines)), radius=24, fill=(233, 233, 235))
    for number, line in enumerate(lines):
        draw.text((60, 60 + 70 * number), line, fill=(20, 20, 20), font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def with_school(world: World) -> Student:
    student = await new_student(world)
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")
    return student


async def send_threat_and_check(world: World, student: Student, screenshot: bytes, typed: int = 0) -> None:
    """`typed`: messages the student typed before (each counted once in the statistics)."""
    officer = world.officers["maple"].user
    assert officer is not None
    await world.emu.send_document(student.user, "Screenshot_2026.png", screenshot, mime_type="image/png")
    safety = await student.then()
    assert "911" in safety.text  # the first thing the student sees
    tip = await world.emu.next_message(officer, timeout=20)
    assert "ur dead" in tip.text.lower() or "dead" in tip.text.lower()  # the report went at once
    await until(student, QUESTION)
    assert "Added to your case" in await answer_question(world, student, "No, keep it")
    await world.settled()
    async with world.database() as (db, _), db.transaction() as session:
        cases = list(await session.scalars(select(Case)))
        assert [c.urgent for c in cases] == [True]
        assert await session.scalar(select(func.count()).select_from(EvidenceImage)) == 1
        # Statistics count nothing of images: only what was typed was recorded, not the screenshot.
        assert await session.scalar(select(func.sum(IntentStat.count))) == (typed or None)


@pytest.mark.ocr
async def test_a_threat_screenshot_is_urgent_at_once(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    screenshot = chat_screenshot([THREAT])
    words = await read_text(strip_image(screenshot).data)
    assert words is not None
    assert "dead" in words.lower()  # control: Tesseract reads the threat
    script.says(words, "report_threat", confidence=0.99)
    await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        await send_threat_and_check(world, student, screenshot)


@pytest.mark.ocr
@pytest.mark.rasa
async def test_a_threat_screenshot_is_urgent_with_the_real_model(world: World) -> None:
    await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        await send_threat_and_check(world, student, chat_screenshot([THREAT]))


@pytest.mark.ocr
async def test_a_threat_screenshot_during_a_report_sends_that_report_at_once(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Nothing the student already wrote is lost: the report they were writing goes, urgent, with
    the screenshot's words; the image joins it."""
    world = scripted_world
    screenshot = chat_screenshot([THREAT])
    words = await read_text(strip_image(screenshot).data)
    assert words is not None
    script.says(words, "report_threat", confidence=0.99)
    script.says(TAX, "report_theft", confidence=0.96)
    await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        assert "?" in (await student.says(TAX)).text
        await send_threat_and_check(world, student, screenshot, typed=1)
        officer = world.officers["maple"].user
        assert officer is not None
        tips = [m.text for m in await world.emu.messages(officer)]
    assert any("call it tax" in tip and "dead" in tip.lower() for tip in tips)
