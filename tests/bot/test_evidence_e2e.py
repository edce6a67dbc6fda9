"""Evidence images end to end through the emulator: stripped, asked about, sealed; never intimate.

Each test drives a student's Telegram account against the bot over HTTP and then checks what the
bot stored (the database, decrypted with the officers' keys) and every Bot API call it made
(the emulator records them). Positive controls: the sent files do carry what is looked for, and
what was stored does decrypt.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from casework.cases import drafts
from casework.evidence import images_for_officer
from storage.models import CaseMessage, EvidenceImage
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World, now
from tests.bot.scripted import ScriptedClassifier
from tests.casework.test_evidence_images import camera_jpeg, metadata_needles
from tests.casework.test_evidence_mpo import phone_mpo

TAX = "someone keeps taking money from grade 9s at lunch, they call it tax"
QUESTION = "naked or in a sexual way"
# Bot API methods that would carry an image (or the student's message) anywhere.
CARRIERS = {
    "sendPhoto",
    "sendDocument",
    "sendMediaGroup",
    "forwardMessage",
    "forwardMessages",
    "copyMessage",
    "copyMessages",
}


def pattern_png(width: int = 120, height: int = 60) -> bytes:
    """A PNG with a distinctive pixel pattern (a stripe no photo has)."""
    image = Image.new("RGB", (width, height), (250, 250, 250))
    for x in range(width):
        for y in range(20, 24):
            image.putpixel((x, y), (x * 7 % 256, 13, 241))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def until(student: Student, fragment: str) -> str:
    """The bot's messages to the student up to the first that contains `fragment`; its text."""
    for _ in range(6):
        message = await student.then()
        if fragment in message.text:
            return message.text
    raise AssertionError(f"no message with {fragment!r}")


async def in_interview(world: World, script: ScriptedClassifier) -> Student:
    script.says(TAX, "report_theft", confidence=0.96)
    student = await new_student(world)
    await student.says("/start")
    await student.then()
    await student.choose_school("maple", "Maple Ridge Secondary School")
    asked = await student.says(TAX)
    assert "?" in asked.text
    return student


async def finish_and_send(student: Student, preview_shows: str | None = None) -> str:
    """Answer the rest of the interview (skipping), then Send; the 'sent' message's text."""
    message = await student.says("in the caf")
    while "will be sent" not in message.text:
        skip = any(t == "Skip" for row in message.buttons for t, _ in row)
        message = await student.taps(message, "Skip" if skip else "No")
    if preview_shows is not None:
        assert preview_shows in message.text
    sent = await student.taps(message, "✅ Send")
    assert "Sent" in sent.text
    return sent.text


async def answer_question(world: World, student: Student, button: str) -> str:
    """Tap a button of the intimate-image question; the bot's next message."""
    messages = await world.emu.messages(student.user)
    question = next(m for m in reversed(messages) if QUESTION in m.text)
    return (await student.taps(question, button)).text


async def stored_images(world: World) -> list[tuple[int, bytes]]:
    """Every stored image, decrypted by the Maple officer: (case id, bytes)."""
    found = []
    async with world.database() as (db, keys), db.transaction() as session:
        case_ids = sorted(set(await session.scalars(select(EvidenceImage.case_id))))
        for case_id in case_ids:
            officer = world.officers["maple"].id
            found += [(case_id, i.data) for i in await images_for_officer(session, keys, case_id, officer)]
    return found


async def test_a_camera_jpeg_sent_as_a_file_is_stored_without_any_metadata(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        raw = camera_jpeg(640, 480)
        assert all(needle in raw for needle in metadata_needles()[:5])  # control: it carries them
        sent = await world.emu.send_document(student.user, "IMG_0042.jpg", raw, mime_type="image/jpeg")
        question = await until(student, QUESTION)
        assert "name, profile picture or username" in question  # the crop-or-cancel line
        assert "with your report" in await answer_question(world, student, "No, keep it")
        await finish_and_send(student, preview_shows="Images: 1")
        await world.settled()

    images = await stored_images(world)
    assert len(images) == 1
    data = images[0][1]
    for needle in metadata_needles():
        assert needle not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert not stored.getexif()
        assert stored.size == (480, 640)  # turned upright by its EXIF orientation, then stripped
    # Nothing forwarded or copied the student's own file, and its file_id was only fetched.
    file_id = sent.message.raw["document"]["file_id"]
    for call in await world.emu.calls():
        assert call.method not in {"forwardMessage", "copyMessage", "forwardMessages", "copyMessages"}
        if call.method != "getFile":
            assert file_id not in json.dumps(call.params, default=str)


async def test_a_phones_mpo_photo_is_taken_as_its_first_picture_without_metadata(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Many phone cameras save MPO (a JPEG with more pictures after it); Pillow names it apart."""
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        raw = phone_mpo(640, 480)
        assert all(needle in raw for needle in metadata_needles()[:2])  # control: it carries them
        await world.emu.send_document(student.user, "IMG_0043.JPG", raw, mime_type="image/jpeg")
        question = await until(student, QUESTION)
        assert "can't open" not in question
        assert "with your report" in await answer_question(world, student, "No, keep it")
        await finish_and_send(student, preview_shows="Images: 1")
        await world.settled()

    images = await stored_images(world)
    assert len(images) == 1
    data = images[0][1]
    for needle in [*metadata_needles(), b"MPF\0"]:
        assert needle not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.format == "JPEG"
        assert not stored.getexif()
        assert stored.size == (480, 640)  # the first picture, upright by its EXIF orientation


async def test_an_intimate_image_is_neither_stored_nor_forwarded_and_its_message_is_deleted(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        sent = await world.emu.send_photo(student.user, pattern_png())
        await until(student, QUESTION)
        kind = await answer_question(world, student, "Yes, it does")
        for words in ("NeedHelpNow.ca", "Cybertip.ca", "Kids Help Phone", "not your fault", "under 18"):
            assert words in kind
        assert "tell the officer" in (await student.then()).text
        await finish_and_send(student, preview_shows="intimate image")
        tip = await world.emu.next_message(officer, timeout=15)
        assert "intimate image" in tip.text
        assert "call it tax" in tip.text  # the report itself, as text
        await world.settled()
        calls = await world.emu.calls()
        state_chat = student.user.id

    deleted = [c for c in calls if c.method == "deleteMessage"]
    assert [int(c.params["message_id"]) for c in deleted] == [sent.message.message_id]
    assert not [c.method for c in calls if c.method in CARRIERS]
    file_ids = {size["file_id"] for size in sent.message.raw["photo"]}
    for call in calls:
        if call.method != "getFile":  # fetched once, in memory, to read it for danger
            assert not any(f in json.dumps(call.params, default=str) for f in file_ids)
    async with world.database() as (db, keys), db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(EvidenceImage)) == 0
        assert await session.scalar(select(func.count()).select_from(CaseMessage)) == 1
        # The file_id was dropped from the chat's sealed state once answered.
        state = await drafts.load_state(session, keys, keys.pseudonym(state_chat), now())
        assert not any(f in json.dumps(state) for f in file_ids)


async def test_a_follow_up_image_is_added_to_the_case_after_status(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        code = await finish_and_send(student)
        await world.emu.next_message(officer, timeout=15)  # the tip
        found = CODE.search(code)
        assert found is not None
        await student.says(f"/status {found.group()}")
        await world.settled()
        await world.emu.send_photo(student.user, pattern_png())
        await until(student, QUESTION)
        assert "Added to your case" in await answer_question(world, student, "No, keep it")
        await world.settled()
    images = await stored_images(world)
    assert len(images) == 1
    with Image.open(io.BytesIO(images[0][1])) as stored:
        assert stored.size == (120, 60)


async def test_voice_notes_and_videos_are_refused_with_the_reason(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    async with world.running():
        student = await new_student(world)
        for send in (
            world.emu.send_voice(student.user),
            world.emu.send_video(student.user),
            world.emu.send_video_note(student.user),
        ):
            await send
            answer = (await student.then()).text
            assert "voice or a face can show who you are" in answer
            assert "type" in answer
        await world.emu.send_sticker(student.user)
        assert "only read text" in (await student.then()).text  # stickers keep their answer
        await world.emu.send_location(student.user)
        assert "location" in (await student.then()).text
        calls = await world.emu.calls()
    assert not [c for c in calls if c.method == "getFile"]  # a voice or video is never even fetched


async def test_forget_drops_a_pending_image_and_deletes_its_message(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """/forget while the question waits: the sealed file_id goes with the state, and the photo's
    message and the question (its buttons with it) are deleted in Telegram."""
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        sent = await world.emu.send_photo(student.user, pattern_png())
        await until(student, QUESTION)
        async with world.database() as (db, keys), db.transaction() as session:
            state = await drafts.load_state(session, keys, keys.pseudonym(student.user.id), now())
        assert state is not None
        held = state["pending_image"][str(sent.message.message_id)]
        assert held["message_id"] == sent.message.message_id  # control: it was held
        question = next(m for m in await world.emu.messages(student.user) if QUESTION in m.text)
        await student.says("/forget")
        await world.settled()
        calls = await world.emu.calls()
    deleted: set[int] = set()
    for call in calls:
        if call.method in {"deleteMessage", "deleteMessages"}:
            ids = call.params.get("message_ids") or [call.params.get("message_id")]
            deleted.update(int(i) for i in (json.loads(ids) if isinstance(ids, str) else ids))
    assert sent.message.message_id in deleted
    assert question.message_id in deleted  # its buttons are gone with it
    async with world.database() as (db, keys), db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(EvidenceImage)) == 0
        state = await drafts.load_state(session, keys, keys.pseudonym(student.user.id), now())
    assert state is None or state.get("pending_image") is None


async def test_cancel_keeps_nothing(scripted_world: World, script: ScriptedClassifier) -> None:
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        await world.emu.send_photo(student.user, pattern_png())
        await until(student, QUESTION)
        assert "crop it and send it again" in await answer_question(world, student, "Cancel")
        await finish_and_send(student)
        await world.settled()
    assert await stored_images(world) == []


async def test_without_tesseract_images_are_still_taken_and_the_student_is_told(
    scripted_world: World, script: ScriptedClassifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract anywhere on it
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        await world.emu.send_photo(student.user, pattern_png())
        assert "could not read any text" in (await student.then()).text
        await until(student, QUESTION)
        assert "with your report" in await answer_question(world, student, "No, keep it")
        await finish_and_send(student)
        await world.settled()
    async with world.database() as (db, keys), db.transaction() as session:
        case_id = await session.scalar(select(EvidenceImage.case_id))
        assert case_id is not None
        opened = await images_for_officer(session, keys, case_id, world.officers["maple"].id)
    assert [i.ocr_text for i in opened] == [None]  # "could not be read", kept as such for the officer


async def test_each_image_of_an_album_has_its_own_question(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Two screenshots sent at once: each question acts on its own image, whatever order they're answered."""
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        sent = await world.emu.send_album(student.user, [pattern_png(120, 60), pattern_png(90, 45)])
        await until(student, QUESTION)
        await until(student, QUESTION)
        first, second = [m for m in await world.emu.messages(student.user) if QUESTION in m.text]
        assert "Kids Help Phone" in (await student.taps(second, "Yes, it does")).text
        await student.then()  # "I will tell the officer..."
        assert "with your report" in (await student.taps(first, "No, keep it")).text
        await finish_and_send(student)
        await world.settled()
        calls = await world.emu.calls()
    deleted = [int(c.params["message_id"]) for c in calls if c.method == "deleteMessage"]
    assert deleted == [sent[1].message.message_id]  # the second image's message, not the first's
    images = await stored_images(world)
    assert len(images) == 1
    with Image.open(io.BytesIO(images[0][1])) as stored:
        assert stored.size == (120, 60)  # the first image, kept


async def test_a_file_over_the_size_limit_is_refused_with_the_limit_and_never_fetched(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        big = camera_jpeg() + bytes(11 * 1024 * 1024)  # a JPEG with 11 MB of trailing bytes
        await world.emu.send_document(student.user, "huge.jpg", big, mime_type="image/jpeg")
        assert "smaller than 10 MB" in (await student.then()).text
        await world.emu.send_document(student.user, "small.jpg", camera_jpeg(), mime_type="image/jpeg")
        await until(student, QUESTION)  # control: the same kind of file, smaller, is taken
        calls = await world.emu.calls()
    assert len([c for c in calls if c.method == "getFile"]) == 1  # only the small one was fetched


async def test_a_follow_up_marked_intimate_reads_plainly_in_status(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """'Yes' on an image sent after /status: the case gets only the mark (no image), the officer reads
    it in words, and the student's /status shows it as a line of its own, never an empty message."""
    world = scripted_world
    officer = await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        found = CODE.search(await finish_and_send(student))
        assert found is not None
        await world.emu.next_message(officer, timeout=15)  # the tip
        await student.says(f"/status {found.group()}")
        await world.settled()
        await world.emu.send_photo(student.user, pattern_png())
        await until(student, QUESTION)
        assert "Kids Help Phone" in await answer_question(world, student, "Yes, it does")
        assert "tell the officer" in (await student.then()).text
        marked = await world.emu.next_message(officer, timeout=15)
        status = await student.says(f"/status {found.group()}")
    assert "intimate image" in marked.text  # the officer, in words
    assert "You said an image showed someone naked or sexual" in status.text
    assert "not kept or sent" in status.text
    # Each of the student's messages has words after its heading (a report's answers on the lines
    # below it): none is a heading followed by nothing.
    messages = re.split(r"(?m)^(?=💬 You \()", status.text)[1:]
    assert len(messages) == 2  # control: the report and the mark
    for message in messages:
        assert message.split(":", 1)[1].strip() != "", message
    assert "naked or sexual" in messages[1]
    assert await stored_images(world) == []


async def test_the_eleventh_image_is_refused_with_the_limit_and_nothing_is_lost(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Ten screenshots as an album, then an 11th before any question is answered: the 11th is refused
    at once, the limit stated; the ten are each asked about, kept, sent with the report, stored and
    delivered, none lost. Positive control: the ten below the limit are all taken."""
    world = scripted_world
    officer = await world.enroll("maple")
    widths = [100 + k for k in range(10)]  # each image told apart by its size
    async with world.running():
        student = await in_interview(world, script)
        await world.emu.send_album(student.user, [pattern_png(width, 50) for width in widths])
        for _ in widths:
            await until(student, QUESTION)
        await world.emu.send_photo(student.user, pattern_png(200, 50))
        refused = (await student.then()).text
        questions = [m for m in await world.emu.messages(student.user) if QUESTION in m.text]
        for question in questions:
            assert "with your report" in (await student.taps(question, "No, keep it")).text
        await world.emu.send_photo(student.user, pattern_png(210, 50))  # and once all ten are kept
        refused_again = (await student.then()).text
        await finish_and_send(student, preview_shows="Images: 10")
        tip, *images = await world.emu.next_messages(officer, 11, timeout=60)
        await world.settled()
    assert "already has 10 images" in refused
    assert "already has 10 images" in refused_again
    assert len(questions) == 10  # the 11th was never asked about, so never said to be kept
    assert "10 images" in tip.text
    assert [m.text.split(" ·")[0] for m in images] == [f"📎 Image {k} of 10" for k in range(1, 11)]
    stored = await stored_images(world)
    sizes = sorted(Image.open(io.BytesIO(data)).size[0] for _case, data in stored)
    assert sizes == widths  # all ten kept, neither refused image among them


async def test_forget_deletes_the_images_in_the_chat_and_the_case_keeps_its_own(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """/forget's rules hold for images: the student's photo, and the images the bot showed back
    (decrypted), are deleted from the chat like every other message; the case, opened by its code,
    keeps its sealed image. Control: before /forget they are all in the chat, none deleted."""
    world = scripted_world
    await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        sent = await world.emu.send_photo(student.user, pattern_png())
        await until(student, QUESTION)
        await answer_question(world, student, "No, keep it")
        found = CODE.search(await finish_and_send(student))
        assert found is not None
        status = await student.says(f"/status {found.group()}")
        press = await world.emu.press(student.user, status, "📎 Show the images")
        shown = await world.emu.wait_for(
            student.user, lambda m: "Your image 1 of 1" in m.text, after=press, timeout=15
        )
        await world.settled()
        before = await world.emu.messages(student.user, include_user=True)
        assert {sent.message.message_id, shown.message_id} <= {m.message_id for m in before}
        assert not any(m.deleted for m in before)
        asked = await world.emu.send_text(student.user, "/forget")
        forgot = await world.emu.wait_for(
            student.user, lambda m: "deleted what I had" in m.text, after=asked, timeout=15
        )
        await world.settled()
        after = await world.emu.messages(student.user, include_user=True)
    assert [m.message_id for m in after if not m.deleted] == [forgot.message_id]
    assert len(await stored_images(world)) == 1  # the case keeps its sealed image
