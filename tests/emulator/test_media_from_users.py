"""Users send photos, files, albums, voice notes and videos; the bot fetches them with getFile."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image
from telegram import Update
from telegram.error import BadRequest, InvalidToken

from devtools.emulator import Emulator, EmulatorError
from devtools.emulator.media import MB

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def exif_jpeg(width: int = 400, height: int = 300, *, orientation: int = 1) -> bytes:
    """A JPEG with a camera model, GPS position and orientation in its EXIF, as phones write them."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    image.paste((20, 20, 200), (0, 0, width // 4, height // 4))  # a corner that shows where "up" is
    exif = Image.Exif()
    exif[0x0110] = "Pixel 8"  # Model
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (45.0, 30.0, 6.12), 3: "W", 4: (73.0, 34.0, 2.2)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    with Image.open(io.BytesIO(data)) as image:
        return bool(image.getexif().get_ifd(GPS_IFD))


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_a_photo_arrives_as_recompressed_sizes_upright_and_without_metadata(emu: Emulator) -> None:
    original = exif_jpeg(2000, 1500, orientation=6)  # a phone held upright: stored sideways, EXIF says turn
    assert has_gps(original)  # positive control: the check sees the metadata when it is there
    student = await emu.user()
    sent = await emu.send_photo(student, original, caption="the wall")
    async with emu.ptb_bot() as bot:
        message = Update.de_json({"update_id": 1, "message": dict(sent.message.raw)}, bot).message
        assert message is not None
        assert message.caption == "the wall"
        assert [p.height for p in message.photo] == [90, 320, 800, 1280]  # the sizes Telegram keeps
        assert all(p.width < p.height for p in message.photo)  # upright: taller than wide
        largest = await bot.get_file(message.photo[-1].file_id)
        assert largest.file_path is not None
        assert largest.file_path.startswith(f"{emu.base_file_url}{emu.token}/photos/")  # PTB makes it a URL
        data = bytes(await largest.download_as_bytearray())
    assert data[:3] == b"\xff\xd8\xff"
    assert not has_gps(data)
    assert ORIENTATION not in decoded(data).getexif()
    assert decoded(data).size == (960, 1280)
    assert len(data) == message.photo[-1].file_size


async def test_a_document_keeps_its_bytes_metadata_and_all(emu: Emulator) -> None:
    original = exif_jpeg()
    student = await emu.user()
    sent = await emu.send_document(student, "IMG_0042.JPG", original, caption="proof")
    async with emu.ptb_bot() as bot:
        message = Update.de_json({"update_id": 1, "message": dict(sent.message.raw)}, bot).message
        assert message is not None
        document = message.document
        assert document is not None
        assert (document.file_name, document.mime_type, document.file_size) == (
            "IMG_0042.JPG",
            "image/jpeg",
            len(original),
        )
        assert document.thumbnail is not None  # Telegram shows image files with a preview
        assert max(document.thumbnail.width, document.thumbnail.height) == 320
        file = await bot.get_file(document.file_id)
        assert bytes(await file.download_as_bytearray()) == original
    assert has_gps(original)


async def test_voice_notes_videos_and_round_videos_arrive_with_their_fields(emu: Emulator) -> None:
    student = await emu.user()
    async with emu.ptb_bot() as bot:
        raws = [
            (await emu.send_voice(student, duration=4)).message.raw,
            (await emu.send_video(student, caption="look", duration=6)).message.raw,
            (await emu.send_video_note(student, duration=2)).message.raw,
        ]
        voice, video, note = (Update.de_json({"update_id": 1, "message": dict(r)}, bot).message for r in raws)
        assert voice is not None
        assert voice.voice is not None
        assert voice.voice.mime_type == "audio/ogg"
        assert video is not None
        assert video.video is not None
        assert (video.video.width, video.video.height, video.caption) == (1280, 720, "look")
        assert note is not None
        assert note.video_note is not None
        assert note.video_note.length == 240
        for file_id in (voice.voice.file_id, video.video.file_id, note.video_note.file_id):
            assert (await bot.get_file(file_id)).file_size


async def test_an_album_is_one_message_per_item_sharing_a_media_group(emu: Emulator) -> None:
    student = await emu.user()
    sent = await emu.send_album(student, [exif_jpeg(), exif_jpeg(300, 300)], caption="both")
    groups = {s.message.raw["media_group_id"] for s in sent}
    assert len(groups) == 1
    assert [s.message.raw.get("caption") for s in sent] == ["both", None]
    assert all(s.update_id is not None for s in sent)
    with pytest.raises(EmulatorError, match="2 to 10"):
        await emu.send_album(student, [exif_jpeg()])
    with pytest.raises(EmulatorError, match="documents only with documents"):
        await emu.send_album(student, [exif_jpeg(), ("a.pdf", b"%PDF-1.4")])


async def test_what_a_telegram_client_would_not_send_as_a_photo_is_refused(emu: Emulator) -> None:
    student = await emu.user()
    with pytest.raises(EmulatorError, match="only images as photos"):
        await emu.send_photo(student, b"%PDF-1.4 not an image")
    long_screenshot = io.BytesIO()
    Image.new("RGB", (50, 1050)).save(long_screenshot, "PNG")  # ratio 21
    with pytest.raises(EmulatorError, match="as files"):
        await emu.send_photo(student, long_screenshot.getvalue())
    assert (await emu.send_document(student, "long.png", long_screenshot.getvalue())).message.raw["document"]


async def test_get_file_refuses_unknown_ids_and_files_over_20_mb(emu: Emulator) -> None:
    student = await emu.user()
    big = await emu.send_document(student, "video.bin", bytes(20 * MB + 1))
    limit = await emu.send_document(student, "exact.bin", bytes(20 * MB))
    async with emu.ptb_bot() as bot:
        with pytest.raises(BadRequest, match=r"^Invalid file_id$"):
            await bot.get_file("AgACnot-a-file-id")
        with pytest.raises(BadRequest, match=r"^File is too big$"):
            await bot.get_file(big.message.raw["document"]["file_id"])
        exact = await bot.get_file(limit.message.raw["document"]["file_id"])  # positive control
        assert len(await exact.download_as_bytearray()) == 20 * MB


async def test_a_file_url_serves_only_what_get_file_gave_to_the_bot_owning_it(emu: Emulator) -> None:
    student = await emu.user()
    other_token = f"{emu.bot.id + 1}:AAother-bot-token-of-a-stranger-123"
    async with emu.ptb_bot() as bot, emu.ptb_bot(other_token) as other:
        await bot.get_updates(timeout=0)  # this bot receives the users' updates: their files are its
        sent = await emu.send_document(student, "notes.txt", b"what I saw")
        file_id = sent.message.raw["document"]["file_id"]
        url = f"{emu.base_file_url}{emu.token}/documents/file_1.txt"
        async with httpx.AsyncClient() as client:
            early = await client.get(url)
        assert early.status_code == 404  # not served before getFile gives the path
        with pytest.raises(BadRequest, match=r"^Invalid file_id$"):
            await other.get_file(file_id)  # another bot's file
        file = await bot.get_file(file_id)
        assert file.file_path == url  # the URL tried above was the right one
        assert bytes(await file.download_as_bytearray()) == b"what I saw"  # positive control
        with pytest.raises(InvalidToken):  # PTB reads a download's 404 as a bad token
            await other.request.retrieve(f"{emu.base_file_url}{other_token}/documents/file_1.txt")
