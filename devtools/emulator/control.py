"""The emulator's control operations: act as users, observe the bot, program faults.

Each operation takes a JSON object and returns a JSON value. The same functions serve
an in-process client and the HTTP endpoints under /_emulator/, so both behave alike.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from devtools.emulator import botapi, formatting, media
from devtools.emulator.params import Params
from devtools.emulator.state import (
    JSON,
    CallbackRecord,
    ChatRecord,
    ControlError,
    StoredMessage,
    UserRecord,
    World,
    make_message,
    random_digits,
    strip_reply,
    unix_now,
)

Operation = Callable[[World, JSON], Awaitable[Any]]
OPERATIONS: dict[str, Operation] = {}
MAX_WAIT = 60.0


def operation(function: Operation) -> Operation:
    OPERATIONS[function.__name__] = function
    return function


async def dispatch(world: World, name: str, body: JSON) -> Any:
    """Run control operation `name`; ControlError for an unknown one or a bad request."""
    found = OPERATIONS.get(name)
    if found is None:
        raise ControlError(f"unknown control operation {name!r}; known: {', '.join(sorted(OPERATIONS))}")
    try:
        return await found(world, body)
    except (KeyError, TypeError, ValueError) as error:
        raise ControlError(f"{name}: bad arguments ({error.__class__.__name__}: {error})") from error


def _int(body: JSON, key: str) -> int:
    if key not in body or body[key] is None:
        raise ControlError(f"{key} is required")
    return int(body[key])


def _optional_int(body: JSON, key: str) -> int | None:
    return None if body.get(key) is None else int(body[key])


# --- people and places ------------------------------------------------------------------------


@operation
async def info(world: World, body: JSON) -> JSON:
    return {
        "bot": world.bot.api(),
        "token": world.token,
        "bot_connected": world.bot_connected,
        "webhook": world.webhook.url if world.webhook else None,
        "pending_updates": len(world.pending),
        "seq": len(world.events),
    }


@operation
async def create_user(world: World, body: JSON) -> JSON:
    fields = {k: body[k] for k in ("last_name", "username", "label") if body.get(k)}
    if "language_code" in body:
        fields["language_code"] = body["language_code"]
    user = world.add_user(
        str(body.get("first_name") or "Student"),
        user_id=_optional_int(body, "id"),
        started=bool(body.get("started", False)),
        **fields,
    )
    return user.view()


@operation
async def users(world: World, body: JSON) -> list[JSON]:
    return [user.view() for user in world.users.values()]


@operation
async def create_chat(world: World, body: JSON) -> JSON:
    chat = world.add_chat(
        str(body.get("type", "group")),
        str(body.get("title") or "Group"),
        username=body.get("username"),
        bot_member=bool(body.get("bot_member", True)),
    )
    return chat.view()


@operation
async def chat(world: World, body: JSON) -> JSON:
    return world.control_chat(_int(body, "chat_id")).view()


@operation
async def block(world: World, body: JSON) -> JSON:
    """The user blocks (or unblocks) the bot; with notify, Telegram's my_chat_member update too."""
    user = world.user(_int(body, "user_id"))
    blocked = bool(body.get("blocked", True))
    if user.blocked != blocked and body.get("notify"):
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        world.push_update(
            "my_chat_member",
            {
                "chat": world.chats[user.id].api(),
                "from": user.api(),
                "date": unix_now(),
                "old_chat_member": botapi.member_status(world, old, "private"),
                "new_chat_member": botapi.member_status(world, new, "private"),
            },
        )
    user.blocked = blocked
    return user.view()


@operation
async def member(world: World, body: JSON) -> JSON:
    """Someone adds the bot to a group or channel (or removes it): a my_chat_member update."""
    target = world.control_chat(_int(body, "chat_id"))
    if target.type == "private":
        raise ControlError("the bot's membership of a private chat is blocking; use block")
    actor = world.user(_int(body, "user_id"))
    default_new = "administrator" if target.type == "channel" else "member"
    old, new = str(body.get("old_status", "left")), str(body.get("new_status", default_new))
    target.bot_member = new in ("member", "administrator", "creator")
    update_id = world.push_update(
        "my_chat_member",
        {
            "chat": target.api(),
            "from": actor.api(),
            "date": unix_now(),
            "old_chat_member": botapi.member_status(world, old, target.type),
            "new_chat_member": botapi.member_status(world, new, target.type),
        },
    )
    return {"update_id": update_id, "chat": target.view()}


# --- acting as a user -------------------------------------------------------------------------


def _file(world: World, kind: str, folder: str, extension: str, content: bytes) -> JSON:
    """A file a user sends: it belongs to the bot that receives their updates."""
    return world.files.add(kind, folder, extension, content).describe()


def _caption_fields(body: JSON) -> JSON:
    caption = body.get("caption")
    if caption is not None and formatting.utf16_len(str(caption)) > formatting.MAX_CAPTION:
        raise ControlError(
            f"Telegram clients refuse captions longer than {formatting.MAX_CAPTION} characters"
        )
    return {"caption": caption, "caption_entities": None}


def _photo(world: World, raw: bytes | None) -> list[JSON]:
    """A photo as a Telegram client sends it: decoded, turned upright, recompressed into sizes."""
    try:
        image = media.open_image(raw if raw is not None else media.sample_jpeg())
    except media.NotAnImage:
        raise ControlError("Telegram clients send only images as photos (other files as documents)") from None
    if max(image.size) > media.MAX_PHOTO_RATIO * min(image.size):
        raise ControlError("Telegram clients send images this long or narrow as files: use send_document")
    return world.files.add_photo(image, bot_id=None)


def _document(world: World, body: JSON, raw: bytes | None) -> JSON:
    name = str(body.get("file_name") or "document.pdf")
    content = raw if raw is not None else b"%PDF-1.4\n%%EOF\n"
    document: JSON = {
        **_file(world, "document", "documents", media.extension_of(name, "bin"), content),
        "file_name": name,
        "mime_type": str(body.get("mime_type") or media.mime_type_of(name, content)),
    }
    thumbnail = world.files.thumbnail(content, bot_id=None)
    if thumbnail is not None:
        document["thumbnail"] = thumbnail
    return document


def _audiovisual(world: World, kind: str, body: JSON, raw: bytes | None) -> JSON:
    """A voice note, video or round video note (the bot refuses them; they must still look real)."""
    duration = int(body.get("duration", 3))
    if kind == "voice":
        content = raw or b"OggS" + bytes(duration * 200)
        voice = _file(world, "voice", "voice", "oga", content)
        return {**voice, "duration": duration, "mime_type": "audio/ogg"}
    content = raw or b"\x00\x00\x00\x18ftypmp42" + bytes(duration * 2000)
    if kind == "video_note":
        return {
            **_file(world, "video_note", "video_notes", "mp4", content),
            "length": int(body.get("length") or 240),
            "duration": duration,
        }
    return {
        **_file(world, "video", "videos", "mp4", content),
        "width": int(body.get("width") or 1280),
        "height": int(body.get("height") or 720),
        "duration": duration,
        "file_name": str(body.get("file_name") or "video.mp4"),
        "mime_type": "video/mp4",
    }


def _captionless(world: World, kind: str, body: JSON, raw: bytes | None) -> JSON:
    """A location, contact or sticker."""
    if kind == "location":
        return {"location": {"latitude": float(body["latitude"]), "longitude": float(body["longitude"])}}
    if kind == "contact":
        contact: JSON = {"phone_number": str(body["phone_number"]), "first_name": str(body["first_name"])}
        if body.get("contact_user_id"):
            contact["user_id"] = int(body["contact_user_id"])
        return {"contact": contact}
    sticker = _file(world, "sticker", "stickers", "webp", raw or b"RIFF\x00\x00\x00\x00WEBP")
    return {
        "sticker": {
            **sticker,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": body.get("emoji", "🙂"),
        }
    }


def _content(world: World, body: JSON) -> JSON:
    """The Message fields of what a user sends, by kind."""
    kind = body.get("kind", "text")
    raw = base64.b64decode(body["content_b64"]) if body.get("content_b64") is not None else None
    if kind == "text":
        text = str(body.get("text") or "")
        if not text.strip():
            raise ControlError("Telegram clients do not send empty messages")
        if formatting.utf16_len(text) > botapi.MAX_TEXT:
            raise ControlError(f"Telegram clients split text longer than {botapi.MAX_TEXT} characters")
        return {"text": text, "entities": formatting.command_entities(text) or None}
    if kind in ("location", "contact", "sticker"):
        return _captionless(world, kind, body, raw)
    fields = _caption_fields(body)
    if kind == "photo":
        fields["photo"] = _photo(world, raw)
    elif kind == "document":
        fields["document"] = _document(world, body, raw)
    elif kind in ("voice", "video", "video_note"):
        fields[kind] = _audiovisual(world, kind, body, raw)
        if kind == "video_note":  # round videos carry no caption
            fields = {kind: fields[kind]}
    else:
        raise ControlError(f"unknown message kind {kind!r}")
    if body.get("media_group_id"):
        fields["media_group_id"] = str(body["media_group_id"])
    return fields


def _origin(world: World, forward: JSON) -> JSON:
    origin: JSON = {"date": int(forward.get("date") or unix_now() - 3600)}
    if forward.get("user_id"):
        origin.update(type="user", sender_user=world.user(int(forward["user_id"])).api())
    elif forward.get("chat_id"):
        source = world.control_chat(int(forward["chat_id"]))
        if source.type == "channel":
            origin.update(type="channel", chat=source.api(), message_id=int(forward.get("message_id") or 1))
        else:
            origin.update(type="chat", sender_chat=source.api())
    else:
        origin.update(type="hidden_user", sender_user_name=str(forward.get("sender_user_name") or "Hidden"))
    return origin


def _update_kind(target: ChatRecord, edited: bool) -> str:
    base = "channel_post" if target.type == "channel" else "message"
    return f"edited_{base}" if edited else base


def _deliver(world: World, target: ChatRecord, kind: str, payload: JSON) -> int | None:
    """Push the update unless the bot cannot see the chat (it left the group)."""
    if target.type != "private" and not target.bot_member:
        return None
    return world.push_update(kind, payload)


@operation
async def send(world: World, body: JSON) -> JSON:
    """A user (or, in a channel, the channel itself) posts a message."""
    sender: UserRecord | None = None
    if body.get("user_id") is not None:
        sender = world.user(int(body["user_id"]))
    chat_id = _optional_int(body, "chat_id") or (sender.id if sender else None)
    if chat_id is None:
        raise ControlError("send needs user_id, chat_id or both")
    target = world.control_chat(chat_id)
    if target.type == "channel":
        sender = None
    elif sender is None:
        raise ControlError("only channel posts have no sender: give user_id")
    if target.type == "private":
        assert sender is not None
        if target.id != sender.id:
            raise ControlError("a user can write only in their own private chat with the bot")
        sender.started, sender.blocked = True, False  # writing to a bot unblocks it, as in Telegram
    reply_to = None
    if body.get("reply_to_message_id") is not None:
        replied = world.message(target, int(body["reply_to_message_id"]))
        if replied is None:
            raise ControlError(f"no message {body['reply_to_message_id']} in chat {target.id} to reply to")
        reply_to = strip_reply(replied.data)
    data = make_message(
        target.allocate_message_id(),
        sender,
        target,
        forward_origin=_origin(world, body["forward"]) if body.get("forward") else None,
        reply_to_message=reply_to,
        **_content(world, body),
    )
    stored = world.store(target, data, from_bot=False)
    update_id = _deliver(world, target, _update_kind(target, edited=False), data)
    return {"update_id": update_id, "message": stored.view(), "seq": len(world.events)}


@operation
async def send_album(world: World, body: JSON) -> JSON:
    """A user sends several photos or files at once: one message each, sharing a media_group_id,
    the caption on the first (as Telegram clients do)."""
    items = body.get("items")
    if not isinstance(items, list) or not 2 <= len(items) <= 10:
        raise ControlError("an album holds 2 to 10 items")
    kinds = {str(item.get("kind", "photo")) for item in items}
    if not kinds <= {"photo", "video"} and len(kinds) > 1:
        raise ControlError("Telegram clients put documents only with documents in an album")
    group_id = str(random_digits(18, 18))
    results = []
    for index, item in enumerate(items):
        part = {**item, "user_id": body.get("user_id"), "chat_id": body.get("chat_id")}
        part["kind"] = str(item.get("kind", "photo"))
        part["media_group_id"] = group_id
        part["caption"] = body.get("caption") if index == 0 else None
        results.append(await send(world, part))
    return {"media_group_id": group_id, "sent": results, "seq": len(world.events)}


@operation
async def edit(world: World, body: JSON) -> JSON:
    """The user edits a text message they sent earlier: an edited_message update."""
    target = world.control_chat(_int(body, "chat_id"))
    stored = world.message(target, _int(body, "message_id"))
    if stored is None or stored.from_bot:
        raise ControlError("a user can edit only a message of their own that still exists")
    sender_id = stored.data.get("from", {}).get("id")
    if target.type != "channel" and sender_id != _optional_int(body, "user_id"):
        raise ControlError("that message was sent by someone else")
    text = str(body.get("text") or "")
    if "text" not in stored.data or not text.strip():
        raise ControlError("only a text message can be edited, into a non-empty text")
    data = {k: v for k, v in stored.data.items() if k != "entities"}
    data.update(text=text, edit_date=unix_now())
    if entities := formatting.command_entities(text):
        data["entities"] = entities
    stored.data, stored.edits = data, stored.edits + 1
    update_id = _deliver(world, target, _update_kind(target, edited=True), data)
    return {"update_id": update_id, "message": stored.view(), "seq": len(world.events)}


def _find_button(stored: StoredMessage, body: JSON) -> JSON:
    rows = stored.data.get("reply_markup", {}).get("inline_keyboard", [])
    buttons: list[JSON] = [button for row in rows for button in row]
    wanted = body.get("button")
    if body.get("index") is not None:
        index = int(body["index"])
        if not 0 <= index < len(buttons):
            raise ControlError(f"no button number {index + 1}; the message has {len(buttons)}")
        found = buttons[index]
    else:
        matches = [b for b in buttons if b["text"] == wanted] or [
            b for b in buttons if b.get("callback_data") == wanted
        ]
        if not matches:
            shown = ", ".join(f"{b['text']!r} ({b.get('callback_data')!r})" for b in buttons) or "none"
            raise ControlError(f"no button {wanted!r} on message {stored.message_id}; its buttons: {shown}")
        found = matches[0]
    if "callback_data" not in found:
        raise ControlError(
            f"button {found['text']!r} is not a callback button; pressing it sends the bot nothing"
        )
    return found


@operation
async def press(world: World, body: JSON) -> JSON:
    """The user presses an inline button (by text, callback data or index): a callback_query update."""
    user = world.user(_int(body, "user_id"))
    target = world.control_chat(_int(body, "chat_id"))
    stored = world.message(target, _int(body, "message_id"))
    if stored is None:
        raise ControlError(f"message {body['message_id']} in chat {target.id} does not exist or was deleted")
    button = _find_button(stored, body)
    query = CallbackRecord(
        id=str(random_digits(18, 19)),
        user_id=user.id,
        chat_id=target.id,
        message_id=stored.message_id,
        data=str(button["callback_data"]),
    )
    world.callbacks[query.id] = query
    update_id = _deliver(
        world,
        target,
        "callback_query",
        {
            "id": query.id,
            "from": user.api(),
            "message": stored.data,
            "chat_instance": target.chat_instance,
            "data": query.data,
        },
    )
    return {
        "update_id": update_id,
        "callback_query_id": query.id,
        "data": query.data,
        "text": button["text"],
        "seq": len(world.events),
    }


# --- observing the bot --------------------------------------------------------------------------


@operation
async def messages(world: World, body: JSON) -> JSON:
    """Messages of a chat in order (the bot's only unless include_user), with the current seq."""
    target = world.control_chat(_int(body, "chat_id"))
    include_user = bool(body.get("include_user", False))
    shown = [m.view() for m in target.messages.values() if m.from_bot or include_user]
    return {"messages": shown, "seq": len(world.events)}


_MEDIA_KINDS = ("photo", "document", "video", "voice", "video_note", "audio", "sticker")


def _received(world: World, stored: StoredMessage, with_content: bool) -> JSON | None:
    """A file the bot sent, as the recipient gets it (for a photo: its largest size)."""
    data = stored.data
    kind = next((k for k in _MEDIA_KINDS if k in data), None)
    if kind is None:
        return None
    item = data[kind][-1] if kind == "photo" else data[kind]
    found = world.files.by_id.get(item["file_id"])
    view: JSON = {
        "chat_id": data["chat"]["id"],
        "message_id": stored.message_id,
        "kind": kind,
        "file_id": item["file_id"],
        "file_unique_id": item["file_unique_id"],
        "file_size": item.get("file_size"),
        "file_name": item.get("file_name"),
        "mime_type": item.get("mime_type"),
        "width": item.get("width"),
        "height": item.get("height"),
        "caption": data.get("caption"),
        "caption_entities": data.get("caption_entities") or [],
        "media_group_id": data.get("media_group_id"),
        "has_buttons": bool(data.get("reply_markup")),
        "deleted": stored.deleted,
    }
    if with_content and found is not None:
        view["content_b64"] = base64.b64encode(found.content).decode("ascii")
    return view


@operation
async def files(world: World, body: JSON) -> list[JSON]:
    """The files the bot sent to a chat, oldest first, with the bytes the recipient would download."""
    target = world.control_chat(_int(body, "chat_id"))
    with_content = bool(body.get("content", True))
    found = [_received(world, m, with_content) for m in target.messages.values() if m.from_bot]
    return [f for f in found if f is not None]


@operation
async def file(world: World, body: JSON) -> JSON:
    """A stored file by file_id: its path, kind and bytes (whoever sent it)."""
    stored = world.files.by_id.get(str(body.get("file_id") or ""))
    if stored is None:
        raise ControlError("no such file_id")
    return {
        "file_id": stored.file_id,
        "file_path": stored.path,
        "kind": stored.kind,
        "file_size": len(stored.content),
        "content_b64": base64.b64encode(stored.content).decode("ascii"),
    }


@operation
async def events(world: World, body: JSON) -> JSON:
    """Events after `since`, waiting up to `timeout` seconds for the first one."""
    kinds = body.get("kinds")
    found = await world.wait_events(
        since=int(body.get("since", 0)),
        chat_id=_optional_int(body, "chat_id"),
        kinds=[str(k) for k in kinds] if kinds else None,
        limit=int(body.get("limit", 1000)),
        wait=min(float(body.get("timeout", 0)), MAX_WAIT),
    )
    return {"events": found, "seq": len(world.events)}


@operation
async def callback_answers(world: World, body: JSON) -> list[JSON]:
    wanted = body.get("callback_query_id")
    return [q.answer for q in world.callbacks.values() if q.answer is not None and wanted in (None, q.id)]


@operation
async def calls(world: World, body: JSON) -> list[JSON]:
    return [
        asdict(c)
        for c in world.calls.query(body.get("method"), _optional_int(body, "chat_id"), body.get("outcome"))
    ]


@operation
async def clear_calls(world: World, body: JSON) -> bool:
    world.calls.clear()
    return True


@operation
async def commands(world: World, body: JSON) -> list[JSON]:
    """What the bot set with setMyCommands for a scope and language (default: all users, any)."""
    params = Params({"scope": body.get("scope"), "language_code": body.get("language_code")})
    result: list[JSON] = world.settings.get("commands", {}).get(botapi.scope_key(params), [])
    return result


@operation
async def webhook_info(world: World, body: JSON) -> JSON:
    result: JSON = await botapi.get_webhook_info(world, Params({}))
    return result


# --- faults and pacing --------------------------------------------------------------------------


@operation
async def add_fault(world: World, body: JSON) -> JSON:
    keys = ("method", "times", "seconds", "retry_after", "status", "description", "after_processing")
    spec = {k: body[k] for k in keys if k in body}
    fault = world.faults.add(str(body["kind"]), chat_id=_optional_int(body, "chat_id"), **spec)
    return fault.view()


@operation
async def faults(world: World, body: JSON) -> list[JSON]:
    return world.faults.views()


@operation
async def clear_faults(world: World, body: JSON) -> bool:
    if body.get("id") is not None:
        world.faults.remove(int(body["id"]))
    else:
        world.faults.clear()
    return True


@operation
async def webhook_targets(world: World, body: JSON) -> JSON:
    """Post webhook updates round-robin to these URLs (instances behind one address); [] turns it off."""
    urls = body.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
        raise ControlError("urls must be a list of URLs")
    world.webhook_targets, world.webhook_turn = list(urls), 0
    return {"urls": world.webhook_targets}


@operation
async def latency(world: World, body: JSON) -> JSON:
    world.latency = max(float(body.get("seconds", 0.0)), 0.0)
    return {"seconds": world.latency}
