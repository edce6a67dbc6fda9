"""Files in the emulated Telegram: what users and the bot upload, kept and served as Telegram does.

Telegram's limits, from the Bot API docs, enforced here: a bot downloads files of up to 20 MB
(`getFile`, then the file URL), uploads photos of up to 10 MB whose width plus height is at most
10,000 and whose sides' ratio is at most 20, and other files of up to 50 MB. A photo is recompressed
into JPEG sizes of at most 1280 px a side (90, 320, 800, 1280), without metadata: what the recipient
sees is those, not the bytes sent. A document keeps its bytes exactly.

A file_id belongs to one bot: the bot that uploaded it, or, for what users send, the bot that
receives their updates. Another bot's file_id is refused, as Telegram refuses it.
"""

from __future__ import annotations

import functools
import io
import mimetypes
import secrets
import warnings
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageOps

JSON = dict[str, Any]

MB = 1024 * 1024
MAX_DOWNLOAD = 20 * MB  # getFile
MAX_PHOTO_UPLOAD = 10 * MB  # sendPhoto
MAX_UPLOAD = 50 * MB  # sendDocument and every other multipart upload
MAX_PHOTO_SIDES_SUM = 10_000
MAX_PHOTO_RATIO = 20
PHOTO_SIDES = (90, 320, 800, 1280)  # the PhotoSize variants Telegram makes, the largest last
THUMBNAIL_SIDE = 320
JPEG_QUALITY = 87


class NotAnImage(Exception):
    """Bytes Pillow cannot decode as an image (Telegram: IMAGE_PROCESS_FAILED)."""


@dataclass
class StoredFile:
    """One file as Telegram keeps it."""

    file_id: str
    file_unique_id: str
    path: str
    content: bytes
    kind: str  # photo, document, voice, video, video_note, sticker, thumbnail
    bot_id: int | None  # the bot whose file_id this is; None: the bot that receives users' updates
    photo_set: str | None = None  # the photo it is one size of (sending any size sends them all)
    fetched: bool = False  # getFile was called: the file URL serves it only then, as in Telegram

    def describe(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }


@dataclass
class FileStore:
    """Every file of the emulated Telegram, by file_id and by file_path."""

    by_id: dict[str, StoredFile] = field(default_factory=dict)
    by_path: dict[str, StoredFile] = field(default_factory=dict)
    photo_sets: dict[str, list[JSON]] = field(default_factory=dict)  # photo set -> its PhotoSize list
    receiver_bot_id: int | None = None  # the bot polling (or with a webhook): owner of users' files

    def __len__(self) -> int:
        return len(self.by_id)

    def add(
        self,
        kind: str,
        folder: str,
        extension: str,
        content: bytes,
        *,
        bot_id: int | None = None,
        photo_set: str | None = None,
    ) -> StoredFile:
        number = len(self.by_id) + 1
        stored = StoredFile(
            file_id=f"{_ID_PREFIX.get(kind, 'BQAC')}{secrets.token_urlsafe(36)}",
            file_unique_id=f"AQAD{secrets.token_urlsafe(9)}",
            path=f"{folder}/file_{number}.{extension}",
            content=content,
            kind=kind,
            bot_id=bot_id,
            photo_set=photo_set,
        )
        self.by_id[stored.file_id] = stored
        self.by_path[stored.path] = stored
        return stored

    def owner(self, stored: StoredFile) -> int | None:
        return stored.bot_id if stored.bot_id is not None else self.receiver_bot_id

    def for_bot(self, file_id: str, bot_id: int | None) -> StoredFile | None:
        """The file `file_id` names, if it is this bot's (None: unknown, or another bot's)."""
        stored = self.by_id.get(file_id)
        if stored is None:
            return None
        owner = self.owner(stored)
        if owner is not None and bot_id is not None and owner != bot_id:
            return None
        return stored

    def add_photo(self, image: Image.Image, *, bot_id: int | None) -> list[JSON]:
        """Store a photo as Telegram does (JPEG sizes, no metadata); its PhotoSize list, largest last."""
        photo_set = secrets.token_hex(8)
        sizes: list[JSON] = []
        for data, width, height in photo_sizes(image):
            stored = self.add("photo", "photos", "jpg", data, bot_id=bot_id, photo_set=photo_set)
            sizes.append({**stored.describe(), "width": width, "height": height})
        self.photo_sets[photo_set] = sizes
        return sizes

    def thumbnail(self, content: bytes, *, bot_id: int | None) -> JSON | None:
        """A thumbnail PhotoSize for a document that is an image (None for other files)."""
        try:
            image = open_image(content)
        except NotAnImage:
            return None
        data, width, height = jpeg(image, THUMBNAIL_SIDE)
        stored = self.add("thumbnail", "thumbnails", "jpg", data, bot_id=bot_id)
        return {**stored.describe(), "width": width, "height": height}


_ID_PREFIX = {"photo": "AgAC", "document": "BQAC", "voice": "AwAC", "video": "BAAC", "sticker": "CAAC"}


def open_image(content: bytes) -> Image.Image:
    """Decode `content` as an image, its EXIF orientation applied; NotAnImage when it is not one."""
    try:
        with warnings.catch_warnings():
            # A decompression bomb is a refusal here, not a warning (the test suite makes those errors).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(content))
            image.load()
            transposed = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise NotAnImage from None
    return transposed if transposed is not None else image


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height from the image's header, without decoding it (None if it is not an image)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # only the header is read
            image = Image.open(io.BytesIO(content))
        with image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def photo_dimensions_ok(width: int, height: int) -> bool:
    """Telegram's rule for photos: width + height ≤ 10000 and sides' ratio ≤ 20."""
    if width < 1 or height < 1:
        return False
    long_side, short_side = max(width, height), min(width, height)
    return width + height <= MAX_PHOTO_SIDES_SUM and long_side <= MAX_PHOTO_RATIO * short_side


def jpeg(image: Image.Image, max_side: int) -> tuple[bytes, int, int]:
    """`image` scaled to fit `max_side` (never enlarged), as a baseline JPEG without metadata."""
    scaled = image.copy()
    scaled.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if scaled.mode != "RGB":
        if scaled.mode in ("RGBA", "LA", "PA") or (scaled.mode == "P" and "transparency" in scaled.info):
            background = Image.new("RGB", scaled.size, (255, 255, 255))
            background.paste(scaled.convert("RGBA"), mask=scaled.convert("RGBA").getchannel("A"))
            scaled = background
        else:
            scaled = scaled.convert("RGB")
    out = io.BytesIO()
    scaled.save(out, "JPEG", quality=JPEG_QUALITY)  # nothing but pixels: no EXIF, ICC, XMP
    return out.getvalue(), scaled.width, scaled.height


def photo_sizes(image: Image.Image) -> list[tuple[bytes, int, int]]:
    """The sizes Telegram keeps of a photo: each standard side smaller than the photo, then the
    photo itself capped at 1280 px."""
    longest = max(image.size)
    sides = [side for side in PHOTO_SIDES if side < longest] + [min(longest, PHOTO_SIDES[-1])]
    return [jpeg(image, side) for side in dict.fromkeys(sides)]


def mime_type_of(file_name: str, content: bytes) -> str:
    """What Telegram reports as a document's mime_type: from its name, else its first bytes."""
    guessed, _ = mimetypes.guess_type(file_name)
    if guessed:
        return guessed
    for magic, mime in _MAGIC:
        if content.startswith(magic):
            return mime
    return "application/octet-stream"


_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF", "application/pdf"),
    (b"GIF8", "image/gif"),
)


def extension_of(file_name: str, default: str) -> str:
    _, dot, extension = file_name.rpartition(".")
    return extension.lower() if dot and extension and len(extension) <= 8 else default


@functools.cache
def sample_jpeg() -> bytes:
    """A small real JPEG (a gradient), what a user's photo holds when a test gives no content."""
    image = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()
