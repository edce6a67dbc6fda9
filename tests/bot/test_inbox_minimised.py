"""The durable inbox keeps who is in an update by allow-list: ids and what the bot reads, no name.

Every user object anywhere in an update (the sender, a forward's origin, a replied-to sender, a
mention, a bot a message came via, a new member, one under a key Telegram adds later) keeps its id,
is_bot and an empty first name; every chat its id and type; a contact an empty number and name.
Signatures, custom titles and chat titles outside them go; so do where someone is (a shared
location's coordinates, a venue's address) and what their files are called. What is stored
(unsealed from SQLite and PostgreSQL) names nobody, python-telegram-bot still parses it, and the
bot's handlers choose the same handler for it as for the update Telegram sent.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import pytest
import telegram
from pydantic import SecretStr
from telegram import Update

from app.settings import Settings
from bot import inbox
from bot.app import build_application
from bot.services import BotApplication
from casework.vault.keys import KeyRing
from storage.db import Database

JSON = dict[str, Any]
LEASE = timedelta(seconds=30)
STUDENT = 7_310_000_001
URGENT = "he says he will bring a gun to school tomorrow"

# Planted names: none may be stored. Each is long and odd enough to be found only where planted.
NAMES = {
    "student_first": "Zelphine",
    "student_last": "Quarrington",
    "student_username": "zelq_2009",
    "friend_first": "Borvald",
    "friend_last": "Ostrander",
    "friend_username": "borv_ostr",
    "channel_title": "Qorvath Gazette",
    "channel_username": "qorvath_news",
    "author_signature": "Ilsabet Wrenfield",
    "hidden_name": "Ysolde Marchetti",
    "group_title": "Grade Ten Brimstone Crew",
    "admin_title": "Chief Snackwarden",
    "via_bot_name": "Gifomatic Finder",
    "via_bot_username": "gifomatic_bot",
    "contact_first": "Perpetua",
    "contact_last": "Vandersloot",
    "contact_phone": "+1 416 555 0199",
    "contact_vcard": "BEGIN:VCARD FN:Perpetua",
    "future_first": "Hieronyma",
    "future_username": "hieronyma_x",
    "future_nickname": "The Bold One of Pellworth",  # a field no list of names knows
    # Where someone is, and what their files are called.
    "home_latitude": "43.65321",
    "home_longitude": "-79.38318",
    "venue_address": "14 Wrenfield Crescent",
    "venue_place": "ChIJpTvG15DL1IkRd8S0KlBVNTI",
    "photo_file_name": "IMG_Zelphine_selfie_bedroom.jpg",
    "audio_performer": "Ilsabet and the Quarringtons",
}
HOME = {"latitude": float(NAMES["home_latitude"]), "longitude": float(NAMES["home_longitude"])}


def student() -> JSON:
    return {
        "id": STUDENT,
        "is_bot": False,
        "first_name": NAMES["student_first"],
        "last_name": NAMES["student_last"],
        "username": NAMES["student_username"],
        "language_code": "fr",
        "is_premium": True,
    }


def friend() -> JSON:
    return {
        "id": 7_310_000_002,
        "is_bot": False,
        "first_name": NAMES["friend_first"],
        "last_name": NAMES["friend_last"],
        "username": NAMES["friend_username"],
    }


def private_chat() -> JSON:
    user = student()
    return {"id": STUDENT, "type": "private", **{k: user[k] for k in ("first_name", "last_name", "username")}}


def channel() -> JSON:
    return {
        "id": -1_007_310_000_004,
        "type": "channel",
        "title": NAMES["channel_title"],
        "username": NAMES["channel_username"],
    }


def group(kind: str = "supergroup") -> JSON:
    return {"id": -1_007_310_000_003, "type": kind, "title": NAMES["group_title"], "is_forum": False}


def message(**fields: Any) -> JSON:
    return {"message_id": 41, "date": 1_700_000_000, "chat": private_chat(), "from": student(), **fields}


def updates() -> dict[str, JSON]:
    """Realistic updates, each as Telegram sends it, names and all."""
    mention = {"type": "text_mention", "offset": 0, "length": 2, "user": friend()}
    return {
        "forward from a channel, signed": message(
            text=URGENT,
            forward_origin={
                "type": "channel",
                "chat": channel(),
                "message_id": 9,
                "date": 1_699_999_000,
                "author_signature": NAMES["author_signature"],
            },
            # The fields Telegram sent before forward_origin (python-telegram-bot keeps them aside).
            forward_from_chat=channel(),
            forward_from_message_id=9,
            forward_signature=NAMES["author_signature"],
            forward_date=1_699_999_000,
        ),
        "forward from a hidden user": message(
            text=URGENT,
            forward_origin={
                "type": "hidden_user",
                "date": 1_699_999_000,
                "sender_user_name": NAMES["hidden_name"],
            },
            forward_sender_name=NAMES["hidden_name"],
            forward_date=1_699_999_000,
        ),
        "forward from a user": message(
            text="look what he sent me",
            forward_origin={"type": "user", "date": 1_699_999_000, "sender_user": friend()},
            forward_from=friend(),
            forward_date=1_699_999_000,
        ),
        "forward from a group's anonymous admin": message(
            text="look at this",
            forward_origin={
                "type": "chat",
                "date": 1_699_999_000,
                "sender_chat": group(),
                "author_signature": NAMES["admin_title"],
            },
        ),
        "reply to another user's message, quoting it": message(
            text="he did it again",
            entities=[mention],
            reply_to_message={
                "message_id": 40,
                "date": 1_699_999_900,
                "chat": private_chat(),
                "from": friend(),
                "text": "hi there",
            },
            external_reply={
                "origin": {"type": "user", "date": 1_699_999_000, "sender_user": friend()},
                "chat": channel(),
                "message_id": 3,
            },
            quote={"text": "hi", "position": 0},
        ),
        "a message via a bot": message(
            caption="this is him",
            photo=[{"file_id": "AgACAgQAAxkBAAIB", "file_unique_id": "AQADAgAT", "width": 90, "height": 90}],
            via_bot={
                "id": 7_310_000_009,
                "is_bot": True,
                "first_name": NAMES["via_bot_name"],
                "username": NAMES["via_bot_username"],
            },
        ),
        "a contact": message(
            contact={
                "phone_number": NAMES["contact_phone"],
                "first_name": NAMES["contact_first"],
                "last_name": NAMES["contact_last"],
                "user_id": 7_310_000_002,
                "vcard": NAMES["contact_vcard"],
            }
        ),
        "a shared location": message(location={**HOME, "horizontal_accuracy": 12.5, "live_period": 900}),
        "a venue": message(
            location=HOME,
            venue={
                "location": HOME,
                "title": "my place",
                "address": NAMES["venue_address"],
                "google_place_id": NAMES["venue_place"],
            },
        ),
        "an image sent as a file": message(
            caption="this is what he posted",
            document={
                "file_id": "BQACAgQAAxkBAAIC",
                "file_unique_id": "AgADBQAC",
                "file_name": NAMES["photo_file_name"],
                "mime_type": "image/jpeg",
                "file_size": 48_211,
            },
        ),
        "a voice memo as audio": message(
            audio={
                "file_id": "CQACAgQAAxkBAAID",
                "file_unique_id": "AgADCQAC",
                "duration": 31,
                "performer": NAMES["audio_performer"],
                "title": "what he said",
            }
        ),
        "a callback query": {
            "id": "4382bfdwdsb323b2d9",
            "from": student(),
            "chat_instance": "-1234567890123",
            "data": "danger:yes",
            "message": {
                "message_id": 42,
                "date": 1_700_000_000,
                "chat": private_chat(),
                "from": {
                    "id": 7_310_000_008,
                    "is_bot": True,
                    "first_name": "SRO Connect",
                    "username": "sro_bot",
                },
                "text": "Is someone in danger right now?",
                "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "danger:yes"}]]},
            },
        },
        "an edited message": message(text=URGENT, edit_date=1_700_000_100),
        "a supergroup message from its anonymous admin": {
            **message(text="hello everyone", sender_tag=NAMES["admin_title"]),
            "chat": group(),
            "sender_chat": group(),
            "author_signature": NAMES["admin_title"],
        },
        "new members in a group": {
            **message(new_chat_members=[friend(), student()]),
            "chat": group("group"),
        },
        "an unknown field holding a user": message(
            text="a gift for you",
            gift_from_a_friend={
                "giver": {
                    "id": 7_310_000_005,
                    "is_bot": False,
                    "first_name": NAMES["future_first"],
                    "username": NAMES["future_username"],
                    "nickname": NAMES["future_nickname"],
                },
                "stars": 5,
            },
        ),
    }


KINDS = {"a callback query": "callback_query", "an edited message": "edited_message"}


def raw_update(label: str, update_id: int) -> JSON:
    return {"update_id": update_id, KINDS.get(label, "message"): updates()[label]}


def old_minimised(value: Any) -> Any:
    """The deny-list this replaced (a copy): for the positive control only."""
    dropped = {"last_name", "username", "usernames", "language_code", "is_premium", "vcard", "bio"}
    emptied = {"first_name", "phone_number", "sender_user_name"}
    if isinstance(value, Mapping):
        return {
            key: "" if key in emptied and isinstance(item, str) else old_minimised(item)
            for key, item in value.items()
            if key not in dropped
        }
    if isinstance(value, list):
        return [old_minimised(item) for item in value]
    return value


def planted(data: Any) -> list[str]:
    text = json.dumps(data, ensure_ascii=False)
    return sorted(name for name in NAMES.values() if name in text)


def application() -> BotApplication:
    """The bot's application with its real handlers (nothing started: only its choice of handler)."""
    settings = Settings(_env_file=None, telegram_bot_token=SecretStr("123456:" + "x" * 35))  # type: ignore[call-arg]
    return build_application(settings)


def chosen(app: BotApplication, update: Update) -> list[tuple[int, str]]:
    """In each handler group, the handler the application would run for the update."""
    picks = []
    for group_number in sorted(app.handlers):
        for handler in app.handlers[group_number]:
            check = handler.check_update(update)
            if check is not None and check is not False:
                callback = getattr(handler.callback, "__qualname__", repr(handler.callback))
                picks.append((group_number, f"{type(handler).__name__} {callback}"))
                break
    return picks


def what_the_bot_reads(update: Update) -> JSON:
    """Everything of an update the bot's handlers read (grep bot/ for them)."""
    message = update.effective_message
    chat = update.effective_chat
    query = update.callback_query
    read: JSON = {
        "chat": None if chat is None else (chat.id, chat.type),
        "user": None if update.effective_user is None else update.effective_user.id,
        "query": None if query is None else (query.id, query.data),
    }
    if message is not None:
        origin = message.forward_origin
        read |= {
            "message_id": message.message_id,
            "date": message.date,
            "text": message.text,
            "text_html": message.text_html if message.text else None,
            "caption": message.caption,
            "entities": [(e.type, e.offset, e.length) for e in message.entities],
            "photo": [(p.file_id, p.file_size, p.width) for p in message.photo],
            "document": message.document.file_id if message.document else None,
            "forward": None if origin is None else origin.type,
            "contact": message.contact is not None,
            "location": message.location is not None,
            "venue": message.venue is not None,
            "document_size": message.document.file_size if message.document else None,
            "mime_type": message.document.mime_type if message.document else None,
            "audio": None if message.audio is None else message.audio.file_id,
            "edited": message.edit_date,
            "reply_to": None if message.reply_to_message is None else message.reply_to_message.message_id,
            "markup": None if message.reply_markup is None else message.reply_markup.to_dict(),
            "new_members": [u.id for u in message.new_chat_members],
            "sender_chat": None if message.sender_chat is None else message.sender_chat.id,
        }
    return read


def test_every_planted_name_is_in_the_updates_and_the_old_deny_list_kept_some() -> None:
    """Positive control: the updates as Telegram sends them hold every planted name, and the deny-list
    this replaced kept a channel's title, a signature, an admin's custom title, a hidden sender's
    old-style name, a user's field it had no name for, a place and a file's name."""
    everything = {label: raw_update(label, 1) for label in updates()}
    assert planted(everything) == sorted(NAMES.values())
    kept = planted(old_minimised(everything))
    for name in (
        "channel_title",
        "author_signature",
        "group_title",
        "admin_title",
        "hidden_name",
        "future_nickname",
        "home_latitude",
        "venue_address",
        "photo_file_name",
        "audio_performer",
    ):
        assert NAMES[name] in kept, name
    assert NAMES["future_first"] not in kept  # it did empty first names (the new rule keeps doing so)


async def test_a_stored_update_names_nobody_and_is_handled_as_telegram_sent_it(
    database: Database, keys: KeyRing, now: datetime
) -> None:
    """Both forms the inbox stores: the polled update as Telegram sent it (ids 100...), and the
    webhook's, as python-telegram-bot gives it back (ids 200...: Update.to_dict)."""
    labels = list(updates())
    sent = {100 + i: raw_update(label, 100 + i) for i, label in enumerate(labels)}
    sent |= {
        200 + i: Update.de_json(raw_update(label, 200 + i), None).to_dict() for i, label in enumerate(labels)
    }
    async with database.transaction() as session:
        incoming = [inbox.Incoming(update_id, STUDENT, data) for update_id, data in sent.items()]
        assert await inbox.store(session, keys, incoming, now) == set(sent)
    stored: dict[int, JSON] = {}
    for _ in sent:  # one chat key for all: handed out one at a time, in order
        async with database.transaction() as session:
            (entry,) = await inbox.claim(session, keys, "w1", now, lease=LEASE, limit=len(sent))
            await inbox.finish(session, entry.update_id)
        stored[entry.update_id] = entry.data
    assert sorted(stored) == sorted(sent)
    app = application()
    for update_id, data in stored.items():
        label = labels[update_id % 100]
        assert planted(sent[update_id]) != [], label  # positive control: Telegram named someone
        assert planted(data) == [], label
        parsed, original = Update.de_json(data, None), Update.de_json(raw_update(label, update_id), None)
        assert what_the_bot_reads(parsed) == what_the_bot_reads(original), label
        assert chosen(app, parsed) == chosen(app, original), label
        assert chosen(app, parsed), label  # some handler takes each of them
    # What the handlers see of a forward: that it is one, and its words; of a contact, that it is one.
    forward = Update.de_json(stored[100], None).effective_message
    assert forward is not None
    assert forward.text == URGENT
    assert forward.forward_origin is not None
    assert forward.forward_origin.type == "channel"
    assert stored[100]["message"]["forward_origin"]["chat"] == {"id": channel()["id"], "type": "channel"}
    assert stored[100]["message"]["from"] == {"id": STUDENT, "is_bot": False, "first_name": ""}
    assert stored[100]["message"]["chat"] == {"id": STUDENT, "type": "private"}
    contact = stored[100 + labels.index("a contact")]["message"]["contact"]
    assert contact == {"phone_number": "", "first_name": ""}
    hidden = stored[100 + labels.index("forward from a hidden user")]["message"]
    assert hidden["forward_origin"]["sender_user_name"] == ""
    # A place: that it is one, nowhere (python-telegram-bot requires the numbers and the address).
    where = stored[100 + labels.index("a shared location")]["message"]["location"]
    assert where == {"latitude": 0.0, "longitude": 0.0}
    venue = stored[100 + labels.index("a venue")]["message"]["venue"]
    assert venue == {"location": {"latitude": 0.0, "longitude": 0.0}, "title": "", "address": ""}
    document = stored[100 + labels.index("an image sent as a file")]["message"]["document"]
    assert "file_name" not in document
    assert document["file_id"] == "BQACAgQAAxkBAAIC"


def _annotated(target: type) -> Iterator[tuple[str, str]]:
    """(class, field) of every python-telegram-bot object field annotated as holding `target`."""
    pattern = re.compile(rf"\b{target.__name__}\b")
    for name in dir(telegram):
        cls = getattr(telegram, name)
        if not (inspect.isclass(cls) and issubclass(cls, telegram.TelegramObject)):
            continue
        for parameter in inspect.signature(cls.__init__).parameters.values():
            if pattern.search(str(parameter.annotation)):
                yield name, "from" if parameter.name == "from_user" else parameter.name


@pytest.mark.parametrize("target", [telegram.User, telegram.Chat])
def test_every_field_python_telegram_bot_knows_to_hold_a_user_or_chat_is_minimised(target: type) -> None:
    """By its key or its shape: a user or chat planted under each such field, in an object the inbox
    knows nothing of, keeps no name."""
    fields = sorted(set(_annotated(target)))
    assert len(fields) > 10, fields  # the introspection found them (Message.from, Message.chat, ...)
    if target is telegram.User:
        person: JSON = {"id": 5, "is_bot": False, "first_name": "Hieronyma", "username": "hieronyma_x"}
        reduced: JSON = {"id": 5, "is_bot": False, "first_name": ""}
    else:
        person = {"id": -5, "type": "supergroup", "title": "Hieronyma Club", "username": "hieronyma_x"}
        reduced = {"id": -5, "type": "supergroup"}
    for cls, field in fields:
        kept = inbox.minimised({"some_future_object": {field: person, "also": [person]}})
        assert kept == {"some_future_object": {field: reduced, "also": [reduced]}}, (cls, field)
    # By shape alone, under a key nobody knows yet.
    assert inbox.minimised({"x": {"y": person}}) == {"x": {"y": reduced}}
    # By key alone, even when the object lacks what makes its shape (an unusual one).
    assert inbox.minimised({"from": {"id": 5, "first_name": "Hieronyma", "is_bot": "no"}}) == {
        "from": {"id": 5, "first_name": ""}
    }
    assert inbox.minimised({"from": "Hieronyma", "chat": ["Hieronyma Club", 5]}) == {
        "from": "",
        "chat": ["", 5],
    }


# Where the updates above hold a user or a chat.
HOLDERS = {
    "from",
    "chat",
    "sender_chat",
    "user",
    "sender_user",
    "via_bot",
    "forward_from",
    "forward_from_chat",
    "giver",
}


def test_objects_that_are_not_users_or_chats_are_kept() -> None:
    """Control: the shape test takes nothing else for a user or chat; what the bot reads stays whole."""
    for label in updates():
        data = raw_update(label, 1)
        for path, value in _mappings(data):
            if (path[-1:] and path[-1] in HOLDERS) or path[-2:-1] == ("new_chat_members",):
                assert inbox.is_user(value) or inbox.is_chat(value), (label, path)
            else:
                assert not inbox.is_user(value), (label, path)
                assert not inbox.is_chat(value), (label, path)
    content = {
        "photo": [{"file_id": "AgAC", "file_unique_id": "AQAD", "width": 9, "height": 9, "file_size": 77}],
        "entities": [{"type": "bold", "offset": 0, "length": 2}],
        "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "danger:yes"}]]},
        "sticker": {"file_id": "CAAC", "file_unique_id": "AgAD", "type": "regular", "width": 1, "height": 1},
        "text": URGENT,
        "forward_origin": {"type": "hidden_user", "date": 1},
    }
    assert inbox.minimised(content) == content


def _mappings(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Mapping[str, Any]]]:
    if isinstance(value, Mapping):
        yield path, value
        for key, inner in value.items():
            yield from _mappings(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _mappings(inner, (*path, index))
