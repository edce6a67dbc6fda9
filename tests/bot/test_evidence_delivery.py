"""Evidence images reach the officer: uploaded from memory after the tip's text, each on its own row.

Each case is opened straight in the case store with its images sealed in the same transaction
(as the student's Send does, bot.student.evidence_files), then the real bot runs against the
emulator. What the officer received is read back from the emulator: the recompressed photo or
the file's exact bytes, and every call the bot made.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image
from sqlalchemy import delete, func, select, update

from casework import evidence, officers
from casework.cases import intake, reading
from casework.cases.codes import CaseCode
from casework.cases.intake import OpenedCase
from casework.delivery import alerts
from devtools.emulator.client import Message, User
from storage.models import (
    AlertKind,
    CaseKind,
    Delivery,
    DeliveryKind,
    DeliveryPart,
    DeliveryStatus,
    EvidenceImage,
    RateLimit,
)
from tests.bot.harness import World, eventually, now
from tests.emulator.test_media_from_users import exif_jpeg, has_gps

SECRET = "pangolin-7"  # a word only the OCR text holds
THREAT = f"ur dead tmrw at lunch {SECRET}"


def long_screenshot(width: int = 1080, height: int = 6000) -> bytes:
    """A long chat screenshot. 1080 x 6000 passes Telegram's photo rules (sum 7080, ratio 5.6), but
    Telegram would shrink the photo to 230 x 1280, too small to read: it must go as a file."""
    image = Image.new("RGB", (width, height), (250, 250, 250))
    for top in range(0, height, 120):  # chat bubbles, one stripe per message
        image.paste((40, 120, 220), (40, top + 20, width - 300, top + 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def open_tip_with_images(
    world: World, images: Sequence[bytes], *, captions: Sequence[str | None] = (), urgent: bool = True
) -> OpenedCase:
    """A tip and its images in one transaction, as the student's Send stores them (notify=False)."""
    async with world.database() as (db, keys), db.transaction() as session:
        opened = await intake.open_case(
            session, keys, world.policy(),
            school_id=world.school_ids["MRS"], kind=CaseKind.REPORT,
            intent="report_threat" if urgent else "report_bullying", urgent=urgent,
            body={"what": "he sent me this", "where": "online"}, notify_chat_id=None, now=now(),
        )  # fmt: skip
        for number, raw in enumerate(images):
            caption = captions[number] if number < len(captions) else None
            await evidence.store_image(
                session, opened.case_id, evidence.strip_image(raw),
                ocr_text=THREAT if number == 0 else "", caption=caption, now=now(), notify=False,
            )  # fmt: skip
    return opened


async def rows(world: World, case_id: int) -> list[Delivery]:
    async with world.database() as (db, _keys), db.transaction() as session:
        query = select(Delivery).where(Delivery.case_id == case_id).order_by(Delivery.id)
        return list((await session.scalars(query)).all())


async def settled(world: World, case_id: int, count: int) -> bool:
    found = [r for r in await rows(world, case_id) if r.kind != DeliveryKind.ALERT]
    done = (DeliveryStatus.SENT, DeliveryStatus.FAILED)
    return len(found) == count and all(r.status in done for r in found)


async def received(world: World, user: User, count: int) -> list[Message]:
    """The officer's next `count` messages (text or file), in order."""
    return await world.emu.next_messages(user, count, timeout=30)


async def uploads_only(world: World) -> None:
    """Every file the bot sent was uploaded from memory: never forwarded, copied or sent by file_id."""
    calls = await world.emu.calls()
    assert not [c for c in calls if c.method.lower() in ("forwardmessage", "copymessage", "sendmediagroup")]
    for call in calls:
        if call.method in ("sendPhoto", "sendDocument"):
            assert call.params.get("photo", call.params.get("document")) == "<file>", call


async def test_a_tip_arrives_with_its_images_after_its_text(scripted_world_both: World) -> None:
    world = scripted_world_both
    officer = await world.enroll("maple")
    photo, screenshot = exif_jpeg(1600, 1200), long_screenshot()
    assert has_gps(photo)  # positive control: the check below sees metadata when it is there
    opened = await open_tip_with_images(world, [photo, screenshot], captions=["from his account"])
    async with world.running():
        tip, first, second = await received(world, officer, 3)
        await eventually(lambda: settled(world, opened.case_id, 3), seconds=30)
    # The words first, with the case's buttons: an album could carry none, so there is none.
    assert "he sent me this" in tip.text
    assert "2 images" in tip.text
    assert "✅ Acknowledge" in tip.button_texts
    files = await world.emu.received_files(officer)
    assert [(f.message_id, f.kind) for f in files] == [
        (first.message_id, "photo"),
        (second.message_id, "document"),
    ]
    shown, long_one = files
    assert shown.caption is not None
    assert shown.caption.startswith("📎 Image 1 of 2 · case ")
    assert "from his account" in shown.caption
    assert not has_gps(shown.data)  # stripped before sealing, recompressed by Telegram
    assert long_one.caption is not None
    assert long_one.caption.startswith("📎 Image 2 of 2")
    # The long screenshot went as a file: every pixel kept, so its text stays readable.
    assert long_one.file_name == "image-2-of-2.png"
    assert Image.open(io.BytesIO(long_one.data)).size == (1080, 6000)
    assert [m.button_texts for m in (first, second)] == [["🔎 Text in the image"]] * 2
    await uploads_only(world)
    kinds = [(r.kind, r.status) for r in await rows(world, opened.case_id)]
    assert (
        kinds
        == [(DeliveryKind.TIP, DeliveryStatus.SENT)] + [(DeliveryKind.STUDENT_REPLY, DeliveryStatus.SENT)] * 2
    )


async def test_the_text_read_in_an_image_is_one_tap_away(scripted_world: World) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    await open_tip_with_images(world, [exif_jpeg()], captions=["look at this"])
    async with world.running():
        _tip, image = await received(world, officer, 2)
        assert SECRET not in image.text  # the OCR text is not in the caption: it is asked for
        press = await world.emu.press(officer, image, "🔎 Text in the image")
        shown = await world.emu.wait_for(officer, lambda m: SECRET in m.text, after=press, timeout=15)
    assert "Image 1 of 1" in shown.text
    assert "look at this" in shown.text
    assert THREAT in shown.text


async def test_an_image_refused_never_holds_back_the_tip_and_is_alerted(scripted_world: World) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    supervisor = await world.enroll("supervisor")
    refusal = "Bad Request: wrong remote file identifier specified"
    await world.emu._fault("bad_request", officer, method="sendPhoto", times=None, description=refusal)
    await world.emu._fault("bad_request", officer, method="sendDocument", times=None, description=refusal)
    opened = await open_tip_with_images(world, [exif_jpeg()])
    async with world.running():
        tip = await world.emu.next_message(officer, timeout=30)
        alert = await world.emu.next_message(supervisor, timeout=30)
        await eventually(lambda: settled(world, opened.case_id, 2), seconds=30)
    assert "he sent me this" in tip.text
    assert "refused" in alert.text
    assert SECRET not in alert.text
    assert len(await world.emu.calls(method="sendPhoto", chat=officer, outcome="fault")) == 1  # it was hit
    async with world.database() as (db, _keys), db.transaction() as session:
        listed = {o.id: o for o in await officers.list_officers(session, now())}
    assert not listed[world.officers["maple"].id].unreachable  # refused content never blames the officer
    statuses = [(r.kind, r.status) for r in await rows(world, opened.case_id) if r.kind != DeliveryKind.ALERT]
    assert statuses == [
        (DeliveryKind.TIP, DeliveryStatus.SENT),
        (DeliveryKind.STUDENT_REPLY, DeliveryStatus.FAILED),
    ]


async def test_a_photo_refused_for_its_dimensions_goes_again_as_a_file(scripted_world: World) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    refusal = "Bad Request: PHOTO_INVALID_DIMENSIONS"
    await world.emu._fault("bad_request", officer, method="sendPhoto", times=1, description=refusal)
    opened = await open_tip_with_images(world, [exif_jpeg()])
    async with world.running():
        await received(world, officer, 2)
        await eventually(lambda: settled(world, opened.case_id, 2), seconds=30)
    (image,) = await world.emu.received_files(officer)
    assert image.kind == "document"
    assert image.data[:3] == b"\xff\xd8\xff"
    assert len(await world.emu.calls(method="sendPhoto", chat=officer, outcome="fault")) == 1


async def test_a_lost_answer_is_retried_and_the_image_arrives(scripted_world: World) -> None:
    """At least once: a network error on the upload puts the image's row back; the tip is not resent."""
    world = scripted_world
    officer = await world.enroll("maple")
    await world.emu.fail_server_error(times=1, method="sendPhoto", chat=officer)
    opened = await open_tip_with_images(world, [exif_jpeg()])
    async with world.running():
        await received(world, officer, 2)
        await eventually(lambda: settled(world, opened.case_id, 2), seconds=30)
    assert [f.kind for f in await world.emu.received_files(officer)] == ["photo"]
    assert len(await world.emu.calls(method="sendMessage", chat=officer)) == 1
    assert [c.outcome for c in await world.emu.calls(method="sendPhoto", chat=officer)] == ["fault", "ok"]


async def test_an_image_recorded_before_a_crash_is_not_sent_again(scripted_world_both: World) -> None:
    """A crash between sending an image and marking its row: the recorded message is enough."""
    world = scripted_world_both
    officer = await world.enroll("maple")
    opened = await open_tip_with_images(world, [exif_jpeg(), exif_jpeg(300, 400)])
    async with world.running():
        await received(world, officer, 3)
        await eventually(lambda: settled(world, opened.case_id, 3), seconds=30)
    first, second = [r for r in await rows(world, opened.case_id) if r.kind == DeliveryKind.STUDENT_REPLY]
    async with world.database() as (db, _keys), db.transaction() as session:
        # Both rows back to 'pending', as a crash before marking leaves them; the second also loses its
        # recorded message (the positive control: without the record, the image is sent again).
        await session.execute(
            update(Delivery)
            .where(Delivery.id.in_([first.id, second.id]))
            .values(status=DeliveryStatus.PENDING)
        )
        await session.execute(delete(DeliveryPart).where(DeliveryPart.delivery_id == second.id))
    await world.emu.clear_calls()
    async with world.running():
        again = await world.emu.next_message(officer, timeout=30)
        # Settled: both rows marked sent, so every upload they made is already in the call log.
        await eventually(lambda: settled(world, opened.case_id, 3), seconds=30)
    assert again.raw["photo"]
    assert "Image 2 of 2" in again.text
    assert len(await world.emu.calls(method="sendPhoto", chat=officer)) == 1


async def test_case_n_shows_the_images_again(scripted_world: World) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    await open_tip_with_images(world, [exif_jpeg(), long_screenshot()], captions=[None, "the group chat"])
    async with world.running():
        tip, *_images = await received(world, officer, 3)
        reference = tip.text.split("case ", 1)[1].split(" ", 1)[0]
        sent = await world.emu.send_text(officer, f"/case {reference}")
        thread = await world.emu.wait_for(officer, lambda m: "Image 2" in m.text, after=sent, timeout=15)
        again = await received(world, officer, 3)
    assert "Image 1" in thread.text
    assert "the group chat" in thread.text
    assert [m.raw.get("photo") is not None for m in again[1:]] == [True, False]  # photo, then the long file
    assert len(await world.emu.received_files(officer)) == 4


async def test_a_students_later_image_reaches_the_officer_as_the_next_of_n(scripted_world: World) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    opened = await open_tip_with_images(world, [exif_jpeg()])
    async with world.running() as app:
        await received(world, officer, 2)
        async with world.database() as (db, _keys), db.transaction() as session:
            await evidence.store_image(
                session, opened.case_id, evidence.strip_image(exif_jpeg(500, 500)),
                ocr_text=None, caption=None, now=now(), notify=True,
            )  # fmt: skip
        app.bot_data.services.outbox_ready.set()  # type: ignore[union-attr]
        (added,) = await received(world, officer, 1)
    assert added.text.startswith("📎 Image 2 of 2")
    assert added.raw["photo"]


async def test_the_students_status_lists_the_images_and_shows_them_back(scripted_world_both: World) -> None:
    world = scripted_world_both
    await world.enroll("maple")
    opened = await open_tip_with_images(world, [exif_jpeg(), exif_jpeg(400, 300)])
    student = await world.emu.user(first_name="Sam", started=True)
    async with world.running():
        await world.emu.send_text(student, f"/status {opened.code}")
        status = await world.emu.next_message(student, timeout=15)
        assert "📎 2 images" in status.text
        press = await world.emu.press(student, status, "📎 Show the images")
        back = await world.emu.wait_for(
            student, lambda m: "Your image 2 of 2" in m.text, after=press, timeout=15
        )
    assert back.raw["photo"]
    files = await world.emu.received_files(student)
    assert [f.caption for f in files] == ["📎 Your image 1 of 2", "📎 Your image 2 of 2"]
    await uploads_only(world)


async def test_an_escalated_tip_brings_its_images_to_the_next_officers(scripted_world: World) -> None:
    world = scripted_world
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    opened = await open_tip_with_images(world, [exif_jpeg(), exif_jpeg(300, 300)])
    async with world.running():
        tip, *_images = await received(world, primary, 3)
        await world.emu.press(primary, tip, "⬆️ Escalate")
        escalated, first, second = await received(world, backup, 3)
        await eventually(lambda: settled(world, opened.case_id, 6), seconds=30)
    assert "2 images" in escalated.text
    assert [first.text.split(" ·")[0], second.text.split(" ·")[0]] == ["📎 Image 1 of 2", "📎 Image 2 of 2"]
    assert len(await world.emu.received_files(primary)) == 2  # nothing sent twice to the first officer


async def test_an_answer_lost_after_the_upload_gives_a_duplicate_never_a_loss(scripted_world: World) -> None:
    """The limit of "exactly once": Telegram has no idempotency key, so when it applied an upload but
    its answer was lost, the bot cannot know, and sends the image again (at least once, never zero)."""
    world = scripted_world
    officer = await world.enroll("maple")
    await world.emu.drop_connections(times=1, method="sendPhoto", chat=officer, after_processing=True)
    opened = await open_tip_with_images(world, [exif_jpeg()])
    async with world.running():
        await received(world, officer, 3)
        await eventually(lambda: settled(world, opened.case_id, 2), seconds=30)
    calls = await world.emu.calls(method="sendPhoto", chat=officer)
    assert [(c.outcome, c.applied) for c in calls] == [("fault", True), ("ok", True)]
    captions = [f.caption or "" for f in await world.emu.received_files(officer)]
    assert len(captions) == 2
    assert all(c.startswith("📎 Image 1 of 1") for c in captions)


async def test_a_forged_show_images_button_opens_nothing_and_counts_as_a_wrong_code(
    scripted_world: World,
) -> None:
    """The button carries the case code; a modified client could send another. It opens nothing, and
    counts like a wrong code typed to /status (which slows the chat down after a few)."""
    world = scripted_world
    await world.enroll("maple")
    opened = await open_tip_with_images(world, [exif_jpeg()])
    student = await world.emu.user(first_name="Sam", started=True)
    async with world.running():
        await world.emu.send_text(student, f"/status {opened.code}")
        status = await world.emu.next_message(student, timeout=15)
        # What a modified client can do: press the button with data of its own choosing.
        assert world.emu.server is not None
        stored = world.emu.server.world.chats[student.id].messages[status.message_id]
        (button,) = [b for row in stored.data["reply_markup"]["inline_keyboard"] for b in row]
        assert button["callback_data"] == f"images:{opened.code}"
        button["callback_data"] = f"images:{CaseCode.new().display()}"
        press = await world.emu.press(student, status, "📎 Show the images")
        refused = await world.emu.wait_for(
            student, lambda m: "could not show" in m.text, after=press, timeout=15
        )
        # Positive control: the real button, under a fresh /status, shows the image.
        sent = await world.emu.send_text(student, f"/status {opened.code}")
        again = await world.emu.wait_for(
            student, lambda m: "Show the images" in str(m), after=sent, timeout=15
        )
        press = await world.emu.press(student, again, "📎 Show the images")
        await world.emu.wait_for(student, lambda m: "Your image 1 of 1" in m.text, after=press, timeout=15)
    assert "/status" in refused.text
    assert len(await world.emu.received_files(student)) == 1
    async with world.database() as (db, _keys), db.transaction() as session:
        query = select(func.count()).select_from(RateLimit).where(RateLimit.bucket == "status-miss")
        misses = await session.scalar(query)
    assert misses == 1  # the forged press was counted as a wrong code (the real ones were not)


async def test_an_officer_answering_an_image_with_telegrams_reply_answers_its_case(
    scripted_world: World,
) -> None:
    world = scripted_world
    officer = await world.enroll("maple")
    opened = await open_tip_with_images(world, [exif_jpeg()])
    async with world.running():
        _tip, image = await received(world, officer, 2)
        sent = await world.emu.reply_to(officer, image, "Thanks, I am looking into it.")
        answer = await world.emu.wait_for(
            officer, lambda m: "Sent to the student" in m.text, after=sent, timeout=15
        )
    assert "MRS-1" in answer.text
    async with world.database() as (db, keys), db.transaction() as session:
        view = await reading.read_case_as_student(session, keys, opened.code)
    assert [m.body.get("text") for m in view.messages if m.direction == "officer"] == [
        "Thanks, I am looking into it."
    ]


async def test_an_image_rerouted_from_a_gone_officer_reaches_each_officer_once(
    scripted_world_both: World,
) -> None:
    """A student's image queued to the primary and the backup (the case was escalated); the primary
    has blocked the bot, so its row is rerouted to whoever receives the case now: the backup, who
    has the image already on its way. Each officer gets each image once (the outbox's rule: a
    student's message is never queued again to an officer who has it on its way or sent).
    Positive control: the rerouted row did happen (the primary's row failed, the primary is marked
    unreachable), and the backup did get the image."""
    world = scripted_world_both
    primary = await world.enroll("maple")
    backup = await world.enroll("maple_backup")
    opened = await open_tip_with_images(world, [exif_jpeg()])
    async with world.running() as app:
        tip, _image = await received(world, primary, 2)
        await world.emu.press(primary, tip, "⬆️ Escalate")
        await received(world, backup, 2)  # the escalated tip, then image 1
        await eventually(lambda: all_settled(world, opened.case_id), seconds=30)
        await world.emu.forbid(primary)  # the primary blocks the bot
        async with world.database() as (db, _keys), db.transaction() as session:
            await evidence.store_image(
                session, opened.case_id, evidence.strip_image(exif_jpeg(500, 500)),
                ocr_text=None, caption=None, now=now(), notify=True,
            )  # fmt: skip
        app.bot_data.services.outbox_ready.set()  # type: ignore[union-attr]
        (added,) = await received(world, backup, 1)
        await eventually(lambda: all_settled(world, opened.case_id), seconds=30)
        await world.settled()
    assert added.text.startswith("📎 Image 2 of 2")
    captions = [(f.caption or "").split(" ·")[0] for f in await world.emu.received_files(backup)]
    assert captions == ["📎 Image 1 of 1", "📎 Image 2 of 2"]  # each once
    async with world.database() as (db, _keys), db.transaction() as session:
        gone = [
            r
            for r in await rows(world, opened.case_id)
            if r.officer_id == world.officers["maple"].id and r.kind == DeliveryKind.STUDENT_REPLY
        ]
        listed = {o.id: o for o in await officers.list_officers(session, now())}
    assert [r.status for r in gone] == [DeliveryStatus.SENT, DeliveryStatus.FAILED]  # control: rerouted
    assert listed[world.officers["maple"].id].unreachable


async def all_settled(world: World, case_id: int) -> bool:
    """No row of the case is still on its way (pending, sending or waiting)."""
    found = [r for r in await rows(world, case_id) if r.kind != DeliveryKind.ALERT]
    return bool(found) and all(r.status in (DeliveryStatus.SENT, DeliveryStatus.FAILED) for r in found)


async def tamper_image(world: World, case_id: int, index: int) -> None:
    """Flip one byte of the `index`-th stored image's ciphertext, as a database writer could."""
    async with world.database() as (db, _keys), db.transaction() as session:
        query = select(EvidenceImage).where(EvidenceImage.case_id == case_id).order_by(EvidenceImage.id)
        row = list((await session.scalars(query)).all())[index - 1]
        data = bytearray(row.ciphertext)
        data[len(data) // 2] ^= 0x01
        row.ciphertext = bytes(data)


async def tampered_alerts(world: World, case_id: int) -> int:
    async with world.database() as (db, _keys), db.transaction() as session:
        found = await alerts.list_alerts(session, kind=AlertKind.TAMPERED_MESSAGE, case_id=case_id)
    return len(found)


async def test_case_n_shows_the_other_images_when_one_was_altered(scripted_world: World) -> None:
    """One image altered in the database after the tip: `/case N` still shows the thread and the other
    two images, says plainly that one could not be opened, and the supervisors get the content-free
    tampered-message alert, once (a second /case raises no second alert). Positive control: before the
    alteration all three opened and the alert did not exist."""
    world = scripted_world
    officer = await world.enroll("maple")
    supervisor = await world.enroll("supervisor")
    opened = await open_tip_with_images(world, [exif_jpeg(), exif_jpeg(300, 400), exif_jpeg(400, 300)])
    async with world.running():
        tip, *_images = await received(world, officer, 4)
        await eventually(lambda: settled(world, opened.case_id, 4), seconds=30)
        assert await tampered_alerts(world, opened.case_id) == 0  # control: nothing altered yet
        await tamper_image(world, opened.case_id, 2)
        reference = tip.text.split("case ", 1)[1].split(" ", 1)[0]
        for _ in range(2):
            sent = await world.emu.send_text(officer, f"/case {reference}")
            notice = await world.emu.wait_for(
                officer, lambda m: "could not be opened" in m.text, after=sent, timeout=15
            )
        alert = await world.emu.next_message(supervisor, timeout=15)
        await world.settled()
    assert f"One image of case {reference} could not be opened" in notice.text
    assert "altered in the database" in notice.text
    captions = [(f.caption or "").split(" ·")[0] for f in await world.emu.received_files(officer)]
    shown_again = captions[3:]
    assert shown_again == ["📎 Image 1 of 3", "📎 Image 3 of 3"] * 2  # each /case: the other two
    assert f"case {reference}" in alert.text
    assert "altered" in alert.text
    assert SECRET not in alert.text  # no content
    assert "he sent me this" not in alert.text
    assert await tampered_alerts(world, opened.case_id) == 1  # once, however often it is read
    assert len(await world.emu.messages(supervisor)) == 1


async def test_the_students_other_images_are_shown_when_one_was_altered(scripted_world: World) -> None:
    world = scripted_world
    await world.enroll("maple")
    opened = await open_tip_with_images(world, [exif_jpeg(), exif_jpeg(400, 300)])
    await tamper_image(world, opened.case_id, 1)
    student = await world.emu.user(first_name="Sam", started=True)
    async with world.running():
        await world.emu.send_text(student, f"/status {opened.code}")
        status = await world.emu.next_message(student, timeout=15)
        assert "📎 2 images" in status.text
        press = await world.emu.press(student, status, "📎 Show the images")
        notice = await world.emu.wait_for(
            student, lambda m: "could not open" in m.text, after=press, timeout=15
        )
        await world.settled()
    assert "1 of your images" in notice.text
    files = await world.emu.received_files(student)
    assert [f.caption for f in files] == ["📎 Your image 2 of 2"]  # the other one, shown
    assert await tampered_alerts(world, opened.case_id) == 1
