"""Evidence images: stripped of metadata, read for danger, sealed like messages (issue 12).

Contract (the bot's student side writes, the officer side reads; casework imports no Telegram):
`strip.strip_image(raw) -> StrippedImage(data, mime, width, height)` re-encodes pixels only (JPEG
or PNG, no EXIF/GPS/XMP/ICC/thumbnail), orientation applied; it raises `NotAnImage` or `ImageTooLarge`
(both `ImageRefused`), with MAX_INPUT_BYTES and MAX_PIXELS as limits. `ocr.read_text(data) -> str |
None` runs `tesseract stdin stdout -l eng+fra` (None: could not be read). `sealing.store_image(session,
case_id, image, ocr_text=, caption=, now=, notify=) -> StoredImage(message_id, index)` seals it into an
open case (MAX_IMAGES_PER_CASE, MAX_SEALED_BYTES; `TooManyImages`, `ImageTooBig`, `CaseClosed`):
each image is a `CaseMessage` (direction student) whose sealed body is `{"image": k, "mime", "width",
"height", "digest", "ocr"?, "caption"?}` — `sealing.is_image(body)` tells renderers of threads to show
it as an image, not words — plus an `EvidenceImage` row holding the image sealed under that message's
content key, so envelopes, MACs, re-seals, rotations and purges of messages cover images. `notify=True`
queues a STUDENT_REPLY delivery whose message is the image message (render it with
`reading.image_for_officer`); images stored with a new case go with the TIP (`notify=False`): its sender
calls `reading.images_for_officer(session, keys, case_id, officer_id) -> list[OpenedImage(index, count,
data, mime, width, height, ocr_text, caption, message_id, seq, created_at)]`, and the student's /status
calls `reading.images_for_student(session, keys, code)`. `case_images_for_officer` and
`case_images_for_student` return `CaseImages(images, unopened)`: an image that does not decrypt
(altered in the database) is counted and alerted (TAMPERED_MESSAGE, once per case), never raised, so
one altered image never hides the others. A message body holding `"intimate_image"`
(`sealing.INTIMATE_KEY`) marks a report the student said involved an intimate image: it was neither
stored nor forwarded, and the officer is told so in words (catalog `officer_intimate_image_marker`).
"""

from casework.evidence.reading import (
    CaseImages,
    case_images_for_officer,
    case_images_for_student,
    image_for_officer,
    images_for_officer,
    images_for_student,
)
from casework.evidence.sealing import (
    INTIMATE_KEY,
    MAX_IMAGES_PER_CASE,
    MAX_SEALED_BYTES,
    ImageTooBig,
    OpenedImage,
    StoredImage,
    TooManyImages,
    image_count,
    is_image,
    store_image,
)
from casework.evidence.strip import ImageRefused, ImageTooLarge, NotAnImage, StrippedImage, strip_image

__all__ = [
    "INTIMATE_KEY",
    "MAX_IMAGES_PER_CASE",
    "MAX_SEALED_BYTES",
    "CaseImages",
    "ImageRefused",
    "ImageTooBig",
    "ImageTooLarge",
    "NotAnImage",
    "OpenedImage",
    "StoredImage",
    "StrippedImage",
    "TooManyImages",
    "case_images_for_officer",
    "case_images_for_student",
    "image_count",
    "image_for_officer",
    "images_for_officer",
    "images_for_student",
    "is_image",
    "store_image",
    "strip_image",
]
