"""The bot uploads photos, documents and albums; the emulator refuses what Telegram refuses."""

from __future__ import annotations

import io
import json
import os

import httpx
import pytest
from PIL import Image
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaDocument, InputMediaPhoto
from telegram.error import BadRequest, NetworkError

from devtools.emulator import Emulator
from devtools.emulator.media import MB
from tests.emulator.test_media_from_users import exif_jpeg, has_gps


def png(width: int, height: int, *, noise: bool = False) -> bytes:
    """A PNG of that size (random pixels compress badly: a big file)."""
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("L", (width, height), 255)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=0 if noise else 6)
    return out.getvalue()


def keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Open", callback_data="open")]])


async def test_a_photo_is_recompressed_to_what_the_recipient_sees(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    original = exif_jpeg(3000, 1000)
    assert has_gps(original)  # positive control: the check sees metadata
    async with emu.ptb_bot() as bot:
        message = await bot.send_photo(
            officer.id, original, caption="📎 image <b>1</b> of 2", parse_mode="HTML", reply_markup=keyboard()
        )
    assert message.caption == "📎 image 1 of 2"
    assert [e.type for e in message.caption_entities] == ["bold"]
    assert [max(p.width, p.height) for p in message.photo] == [90, 320, 800, 1280]
    (received,) = await emu.received_files(officer)
    assert (received.kind, received.width, received.height) == ("photo", 1280, 427)
    assert received.data[:3] == b"\xff\xd8\xff"
    assert received.data != original
    assert not has_gps(received.data)
    assert received.has_buttons  # a single photo may carry buttons
    assert received.caption == "📎 image 1 of 2"


async def test_a_document_keeps_the_bytes_sent(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    original = png(1080, 12000)  # a long chat screenshot: no photo can hold it
    async with emu.ptb_bot() as bot:
        message = await bot.send_document(officer.id, original, filename="image-1-of-1.png", caption="x")
    assert message.document is not None
    assert (message.document.file_name, message.document.mime_type) == ("image-1-of-1.png", "image/png")
    (received,) = await emu.received_files(officer)
    assert received.data == original
    assert received.kind == "document"


async def test_photo_limits_are_telegrams(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        with pytest.raises(BadRequest, match=r"^Photo_invalid_dimensions$"):
            await bot.send_photo(officer.id, png(200, 9801))  # width + height = 10001
        with pytest.raises(BadRequest, match=r"^Photo_invalid_dimensions$"):
            await bot.send_photo(officer.id, png(50, 1001))  # ratio above 20
        with pytest.raises(BadRequest, match=r"^Image_process_failed$"):
            await bot.send_photo(officer.id, b"%PDF-1.4 not an image")
        big = png(1900, 1900, noise=True)
        assert len(big) > 10 * MB
        with pytest.raises(BadRequest, match=r"^Photo_save_file_invalid$"):
            await bot.send_photo(officer.id, big)
        # Positive controls: just inside every limit, the same calls succeed.
        assert await bot.send_photo(officer.id, png(500, 9500))  # sum 10000, ratio 19
        assert await bot.send_photo(officer.id, png(50, 1000))  # ratio exactly 20
        assert await bot.send_document(officer.id, big, filename="big.png")  # as a file it goes
    assert [f.kind for f in await emu.received_files(officer)] == ["photo", "photo", "document"]


async def test_uploads_over_50_mb_are_refused(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        with pytest.raises(NetworkError, match="Request Entity Too Large"):
            await bot.send_document(officer.id, bytes(50 * MB + 1), filename="a.bin")
        assert await bot.send_document(officer.id, bytes(50 * MB), filename="b.bin")  # positive control
    assert [f.file_size for f in await emu.received_files(officer)] == [50 * MB]


async def test_files_sent_again_by_file_id_must_be_this_bots_and_of_the_right_type(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    other_token = f"{emu.bot.id + 1}:AAother-bot-token-of-a-stranger-123"
    async with emu.ptb_bot() as bot, emu.ptb_bot(other_token) as other:
        photo = await bot.send_photo(officer.id, exif_jpeg())
        again = await bot.send_photo(officer.id, photo.photo[-1].file_id)
        assert [p.file_unique_id for p in again.photo] == [p.file_unique_id for p in photo.photo]
        document = await bot.send_document(officer.id, b"%PDF-1.4", filename="a.pdf")
        assert document.document is not None
        with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
            await other.send_photo(officer.id, photo.photo[-1].file_id)
        with pytest.raises(BadRequest, match=r"(?i)^can't use file of type document as photo$"):
            await bot.send_photo(officer.id, document.document.file_id)
        with pytest.raises(BadRequest, match=r"^Wrong file identifier/http url specified$"):
            await bot.send_photo(officer.id, "https://example.org/a.jpg")  # URLs are not fetched
        # The recipient's file can be fetched by the bot that sent it.
        file = await bot.get_file(photo.photo[-1].file_id)
        assert (await file.download_as_bytearray())[:3] == b"\xff\xd8\xff"
    # The call log tells an upload from a send by file_id (what tests of "uploaded, never reused" read).
    first, second = [c.params["photo"] for c in await emu.calls(method="sendPhoto")][:2]
    assert (first, second) == ("<file>", photo.photo[-1].file_id)


async def test_an_album_holds_2_to_10_items_without_buttons(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    async with emu.ptb_bot() as bot:
        sent = await bot.send_media_group(
            officer.id,
            [
                InputMediaPhoto(exif_jpeg(), caption="📎 image <i>1</i> of 2", parse_mode="HTML"),
                InputMediaPhoto(exif_jpeg(200, 300), caption="📎 image 2 of 2"),
            ],
        )
        assert [m.caption for m in sent] == ["📎 image 1 of 2", "📎 image 2 of 2"]
        assert len({m.media_group_id for m in sent}) == 1
        assert [e.type for e in sent[0].caption_entities] == ["italic"]
        with pytest.raises(BadRequest, match=r"(?i)2-10 items"):
            await bot.send_media_group(officer.id, [InputMediaPhoto(exif_jpeg())])
        with pytest.raises(BadRequest, match=r"(?i)^too much messages to send as an album$"):
            await bot.send_media_group(officer.id, [InputMediaPhoto(exif_jpeg()) for _ in range(11)])
        with pytest.raises(BadRequest, match=r"^Message caption is too long$"):
            await bot.send_media_group(
                officer.id, [InputMediaPhoto(exif_jpeg()), InputMediaPhoto(exif_jpeg(), caption="x" * 1025)]
            )
        with pytest.raises(BadRequest, match=r"(?i)can't be mixed"):
            await bot.send_media_group(
                officer.id, [InputMediaPhoto(exif_jpeg()), InputMediaDocument(b"%PDF-1.4", filename="a.pdf")]
            )
        with pytest.raises(BadRequest, match=r"^Photo_invalid_dimensions$"):
            await bot.send_media_group(
                officer.id, [InputMediaPhoto(exif_jpeg()), InputMediaPhoto(png(40, 900))]
            )
        documents = await bot.send_media_group(
            officer.id,
            [InputMediaDocument(png(10, 10), filename=f"{n}.png") for n in (1, 2)],
        )
        assert [m.document.file_name for m in documents if m.document] == ["1.png", "2.png"]
    received = await emu.received_files(officer)
    # A refused album sends nothing at all: only the two good albums arrived.
    assert [f.kind for f in received] == ["photo", "photo", "document", "document"]
    assert not any(f.has_buttons for f in received)


async def test_an_album_with_buttons_is_refused_because_telegram_would_drop_them(emu: Emulator) -> None:
    officer = await emu.user(started=True)
    media = json.dumps([{"type": "photo", "media": "attach://a"}, {"type": "photo", "media": "attach://b"}])
    url = f"{emu.base_url}{emu.token}/sendMediaGroup"
    files = {"a": ("a.jpg", exif_jpeg()), "b": ("b.jpg", exif_jpeg())}
    async with httpx.AsyncClient() as client:
        with_buttons = await client.post(
            url,
            data={"chat_id": str(officer.id), "media": media, "reply_markup": keyboard().to_json()},
            files=files,
        )
        without = await client.post(url, data={"chat_id": str(officer.id), "media": media}, files=files)
        missing = await client.post(
            url,
            data={"chat_id": str(officer.id), "media": media.replace("attach://b", "attach://c")},
            files=files,
        )
    assert with_buttons.status_code == 400
    assert "album cannot carry buttons" in with_buttons.json()["description"]
    assert without.json()["ok"]  # positive control: the same album without buttons goes
    assert missing.json()["description"] == "Bad Request: can't parse InputMedia: media not found"
    assert len(await emu.received_files(officer)) == 2
