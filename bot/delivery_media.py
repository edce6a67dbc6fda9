"""Evidence images to officers: each decrypted at send time and uploaded from memory, alone.

A tip's images travel as their own outbox rows, not inside the tip's: once the
tip's text is sent (its buttons on it, since an album can carry none), one
STUDENT_REPLY row per image message is queued for that officer in the same
transaction that marks the tip sent (`queue_tip_images`). A failed image is
retried or alerted on its own row; the tip's text never waits for it, and is
never lost because of it. A student's later image is queued the same way by
casework.evidence (`notify=True`).

Each image is uploaded from its decrypted bytes (never a forwarded message, never
the student's file_id), captioned "📎 image k of n" with a button for the text
OCR read in it. Telegram recompresses a photo to 1280 px a side and refuses
photos whose width plus height exceeds 10,000 or whose sides' ratio exceeds 20:
a long chat screenshot goes as a file (`sendDocument`), full size, so that it
stays readable. A row whose message is already recorded as sent (a crash after
sending, before marking) is marked sent without sending again.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot import catalog, textparts
from bot.textparts import Fragment, Html
from casework.delivery import outbox
from casework.evidence import OpenedImage
from storage.models import Delivery, DeliveryKind, EvidenceImage

logger = logging.getLogger(__name__)

# Telegram's rules for sendPhoto (Bot API docs), and what it keeps of a photo: 1280 px a side.
PHOTO_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDES_SUM = 10_000
PHOTO_MAX_RATIO = 20
PHOTO_KEPT_SIDE = 1280
# A photo shrunk to less than half its size loses small text: such an image goes as a file.
READABLE_SHRINK = 2
# Telegram's refusals of an image as a photo: sent again as a file, which has none of these limits.
PHOTO_REFUSALS = ("photo_invalid_dimensions", "image_process_failed", "photo_save_file_invalid")
TIP_KINDS = (DeliveryKind.TIP, DeliveryKind.ESCALATION)
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class MediaRendered:
    """One image ready to upload: its bytes, caption (HTML) and buttons. Never logged."""

    image: OpenedImage
    caption: str
    buttons: InlineKeyboardMarkup | None
    file_name: str

    @property
    def as_document(self) -> bool:
        return goes_as_document(self.image.width, self.image.height, len(self.image.data))

    def __repr__(self) -> str:
        return f"MediaRendered({self.image!r})"


def goes_as_document(width: int, height: int, size: int) -> bool:
    """True when a photo would be refused (Telegram's limits) or shrunk past reading: send a file."""
    if width < 1 or height < 1 or size > PHOTO_MAX_BYTES:
        return True
    long_side, short_side = max(width, height), min(width, height)
    if width + height > PHOTO_MAX_SIDES_SUM or long_side > PHOTO_MAX_RATIO * short_side:
        return True
    return long_side > PHOTO_KEPT_SIDE * READABLE_SHRINK


def ocr_button(case_id: int, index: int, language: str = catalog.DEFAULT_LANGUAGE) -> InlineKeyboardMarkup:
    """Under an image: show the text read in it (its callback data names the case and the image)."""
    label = catalog.t("officer_image_text_button", language)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=f"o:ocr:{case_id}:{index}")]])


def caption(
    key: str,
    image: OpenedImage,
    language: str = catalog.DEFAULT_LANGUAGE,
    *,
    with_caption: bool = True,
    **values: str,
) -> str:
    """The caption: "📎 image k of n" (the catalog's `key`), then (`with_caption`) the student's own
    caption if it fits whole in Telegram's 1,024 units; if not, a line saying where to read it (never cut)."""
    head: list[Fragment] = [Html(catalog.t(key, language, index=image.index, count=image.count, **values))]
    if image.caption and with_caption:
        parts = textparts.html_parts([*head, Html("\n"), image.caption], textparts.CAPTION_LIMIT)
        if len(parts) == 1:
            return parts[0]
        head.append(Html("\n" + catalog.t("officer_image_caption_long", language)))
    return textparts.html_parts(head, textparts.CAPTION_LIMIT)[0]


def file_name(image: OpenedImage) -> str:
    return f"image-{image.index}-of-{image.count}.{_EXTENSIONS.get(image.mime, 'jpg')}"


def for_officer(image: OpenedImage, case_id: int, reference: str) -> MediaRendered:
    """An image as an officer receives it: captioned with its case, and its OCR text one tap away."""
    return MediaRendered(
        image,
        caption("officer_image_caption", image, case=reference),
        ocr_button(case_id, image.index),
        file_name(image),
    )


async def send_media(bot: Bot, chat_id: int, media: MediaRendered, *, outbox_send: bool = False) -> Message:
    """Upload one image from memory: a photo, or a file when a photo would be refused or unreadable.

    If Telegram refuses it as a photo anyway, it goes again as a file. Other errors pass through
    (the outbox tells a gone recipient from a refused message). `outbox_send`: a RetryAfter comes
    back to the caller to be rescheduled, instead of being slept on.
    """
    extra = {"rate_limit_args": 0} if outbox_send else {}
    if not media.as_document:
        try:
            return await bot.send_photo(
                chat_id=chat_id,
                photo=media.image.data,
                caption=media.caption,
                parse_mode=ParseMode.HTML,
                reply_markup=media.buttons,
                **extra,  # type: ignore[arg-type]
            )
        except BadRequest as error:
            if not any(p in error.message.lower() for p in PHOTO_REFUSALS):
                raise
            logger.warning("delivery.photo_refused_sent_as_file error=%s", type(error).__name__)
    return await bot.send_document(
        chat_id=chat_id,
        document=InputFile(io.BytesIO(media.image.data), filename=media.file_name),
        caption=media.caption,
        parse_mode=ParseMode.HTML,
        reply_markup=media.buttons,
        disable_content_type_detection=True,
        **extra,  # type: ignore[arg-type]
    )


# --- the outbox -------------------------------------------------------------------------------------


async def is_image_message(session: AsyncSession, message_id: int | None) -> bool:
    """Whether a case message stands for an image (it has a sealed image beside it)."""
    if message_id is None:
        return False
    found = await session.scalar(select(EvidenceImage.id).where(EvidenceImage.message_id == message_id))
    return found is not None


async def queue_tip_images(session: AsyncSession, row: Delivery, now: datetime) -> int:
    """The tip `row` was just sent: queue its case's images to the same officer, one row each, in
    order; an image already queued to that officer is not queued again. Returns how many."""
    if row.kind not in TIP_KINDS or row.case_id is None or row.officer_id is None:
        return 0
    messages = (
        await session.scalars(
            select(EvidenceImage.message_id)
            .where(EvidenceImage.case_id == row.case_id)
            .order_by(EvidenceImage.id)
        )
    ).all()
    if not messages:
        return 0
    queued = set(
        (
            await session.scalars(
                select(Delivery.message_id).where(
                    Delivery.officer_id == row.officer_id,
                    Delivery.case_id == row.case_id,
                    Delivery.message_id.in_(messages),
                )
            )
        ).all()
    )
    fresh = [m for m in messages if m not in queued]
    for message_id in fresh:
        await outbox.queue(
            session,
            DeliveryKind.STUDENT_REPLY,
            [row.officer_id],
            now,
            case_id=row.case_id,
            message_id=message_id,
        )
    return len(fresh)


async def already_sent(session: AsyncSession, row: Delivery) -> int | None:
    """The Telegram message an image row already produced (recorded before a crash), if any."""
    found = await outbox.recorded_parts(session, row.id)
    return found[-1] if found else None
