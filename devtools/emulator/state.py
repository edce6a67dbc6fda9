"""The emulated Telegram's state: one bot, its users and chats, messages, pending updates, events.

Everything runs on one event loop, so no locks: a method that does not await is atomic.
Waiters (long polls, tests awaiting the bot's next message) sleep on a `Signal` that is
fired whenever something they may care about changes, and on shutdown.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.emulator.faults import CallLog, FaultPlan
from devtools.emulator.media import FileStore

JSON = dict[str, Any]

UPDATE_TYPES = ("message", "edited_message", "channel_post", "edited_channel_post", "callback_query")
# Telegram leaves these out unless a bot asks for them by name in allowed_updates.
OPT_IN_UPDATE_TYPES = ("chat_member", "message_reaction", "message_reaction_count")


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional retry_after."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


class ControlError(Exception):
    """A test or the terminal chat asked for something impossible (say, pressing a missing button)."""


class Signal:
    """Wakes every coroutine waiting on it; each `fire` starts a new generation."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, seconds: float) -> bool:
        """True when fired within `seconds`."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), seconds)
        except TimeoutError:
            return False
        return True


def unix_now() -> int:
    return int(time.time())


def random_digits(low: int, high: int) -> int:
    """A random number with between `low` and `high` digits, like Telegram's ids."""
    start: int = 10 ** (low - 1)
    stop: int = 10**high
    return start + secrets.randbelow(stop - start)


@dataclass
class UserRecord:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False
    label: str | None = None  # the emulator's own name for an account ("officer Smith"); never sent
    started: bool = False  # has written to the bot, so the bot may write to them
    blocked: bool = False

    def api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    def view(self) -> JSON:
        return {**self.api(), "label": self.label, "started": self.started, "blocked": self.blocked}


@dataclass
class StoredMessage:
    """A message as Telegram holds it, plus what tests want to know about it."""

    data: JSON
    from_bot: bool
    options: JSON = field(default_factory=dict)  # send options not echoed in the Message
    deleted: bool = False
    edits: int = 0

    @property
    def message_id(self) -> int:
        return int(self.data["message_id"])

    def view(self) -> JSON:
        return {
            "chat_id": self.data["chat"]["id"],
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "deleted": self.deleted,
            "edits": self.edits,
            "options": self.options,
            "message": self.data,
        }


@dataclass
class ChatRecord:
    id: int
    type: str  # private, group, supergroup, channel
    title: str | None = None
    username: str | None = None
    user: UserRecord | None = None  # the other side of a private chat
    bot_member: bool = True
    chat_instance: str = field(
        default_factory=lambda: str(random_digits(18, 19) * (-1) ** secrets.randbelow(2))
    )
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    bot_message_ids: list[int] = field(default_factory=list)

    def api(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        if self.user is not None:
            data.update(
                {k: v for k, v in self.user.api().items() if k in ("first_name", "last_name", "username")}
            )
        else:
            data["title"] = self.title
            if self.username:
                data["username"] = self.username
        return data

    def view(self) -> JSON:
        return {**self.api(), "bot_member": self.bot_member}

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class CallbackRecord:
    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str
    answer: JSON | None = None


@dataclass
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    ip_address: str | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None


class World:
    """One bot's view of Telegram."""

    def __init__(
        self,
        *,
        bot_username: str = "sro_connect_test_bot",
        bot_name: str = "SRO Connect",
        bot_id: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.bot = UserRecord(
            id=bot_id or random_digits(10, 10),
            first_name=bot_name,
            username=bot_username,
            language_code=None,
            is_bot=True,
        )
        # A ready-made token for this bot; any well-shaped token is accepted anyway.
        self.token = f"{self.bot.id}:AA{secrets.token_urlsafe(25)[:33]}"
        self.users: dict[int, UserRecord] = {}
        self.chats: dict[int, ChatRecord] = {}
        self.callbacks: dict[str, CallbackRecord] = {}
        self.settings: dict[str, Any] = {}  # commands, descriptions, name, menu button
        self.files = FileStore()  # what users and the bot uploaded
        self.faults = FaultPlan()
        self.calls = CallLog()
        self.latency = latency

        self.pending: list[JSON] = []
        self.next_update_id = random_digits(9, 9)
        self.allowed_updates: list[str] | None = None
        self.webhook: Webhook | None = None
        # Several bot instances behind one address: webhook posts go to these in turn (a load
        # balancer's round robin) instead of the webhook's URL; a failed post moves on to the next.
        self.webhook_targets: list[str] = []
        self.webhook_turn = 0
        self.poll_generation = 0
        self.active_polls = 0
        self.last_poll: float | None = None
        self.updates_signal = Signal()

        self.events: list[JSON] = []
        self.chat_events: dict[int, list[JSON]] = {}
        self.events_signal = Signal()
        self.closing = False
        self._closed = asyncio.Event()

    def close(self) -> None:
        """Release every waiter: pending long polls answer at once with what they have."""
        self.closing = True
        self._closed.set()
        self.updates_signal.fire()
        self.events_signal.fire()

    async def pause(self, seconds: float) -> None:
        """Sleep `seconds` (latency, delay faults), or less if the emulator shuts down meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), seconds)

    # --- users and chats -------------------------------------------------------------------

    def _unused_id(self, low: int, high: int) -> int:
        while True:
            candidate = random_digits(low, high)
            if candidate not in self.users and candidate != self.bot.id:
                return candidate

    def add_user(self, first_name: str, *, user_id: int | None = None, **fields: Any) -> UserRecord:
        if user_id is not None and (user_id <= 0 or user_id in self.users or user_id == self.bot.id):
            raise ControlError(f"user id {user_id} is taken or not positive")
        user = UserRecord(id=user_id or self._unused_id(6, 10), first_name=first_name, **fields)
        self.users[user.id] = user
        self.chats[user.id] = ChatRecord(id=user.id, type="private", user=user)
        return user

    def add_chat(
        self, chat_type: str, title: str, *, username: str | None = None, bot_member: bool = True
    ) -> ChatRecord:
        if chat_type == "group":
            chat_id = -random_digits(9, 10)
        elif chat_type in ("supergroup", "channel"):
            chat_id = -(10**12 + random_digits(10, 10))
        else:
            raise ControlError(f"chat type must be group, supergroup or channel, not {chat_type!r}")
        chat = ChatRecord(id=chat_id, type=chat_type, title=title, username=username, bot_member=bot_member)
        self.chats[chat_id] = chat
        return chat

    def user(self, user_id: int) -> UserRecord:
        try:
            return self.users[user_id]
        except KeyError:
            raise ControlError(f"no such user {user_id}: create it first") from None

    def control_chat(self, chat_id: int) -> ChatRecord:
        try:
            return self.chats[chat_id]
        except KeyError:
            raise ControlError(f"no such chat {chat_id}") from None

    def chat(self, chat_id: int) -> ChatRecord:
        """The chat a Bot API call names, or Telegram's 'chat not found'."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def writable_chat(self, chat_id: int) -> ChatRecord:
        """The chat, if the bot may post there now; otherwise Telegram's 403."""
        chat = self.chat(chat_id)
        if chat.user is not None:
            if chat.user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not chat.user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif not chat.bot_member:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    # --- messages ------------------------------------------------------------------------------

    def store(
        self, chat: ChatRecord, data: JSON, *, from_bot: bool, options: JSON | None = None
    ) -> StoredMessage:
        stored = StoredMessage(data=data, from_bot=from_bot, options=options or {})
        chat.messages[stored.message_id] = stored
        if from_bot:
            chat.bot_message_ids.append(stored.message_id)
            self.event("sent", chat.id, message=stored.view())
        return stored

    def message(self, chat: ChatRecord, message_id: int) -> StoredMessage | None:
        stored = chat.messages.get(message_id)
        return None if stored is None or stored.deleted else stored

    # --- updates -------------------------------------------------------------------------------

    def push_update(self, kind: str, payload: JSON) -> int:
        update_id = self.next_update_id
        self.next_update_id += 1
        self.pending.append({"update_id": update_id, kind: payload})
        self.updates_signal.fire()
        return update_id

    def confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def deliverable(self, limit: int, allowed: list[str] | None) -> list[JSON]:
        """The oldest pending updates the bot accepts; those it refuses are dropped, as Telegram does.
        Only the head of the queue is looked at, so a large backlog costs nothing per poll."""
        found: list[JSON] = []
        index = 0
        while index < len(self.pending) and len(found) < limit:
            kind = _update_type(self.pending[index])
            if kind in allowed if allowed else kind not in OPT_IN_UPDATE_TYPES:
                found.append(self.pending[index])
                index += 1
            else:
                del self.pending[index]
        return found

    def drop_pending(self) -> None:
        self.pending.clear()

    @property
    def webhook_set(self) -> bool:
        return self.webhook is not None

    @property
    def bot_connected(self) -> bool:
        recent = self.last_poll is not None and time.monotonic() - self.last_poll < 15
        return self.webhook is not None or self.active_polls > 0 or recent

    # --- events (what tests and the terminal chat observe) -----------------------------------

    def event(self, kind: str, chat_id: int | None, **fields: Any) -> None:
        event: JSON = {
            "seq": len(self.events) + 1,
            "kind": kind,
            "chat_id": chat_id,
            "at": time.time(),
            **fields,
        }
        self.events.append(event)
        if chat_id is not None:
            self.chat_events.setdefault(chat_id, []).append(event)
        self.events_signal.fire()

    def events_after(self, since: int, chat_id: int | None, kinds: list[str] | None) -> list[JSON]:
        if chat_id is None:
            candidates = self.events[max(since, 0) :]
        else:
            in_chat = self.chat_events.get(chat_id, [])
            candidates = in_chat[bisect.bisect_right(in_chat, since, key=lambda e: int(e["seq"])) :]
        return [e for e in candidates if kinds is None or e["kind"] in kinds]

    async def wait_events(
        self, since: int, chat_id: int | None, kinds: list[str] | None, limit: int, wait: float
    ) -> list[JSON]:
        deadline = time.monotonic() + wait
        while True:
            found = self.events_after(since, chat_id, kinds)
            remaining = deadline - time.monotonic()
            if found or self.closing or remaining <= 0:
                return found[:limit]
            await self.events_signal.wait(remaining)


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


def strip_reply(data: JSON) -> JSON:
    """A message as it appears inside another one's reply_to_message (no nesting)."""
    return {k: v for k, v in data.items() if k != "reply_to_message"}


def make_message(message_id: int, sender: UserRecord | None, chat: ChatRecord, **fields: Any) -> JSON:
    data: JSON = {"message_id": message_id}
    if sender is not None:
        data["from"] = sender.api()
    if chat.type == "channel":
        data["sender_chat"] = chat.api()
    data.update({"chat": chat.api(), "date": unix_now()})
    data.update({k: v for k, v in fields.items() if v is not None})
    return data
