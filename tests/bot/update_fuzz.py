"""Fuzzing the real bot with generated Telegram updates: the strategies, the rig, the checks.

The rig runs `bot.app.build_application` as production does, against the Bot API emulator over
HTTP (which refuses what Telegram refuses), with the real fallback classifier (no Rasa server:
`Classifier(None, ...)`, the path the bot takes when Rasa is unreachable). Each generated update
is queued in the emulator and fetched with `bot.get_updates`, so python-telegram-bot parses it
exactly as in polling, and the durable intake stores it (minimised, sealed) before the fetch
returns, as `python -m bot` does. The intake's worker then claims it and handles it from what was
stored; the rig waits until the update is marked handled, which happens once every handler has
run: no timing is involved in deciding what the bot answered.

Identities are placeholders in the generated JSON, replaced by fresh ids per example, so that
every example is a new chat (the flood limit, which slows a chat down on purpose, never applies).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from pydantic import SecretStr
from telegram import Update

from app.settings import Settings
from bot import catalog, inbox
from bot.app import build_application
from bot.services import BotApplication, BotContext, Services
from casework import schools
from casework.vault.master_key import KeySource, MasterKey
from devtools.emulator import Emulator
from devtools.emulator.formatting import parse_html
from devtools.emulator.state import CallbackRecord, ChatRecord, World
from devtools.procs import eventually
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from storage import migrations

JSON = dict[str, Any]

# Placeholders the rig replaces with fresh values (none of them is a plausible real value).
USER = 7_770_000_001
OTHER_USER = 7_770_000_002
GROUP = -7_770_000_003
CHANNEL = -1_007_770_000_004
MESSAGE_ID = 777_000_005
BOT_MESSAGE_ID = 777_000_006
QUERY_ID = "query-placeholder-7770007"
BOT = 7_770_000_008
PLACEHOLDERS = {USER, OTHER_USER, GROUP, CHANNEL, MESSAGE_ID, BOT_MESSAGE_ID, BOT}

PRIVATE_KINDS = ("message", "edited_message", "callback_query")
KNOWN_QUIET_KINDS = (
    "inline_query",
    "chosen_inline_result",
    "poll",
    "poll_answer",
    "message_reaction",
    "shipping_query",
    "pre_checkout_query",
)

# --- strategies ------------------------------------------------------------------------------

# Any Unicode a Telegram client can send (no lone surrogates: they are not text, and Telegram's
# JSON never carries them); control characters, RTL marks, combining marks and emoji included.
CHARACTERS = st.characters(codec="utf-8", exclude_categories=["Cs"])
MARKUP = st.sampled_from(["<", ">", "&", "&amp;", "<b>", "</b>", "<script>", '"', "'", "\\", "*", "_", "`"])
EMOJI = st.sampled_from(["😀", "👩‍👩‍👧", "🏳️‍🌈", "🇨🇦", "🔪", "💀", "\u200d", "\u202e", "\ufe0f", "𝕏"])


@st.composite
def texts(draw: st.DrawFn, min_size: int = 1) -> str:
    """Short and long texts: any script, emoji, markup characters, up to beyond Telegram's limit."""
    pieces = st.one_of(st.text(CHARACTERS, min_size=1, max_size=40), MARKUP, EMOJI)
    kind = draw(st.sampled_from(["short", "short", "short", "long", "huge"]))
    if kind == "short":
        text = "".join(draw(st.lists(pieces, min_size=min_size, max_size=8)))
    else:
        unit = "".join(draw(st.lists(pieces, min_size=1, max_size=6)))
        size = draw(st.integers(3000, 4096) if kind == "long" else st.integers(4097, 12_000))
        text = (unit * (size // max(len(unit), 1) + 1))[:size]
    return text if len(text) >= min_size else text + "x"


names = st.text(CHARACTERS, min_size=1, max_size=64)
usernames = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{4,31}", fullmatch=True)


@st.composite
def users(draw: st.DrawFn, user_id: int = USER) -> JSON:
    user: JSON = {"id": user_id, "is_bot": False, "first_name": draw(names)}
    for key, value in (
        ("last_name", names),
        ("username", usernames),
        ("language_code", st.sampled_from(["en", "fr", "uk", "ar", "zh-hans"])),
    ):
        if draw(st.booleans()):
            user[key] = draw(value)
    if draw(st.booleans()):
        user["is_premium"] = True
    return user


def private_chat(user: JSON) -> JSON:
    return {
        "id": user["id"],
        "type": "private",
        **{k: user[k] for k in ("first_name", "last_name", "username") if k in user},
    }


@st.composite
def group_chats(draw: st.DrawFn) -> JSON:
    kind = draw(st.sampled_from(["group", "supergroup"]))
    chat: JSON = {"id": GROUP, "type": kind, "title": draw(names)}
    if kind == "supergroup" and draw(st.booleans()):
        chat["is_forum"] = True
    return chat


COMMANDS = [
    "start",
    "help",
    "privacy",
    "cancel",
    "forget",
    "status",
    "done",
    "enroll",
    "launchmissiles",
    "s",
    "x" * 32,
    "Start",
    "STATUS",
]


@st.composite
def commands(draw: st.DrawFn) -> JSON:
    name = draw(st.one_of(st.sampled_from(COMMANDS), st.from_regex(r"[A-Za-z0-9_]{1,32}", fullmatch=True)))
    command = f"/{name}" + draw(st.sampled_from(["", "", "@sro_connect_test_bot", "@other_bot"]))
    argument = draw(st.one_of(st.just(""), texts().map(lambda t: " " + t)))
    text = (command + argument)[:4096]
    return {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}]}


def file_fields(prefix: str) -> st.SearchStrategy[JSON]:
    return st.fixed_dictionaries(
        {
            "file_id": st.from_regex(rf"{prefix}[A-Za-z0-9_-]{{20,60}}", fullmatch=True),
            "file_unique_id": st.from_regex(r"[A-Za-z0-9_-]{8,16}", fullmatch=True),
        },
        optional={"file_size": st.integers(0, 20_000_000)},
    )


# What each kind of message carries. Builders of kinds with a file get the drawn file fields and
# caption; the others get a drawn location (drawn for all of them, as before, so that a seed gives
# the same examples).
Carrier = Callable[[st.DrawFn, JSON, JSON], JSON]


def _sticker(draw: st.DrawFn, file: JSON, caption: JSON) -> JSON:
    return {
        "sticker": {
            **file,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": draw(EMOJI),
        }
    }


def _photo(draw: st.DrawFn, file: JSON, caption: JSON) -> JSON:
    return {
        "photo": [{**file, "width": draw(st.integers(1, 4000)), "height": draw(st.integers(1, 4000))}],
        **caption,
    }


_WITH_FILE: dict[str, Carrier] = {
    "text": lambda draw, file, caption: {"text": draw(texts())},
    "command": lambda draw, file, caption: draw(commands()),
    "photo": _photo,
    "sticker": _sticker,
    "voice": lambda draw, file, caption: {
        "voice": {**file, "duration": draw(st.integers(0, 3600))},
        **caption,
    },
    "document": lambda draw, file, caption: {
        "document": {**file, "file_name": draw(names), "mime_type": "application/pdf"},
        **caption,
    },
    "video": lambda draw, file, caption: {
        "video": {**file, "width": 640, "height": 480, "duration": 3},
        **caption,
    },
    "audio": lambda draw, file, caption: {"audio": {**file, "duration": 60, "title": draw(names)}, **caption},
    "animation": lambda draw, file, caption: {
        "animation": {**file, "width": 320, "height": 240, "duration": 2},
        **caption,
    },
    "video_note": lambda draw, file, caption: {"video_note": {**file, "length": 240, "duration": 5}},
}


def _contact(draw: st.DrawFn, location: JSON) -> JSON:
    return {
        "contact": {
            "phone_number": draw(st.from_regex(r"\+?[0-9]{6,15}", fullmatch=True)),
            "first_name": draw(names),
            "user_id": OTHER_USER,
        }
    }


def _poll(draw: st.DrawFn, location: JSON) -> JSON:
    return {
        "poll": {
            "id": "5",
            "question": draw(names),
            "options": [
                {"text": "a", "voter_count": 0, "persistent_id": "a1"},
                {"text": "b", "voter_count": 0, "persistent_id": "b2"},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
    }


def _forward(draw: st.DrawFn, location: JSON) -> JSON:
    hidden = st.fixed_dictionaries(
        {"type": st.just("hidden_user"), "sender_user_name": names, "date": st.integers(1, 2**31)}
    )
    known = users(OTHER_USER).map(lambda u: {"type": "user", "sender_user": u, "date": 1_700_000_000})
    origin = draw(st.one_of(hidden, known))
    return {"text": draw(texts()), "forward_origin": origin}


def _reply(draw: st.DrawFn, location: JSON) -> JSON:
    return {
        "text": draw(texts()),
        "reply_to_message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": USER, "type": "private", "first_name": "x"},
            "text": draw(texts()),
        },
    }


def _service(draw: st.DrawFn, location: JSON) -> JSON:
    """Members joining, a title change, a pinned message."""
    return draw(
        st.sampled_from(
            [
                {"new_chat_title": "t"},
                {"group_chat_created": True},
                {"left_chat_member": {"id": OTHER_USER, "is_bot": False, "first_name": "L"}},
                {"new_chat_members": [{"id": OTHER_USER, "is_bot": False, "first_name": "N"}]},
            ]
        )
    )


_WITHOUT_FILE: dict[str, Callable[[st.DrawFn, JSON], JSON]] = {
    "location": lambda draw, location: {"location": location},
    "venue": lambda draw, location: {
        "venue": {"location": location, "title": draw(names), "address": draw(names)},
        "location": location,
    },
    "contact": _contact,
    "dice": lambda draw, location: {"dice": {"emoji": "🎲", "value": draw(st.integers(1, 6))}},
    "poll": _poll,
    "forward": _forward,
    "reply": _reply,
    "service": _service,
}
# Text three times and commands twice: what students mostly send.
_KINDS = [
    "text",
    "text",
    "text",
    "command",
    "command",
    *[k for k in _WITH_FILE if k not in ("text", "command")],
]
_KINDS += list(_WITHOUT_FILE)


@st.composite
def contents(draw: st.DrawFn) -> JSON:
    """What a message carries, of every kind a student's client can send."""
    caption = {"caption": draw(texts())} if draw(st.booleans()) else {}
    kind = draw(st.sampled_from(_KINDS))
    file = draw(file_fields("AgAC"))
    if kind in _WITH_FILE:
        return _WITH_FILE[kind](draw, file, caption)
    location = {"latitude": draw(st.floats(-90, 90)), "longitude": draw(st.floats(-180, 180))}
    return _WITHOUT_FILE[kind](draw, location)


@dataclass(frozen=True)
class Case:
    """One generated update and what the product must do with it."""

    update: JSON  # the raw update, with placeholders
    # "answer" | "quiet" | "group" (only the group notice, then leave) | "free" (no rule on answers)
    # | "any" (malformed: only counted)
    expect: str
    label: str  # the kind, for the statistics


def _secrets_of(value: Any) -> Iterator[str]:
    """Every string in the update a student wrote or that names someone (not ids, not file ids)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in (
                "text",
                "caption",
                "first_name",
                "last_name",
                "username",
                "title",
                "sender_user_name",
                "data",
                "phone_number",
                "question",
                "address",
                "file_name",
                "query",
            ) and isinstance(inner, str):
                yield inner
            else:
                yield from _secrets_of(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _secrets_of(inner)


@st.composite
def private_messages(draw: st.DrawFn) -> Case:
    user = draw(users())
    edited = draw(st.integers(0, 5)) == 0
    message = {
        "message_id": MESSAGE_ID,
        "from": user,
        "chat": private_chat(user),
        "date": 1_700_000_000,
        **draw(contents()),
    }
    if edited:
        message["edit_date"] = 1_700_000_100
    kind = "edited_message" if edited else "message"
    service = any(
        k in message for k in ("new_chat_title", "group_chat_created", "left_chat_member", "new_chat_members")
    )
    # Today the bot answers an edit in a private chat with a notice (tests/bot/test_student_edges.py).
    # Service messages (a title change in a private chat) cannot come from a client: no rule on them.
    expect = "free" if service else "answer"
    content = next(k for k in message if k not in ("message_id", "from", "chat", "date", "edit_date"))
    if any(e.get("type") == "bot_command" for e in message.get("entities", ())):
        content = "command"
    label = f"private {kind}: {content}"
    return Case({"update_id": 0, kind: message}, expect, label)


@st.composite
def callback_queries(draw: st.DrawFn) -> Case:
    user = draw(users())
    known = st.sampled_from(
        [
            "school:none",
            "school:1",
            "school:999999",
            "skip",
            "danger:yes",
            "danger:maybe",
            "send",
            "edit:what",
            "edit:",
            "cancel",
            "dym:other",
            "dym:report_weapon",
            "notify:yes",
            "reply",
            "o:ack:1",
            "o:open:99",
            "o:outcome:1:resolved",
            ":",
            "school:-1",
            "school:１",
        ]
    )
    forged = st.text(CHARACTERS, min_size=1, max_size=64).filter(lambda s: len(s.encode()) <= 64)
    data = draw(st.one_of(known, forged))
    buttons = {"inline_keyboard": [[{"text": draw(names), "callback_data": data}]]}
    message = {
        "message_id": BOT_MESSAGE_ID,
        "from": {"id": BOT, "is_bot": True, "first_name": "SRO Connect", "username": "sro_connect_test_bot"},
        "chat": private_chat(user),
        "date": 1_700_000_000,
        "text": draw(texts()),
        "reply_markup": buttons,
    }
    query = {
        "id": QUERY_ID,
        "from": user,
        "chat_instance": "-1234567890123",
        "data": data,
        "message": message,
    }
    return Case({"update_id": 0, "callback_query": query}, "answer", "private callback_query")


@st.composite
def group_updates(draw: st.DrawFn) -> Case:
    user = draw(users())
    chat = draw(group_chats())
    kind = draw(
        st.sampled_from(
            [
                "message",
                "edited_message",
                "my_chat_member_added",
                "my_chat_member_removed",
                "chat_join_request",
            ]
        )
    )
    message = {
        "message_id": MESSAGE_ID,
        "from": user,
        "chat": chat,
        "date": 1_700_000_000,
        **draw(contents()),
    }
    if kind in ("message", "edited_message"):
        if kind == "edited_message":
            message["edit_date"] = 1_700_000_100
        return Case({"update_id": 0, kind: message}, "group", f"group {kind}")
    if kind == "chat_join_request":
        return Case(
            {"update_id": 0, kind: {"chat": chat, "from": user, "user_chat_id": USER, "date": 1_700_000_000}},
            "group",
            "group chat_join_request",
        )
    bot = {"id": BOT, "is_bot": True, "first_name": "SRO Connect", "username": "sro_connect_test_bot"}
    old, new = (
        ("left", "member")
        if kind.endswith("added")
        else ("member", draw(st.sampled_from(["left", "kicked"])))
    )
    new_member: JSON = {"status": new, "user": bot}
    if new == "kicked":
        new_member["until_date"] = 0
    member = {
        "chat": chat,
        "from": user,
        "date": 1_700_000_000,
        "old_chat_member": {"status": old, "user": bot},
        "new_chat_member": new_member,
    }
    # Added to a group: the notice, then the bot leaves. Removed: nothing to say, nobody to say it to.
    return Case(
        {"update_id": 0, "my_chat_member": member}, "group" if new == "member" else "quiet", f"group {kind}"
    )


@st.composite
def channel_posts(draw: st.DrawFn) -> Case:
    chat = {"id": CHANNEL, "type": "channel", "title": draw(names)}
    kind = draw(st.sampled_from(["channel_post", "edited_channel_post"]))
    post = {
        "message_id": MESSAGE_ID,
        "sender_chat": chat,
        "chat": chat,
        "date": 1_700_000_000,
        **draw(contents()),
    }
    return Case({"update_id": 0, kind: post}, "group", kind)


@st.composite
def quiet_updates(draw: st.DrawFn) -> Case:
    """Updates that are not a student writing: blocking the bot, reactions, inline queries, unknown kinds."""
    user = draw(users())
    bot = {"id": BOT, "is_bot": True, "first_name": "SRO Connect"}
    kind = draw(
        st.sampled_from(
            ["blocked", "unblocked", "message_reaction", "inline_query", "poll_answer", "unknown"]
        )
    )
    if kind in ("blocked", "unblocked"):
        old, new = ("member", "kicked") if kind == "blocked" else ("kicked", "member")
        new_member: JSON = {"status": new, "user": bot, **({"until_date": 0} if new == "kicked" else {})}
        old_member: JSON = {"status": old, "user": bot, **({"until_date": 0} if old == "kicked" else {})}
        payload: JSON = {
            "chat": private_chat(user),
            "from": user,
            "date": 1_700_000_000,
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        return Case({"update_id": 0, "my_chat_member": payload}, "quiet", f"private my_chat_member {kind}")
    if kind == "message_reaction":
        payload = {
            "chat": private_chat(user),
            "message_id": 1,
            "user": user,
            "date": 1_700_000_000,
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}],
        }
        return Case({"update_id": 0, kind: payload}, "quiet", kind)
    if kind == "inline_query":
        payload = {"id": "1", "from": user, "query": draw(texts()), "offset": ""}
        return Case({"update_id": 0, kind: payload}, "quiet", kind)
    if kind == "poll_answer":
        payload = {"poll_id": "1", "user": user, "option_ids": [0], "option_persistent_ids": ["a1"]}
        return Case({"update_id": 0, kind: payload}, "quiet", kind)
    name = draw(
        st.from_regex(r"[a-z][a-z_]{2,30}", fullmatch=True).filter(lambda n: n not in Update.ALL_TYPES)
    )
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(CHARACTERS, max_size=20),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
        max_leaves=8,
    )
    payload = {"chat": private_chat(user), "from": user, "text": draw(texts()), "extra": draw(json_values)}
    return Case({"update_id": 0, name: payload}, "quiet", "unknown kind")


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*prefix, key)
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield (*prefix, index)
            yield from _paths(inner, (*prefix, index))


@st.composite
def malformed(draw: st.DrawFn, valid: st.SearchStrategy[Case]) -> Case:
    """A valid update with one field missing or of the wrong type (what a future API change might send)."""
    case = draw(valid)
    update = json.loads(json.dumps(case.update))
    paths = [p for p in _paths(update) if p[0] != "update_id" or len(p) > 1]
    path = draw(st.sampled_from(paths))
    parent = update
    for step in path[:-1]:
        parent = parent[step]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(-(2**63), 2**63),
                st.floats(allow_nan=False),
                st.text(CHARACTERS, max_size=30),
                st.just([]),
                st.just({}),
            )
        )
    return Case(update, "any", "malformed " + case.label.split(":")[0])


well_formed = st.one_of(
    private_messages(),
    private_messages(),
    private_messages(),
    callback_queries(),
    group_updates(),
    channel_posts(),
    quiet_updates(),
)
cases = st.one_of(well_formed, well_formed, well_formed, malformed(well_formed))


# --- the rig ---------------------------------------------------------------------------------


class _Records(logging.Handler):
    """Every log record at ERROR or above, from any logger (python-telegram-bot's CRITICAL included)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Outcome:
    parsed: bool
    sent: list[str]  # plain texts of the messages the bot sent in the update's chat
    answered_query: bool
    calls: list[tuple[str, int, str | None]]  # (method, status, description) of every Bot API call
    errors: list[BaseException]  # exceptions that reached python-telegram-bot's error handlers
    records: list[logging.LogRecord]  # log records at ERROR or above


@dataclass
class Rig:
    emu: Emulator
    world: World
    app: BotApplication
    services: Services
    db_path: Path
    only_private: str
    handler: _Records = field(default_factory=_Records)
    errors: list[BaseException] = field(default_factory=list)
    needles: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def start(cls, directory: Path) -> Rig:
        emu = await Emulator().start()
        assert emu.server is not None
        db_path = directory / "fuzz.db"
        url = f"sqlite+aiosqlite:///{db_path}"
        await migrations.upgrade(url)
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            telegram_bot_token=SecretStr(emu.token),
            telegram_api_base_url=emu.base_url,
            database_url=url,
            nlu_url="http://127.0.0.1:9",  # unused: the classifier below has no Rasa client
            nlu_token=SecretStr("unused-" + secrets.token_urlsafe(8)),
            sro_master_key=SecretStr(MasterKey.generate(KeySource("environment")).encoded()),
            telegram_pacing=False,  # Telegram's 30 msg/s pacing would only make the fuzz slow
        )
        classifier = Classifier(None, FallbackModel.load_or_train())
        services = await Services.start(settings, classifier=classifier)
        async with services.db.transaction() as session:  # schools to choose from, as in production
            for name, code in (("Maple Ridge Secondary School", "MRS"), ("Lakeshore Collegiate", "LSC")):
                await schools.add_school(session, schools.NewSchool.checked(name, code), services.now())
        app = build_application(settings, services=services, durable=True)  # as `python -m bot` runs
        rig = cls(emu, emu.server.world, app, services, db_path, parse_html(catalog.t("only_private"))[0])

        async def collect(update: object, context: BotContext) -> None:
            assert context.error is not None
            rig.errors.append(context.error)

        app.add_error_handler(collect)
        await app.initialize()
        assert app.post_init is not None
        await app.post_init(app)
        logging.getLogger().addHandler(rig.handler)
        return rig

    async def stop(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        assert self.app.post_shutdown is not None
        await self.app.post_shutdown(self.app)
        await self.app.shutdown()
        await self.services.close()
        await self.emu.stop()

    def _materialize(self, update: JSON) -> tuple[JSON, dict[int, int], str]:
        """Fresh ids for the placeholders; the chats and users made known to the emulator."""
        world = self.world
        fresh = dict.fromkeys(PLACEHOLDERS, 0)
        # Ids of 48 to 52 bits (Telegram allows 52): SQLite would keep such an id in 8 bytes, which
        # the scan finds without false alarms (a 6-byte pattern meets random bytes too often).
        for placeholder in (USER, OTHER_USER, GROUP, CHANNEL):
            value = 0
            while value == 0 or value in world.users or -value in world.chats:
                value = 2**47 + secrets.randbelow(2**52 - 2**47)
            fresh[placeholder] = -value if placeholder in (GROUP, CHANNEL) else value
        fresh[BOT] = world.bot.id
        query_id = str(world._unused_id(15, 19))
        text = json.dumps(update)
        for placeholder, value in fresh.items():
            if placeholder not in (MESSAGE_ID, BOT_MESSAGE_ID):
                text = text.replace(str(placeholder), str(value))
        text = text.replace(QUERY_ID, query_id)
        materialized: JSON = json.loads(text)
        return materialized, fresh, query_id

    def _register(self, update: JSON, fresh: dict[int, int], query_id: str) -> int | None:
        """Tell the emulator about the chat, its user and the messages the update refers to."""
        world = self.world
        user_id, chat_id = fresh[USER], None
        world.add_user("fuzz", user_id=user_id, started=True)
        world.add_user("other", user_id=fresh[OTHER_USER], started=True)
        for chat_id_, kind in ((fresh[GROUP], "group"), (fresh[CHANNEL], "channel")):
            world.chats[chat_id_] = ChatRecord(id=chat_id_, type=kind, title="fuzz")
        payload = next((v for k, v in update.items() if k != "update_id"), None)
        if not isinstance(payload, dict):
            return None
        message = payload.get("message") if "callback_query" in update else payload
        chat = message.get("chat") if isinstance(message, dict) else payload.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int) and chat["id"] in world.chats:
            chat_id = chat["id"]
            record = world.chats[chat_id]
            if record.type == "supergroup" or (
                isinstance(chat.get("type"), str) and chat["type"] == "supergroup"
            ):
                record.type = "supergroup"
            if isinstance(message, dict) and "message_id" in message:
                message_id = record.allocate_message_id()
                message["message_id"] = message_id
                from_bot = "callback_query" in update
                world.store(record, json.loads(json.dumps(message)), from_bot=from_bot)
            if "callback_query" in update and isinstance(message, dict):
                data = str(payload.get("data") or "")
                world.callbacks[query_id] = CallbackRecord(
                    query_id, user_id, chat_id, int(message.get("message_id") or 0), data
                )
        return chat_id

    async def feed(self, case: Case) -> Outcome:
        update, fresh, query_id = self._materialize(case.update)
        chat_id = self._register(update, fresh, query_id)
        self.needles.extend(s for s in _secrets_of(update) if s)
        self.ids.extend(v for k, v in fresh.items() if k not in (MESSAGE_ID, BOT_MESSAGE_ID, BOT))
        world = self.world
        update["update_id"] = world.next_update_id
        world.next_update_id += 1
        world.pending[:] = [update]
        world.calls.clear()
        self.errors.clear()
        self.handler.records.clear()
        before = len(world.chats[chat_id].bot_message_ids) if chat_id in world.chats else 0
        kind = next(iter(k for k in update if k != "update_id"), "update_id")
        parsed = True
        try:
            # Stored in the durable inbox before it returns (bot.resilient_bot), as in polling.
            received = await self.app.bot.get_updates(timeout=0, allowed_updates=[kind])
        except Exception:  # python-telegram-bot could not parse it (and logged it at CRITICAL)
            received, parsed = (), False
        world.pending.clear()
        for parsed_update in received:
            await self.app.update_queue.put(parsed_update)  # what polling does next (stored already)
        for update_id in [u.update_id for u in received]:
            handled = functools.partial(self._handled, update_id)
            await eventually(handled, seconds=120, interval=0.002, what="the update handled")
        sent: list[str] = []
        if chat_id in world.chats:
            record = world.chats[chat_id]
            sent = [str(record.messages[i].data.get("text", "")) for i in record.bot_message_ids[before:]]
        calls = [(c.method, c.status, c.description) for c in world.calls.query() if c.method != "getUpdates"]
        answered = any(m == "answerCallbackQuery" and s == 200 for m, s, _ in calls)
        self.stats[case.label] = self.stats.get(case.label, 0) + 1
        return Outcome(parsed, sent, answered, calls, list(self.errors), list(self.handler.records))

    async def _handled(self, update_id: int) -> bool:
        """The intake's worker has run the update's handlers and marked it done."""
        async with self.services.db.read() as session:
            return await inbox.handled(session, update_id)

    def stored_bytes(self) -> bytes:
        parts = []
        for suffix in ("", "-wal", "-shm"):
            path = self.db_path.with_name(self.db_path.name + suffix)
            if path.exists():
                parts.append(path.read_bytes())
        return b"\n".join(parts)


# --- finding secrets in the database files ---------------------------------------------------

WINDOW = 6  # bytes: needles are looked up by their first 6 bytes, then compared whole
_MASK = (1 << (8 * WINDOW)) - 1


def needle_forms(secret: str) -> list[bytes]:
    """A text as it could be stored in the clear: UTF-8 and UTF-16 (both byte orders)."""
    forms = [secret.encode("utf-8"), secret.encode("utf-16-le"), secret.encode("utf-16-be")]
    return [f for f in forms if len(f) >= WINDOW and len(set(f[:WINDOW])) > 2]


def id_forms(value: int) -> list[bytes]:
    """An id as decimal text, and as an 8-byte integer in both byte orders."""
    forms = [str(value).encode()] if abs(value) >= 10**7 else []
    return forms + [value.to_bytes(8, order, signed=True) for order in ("big", "little")]


def find_in(blob: bytes, needles: list[bytes]) -> list[bytes]:
    """The needles (at least 6 bytes each) that occur in `blob`.

    Every 6-byte window of the blob is compared at once with the needles' first 6 bytes (numpy,
    without copying the blob), so thousands of needles cost one pass rather than one each.
    """
    blob = blob + bytes(8)  # room for the last windows' 8-byte reads
    heads: dict[int, list[bytes]] = {}
    for needle in needles:
        heads.setdefault(int.from_bytes(needle[:WINDOW], "little"), []).append(needle)
    if not heads:
        return []
    keys = np.array(sorted(heads), dtype="<u8")
    windows = np.ndarray(shape=(len(blob) - 7,), dtype="<u8", buffer=blob, strides=(1,))
    found: set[bytes] = set()
    chunk = 1 << 22
    for start in range(0, len(windows), chunk):
        part = windows[start : start + chunk] & np.uint64(_MASK)
        index = np.searchsorted(keys, part).clip(0, len(keys) - 1)
        for offset in np.nonzero(keys[index] == part)[0]:
            at = start + int(offset)
            for needle in heads[int(part[offset])]:
                if blob.startswith(needle, at):
                    found.add(needle)
    return sorted(found)


# --- a whole run -------------------------------------------------------------------------------


@dataclass
class Report:
    """What a run did: counts by kind, and what went wrong on updates Telegram would never send."""

    examples: int = 0
    seconds: float = 0.0
    kinds: dict[str, int] = field(default_factory=dict)
    answered: int = 0  # private texts, commands, media and button presses answered
    quiet: int = 0  # updates correctly left unanswered
    groups: int = 0  # group and channel updates: the notice, and the bot left
    malformed: int = 0
    unparsed: int = 0  # python-telegram-bot could not parse them (logged at CRITICAL, raw)
    malformed_problems: dict[str, int] = field(default_factory=dict)
    needles: int = 0  # texts, names and ids searched for in the database files
    short_texts: int = 0  # texts too short (under 6 bytes) to search for
    database_bytes: int = 0


def check(rig: Rig, case: Case, outcome: Outcome, report: Report) -> None:
    """The product's rules for one update; for malformed ones, only count what happened."""
    report.examples += 1
    report.kinds[case.label] = report.kinds.get(case.label, 0) + 1
    # A generated photo's file_id names no file Telegram holds (a real update's always does): the
    # bot's getFile for it is refused, and the bot answers that it could not get the image.
    refused = [f"{m} {s} {d}" for m, s, d in outcome.calls if s >= 400 and m != "getFile"]
    logged = [f"{r.name} {r.levelname} {r.getMessage()[:120]}" for r in outcome.records]
    if case.expect == "any":
        report.malformed += 1
        report.unparsed += not outcome.parsed
        problems = [f"unhandled {type(e).__name__}" for e in outcome.errors]
        problems += [f"refused {m} {d}" for m, s, d in outcome.calls if s >= 400]
        problems += [
            f"logged {r.name} {r.levelname}" for r in outcome.records if r.levelno < logging.CRITICAL
        ]
        for problem in problems:
            report.malformed_problems[problem] = report.malformed_problems.get(problem, 0) + 1
        return
    assert outcome.parsed, f"python-telegram-bot could not parse a well-formed {case.label}"
    assert not outcome.errors, f"unhandled {outcome.errors!r} for {case.label}"
    assert not refused, f"Telegram would refuse what the bot sent for {case.label}: {refused}"
    assert not logged, f"errors logged for {case.label}: {logged}"
    if case.expect == "answer":
        assert outcome.sent or outcome.answered_query, f"no answer to a {case.label}"
        report.answered += 1
    elif case.expect == "quiet":
        assert not outcome.sent, f"answered a {case.label}: {outcome.sent}"
        assert not outcome.answered_query, f"answered a {case.label}"
        assert not [m for m, _, _ in outcome.calls if m.startswith("send")], outcome.calls
        report.quiet += 1
    elif case.expect == "group":  # the product says it works in private chats only, then leaves
        assert all(text == rig.only_private for text in outcome.sent), f"{case.label}: {outcome.sent}"
        assert len(outcome.sent) <= 1, f"{case.label}: {outcome.sent}"
        assert any(m == "leaveChat" for m, _, _ in outcome.calls), f"{case.label}: did not leave"
        report.groups += 1


PRODUCT_PACKAGES = ("app", "bot", "casework", "nlu", "storage")


def product_vocabulary() -> bytes:
    """The product's own source and data files, where every word it may store by itself is."""
    root = Path(__file__).resolve().parents[2]
    files = [
        path
        for package in PRODUCT_PACKAGES
        for path in sorted((root / package).rglob("*"))
        if path.suffix in (".py", ".yml", ".yaml") and ".venv" not in path.parts
    ]
    return b"\n".join(path.read_bytes() for path in files)


def scan(rig: Rig, baseline: bytes, report: Report) -> list[str]:
    """Search the database file and its WAL for every text, name and id the run sent."""
    texts = sorted(set(rig.needles))
    # Hypothesis borrows string constants from our own source ("nlu_fallback", a column name):
    # a text the product itself writes, or the empty database holds, proves nothing either way.
    forms = {form: text for text in texts for form in needle_forms(text)}
    already = set(find_in(baseline + product_vocabulary(), list(forms)))
    forms = {form: text for form, text in forms.items() if form not in already}
    id_needles = {form: str(value) for value in set(rig.ids) for form in id_forms(value)}
    report.short_texts = sum(1 for text in texts if not needle_forms(text))
    report.needles = len(forms) + len(id_needles)
    stored = rig.stored_bytes()
    report.database_bytes = len(stored)
    found = find_in(stored, [*forms, *id_needles])
    return [forms.get(f) or f"id {id_needles[f]}" for f in found]


def run_fuzz(directory: Path, examples: int, *, seed: int | None = None) -> tuple[Report, list[str]]:
    """Feed `examples` generated updates to a fresh bot; the report, and any secret found stored.

    Without a seed the examples are derandomized (the same on every run, as `make test` wants);
    with one, the benchmark draws new ones. A failing rule raises with Hypothesis's smallest example.
    """
    report = Report()
    runner = asyncio.Runner()
    try:
        rig = runner.run(Rig.start(directory))
        try:
            baseline = rig.stored_bytes()

            @settings(
                max_examples=examples,
                derandomize=seed is None,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(cases)
            def feed(case: Case) -> None:
                check(rig, case, runner.run(rig.feed(case)), report)

            if seed is not None:
                feed = hypothesis_seed(seed)(feed)
            started = time.perf_counter()
            feed()
            report.seconds = time.perf_counter() - started
            found = scan(rig, baseline, report)
        finally:
            runner.run(rig.stop())
    finally:
        runner.close()
    return report, found
