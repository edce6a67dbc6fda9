"""The Bot API methods the emulator implements, answering as Telegram does.

Each method takes the world and the call's parameters and returns the `result` of a
successful answer, or raises `ApiError` with Telegram's own status and wording.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from devtools.emulator import formatting
from devtools.emulator.params import Params
from devtools.emulator.state import (
    JSON,
    ApiError,
    ChatRecord,
    StoredMessage,
    Webhook,
    World,
    bad_request,
    make_message,
    strip_reply,
    unix_now,
)

Method = Callable[[World, Params], Awaitable[Any]]
METHODS: dict[str, tuple[str, Method]] = {}  # lower-case name -> (canonical name, implementation)

MAX_TEXT = formatting.MAX_MESSAGE_TEXT
MAX_CALLBACK_DATA = formatting.MAX_CALLBACK_DATA
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
SEND_OPTIONS = (
    "parse_mode",
    "disable_notification",
    "protect_content",
    "link_preview_options",
    "disable_web_page_preview",
    "message_thread_id",
    "message_effect_id",
    "allow_paid_broadcast",
)
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


def method(name: str) -> Callable[[Method], Method]:
    def register(function: Method) -> Method:
        METHODS[name.lower()] = (name, function)
        return function

    return register


# --- shared pieces --------------------------------------------------------------------------


def parsed_text(
    params: Params, key: str = "text", entities_key: str = "entities", *, caption: bool = False
) -> tuple[str, list[JSON]]:
    """The text of a call as Telegram stores it: markup parsed, whitespace trimmed, length checked.

    Lengths are UTF-16 code units after entity parsing, as Telegram counts them.
    """
    raw = params.text(key) or ""
    explicit = params.structured(entities_key)
    try:
        if explicit is None:
            check = formatting.caption_text if caption else formatting.message_text
            return check(raw, params.text("parse_mode"))
        if not isinstance(explicit, list) or not all(isinstance(e, dict) for e in explicit):
            raise bad_request(f"can't parse {entities_key} JSON object")
        text, entities = formatting.trim(raw, formatting.sort_entities(explicit))
        check = formatting.caption_text if caption else formatting.message_text
        check(text, None)  # the same length rules, on text that is already plain
        return text, entities
    except formatting.TextRefused as refused:
        raise bad_request(refused.description) from None


def inline_keyboard(params: Params) -> tuple[JSON | None, JSON | None]:
    """(inline keyboard for the Message, other reply_markup kept as an option) of a call."""
    markup = params.structured("reply_markup")
    if markup is None:
        return None, None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return None, markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    clean_rows: list[list[JSON]] = [[checked_button(button) for button in row] for row in rows]
    clean_rows = [row for row in clean_rows if row]
    return ({"inline_keyboard": clean_rows} if clean_rows else None), None


def checked_button(button: object) -> JSON:
    """An inline keyboard button as Telegram accepts it: text and exactly one action, valid; else 400."""
    if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    actions = [k for k in BUTTON_ACTIONS if k in button]
    if len(actions) != 1:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        try:
            formatting.check_callback_data(button["callback_data"])
        except formatting.TextRefused as refused:
            raise bad_request(refused.description) from None
    if "url" in button and not re.match(r"(https?|tg)://\S+$", str(button["url"])):
        raise bad_request("BUTTON_URL_INVALID")
    return button


def reply_target(world: World, chat: ChatRecord, params: Params) -> JSON | None:
    reply = params.structured("reply_parameters")
    if isinstance(reply, dict) and reply.get("message_id") is not None:
        message_id, tolerant = int(reply["message_id"]), bool(reply.get("allow_sending_without_reply"))
        if reply.get("chat_id") not in (None, chat.id, str(chat.id)):
            raise bad_request("quoting messages from other chats is not emulated")
    elif params.has("reply_to_message_id"):
        message_id = params.integer("reply_to_message_id") or 0
        tolerant = params.flag("allow_sending_without_reply")
    else:
        return None
    target = world.message(chat, message_id)
    if target is None:
        if tolerant:
            return None
        raise bad_request("message to be replied not found")
    return strip_reply(target.data)


def send_options(params: Params) -> JSON:
    options: JSON = {}
    for key in SEND_OPTIONS:
        if not params.has(key):
            continue
        if key in (
            "disable_notification",
            "protect_content",
            "disable_web_page_preview",
            "allow_paid_broadcast",
        ):
            options[key] = params.flag(key)
        elif key == "link_preview_options":
            options[key] = params.structured(key)
        else:
            options[key] = params.text(key)
    return options


def editable(world: World, params: Params) -> tuple[ChatRecord, StoredMessage]:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = world.writable_chat(params.chat_id(world))
    message_id = params.integer("message_id", required=True)
    assert message_id is not None
    stored = world.message(chat, message_id)
    if stored is None:
        raise bad_request("message to edit not found")
    if not stored.from_bot:
        raise bad_request("message can't be edited")
    return chat, stored


def apply_edit(world: World, chat: ChatRecord, stored: StoredMessage, changes: JSON) -> JSON:
    """Apply `changes` (None removes a field); Telegram refuses an edit that changes nothing."""
    before = {k: v for k, v in stored.data.items() if k != "edit_date"}
    data = dict(before)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    if data == before:
        raise bad_request(NOT_MODIFIED)
    data["edit_date"] = unix_now()
    stored.data = data
    stored.edits += 1
    world.event("edited", chat.id, message=stored.view())
    return data


def scope_key(params: Params) -> str:
    scope = params.structured("scope") or {"type": "default"}
    language = params.text("language_code") or ""
    return json.dumps([scope, language], sort_keys=True)


# --- the bot itself -------------------------------------------------------------------------


@method("getMe")
async def get_me(world: World, params: Params) -> JSON:
    return {
        **world.bot.api(),
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


@method("logOut")
async def log_out(world: World, params: Params) -> bool:
    return True


@method("close")
async def close(world: World, params: Params) -> bool:
    return True


@method("setMyCommands")
async def set_my_commands(world: World, params: Params) -> bool:
    commands = params.structured("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND_NAME.fullmatch(str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    world.settings.setdefault("commands", {})[scope_key(params)] = [
        {"command": c["command"], "description": c["description"]} for c in commands
    ]
    world.event("commands", None)
    return True


@method("getMyCommands")
async def get_my_commands(world: World, params: Params) -> list[JSON]:
    result: list[JSON] = world.settings.get("commands", {}).get(scope_key(params), [])
    return result


@method("deleteMyCommands")
async def delete_my_commands(world: World, params: Params) -> bool:
    world.settings.get("commands", {}).pop(scope_key(params), None)
    return True


def _text_setting(name: str, result_key: str, limit: int) -> None:
    lower = name[0].upper() + name[1:]

    async def setter(world: World, params: Params) -> bool:
        value = params.text(result_key) or ""
        if len(value) > limit:
            raise bad_request(f"{result_key} is too long")
        world.settings.setdefault(result_key, {})[params.text("language_code") or ""] = value
        return True

    async def getter(world: World, params: Params) -> JSON:
        values = world.settings.get(result_key, {})
        return {result_key: values.get(params.text("language_code") or "", values.get("", ""))}

    METHODS[f"setmy{name}".lower()] = (f"setMy{lower}", setter)
    METHODS[f"getmy{name}".lower()] = (f"getMy{lower}", getter)


_text_setting("description", "description", 512)
_text_setting("shortDescription", "short_description", 120)
_text_setting("name", "name", 64)


@method("setChatMenuButton")
async def set_chat_menu_button(world: World, params: Params) -> bool:
    world.settings["menu_button"] = params.structured("menu_button") or {"type": "default"}
    return True


@method("getChatMenuButton")
async def get_chat_menu_button(world: World, params: Params) -> JSON:
    button: JSON = world.settings.get("menu_button", {"type": "commands"})
    return button


# --- receiving updates ----------------------------------------------------------------------


@method("getUpdates")
async def get_updates(world: World, params: Params) -> list[JSON]:
    if world.webhook is not None:
        raise ApiError(409, WEBHOOK_ACTIVE)
    offset = params.integer("offset")
    limit = min(max(params.integer("limit") or 100, 1), 100)
    timeout = max(params.number("timeout") or 0.0, 0.0)
    allowed = params.structured("allowed_updates")
    if isinstance(allowed, list):
        world.allowed_updates = [str(kind) for kind in allowed] or None
    world.files.receiver_bot_id = params.caller_bot_id  # users' files now belong to this bot
    world.poll_generation += 1
    generation = world.poll_generation
    world.updates_signal.fire()  # an older poll still waiting is answered 409, as Telegram does
    world.confirm(offset)
    world.active_polls += 1
    deadline = time.monotonic() + timeout
    try:
        while True:
            ready = world.deliverable(limit, world.allowed_updates)
            remaining = deadline - time.monotonic()
            if ready or world.closing or remaining <= 0:
                return ready
            await world.updates_signal.wait(remaining)
            if world.poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            if world.webhook_set:  # a webhook set meanwhile ends the poll
                return []
    finally:
        world.active_polls -= 1
        world.last_poll = time.monotonic()


@method("setWebhook")
async def set_webhook(world: World, params: Params) -> bool:
    url = params.text("url") or ""
    if not url:
        world.webhook = None
        world.updates_signal.fire()
        return True
    if not re.match(r"https?://[^/\s]+", url):
        raise bad_request("bad webhook: invalid webhook URL specified")
    secret = params.text("secret_token")
    if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters")
    allowed = params.structured("allowed_updates")
    if params.flag("drop_pending_updates"):
        world.drop_pending()
    world.files.receiver_bot_id = params.caller_bot_id
    world.webhook = Webhook(
        url=url,
        secret_token=secret,
        max_connections=params.integer("max_connections") or 40,
        allowed_updates=[str(a) for a in allowed] if isinstance(allowed, list) and allowed else None,
        ip_address=params.text("ip_address"),
    )
    world.updates_signal.fire()  # wakes the deliverer, and any long poll (which then ends)
    return True


@method("deleteWebhook")
async def delete_webhook(world: World, params: Params) -> bool:
    if params.flag("drop_pending_updates"):
        world.drop_pending()
    world.webhook = None
    world.updates_signal.fire()
    return True


@method("getWebhookInfo")
async def get_webhook_info(world: World, params: Params) -> JSON:
    hook = world.webhook
    info: JSON = {"url": hook.url if hook else "", "has_custom_certificate": False}
    info["pending_update_count"] = len(world.deliverable(10**9, hook.allowed_updates if hook else None))
    if hook:
        info["max_connections"] = hook.max_connections
        for key in ("ip_address", "last_error_date", "last_error_message", "allowed_updates"):
            if getattr(hook, key) is not None:
                info[key] = getattr(hook, key)
    return info


# --- messages -------------------------------------------------------------------------------


@method("sendMessage")
async def send_message(world: World, params: Params) -> JSON:
    chat = world.writable_chat(params.chat_id(world))
    text, entities = parsed_text(params)
    keyboard, other_markup = inline_keyboard(params)
    options = send_options(params)
    if other_markup is not None:
        options["reply_markup"] = other_markup
    data = make_message(
        chat.allocate_message_id(),
        None if chat.type == "channel" else world.bot,
        chat,
        reply_to_message=reply_target(world, chat, params),
        text=text,
        entities=entities or None,
        reply_markup=keyboard,
        has_protected_content=True if options.get("protect_content") else None,
    )
    world.store(chat, data, from_bot=True, options=options)
    return data


@method("editMessageText")
async def edit_message_text(world: World, params: Params) -> JSON:
    chat, stored = editable(world, params)
    if "text" not in stored.data:
        raise bad_request("there is no text in the message to edit")
    text, entities = parsed_text(params)
    keyboard, _ = inline_keyboard(params)
    # Without a reply_markup Telegram removes the inline keyboard.
    return apply_edit(
        world, chat, stored, {"text": text, "entities": entities or None, "reply_markup": keyboard}
    )


@method("editMessageReplyMarkup")
async def edit_message_reply_markup(world: World, params: Params) -> JSON:
    chat, stored = editable(world, params)
    keyboard, _ = inline_keyboard(params)
    return apply_edit(world, chat, stored, {"reply_markup": keyboard})


@method("editMessageCaption")
async def edit_message_caption(world: World, params: Params) -> JSON:
    chat, stored = editable(world, params)
    if "text" in stored.data:
        raise bad_request("there is no caption in the message to edit")
    caption, entities = parsed_text(params, "caption", "caption_entities", caption=True)
    keyboard, _ = inline_keyboard(params)
    return apply_edit(
        world,
        chat,
        stored,
        {"caption": caption or None, "caption_entities": entities or None, "reply_markup": keyboard},
    )


# A bot may delete a message in a private chat only while it is under 48 hours old.
DELETABLE_FOR_SECONDS = 48 * 3600


def deletable(stored: StoredMessage) -> bool:
    return unix_now() - int(stored.data["date"]) < DELETABLE_FOR_SECONDS


@method("deleteMessage")
async def delete_message(world: World, params: Params) -> bool:
    chat = world.chat(params.chat_id(world))
    message_id = params.integer("message_id", required=True)
    assert message_id is not None
    stored = world.message(chat, message_id)
    if stored is None:
        raise bad_request("message to delete not found")
    if not deletable(stored):
        raise bad_request("message can't be deleted for everyone")
    stored.deleted = True
    world.event("deleted", chat.id, message=stored.view())
    return True


@method("deleteMessages")
async def delete_messages(world: World, params: Params) -> bool:
    chat = world.chat(params.chat_id(world))
    ids = params.structured("message_ids")
    if not isinstance(ids, list) or not ids:
        raise bad_request("message_ids is empty")
    for message_id in ids:
        stored = world.message(chat, int(message_id))
        if stored is not None and deletable(stored):  # Telegram skips what it cannot delete
            stored.deleted = True
            world.event("deleted", chat.id, message=stored.view())
    return True


@method("answerCallbackQuery")
async def answer_callback_query(world: World, params: Params) -> bool:
    query = world.callbacks.get(params.text("callback_query_id") or "")
    if query is None or query.answer is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.text("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answer = {
        "callback_query_id": query.id,
        "text": text,
        "show_alert": params.flag("show_alert"),
        "url": params.text("url"),
        "cache_time": params.integer("cache_time") or 0,
    }
    world.event("callback_answered", query.chat_id, answer=query.answer, message_id=query.message_id)
    return True


@method("sendChatAction")
async def send_chat_action(world: World, params: Params) -> bool:
    chat = world.writable_chat(params.chat_id(world))
    action = params.text("action", required=True)
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    world.event("action", chat.id, action=action)
    return True


# --- chats ----------------------------------------------------------------------------------


@method("getChat")
async def get_chat(world: World, params: Params) -> JSON:
    chat = world.chat(params.chat_id(world))
    return {
        **chat.api(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": False,
            "limited_gifts": False,
            "unique_gifts": False,
            "premium_subscription": False,
            "gifts_from_channels": False,
        },
    }


@method("getChatMember")
async def get_chat_member(world: World, params: Params) -> JSON:
    chat = world.chat(params.chat_id(world))
    user_id = params.integer("user_id", required=True)
    if user_id == world.bot.id:
        return {"status": "member" if chat.bot_member else "left", "user": world.bot.api()}
    user = world.users.get(user_id or 0)
    if user is None:
        raise bad_request("user not found")
    return {"status": "member", "user": user.api()}


@method("leaveChat")
async def leave_chat(world: World, params: Params) -> bool:
    chat = world.chat(params.chat_id(world))
    if chat.type == "private":
        raise bad_request("chat member status can't be changed in private chats")
    if not chat.bot_member:
        raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
    chat.bot_member = False
    world.event("left", chat.id)
    old = {"status": "administrator" if chat.type == "channel" else "member", "user": world.bot.api()}
    if chat.type == "channel":
        old.update(_ADMIN_RIGHTS)
    world.push_update(
        "my_chat_member",
        {
            "chat": chat.api(),
            "from": world.bot.api(),
            "date": unix_now(),
            "old_chat_member": old,
            "new_chat_member": {"status": "left", "user": world.bot.api()},
        },
    )
    return True


_ADMIN_RIGHTS: JSON = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": False,
    "can_restrict_members": False,
    "can_promote_members": False,
    "can_change_info": False,
    "can_invite_users": False,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
}


def member_status(world: World, status: str, chat_type: str) -> JSON:
    """A ChatMember object for the bot with `status` (rights filled in for administrators)."""
    member: JSON = {"status": status, "user": world.bot.api()}
    if status == "administrator":
        member.update(_ADMIN_RIGHTS)
        if chat_type != "channel":
            member.pop("can_post_messages")
            member.pop("can_edit_messages")
    elif status == "kicked":
        member["until_date"] = 0
    return member


def lookup(name: str) -> tuple[str, Method] | None:
    return METHODS.get(name.lower())
