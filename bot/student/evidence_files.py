"""An image a student sent, fetched through the Bot API into memory and stripped; never on disk.

The report's own sending (bot.student.sending) uses `prepare` for the images a
draft holds (by sealed file_id only), then `store_prepared` in the same
transaction that opens the case, so the tip is never sent before its images.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from telegram.error import TelegramError

from bot.turn import Turn
from casework import evidence
from casework.errors import CaseworkError
from casework.evidence import StrippedImage, formats

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A draft's image, fetched and stripped, ready to seal into its case."""

    image: StrippedImage
    ocr_text: str | None
    caption: str | None


async def download(turn: Turn, file_id: str) -> bytes:
    """The file's bytes, in memory (getFile, then the file URL under TELEGRAM_API_BASE_URL's host)."""
    telegram_file = await turn.context.bot.get_file(file_id)
    return bytes(await telegram_file.download_as_bytearray())


def strip(raw: bytes) -> StrippedImage:
    """Metadata stripped (`evidence.strip_image`); a phone's MPO photo taken as its first picture's JPEG."""
    return evidence.strip_image(formats.first_picture(raw))


async def fetch_stripped(turn: Turn, file_id: str) -> StrippedImage:
    """Download and strip; raises `evidence.ImageRefused` or `TelegramError`."""
    raw = await download(turn, file_id)
    # Decoding a large photo takes a moment of CPU: off the event loop, so other chats go on.
    return await asyncio.to_thread(strip, raw)


async def prepare(turn: Turn, images: list[dict[str, str | None]]) -> list[Prepared]:
    """A draft's images (each a sealed file_id, caption and OCR text), fetched again for sending.

    An image Telegram no longer serves is left out (logged by type only); the report goes anyway.
    """
    prepared = []
    for held in images:
        file_id = held.get("file_id")
        if not file_id:
            continue
        try:
            image = await fetch_stripped(turn, file_id)
        except (TelegramError, evidence.ImageRefused) as error:
            logger.warning("evidence.draft_image_lost error=%s", type(error).__name__)
            continue
        prepared.append(Prepared(image, held.get("ocr"), held.get("caption")))
    return prepared


async def store_prepared(session: AsyncSession, case_id: int, images: list[Prepared], now: datetime) -> int:
    """Seal a new case's images into it (they go with its tip); returns how many were stored."""
    stored = 0
    for item in images:
        try:
            await evidence.store_image(
                session, case_id, item.image, ocr_text=item.ocr_text, caption=item.caption,
                now=now, notify=False,
            )  # fmt: skip
        except CaseworkError as error:  # over the count: the draft never holds more, but be safe
            logger.warning("evidence.image_not_stored error=%s", type(error).__name__)
            continue
        stored += 1
    return stored
