"""Issue 12's "Done when", end to end through the emulator with the real Rasa server (and Tesseract).

The fast tier proves the same paths with a scripted model (test_evidence_e2e.py,
test_evidence_delivery_e2e.py); here the student's words go to the trained model and the safety
net, as in production. The threat screenshot has its own real-model test
(test_evidence_threat.py::test_a_threat_screenshot_is_urgent_with_the_real_model).
"""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from casework.cases import drafts
from storage.models import CaseMessage, EvidenceImage
from tests.bot.conftest import new_student
from tests.bot.harness import Student, World, now
from tests.bot.test_evidence_clear import needles, stored_bytes
from tests.bot.test_evidence_e2e import (
    CARRIERS,
    QUESTION,
    answer_question,
    finish_and_send,
    pattern_png,
    until,
)
from tests.casework.test_evidence_images import camera_jpeg, metadata_needles
from tests.storage.fixtures import TestDatabase

pytestmark = [pytest.mark.rasa, pytest.mark.ocr]

BULLYING = "some kids in my grade keep making fun of me in the hallway every day and it is getting worse"
# Everything the bot may call on these paths: none of them can carry an image anywhere.
HARMLESS = {
    "getMe",
    "getUpdates",
    "setMyCommands",
    "deleteWebhook",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "answerCallbackQuery",
    "deleteMessage",
    "deleteMessages",
    "getFile",
    "sendChatAction",
}


async def in_interview(world: World) -> Student:
    """A student who picked Maple and is being asked about their (real-model) report."""
    student = await new_student(world)
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")
    asked = await student.says(BULLYING)
    assert "?" in asked.text, asked.text  # the interview's first question
    return student


async def test_a_camera_jpeg_as_a_file_reaches_the_officer_without_metadata_real_model(world: World) -> None:
    officer = await world.enroll("maple")
    raw = camera_jpeg(3000, 400)  # upright 400 x 3000: it goes to the officer as a file, bytes kept
    assert all(needle in raw for needle in metadata_needles()[:5])  # control: it carries them
    async with world.running():
        student = await in_interview(world)
        await world.emu.send_document(student.user, "IMG_0042.jpg", raw, mime_type="image/jpeg")
        await until(student, QUESTION)
        assert "with your report" in await answer_question(world, student, "No, keep it")
        await finish_and_send(student, preview_shows="Images: 1")
        tip, image = await world.emu.next_messages(officer, 2, timeout=30)
    assert "1 image" in tip.text
    (received,) = await world.emu.received_files(officer)
    assert received.message_id == image.message_id
    assert received.kind == "document"
    for needle in metadata_needles():
        assert needle not in received.data
    with Image.open(io.BytesIO(received.data)) as shown:
        assert not shown.getexif()
        assert shown.size == (400, 3000)


async def test_intimate_yes_stores_and_forwards_nothing_real_model(
    world: World, sqlite_database: TestDatabase
) -> None:
    """'Yes, it does': no image row, no image byte in the database file or its WAL, no call that could
    carry it, no call naming its file but the one getFile that read it for danger; the student's
    message deleted; the officer's tip says so in words. Controls: the file was fetched (getFile),
    the scan's needles are found in the image itself, and the database was read (its size)."""
    officer = await world.enroll("maple")
    image = pattern_png()
    async with world.running():
        student = await in_interview(world)
        sent = await world.emu.send_photo(student.user, image)
        await until(student, QUESTION)
        kind = await answer_question(world, student, "Yes, it does")
        assert "NeedHelpNow.ca" in kind
        assert "Cybertip.ca" in kind
        assert "tell the officer" in (await student.then()).text
        await finish_and_send(student, preview_shows="intimate image")
        tip = await world.emu.next_message(officer, timeout=30)
        await world.settled()
        calls = await world.emu.calls()
        telegram_copy = await world.emu.file_bytes(sent.message.raw["photo"][-1]["file_id"])
    assert "intimate image" in tip.text
    assert not await world.emu.received_files(officer)
    # Every call the bot made.
    assert {c.method for c in calls} <= HARMLESS, {c.method for c in calls} - HARMLESS
    assert not [c for c in calls if c.method in CARRIERS]
    file_ids = {size["file_id"] for size in sent.message.raw["photo"]}
    fetched = [c for c in calls if c.method == "getFile"]
    assert len(fetched) == 1  # control: it was read (for danger), once, in memory
    for call in calls:
        params = json.dumps(call.params, default=str)
        assert "<file>" not in params  # nothing uploaded
        if call.method != "getFile":
            assert not any(f in params for f in file_ids)
    deleted = [int(c.params["message_id"]) for c in calls if c.method == "deleteMessage"]
    assert deleted == [sent.message.message_id]
    # The database: no image row, only the report's message, no file_id in the chat's state...
    async with world.database() as (db, keys), db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(EvidenceImage)) == 0
        assert await session.scalar(select(func.count()).select_from(CaseMessage)) == 1
        state = await drafts.load_state(session, keys, keys.pseudonym(student.user.id), now())
    assert not any(f in json.dumps(state) for f in file_ids)
    # ...and no byte of the image, as sent or as Telegram keeps it, in the file or its WAL.
    search = needles([image, telegram_copy])
    for data in (image, telegram_copy):  # control: the needles find the image they come from
        assert any(needle in data for needle in needles([data]))
    stored = await stored_bytes(world, sqlite_database)
    assert len(stored) > 50_000
    for needle in search:
        assert needle not in stored, f"image data stored ({needle[:16]!r}...)"


async def test_a_voice_note_is_refused_with_the_reason_real_model(world: World) -> None:
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await world.emu.send_voice(student.user)
        answer = (await student.then()).text
        await world.emu.send_video(student.user)
        video = (await student.then()).text
        calls = await world.emu.calls()
    for text in (answer, video):
        assert "voice or a face can show who you are" in text
        assert "type" in text
    assert not [c for c in calls if c.method == "getFile"]  # never even fetched
