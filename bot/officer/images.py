"""A case's images for its officer: shown again with `/case N`, and the text OCR read in each, on a tap."""

from __future__ import annotations

import logging

from bot import catalog, textparts
from bot.delivery_media import for_officer, send_media
from bot.officer.gate import OfficerTurn
from bot.textparts import Fragment, Html
from casework import audit, evidence
from casework.cases import references
from casework.errors import AccessDenied
from casework.evidence import OpenedImage

logger = logging.getLogger(__name__)

# The button under each image (bot.delivery_media.ocr_button): `o:ocr:<case id>:<image number>`.
OCR_PATTERN = r"^o:ocr:(?P<case>[0-9]+):(?P<image>[0-9]{1,3})$"


async def _images(turn: OfficerTurn, case_id: int) -> tuple[evidence.CaseImages, str]:
    """The case's images decrypted for this officer (and how many would not open: altered, alerted),
    and the case's reference for them; `AccessDenied` if the case is not theirs."""
    services = turn.services
    async with services.db.transaction() as session:
        reference = await references.reference_for_officer(session, case_id, turn.officer.id)
        if reference is None:
            raise AccessDenied(f"case {case_id} is not shared with this officer")
        found = await evidence.case_images_for_officer(session, services.keys, case_id, turn.officer.id)
    if found.unopened:
        services.outbox_ready.set()  # the supervisors' alert
    return found, reference


async def send_case_images(turn: OfficerTurn, case_id: int) -> None:
    """Every image of the case again, in order, each as it came with the tip (`/case N`); one that
    would not open (altered in the database) is named as such, and the others still shown."""
    found, reference = await _images(turn, case_id)
    for image in found.images:
        await send_media(turn.context.bot, turn.chat_id, for_officer(image, case_id, reference))
    if found.images:
        logger.info("officer.images_shown count=%d", len(found.images))
    if found.unopened:
        key = "officer_image_unopened_one" if found.unopened == 1 else "officer_images_unopened"
        await turn.say(key, count=found.unopened, case=reference)


def text_document(image: OpenedImage, reference: str) -> list[Fragment]:
    """What the officer reads on tapping "Text in image": the student's caption, then the OCR text."""
    heading = catalog.t("officer_image_text_heading", index=image.index, count=image.count, case=reference)
    blocks: list[list[Fragment]] = [[Html(heading)]]
    if image.caption:
        blocks.append([Html(catalog.t("officer_image_caption_label")), image.caption])
    if image.ocr_text is None:
        blocks.append([Html(catalog.t("officer_image_text_unreadable"))])
    elif not image.ocr_text.strip():
        blocks.append([Html(catalog.t("officer_image_text_none"))])
    else:
        blocks.append([Html(catalog.t("officer_image_text_label")), image.ocr_text])
    return textparts.joined(blocks)


async def show_text(turn: OfficerTurn, case_id: int) -> None:
    """The tapped image's text (its caption and what OCR read), split over messages if long."""
    match = turn.context.match
    assert match is not None  # the handler's pattern matched
    found, reference = await _images(turn, case_id)
    wanted = [image for image in found.images if image.index == int(match["image"])]
    if not wanted:
        await turn.say("officer_image_gone", case=reference)
        return
    services = turn.services
    async with services.db.transaction() as session:
        await audit.case_read(session, case_id, turn.officer.id, services.now())  # who read it is kept
    for part in textparts.html_parts(text_document(wanted[0], reference)):
        await turn.send(part)
