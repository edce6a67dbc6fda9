"""The Bot API's file methods: getFile, sendPhoto, sendDocument, sendMediaGroup, with Telegram's limits.

Files come as multipart uploads, `attach://<part>` references (media groups), or file_ids of this
bot's files. The emulator is at least as strict as Telegram: it refuses what Telegram refuses (sizes,
photo dimensions, album sizes, captions), and also what Telegram would accept but silently ignore or
fetch elsewhere: a reply_markup on a media group (Telegram drops it: the buttons would never show) and
files by HTTP URL (not emulated).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from devtools.emulator import media
from devtools.emulator.botapi import inline_keyboard, method, parsed_text, reply_target, send_options
from devtools.emulator.params import Params, Upload
from devtools.emulator.state import JSON, ApiError, ChatRecord, World, bad_request, make_message

ALBUM_SIZES = (2, 10)
WRONG_FILE = "wrong file identifier/HTTP URL specified"
TOO_LARGE = ApiError(413, "Request Entity Too Large")
# Telegram's own names for the kinds, in "can't use file of type X as Y".
_KIND_NAMES = {
    "photo": "Photo",
    "document": "Document",
    "voice": "Voice",
    "video": "Video",
    "video_note": "VideoNote",
    "sticker": "Sticker",
    "thumbnail": "Photo",
}


@dataclass(frozen=True)
class FileInput:
    """What a call gives as a file: new bytes (with a name), or a file this bot already has."""

    content: bytes
    file_name: str
    existing: media.StoredFile | None = None


def file_input(world: World, params: Params, value: Any, kind: str) -> FileInput:
    """The file a parameter names (an upload, attach://part or file_id), or Telegram's refusal."""
    if isinstance(value, str) and value.startswith("attach://"):
        value = params.raw.get(value.removeprefix("attach://"))
        if not isinstance(value, Upload):
            raise bad_request("can't parse InputMedia: media not found")
    if isinstance(value, Upload):
        if not value.content:
            raise bad_request("file must be non-empty")
        if len(value.content) > media.MAX_UPLOAD:
            raise TOO_LARGE
        return FileInput(value.content, value.filename or "file")
    if value in (None, ""):
        raise bad_request(f"there is no {kind} in the request")
    if not isinstance(value, str):
        raise bad_request(WRONG_FILE)
    stored = world.files.for_bot(value, params.caller_bot_id)
    if stored is None:
        raise bad_request(WRONG_FILE)  # unknown, another bot's, or a URL (not emulated)
    if (kind == "photo") != (stored.kind in ("photo", "thumbnail")):
        raise bad_request(f"can't use file of type {_KIND_NAMES[stored.kind]} as {_KIND_NAMES[kind]}")
    return FileInput(stored.content, stored.path.rsplit("/", 1)[-1], stored)


def photo_fields(world: World, params: Params, given: FileInput) -> list[JSON]:
    """The PhotoSize list of a photo being sent: the same set again for a file_id, else a new photo
    checked against Telegram's limits and recompressed."""
    if given.existing is not None and given.existing.photo_set is not None:
        return world.files.photo_sets[given.existing.photo_set]
    if len(given.content) > media.MAX_PHOTO_UPLOAD:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    size = media.image_size(given.content)
    if size is None:
        raise bad_request("IMAGE_PROCESS_FAILED")
    if not media.photo_dimensions_ok(*size):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    try:
        image = media.open_image(given.content)
    except media.NotAnImage:
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    return world.files.add_photo(image, bot_id=params.caller_bot_id)


def document_fields(world: World, params: Params, given: FileInput) -> JSON:
    """The Document of a file being sent: its bytes kept exactly, its name and type reported."""
    if given.existing is not None and given.existing.kind == "document":
        stored = given.existing
    else:
        extension = media.extension_of(given.file_name, "bin")
        stored = world.files.add(
            "document", "documents", extension, given.content, bot_id=params.caller_bot_id
        )
    document: JSON = {
        **stored.describe(),
        "file_name": given.file_name,
        "mime_type": media.mime_type_of(given.file_name, given.content),
    }
    thumbnail = world.files.thumbnail(given.content, bot_id=params.caller_bot_id)
    if thumbnail is not None:
        document["thumbnail"] = thumbnail
    return document


def _sender(world: World, chat: ChatRecord) -> Any:
    return None if chat.type == "channel" else world.bot


async def _send_one(world: World, params: Params, kind: str) -> JSON:
    chat = world.writable_chat(params.chat_id(world))
    given = file_input(world, params, params.raw.get(kind), kind)
    caption, entities = parsed_text(params, "caption", "caption_entities", caption=True)
    keyboard, other_markup = inline_keyboard(params)
    fields: JSON = (
        {"photo": photo_fields(world, params, given)}
        if kind == "photo"
        else {"document": document_fields(world, params, given)}
    )
    options = send_options(params)
    if other_markup is not None:
        options["reply_markup"] = other_markup
    data = make_message(
        chat.allocate_message_id(),
        _sender(world, chat),
        chat,
        reply_to_message=reply_target(world, chat, params),
        caption=caption or None,
        caption_entities=entities or None,
        reply_markup=keyboard,
        has_protected_content=True if options.get("protect_content") else None,
        **fields,
    )
    world.store(chat, data, from_bot=True, options=options)
    return data


@method("sendPhoto")
async def send_photo(world: World, params: Params) -> JSON:
    return await _send_one(world, params, "photo")


@method("sendDocument")
async def send_document(world: World, params: Params) -> JSON:
    return await _send_one(world, params, "document")


def _album_item(world: World, params: Params, item: object) -> JSON:
    """One InputMedia of an album, checked: its message fields (file, caption)."""
    if not isinstance(item, dict) or item.get("type") not in ("photo", "video", "document", "audio"):
        raise bad_request("can't parse InputMedia: unsupported media type")
    kind = str(item["type"])
    given = file_input(world, params, item.get("media"), "document" if kind == "document" else kind)
    caption, entities = parsed_text(Params(item), "caption", "caption_entities", caption=True)
    fields: JSON = {"caption": caption or None, "caption_entities": entities or None}
    if kind == "photo":
        fields["photo"] = photo_fields(world, params, given)
    elif kind == "document":
        fields["document"] = document_fields(world, params, given)
    else:  # the bot sends no videos or audio; kept minimal, but a real upload
        extension = media.extension_of(given.file_name, "bin")
        stored = given.existing or world.files.add(
            kind, f"{kind}s", extension, given.content, bot_id=params.caller_bot_id
        )
        fields[kind] = {**stored.describe(), "duration": int(item.get("duration") or 1)}
        if kind == "video":
            fields[kind].update(width=int(item.get("width") or 640), height=int(item.get("height") or 360))
    return fields


def _album_kinds_ok(kinds: list[str]) -> bool:
    """Documents go only with documents, audio only with audio; photos and videos mix."""
    if "document" in kinds or "audio" in kinds:
        return len(set(kinds)) == 1
    return True


@method("sendMediaGroup")
async def send_media_group(world: World, params: Params) -> list[JSON]:
    chat = world.writable_chat(params.chat_id(world))
    if params.has("reply_markup"):
        # Stricter than Telegram, which ignores it: the bot would believe buttons are shown.
        raise bad_request("sendMediaGroup has no reply_markup: an album cannot carry buttons")
    if not params.has("media"):
        raise bad_request('parameter "media" is required')
    items = params.structured("media")
    if not isinstance(items, list):
        raise bad_request("can't parse media JSON object")
    if len(items) > ALBUM_SIZES[1]:
        raise bad_request("too much messages to send as an album")
    if len(items) < ALBUM_SIZES[0]:
        raise bad_request("media group must contain 2-10 items")
    if not _album_kinds_ok([str(item.get("type")) if isinstance(item, dict) else "" for item in items]):
        raise bad_request("documents and audio can't be mixed with other media in an album")
    # Every item is checked before any message exists: an album is sent whole or not at all.
    fields = [_album_item(world, params, item) for item in items]
    reply_to = reply_target(world, chat, params)
    options = send_options(params)
    group_id = str(media_group_id())
    sent: list[JSON] = []
    for item_fields in fields:
        data = make_message(
            chat.allocate_message_id(),
            _sender(world, chat),
            chat,
            reply_to_message=reply_to,
            media_group_id=group_id,
            has_protected_content=True if options.get("protect_content") else None,
            **item_fields,
        )
        world.store(chat, data, from_bot=True, options=options)
        sent.append(data)
    return sent


def media_group_id() -> int:
    return 10**17 + secrets.randbelow(9 * 10**17)


@method("getFile")
async def get_file(world: World, params: Params) -> JSON:
    file_id = params.text("file_id", required=True) or ""
    stored = world.files.for_bot(file_id, params.caller_bot_id)
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.content) > media.MAX_DOWNLOAD:
        raise bad_request("file is too big")
    stored.fetched = True
    return {**stored.describe(), "file_id": file_id, "file_path": stored.path}
