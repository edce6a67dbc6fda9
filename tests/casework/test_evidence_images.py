"""Evidence images: stripped of every metadata, sealed like messages, and gone with their case.

Positive controls: the source images do carry the metadata looked for (so the
search would find it), an image swapped between rows is detected only because
of the binding (the same bytes in their own row open), and the attack on a
rotated case is the same one that opens it before the rotation.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from PIL import Image, ImageDraw, PngImagePlugin
from sqlalchemy import func, select, update

from casework.cases import intake, lifecycle
from casework.errors import AccessDenied
from casework.evidence import (
    MAX_IMAGES_PER_CASE,
    MAX_SEALED_BYTES,
    ImageTooBig,
    ImageTooLarge,
    NotAnImage,
    TooManyImages,
    images_for_officer,
    images_for_student,
    store_image,
    strip_image,
)
from casework.evidence.sealing import open_image
from casework.evidence.strip import StrippedImage
from casework.policy import CasePolicy
from casework.vault import crypto
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import CaseMessage, EvidenceImage, KeyEnvelope, Outcome
from tests.casework.test_key_rotation import Backup, rotate, take_backup
from tests.casework.world import build_world, open_report

GPS_LATITUDE = (45.0, 30.0, 12.34)
CAMERA = "CanaryCam-X9000"
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description CreatorTool="XMP-CANARY-TOOL"/></x:xmpmeta>'
ICC_NAME = b"ICC-CANARY-PROFILE"


def camera_jpeg(width: int = 64, height: int = 32, *, orientation: int = 6) -> bytes:
    """A JPEG as a phone writes it: EXIF with GPS, camera make/model, orientation; XMP; an ICC profile."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    ImageDraw.Draw(image).rectangle((0, 0, width // 4, height), fill=(20, 200, 20))  # a left green band
    exif = Image.Exif()
    exif[0x010F] = CAMERA  # Make
    exif[0x0110] = "Model-CANARY"  # Model
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "W", 4: (73.0, 34.0, 0.5)}  # GPSInfo
    icc = b"\0" * 128 + ICC_NAME  # not a valid profile; Pillow stores it as given (APP2)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, icc_profile=icc, xmp=XMP, quality=95)
    return out.getvalue()


def metadata_needles() -> list[bytes]:
    return [
        CAMERA.encode(),
        b"Model-CANARY",
        b"XMP-CANARY-TOOL",
        ICC_NAME,
        b"Exif\0\0",
        b"http://ns.adobe.com/xap",
    ]


def test_a_phone_photo_loses_every_metadata_and_comes_out_upright() -> None:
    raw = camera_jpeg()
    # Positive control: the source carries what we look for, and Pillow reads the GPS back.
    assert all(needle in raw for needle in metadata_needles()[:5])
    with Image.open(io.BytesIO(raw)) as source:
        assert source.getexif().get_ifd(0x8825)[1] == "N"
        assert source.getexif()[0x0112] == 6
        assert "icc_profile" in source.info

    stripped = strip_image(raw)
    assert stripped.mime == "image/jpeg"
    for needle in metadata_needles():
        assert needle not in stripped.data
    with Image.open(io.BytesIO(stripped.data)) as clean:
        assert not clean.getexif()  # no EXIF at all (so no GPS, no camera, no orientation)
        assert not clean.info.get("icc_profile")
        assert "xmp" not in clean.info
        assert "exif" not in clean.info
        markers = {marker for marker, _ in getattr(clean, "applist", [])}
        assert not markers & {"APP1", "APP2"}  # APP1: EXIF and XMP; APP2: ICC profiles
        # Orientation 6 (rotate 90° clockwise) was applied: 64x32 became 32x64, green band on top.
        assert clean.size == (32, 64) == (stripped.width, stripped.height)
        pixel = clean.convert("RGB").getpixel((16, 2))
        assert isinstance(pixel, tuple)
        red, green, _ = pixel
        assert green > 150
        assert red < 100


def test_png_and_webp_keep_no_text_chunks_or_profile() -> None:
    image = Image.new("RGBA", (40, 40), (0, 0, 255, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "PNG-CANARY-AUTHOR")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, icc_profile=b"\0" * 128 + ICC_NAME)
    webp = io.BytesIO()
    Image.new("RGB", (40, 40), (9, 9, 9)).save(webp, "WEBP", exif=b"Exif\0\0WEBP-CANARY")
    for raw, needle in ((out.getvalue(), b"PNG-CANARY-AUTHOR"), (webp.getvalue(), b"WEBP-CANARY")):
        assert needle in raw  # control
        stripped = strip_image(raw)
        assert needle not in stripped.data
        assert ICC_NAME not in stripped.data
        with Image.open(io.BytesIO(stripped.data)) as clean:
            assert clean.format == "PNG"
            assert not clean.info.get("icc_profile")
            assert not getattr(clean, "text", None)


def test_non_images_and_decompression_bombs_are_refused_before_decoding() -> None:
    for raw in (b"", b"%PDF-1.4 not an image", b"\xff\xd8\xff\xe0 truncated jpeg", b"GIF89a" + b"\0" * 40):
        with pytest.raises(NotAnImage):
            strip_image(raw)
    bomb = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(bomb, "PNG")  # 144 megapixels in a few kilobytes
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(ImageTooLarge):
        strip_image(bomb.getvalue())
    with pytest.raises(ImageTooLarge):
        strip_image(camera_jpeg(), max_bytes=100)
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, "GIF")
    with pytest.raises(NotAnImage):  # a format we do not take, even though Pillow reads it
        strip_image(gif.getvalue())
    small = io.BytesIO()
    Image.new("1", (1_000, 1_000)).save(small, "PNG")
    assert strip_image(small.getvalue()).width == 1_000  # control: the same kind, smaller, passes


def screenshot_pattern() -> StrippedImage:
    """A PNG with a distinctive pixel pattern, as strip_image would produce."""
    image = Image.new("RGB", (50, 20), (255, 255, 255))
    for x in range(50):
        image.putpixel((x, 10), (x * 5 % 256, 17, 251))
    return strip_image(_png(image))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_an_image_opens_for_the_officers_and_the_student_and_only_them(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "they posted this")
    image = screenshot_pattern()
    async with database.transaction() as session:
        stored = await store_image(
            session, opened.case_id, image, ocr_text="ur dead", caption="look", now=now, notify=False
        )
    assert stored.index == 1
    async with database.transaction() as session:
        seen = await images_for_officer(session, keys, opened.case_id, world.north_officer)
        mine = await images_for_student(session, keys, opened.code)
        assert [(i.data, i.ocr_text, i.caption, i.index, i.count) for i in seen] == [
            (image.data, "ur dead", "look", 1, 1)
        ]
        assert [i.data for i in mine] == [image.data]
        assert "ur dead" not in repr(seen[0])
        assert str(len(image.data)) not in repr(seen[0])
        with pytest.raises(AccessDenied):  # the other school's officer
            await images_for_officer(session, keys, opened.case_id, world.south_officer)


async def test_a_case_holds_a_limited_number_of_images(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "evidence")
    image = screenshot_pattern()
    async with database.transaction() as session:
        for _ in range(MAX_IMAGES_PER_CASE):
            await store_image(
                session, opened.case_id, image, ocr_text=None, caption=None, now=now, notify=False
            )
    async with database.transaction() as session:
        with pytest.raises(TooManyImages):
            await store_image(
                session, opened.case_id, image, ocr_text=None, caption=None, now=now, notify=False
            )
    async with database.transaction() as session:
        seen = await images_for_officer(session, keys, opened.case_id, world.north_backup)
    assert [(i.index, i.count) for i in seen] == [(k, MAX_IMAGES_PER_CASE) for k in range(1, 11)]


async def test_an_image_swapped_into_another_row_does_not_open(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "two images")
    async with database.transaction() as session:
        for _ in range(2):
            await store_image(
                session,
                opened.case_id,
                screenshot_pattern(),
                ocr_text=None,
                caption=None,
                now=now,
                notify=False,
            )
    async with database.transaction() as session:
        rows = list(await session.scalars(select(EvidenceImage).order_by(EvidenceImage.id)))
        first, second = rows
        saved = (bytes(second.nonce), bytes(second.ciphertext))
        # A database writer puts the first image's ciphertext in the second's place.
        await session.execute(
            update(EvidenceImage)
            .where(EvidenceImage.id == second.id)
            .values(nonce=first.nonce, ciphertext=first.ciphertext)
        )
    async with database.transaction() as session:
        with pytest.raises(crypto.DecryptionError):
            await images_for_officer(session, keys, opened.case_id, world.north_officer)
    async with database.transaction() as session:  # control: put back, both open
        await session.execute(
            update(EvidenceImage)
            .where(EvidenceImage.id == second.id)
            .values(nonce=saved[0], ciphertext=saved[1])
        )
    async with database.transaction() as session:
        assert len(await images_for_officer(session, keys, opened.case_id, world.north_officer)) == 2


async def test_images_are_purged_with_their_case(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "purge me")
    async with database.transaction() as session:
        await store_image(
            session, opened.case_id, screenshot_pattern(), ocr_text="x", caption=None, now=now, notify=True
        )
        await lifecycle.close(session, policy, opened.case_id, world.north_officer, Outcome.RESOLVED, now)
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(EvidenceImage)) == 1  # control
        assert await lifecycle.purge_expired(session, now + policy.retention + timedelta(days=1)) == 1
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(EvidenceImage)) == 0
        assert await session.scalar(select(func.count()).select_from(CaseMessage)) == 0


async def image_attack(database: Database, leaked: MasterKey, backup: Backup, case_id: int) -> bytes | None:
    """Old master key + old backup against the CURRENT database: the case's first image, or None."""
    private = {
        officer_id: crypto.private_key_from_bytes(
            leaked.unseal("officer-private-key", str(officer_id), sealed)
        )
        for officer_id, sealed in backup.officer_keys.items()
    }
    async with database.transaction() as session:
        row = await session.scalar(
            select(EvidenceImage).where(EvidenceImage.case_id == case_id).order_by(EvidenceImage.id).limit(1)
        )
        assert row is not None
        message = await session.get(CaseMessage, row.message_id)
        assert message is not None
        envelopes = list(
            await session.scalars(select(KeyEnvelope).where(KeyEnvelope.message_id == message.id))
        )
    for envelope in envelopes:
        if envelope.officer_id is None or envelope.officer_id not in private:
            continue
        try:
            return open_image(
                message, envelope, row, [private[envelope.officer_id]], envelope.officer_id, 1
            ).data
        except crypto.DecryptionError:
            continue
    return None


async def test_a_school_named_later_and_a_key_rotation_keep_images_readable_and_old_keys_out(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime, master: MasterKey
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, None, "urgent, no school yet", urgent=True)
    image = screenshot_pattern()
    async with database.transaction() as session:
        await store_image(session, opened.case_id, image, ocr_text=None, caption=None, now=now, notify=True)
        # The school is named after the image was sent: its officers get the image by the re-seal.
        await intake.assign_school(session, keys, policy, opened.case_id, world.north, now)
    async with database.transaction() as session:
        seen = await images_for_officer(session, keys, opened.case_id, world.north_officer)
    assert [i.data for i in seen] == [image.data]
    backup = await take_backup(database)
    assert (
        await image_attack(database, master, backup, opened.case_id) == image.data
    )  # control: in the backup
    await rotate(database, keys, MasterKey.generate(), now + timedelta(minutes=5))
    later = await open_report(database, keys, policy, now, world.north, "after the rotation")
    async with database.transaction() as session:
        await store_image(session, later.case_id, image, ocr_text=None, caption=None, now=now, notify=False)
    # The leaked old key and the old backup open no image stored after the rotation...
    assert await image_attack(database, master, backup, later.case_id) is None
    # ...while every reader still opens every image, old and new.
    async with database.transaction() as session:
        for case_id in (opened.case_id, later.case_id):
            for officer in (world.north_officer, world.supervisor):
                assert [i.data for i in await images_for_officer(session, keys, case_id, officer)] == [
                    image.data
                ]
        assert [
            i.data for i in await images_for_officer(session, keys, opened.case_id, world.north_officer)
        ] == [image.data]
        assert [i.data for i in await images_for_student(session, keys, opened.code)] == [image.data]


def test_a_heic_photo_loses_its_metadata() -> None:
    """iPhone photos (HEIC, read through pillow-heif): EXIF with the camera and GPS goes, as for JPEG."""
    heif = pytest.importorskip("pillow_heif")
    heif.register_heif_opener()
    exif = Image.Exif()
    exif[0x010F] = CAMERA
    exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "W", 4: (73.0, 34.0, 0.5)}
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, format="HEIF", quality=80, exif=exif.tobytes())
    raw = out.getvalue()
    assert CAMERA.encode() in raw  # control: the HEIC file carries it
    stripped = strip_image(raw)
    assert (stripped.mime, stripped.width, stripped.height) == ("image/jpeg", 64, 48)
    assert CAMERA.encode() not in stripped.data
    assert b"Exif\0\0" not in stripped.data
    with Image.open(io.BytesIO(stripped.data)) as clean:
        assert not clean.getexif()


async def test_an_image_over_the_sealed_size_limit_is_refused(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    """The sealed blob has its own limit (apart from a message's): a re-encoded image over it is refused
    and nothing is stored. Control: a small image in the same case is stored."""
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "evidence")
    too_big = StrippedImage(b"\xff" * (MAX_SEALED_BYTES + 1), "image/jpeg", 1, 1)
    async with database.transaction() as session:
        with pytest.raises(ImageTooBig):
            await store_image(
                session, opened.case_id, too_big, ocr_text=None, caption=None, now=now, notify=False
            )
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(EvidenceImage)) == 0
        stored = await store_image(
            session, opened.case_id, screenshot_pattern(), ocr_text=None, caption=None, now=now, notify=False
        )
    assert stored.index == 1
