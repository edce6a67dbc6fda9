"""Student to officer: an image sent in a report arrives stripped, as a photo or as a file.

The student side (bot.student.evidence) is driven as a student would; what the officer received is
parsed from the emulator. A photo is recompressed by Telegram itself (the emulator does it too), so
the proof that the bot stripped the metadata is the file: a long screenshot goes as a document,
whose bytes Telegram keeps exactly as the bot uploaded them.
"""

from __future__ import annotations

import io

from PIL import Image

from tests.bot.harness import CODE, World
from tests.bot.scripted import ScriptedClassifier
from tests.bot.test_evidence_e2e import (
    QUESTION,
    answer_question,
    finish_and_send,
    in_interview,
    pattern_png,
    until,
)
from tests.casework.test_evidence_images import camera_jpeg, metadata_needles


async def test_a_camera_jpeg_reaches_the_officer_without_any_metadata(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    # Stored sideways with EXIF orientation 6, as phones do: upright it is 400 x 3000, a long image
    # that goes to the officer as a file, its bytes exactly what the bot uploaded.
    raw = camera_jpeg(3000, 400)
    assert all(needle in raw for needle in metadata_needles()[:5])  # control: it carries them
    async with world.running():
        student = await in_interview(world, script)
        await world.emu.send_document(student.user, "IMG_0042.jpg", raw, mime_type="image/jpeg")
        await until(student, QUESTION)
        await answer_question(world, student, "No, keep it")
        await finish_and_send(student)
        tip, image = await world.emu.next_messages(officer, 2, timeout=30)
    assert "1 image" in tip.text
    (received,) = await world.emu.received_files(officer)
    assert received.message_id == image.message_id
    assert received.kind == "document"  # the uploaded bytes themselves, not Telegram's recompression
    for needle in metadata_needles():
        assert needle not in received.data
    with Image.open(io.BytesIO(received.data)) as shown:
        assert not shown.getexif()
        assert shown.size == (400, 3000)  # upright, full size: the text in it stays readable
    assert received.caption is not None
    assert received.caption.startswith("📎 Image 1 of 1")


async def test_an_image_added_after_status_reaches_the_officer(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        code = CODE.search(await finish_and_send(student))
        assert code is not None
        await world.emu.next_message(officer, timeout=15)  # the tip, without images
        await student.says(f"/status {code.group()}")
        await world.settled()
        await world.emu.send_photo(student.user, pattern_png())
        await until(student, QUESTION)
        await answer_question(world, student, "No, keep it")
        added = await world.emu.next_message(officer, timeout=30)
        status = await student.says(f"/status {code.group()}")
    assert added.text.startswith("📎 Image 1 of 1 · case ")
    assert added.buttons == [[("🔎 Text in the image", added.buttons[0][0][1])]]
    assert "📎 1 image" in status.text
    assert "📎 Show the images" in status.button_texts


async def test_a_students_caption_reaches_the_officer_under_the_image(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """A photo sent with a caption: the caption is the student's words about it, under the image."""
    world = scripted_world
    caption = "he posted this in the group chat"
    script.says(caption, "out_of_scope", confidence=0.9)  # read for danger like typed words: not urgent
    officer = await world.enroll("maple")
    async with world.running():
        student = await in_interview(world, script)
        await world.emu.send_photo(student.user, pattern_png(), caption=caption)
        await until(student, QUESTION)
        await answer_question(world, student, "No, keep it")
        await finish_and_send(student)
        _tip, image = await world.emu.next_messages(officer, 2, timeout=30)
    (received,) = await world.emu.received_files(officer)
    assert received.kind == "photo"
    assert received.caption is not None
    assert received.caption.startswith("📎 Image 1 of 1")
    assert caption in received.caption
    assert image.message_id == received.message_id
