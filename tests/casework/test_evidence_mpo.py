"""A phone's multi-picture JPEG (MPO) is taken as the JPEG of its first picture, stripped as a JPEG is.

Positive controls: Pillow reads the sample as MPO with two pictures, and the first one carries the
camera metadata looked for.
"""

from __future__ import annotations

import io

from PIL import Image

from casework.evidence import strip_image
from casework.evidence.formats import first_picture
from tests.casework.test_evidence_images import camera_jpeg, metadata_needles

BLUE = (0, 0, 255)


def phone_mpo(width: int = 64, height: int = 32) -> bytes:
    """Two pictures in one MPO, as a phone camera writes them: the photo (camera_jpeg's, with its
    EXIF: GPS, camera, orientation 6), then a second view in plain blue."""
    with Image.open(io.BytesIO(camera_jpeg(width, height))) as first:
        exif = first.getexif()
        out = io.BytesIO()
        second = Image.new("RGB", (width, height), BLUE)
        first.save(out, "MPO", save_all=True, append_images=[second], exif=exif, quality=95)
    return out.getvalue()


def test_an_mpo_is_stripped_as_the_jpeg_of_its_first_picture() -> None:
    raw = phone_mpo()
    with Image.open(io.BytesIO(raw)) as source:  # control: what phones send, as Pillow names it
        assert source.format == "MPO"
        assert getattr(source, "n_frames", 1) == 2
        assert source.getexif()[0x0112] == 6
    assert all(needle in raw for needle in metadata_needles()[:2])

    plain = first_picture(raw)
    with Image.open(io.BytesIO(plain)) as opened:
        assert opened.format == "JPEG"
        assert getattr(opened, "n_frames", 1) == 1
    stripped = strip_image(plain)
    assert stripped.mime == "image/jpeg"  # a photo stays a JPEG, as any JPEG would
    for needle in [*metadata_needles(), b"MPF\0"]:
        assert needle not in stripped.data
    with Image.open(io.BytesIO(stripped.data)) as clean:
        assert not clean.getexif()
        assert not {marker for marker, _ in getattr(clean, "applist", [])} & {"APP1", "APP2"}
        # The first picture, turned upright by its orientation: the green band on top, not the blue view.
        assert clean.size == (32, 64)
        pixel = clean.convert("RGB").getpixel((16, 2))
        assert isinstance(pixel, tuple)
        red, green, blue = pixel
        assert green > 150
        assert red < 100
        assert blue < 100


def test_anything_but_an_mpo_is_left_as_it_is() -> None:
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    samples = [camera_jpeg(), png.getvalue(), b"", b"\xff\xd8", b"\xff\xd8\xff\xe0 truncated", b"GIF89a"]
    samples.append(phone_mpo()[:40])  # cut inside its first segment: not laid out as a JPEG any more
    for raw in samples:
        assert first_picture(raw) is raw
