"""Images re-encoded from their pixels alone, so that no metadata survives (EXIF, GPS, XMP, ICC, thumbnails).

The decoded pixels are copied into a new image that has never had an `info`
dictionary, and that image is encoded: whatever the source carried beside its
pixels (camera, GPS, time, editing software, embedded thumbnail, colour
profile and its name, comments, XMP) has nowhere to go. Orientation is
applied first (`ImageOps.exif_transpose`), so nothing comes out sideways once
the EXIF orientation tag is gone. Sizes are checked from the header before
anything is decoded, so a small file claiming a huge canvas (a decompression
bomb) is refused without being expanded. Everything happens in memory.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from casework.errors import CaseworkError

try:  # HEIC (iPhone photos): optional, only if the wheel is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC = True
except ImportError:  # pragma: no cover - depends on the environment
    HEIC = False

# What a student may send, stated in the refusal: the Bot API lets bots download up to 20 MB.
MAX_INPUT_BYTES = 10 * 1024 * 1024
# A 50-megapixel photo is the largest phone camera; a long chat screenshot is ~1080 x 20,000.
MAX_PIXELS = 50_000_000
MAX_SIDE = 30_000
# The re-encoded image must stay uploadable as a photo or document (Telegram: 10 MB / 50 MB).
MAX_OUTPUT_BYTES = 9 * 1024 * 1024
JPEG_QUALITY = 90
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}


class ImageRefused(CaseworkError):
    """An image the bot will not take; the subclass says why."""


class NotAnImage(ImageRefused):
    """Not a JPEG, PNG, WebP or HEIC image (or a damaged one)."""


class ImageTooLarge(ImageRefused):
    """More than MAX_INPUT_BYTES, or more pixels than MAX_PIXELS (a decompression bomb is one)."""


@dataclass(frozen=True, slots=True)
class StrippedImage:
    """Pixels only: a fresh JPEG or PNG with no metadata. Its repr never shows the bytes."""

    data: bytes
    mime: str  # image/jpeg or image/png
    width: int
    height: int

    def __repr__(self) -> str:
        return f"StrippedImage({self.mime}, {self.width}x{self.height}, {len(self.data)} bytes)"


def strip_image(
    raw: bytes, *, max_bytes: int = MAX_INPUT_BYTES, max_pixels: int = MAX_PIXELS
) -> StrippedImage:
    """Decode `raw` and re-encode its pixels alone; `NotAnImage` or `ImageTooLarge` if refused."""
    if len(raw) > max_bytes:
        raise ImageTooLarge(f"the image is larger than {max_bytes} bytes")
    with warnings.catch_warnings():
        # Our own limit is far below Pillow's: its warning would only repeat what we refuse below.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            source = Image.open(io.BytesIO(raw))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
            raise NotAnImage("not an image we can read") from error
        with source:
            if source.format not in FORMATS:
                raise NotAnImage("only JPEG, PNG, WebP and HEIC images are accepted")
            width, height = source.size  # from the header: nothing decoded yet
            if width * height > max_pixels or max(width, height) > MAX_SIDE:
                raise ImageTooLarge(f"the image has more than {max_pixels} pixels")
            try:
                source.seek(0)  # an animated image: its first frame only
                pixels = _plain_mode(_upright(source))
                pixels.load()
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
                raise NotAnImage("the image is damaged") from error
            lossy = source.format in {"JPEG", "HEIF"}
    return _encode(pixels, lossy=lossy)


def _upright(image: Image.Image) -> Image.Image:
    """Turned as the EXIF orientation says; unreadable EXIF (it is dropped anyway) leaves it as it is."""
    try:
        return ImageOps.exif_transpose(image)
    except (SyntaxError, ValueError, KeyError, TypeError, struct.error):
        return image


def _plain_mode(image: Image.Image) -> Image.Image:
    """RGB, or RGBA where there is transparency: what JPEG and PNG encode everywhere."""
    transparent = image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info
    if transparent:
        return image.convert("RGBA")
    if image.mode in {"RGB", "L"}:
        return image.copy()
    return image.convert("RGB")  # P, CMYK, YCbCr, I;16, 1...


def _fresh(image: Image.Image) -> Image.Image:
    """The same pixels in a new image: no `info`, no EXIF, no ICC profile, nothing but pixels."""
    return Image.frombytes(image.mode, image.size, image.tobytes())


def _encode(image: Image.Image, *, lossy: bool) -> StrippedImage:
    clean = _fresh(image)
    if lossy and clean.mode != "RGBA":
        data = _save(clean, "JPEG", quality=JPEG_QUALITY)
        mime = "image/jpeg"
    else:
        # Screenshots stay lossless (text stays sharp for the officer and for OCR).
        data = _save(clean, "PNG", optimize=False, compress_level=6)
        mime = "image/png"
        if len(data) > MAX_OUTPUT_BYTES:
            data, mime = _save(clean.convert("RGB"), "JPEG", quality=JPEG_QUALITY), "image/jpeg"
    scale = 1.0
    while len(data) > MAX_OUTPUT_BYTES:  # a huge photo: smaller until it fits the upload limits
        scale *= 0.8
        size = (max(1, int(clean.width * scale)), max(1, int(clean.height * scale)))
        smaller = clean.convert("RGB").resize(size, Image.Resampling.LANCZOS)
        data, mime = _save(smaller, "JPEG", quality=JPEG_QUALITY), "image/jpeg"
        clean = _fresh(smaller) if scale < 0.2 else clean
    with Image.open(io.BytesIO(data)) as check:
        width, height = check.size
    return StrippedImage(data, mime, width, height)


def _save(image: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    # No exif=, icc_profile=, pnginfo= or comment= given, and the image has no info to inherit them from.
    image.save(out, format=image_format, **options)
    return out.getvalue()
