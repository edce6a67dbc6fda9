"""Drive the Bot API emulator from tests and the demo: act as users, observe the bot, inject faults.

    async with Emulator() as emu:                      # an in-process server on a free port
        app = ApplicationBuilder().token(emu.token).base_url(emu.base_url)...
        student = await emu.user()
        await emu.send_text(student, "/start")
        welcome = await emu.next_message(student)

`await Emulator.connect("http://127.0.0.1:8081")` drives an emulator running in another
process (`python -m devtools.emulator`) through its /_emulator/ endpoints, with the same methods.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

import aiohttp
import telegram

from devtools.emulator import control
from devtools.emulator.faults import Call
from devtools.emulator.server import EmulatorServer
from devtools.emulator.state import JSON, ControlError, World
from devtools.emulator.views import (
    Button,
    CallbackAnswer,
    Chat,
    ChatRef,
    Message,
    MessageRef,
    Press,
    ReceivedFile,
    Sent,
    User,
    callback_answer_of,
    chat_id_of,
    message_of,
)
from devtools.procs import eventually

__all__ = [
    "Button",
    "CallbackAnswer",
    "Chat",
    "ChatRef",
    "Emulator",
    "EmulatorError",
    "Message",
    "MessageRef",
    "Press",
    "ReceivedFile",
    "Sent",
    "User",
    "wait_until_up",
]


class EmulatorError(Exception):
    """The emulator refused a request (a missing user, a button that is not there, ...)."""


# --- transports ---------------------------------------------------------------------------------------


class _Transport(Protocol):
    async def __call__(self, operation: str, body: JSON, wait: float = 0.0) -> Any: ...

    async def aclose(self) -> None: ...


class _Local:
    def __init__(self, world: World) -> None:
        self.world = world

    async def __call__(self, operation: str, body: JSON, wait: float = 0.0) -> Any:
        try:
            return await control.dispatch(self.world, operation, body)
        except ControlError as error:
            raise EmulatorError(str(error)) from None

    async def aclose(self) -> None:
        return None


class _Remote:
    # aiohttp rather than httpx: an httpx client loads TLS certificates when it is created
    # (about 0.3 s), which a plain-HTTP control channel does not need.
    def __init__(self, url: str) -> None:
        self.url = f"{url}/_emulator"
        self.session = aiohttp.ClientSession()

    async def __call__(self, operation: str, body: JSON, wait: float = 0.0) -> Any:
        timeout = aiohttp.ClientTimeout(total=wait + 15.0)
        try:
            async with self.session.post(f"{self.url}/{operation}", json=body, timeout=timeout) as response:
                status = response.status
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    raise EmulatorError(f"{operation}: the emulator answered HTTP {status}") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise EmulatorError(
                f"{operation}: the emulator is unreachable ({error.__class__.__name__})"
            ) from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            raise EmulatorError(str(answer.get("error") if isinstance(answer, dict) else answer))
        return answer["result"]

    async def aclose(self) -> None:
        await self.session.close()


# --- the client ---------------------------------------------------------------------------------------


class Emulator:
    """A Bot API emulator, in this process (start/stop) or another (connect/stop)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        bot_username: str = "sro_connect_test_bot",
        bot_name: str = "SRO Connect",
    ) -> None:
        self.server: EmulatorServer | None = EmulatorServer(
            World(bot_username=bot_username, bot_name=bot_name, latency=latency), host=host, port=port
        )
        self._transport: _Transport | None = None
        self._url = ""
        self._info: JSON = {}
        self._cursors: dict[int, int] = {}  # chat id -> seq of the last bot message next_message returned

    @classmethod
    async def connect(cls, url: str) -> Emulator:
        """A client of an emulator already running at `url` (e.g. http://127.0.0.1:8081)."""
        emulator = cls()
        emulator.server = None
        emulator._url = url.rstrip("/")
        emulator._transport = _Remote(emulator._url)
        try:
            emulator._info = await emulator._transport("info", {})
        except EmulatorError as error:
            await emulator._transport.aclose()
            raise EmulatorError(f"no emulator answers at {url}: {error.__class__.__name__}") from None
        return emulator

    async def start(self) -> Emulator:
        """Start the in-process server (on a free port unless one was given)."""
        if self.server is None:
            raise EmulatorError("a connected client cannot start the remote emulator")
        await self.server.start()
        self._url = self.server.url
        self._transport = _Local(self.server.world)
        self._info = await self._transport("info", {})
        return self

    async def stop(self) -> None:
        """Stop the in-process server (waking pending long polls), or just disconnect."""
        if self._transport is not None:
            await self._transport.aclose()
            self._transport = None
        if self.server is not None:
            await self.server.stop()

    async def __aenter__(self) -> Emulator:
        if self._transport is None:
            await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def _call(self, operation: str, body: JSON | None = None, wait: float = 0.0) -> Any:
        if self._transport is None:
            raise EmulatorError("the emulator is not started")
        return await self._transport(operation, body or {}, wait)

    # --- where it is ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    @property
    def base_url(self) -> str:
        """For ApplicationBuilder().base_url(...): http://127.0.0.1:PORT/bot"""
        return f"{self._url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._url}/file/bot"

    @property
    def token(self) -> str:
        """A token for the emulated bot (any token shaped like a bot token works too)."""
        return str(self._info["token"])

    @property
    def bot(self) -> User:
        return User.from_view(self._info["bot"])

    def ptb_bot(self, token: str | None = None) -> telegram.Bot:
        """A python-telegram-bot Bot pointed at this emulator (use it as `async with`)."""
        return telegram.Bot(token or self.token, base_url=self.base_url, base_file_url=self.base_file_url)

    async def bot_connected(self) -> bool:
        """Whether a bot is polling (or has a webhook set) right now."""
        return bool((await self._call("info"))["bot_connected"])

    # --- people and places -----------------------------------------------------------------------

    async def user(
        self,
        id: int | None = None,
        first_name: str = "Student",
        *,
        last_name: str | None = None,
        username: str | None = None,
        label: str | None = None,
        language_code: str | None = "en",
        started: bool = False,
    ) -> User:
        """A new fake user. `started`: as if they had already written to the bot."""
        body = {
            "id": id,
            "first_name": first_name,
            "last_name": last_name,
            "username": username,
            "label": label,
            "language_code": language_code,
            "started": started,
        }
        return User.from_view(await self._call("create_user", body))

    async def users(self) -> list[User]:
        return [User.from_view(u) for u in await self._call("users")]

    async def group(
        self, title: str = "Test group", *, supergroup: bool = False, bot_member: bool = True
    ) -> Chat:
        """A group (or supergroup) the bot is in, unless bot_member=False (then see add_bot_to)."""
        body = {"type": "supergroup" if supergroup else "group", "title": title, "bot_member": bot_member}
        return Chat.from_view(await self._call("create_chat", body))

    async def channel(
        self, title: str = "Test channel", *, username: str | None = None, bot_member: bool = True
    ) -> Chat:
        body = {"type": "channel", "title": title, "username": username, "bot_member": bot_member}
        return Chat.from_view(await self._call("create_chat", body))

    async def chat(self, chat: ChatRef) -> Chat:
        """A chat's current state (for groups: whether the bot is still a member)."""
        return Chat.from_view(await self._call("chat", {"chat_id": chat_id_of(chat)}))

    async def add_bot_to(self, chat: Chat, by: User, *, status: str | None = None) -> int:
        """`by` adds the bot to a group or channel: a my_chat_member update. Returns its update_id."""
        body = {"chat_id": chat.id, "user_id": by.id, "old_status": "left", "new_status": status}
        if status is None:
            body.pop("new_status")
        return int((await self._call("member", body))["update_id"])

    async def remove_bot_from(self, chat: Chat, by: User) -> int:
        body = {"chat_id": chat.id, "user_id": by.id, "old_status": "member", "new_status": "kicked"}
        return int((await self._call("member", body))["update_id"])

    async def block(self, user: User, *, notify: bool = False) -> None:
        """The user blocks the bot: sending to them fails with 403 until they write again."""
        await self._call("block", {"user_id": user.id, "blocked": True, "notify": notify})

    async def unblock(self, user: User, *, notify: bool = False) -> None:
        await self._call("block", {"user_id": user.id, "blocked": False, "notify": notify})

    # --- acting as a user ------------------------------------------------------------------------

    async def _send(self, user: User | None, chat: ChatRef | None, **fields: Any) -> Sent:
        body: JSON = {
            "user_id": user.id if user else None,
            **{k: v for k, v in fields.items() if v is not None},
        }
        if chat is not None:
            body["chat_id"] = chat_id_of(chat)
        result = await self._call("send", body)
        return Sent(result["update_id"], Message.from_view(result["message"]), int(result["seq"]))

    async def send_text(self, user: User, text: str, chat: ChatRef | None = None) -> Sent:
        """`user` writes `text` (to the bot, or in `chat`); commands get their bot_command entity."""
        return await self._send(user, chat, kind="text", text=text)

    async def reply_to(self, user: User, message: MessageRef, text: str) -> Sent:
        """`user` answers `message` with Telegram's reply feature."""
        target = message_of(message)
        return await self._send(
            user, target.chat_id, kind="text", text=text, reply_to_message_id=target.message_id
        )

    async def edit_text(self, user: User, message: MessageRef, new_text: str) -> Sent:
        """`user` edits a message they sent: an edited_message update."""
        target = message_of(message)
        body = {
            "user_id": user.id,
            "chat_id": target.chat_id,
            "message_id": target.message_id,
            "text": new_text,
        }
        result = await self._call("edit", body)
        return Sent(result["update_id"], Message.from_view(result["message"]), int(result["seq"]))

    async def press(self, user: User, message: MessageRef, button: str | int) -> Press:
        """`user` presses a button of `message`: by its text, else its callback data; an int is its
        position (0-based, row by row). The message's current keyboard counts, as in Telegram."""
        target = message_of(message)
        body: JSON = {"user_id": user.id, "chat_id": target.chat_id, "message_id": target.message_id}
        if isinstance(button, int):
            body["index"] = button
        else:
            body["button"] = button
        result = await self._call("press", body)
        return Press(
            result["update_id"],
            result["callback_query_id"],
            result["data"],
            result["text"],
            target.chat_id,
            target.message_id,
            int(result["seq"]),
        )

    async def forward(
        self,
        user: User,
        text: str,
        *,
        from_user: User | None = None,
        from_chat: Chat | None = None,
        hidden_name: str | None = None,
        chat: ChatRef | None = None,
    ) -> Sent:
        """`user` forwards a text message (from another user, a chat or channel, or a hidden user)."""
        if from_user is not None:
            origin: JSON = {"user_id": from_user.id}
        elif from_chat is not None:
            origin = {"chat_id": from_chat.id}
        else:
            origin = {"sender_user_name": hidden_name or "Hidden Sender"}
        return await self._send(user, chat, kind="text", text=text, forward=origin)

    async def send_sticker(self, user: User, emoji: str = "🙂", chat: ChatRef | None = None) -> Sent:
        return await self._send(user, chat, kind="sticker", emoji=emoji)

    async def send_location(
        self, user: User, latitude: float = 45.5017, longitude: float = -73.5673, chat: ChatRef | None = None
    ) -> Sent:
        return await self._send(user, chat, kind="location", latitude=latitude, longitude=longitude)

    async def send_contact(
        self,
        user: User,
        phone_number: str = "+15145550123",
        first_name: str = "Alex",
        chat: ChatRef | None = None,
    ) -> Sent:
        return await self._send(user, chat, kind="contact", phone_number=phone_number, first_name=first_name)

    async def send_voice(
        self,
        user: User,
        duration: int = 3,
        chat: ChatRef | None = None,
        *,
        content: bytes | None = None,
        caption: str | None = None,
    ) -> Sent:
        """A voice note (OGG): what the bot must refuse, since a voice identifies its sender."""
        return await self._send(
            user, chat, kind="voice", duration=duration, content_b64=_b64(content), caption=caption
        )

    async def send_video(
        self,
        user: User,
        content: bytes | None = None,
        *,
        caption: str | None = None,
        duration: int = 5,
        width: int = 1280,
        height: int = 720,
        chat: ChatRef | None = None,
    ) -> Sent:
        """A video (MP4): refused by the bot, since a face or a voice identifies."""
        return await self._send(
            user,
            chat,
            kind="video",
            content_b64=_b64(content),
            caption=caption,
            duration=duration,
            width=width,
            height=height,
        )

    async def send_video_note(
        self, user: User, content: bytes | None = None, *, duration: int = 5, chat: ChatRef | None = None
    ) -> Sent:
        """A round video message (no caption possible)."""
        return await self._send(user, chat, kind="video_note", content_b64=_b64(content), duration=duration)

    async def send_document(
        self,
        user: User,
        file_name: str = "notes.pdf",
        content: bytes | None = None,
        *,
        caption: str | None = None,
        mime_type: str | None = None,
        chat: ChatRef | None = None,
    ) -> Sent:
        """A file, its bytes kept exactly (EXIF and all, for an image). mime_type: from the name
        when not given, as Telegram does. An image document gets a thumbnail, as in Telegram."""
        return await self._send(
            user,
            chat,
            kind="document",
            file_name=file_name,
            content_b64=_b64(content),
            caption=caption,
            mime_type=mime_type,
        )

    async def send_photo(
        self,
        user: User,
        content: bytes | None = None,
        *,
        caption: str | None = None,
        chat: ChatRef | None = None,
    ) -> Sent:
        """A photo (any image Pillow reads; a sample JPEG by default). Like a Telegram client, the
        emulator turns it upright and recompresses it into JPEG sizes of at most 1280 px (no EXIF):
        the bot downloads the largest, `message.raw["photo"][-1]`. Send it as a document to keep
        the bytes (and the metadata)."""
        return await self._send(user, chat, kind="photo", caption=caption, content_b64=_b64(content))

    async def send_album(
        self,
        user: User,
        items: Sequence[bytes | tuple[str, bytes]],
        *,
        caption: str | None = None,
        chat: ChatRef | None = None,
    ) -> list[Sent]:
        """Several photos at once (or documents, as (file_name, bytes)): one message each, sharing a
        media_group_id, the caption on the first, as Telegram clients send an album."""
        parts: list[JSON] = []
        for item in items:
            if isinstance(item, tuple):
                parts.append({"kind": "document", "file_name": item[0], "content_b64": _b64(item[1])})
            else:
                parts.append({"kind": "photo", "content_b64": _b64(item)})
        body: JSON = {"user_id": user.id, "items": parts, "caption": caption}
        if chat is not None:
            body["chat_id"] = chat_id_of(chat)
        result = await self._call("send_album", body)
        return [Sent(r["update_id"], Message.from_view(r["message"]), int(r["seq"])) for r in result["sent"]]

    async def channel_post(self, channel: Chat, text: str) -> Sent:
        """A post in a channel (a channel_post update, with no sender)."""
        return await self._send(None, channel, kind="text", text=text)

    # --- observing the bot ------------------------------------------------------------------------

    async def messages(self, chat: ChatRef, *, include_user: bool = False) -> list[Message]:
        """Every message the bot sent to `chat` (and the users' with include_user), oldest first."""
        result = await self._call("messages", {"chat_id": chat_id_of(chat), "include_user": include_user})
        return [Message.from_view(m) for m in result["messages"]]

    async def received_files(self, chat: ChatRef) -> list[ReceivedFile]:
        """The files (photos, documents, ...) the bot sent to `chat`, oldest first, with the bytes the
        recipient downloads: a photo's largest size as Telegram recompressed it, a document's exact bytes."""
        return [ReceivedFile.from_view(f) for f in await self._call("files", {"chat_id": chat_id_of(chat)})]

    async def file_bytes(self, file_id: str) -> bytes:
        """The stored bytes of any file_id (a user's or the bot's), bypassing the Bot API's limits."""
        return base64.b64decode((await self._call("file", {"file_id": file_id}))["content_b64"])

    async def next_message(self, chat: ChatRef, timeout: float = 5.0) -> Message:  # noqa: ASYNC109 - the wait is sent to the emulator
        """The next message the bot sends to `chat` after the last one this returned (as sent)."""
        chat_id = chat_id_of(chat)
        found = await self._events(chat_id, self._cursors.get(chat_id, 0), ["sent"], timeout, limit=1)
        if not found:
            raise AssertionError(await self._nothing_new(chat_id, f"no new message within {timeout:.1f} s"))
        self._cursors[chat_id] = int(found[0]["seq"])
        return Message.from_view(found[0]["message"])

    async def next_messages(self, chat: ChatRef, count: int, timeout: float = 5.0) -> list[Message]:  # noqa: ASYNC109 - the wait is sent to the emulator
        deadline = time.monotonic() + timeout
        return [await self.next_message(chat, max(deadline - time.monotonic(), 0.0)) for _ in range(count)]

    async def mark(self) -> int:
        """The emulator's current event sequence: pass it as `after` to wait for what follows an action
        that returns no `Sent` or `Press` (the terminal chat's commands, a job)."""
        info = await self._call("info")
        return int(info["seq"])

    async def wait_for(
        self,
        chat: ChatRef,
        predicate: Callable[[Message], bool],
        *,
        after: Sent | Press | int,
        timeout: float = 5.0,  # noqa: ASYNC109 - the wait is sent to the emulator
    ) -> Message:
        """The first message the bot sends or edits in `chat` AFTER the action `after` (a Sent, a Press or
        a `mark()`) that satisfies `predicate`, as it was then. Earlier messages never count: a wait
        must not be satisfied by what was on screen before the action."""
        chat_id = chat_id_of(chat)
        since = after if isinstance(after, int) else after.seq
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            found = await self._events(chat_id, since, ["sent", "edited"], max(remaining, 0.0))
            for event in found:
                candidate = Message.from_view(event["message"])
                if predicate(candidate):
                    return candidate
            if found:
                since = int(found[-1]["seq"])
            if deadline - time.monotonic() <= 0:
                raise AssertionError(
                    await self._nothing_new(
                        chat_id, f"no message matching the predicate within {timeout:.1f} s of the action"
                    )
                )

    async def assert_no_message(self, chat: ChatRef, within: float = 0.5) -> None:
        """Fail if the bot sends `chat` anything new (beyond what next_message returned) within `within` s."""
        chat_id = chat_id_of(chat)
        found = await self._events(chat_id, self._cursors.get(chat_id, 0), ["sent"], within, limit=100)
        if found:
            shown = "\n".join(f"  {Message.from_view(e['message'])}" for e in found)
            raise AssertionError(f"the bot sent chat {chat_id} what it should not have:\n{shown}")

    async def callback_answer(self, press: Press, timeout: float = 5.0) -> CallbackAnswer:  # noqa: ASYNC109 - the wait is sent to the emulator
        """The bot's answerCallbackQuery to `press`, waiting for it."""
        deadline, since = time.monotonic() + timeout, 0
        while True:
            remaining = deadline - time.monotonic()
            found = await self._events(press.chat_id, since, ["callback_answered"], max(remaining, 0.0))
            for event in found:
                since = int(event["seq"])
                if event["answer"]["callback_query_id"] == press.query_id:
                    return callback_answer_of(event["answer"])
            if remaining <= 0:
                raise AssertionError(
                    await self._nothing_new(
                        press.chat_id, f"the bot never answered the press of {press.text!r}"
                    )
                )

    async def callback_answers(self) -> list[CallbackAnswer]:
        return [callback_answer_of(a) for a in await self._call("callback_answers")]

    async def calls(
        self, method: str | None = None, chat: ChatRef | None = None, outcome: str | None = None
    ) -> list[Call]:
        """Every Bot API call the bot made, filtered; outcome is ok, error or fault."""
        body = {
            "method": method,
            "chat_id": chat_id_of(chat) if chat is not None else None,
            "outcome": outcome,
        }
        return [Call(**c) for c in await self._call("calls", body)]

    async def clear_calls(self) -> None:
        await self._call("clear_calls")

    async def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str | None = None
    ) -> list[tuple[str, str]]:
        """The command list the bot set for `scope` and language (default: everyone, any language)."""
        result = await self._call("commands", {"scope": scope, "language_code": language_code})
        return [(c["command"], c["description"]) for c in result]

    async def webhook_info(self) -> JSON:
        info: JSON = await self._call("webhook_info")
        return info

    async def events(
        self,
        since: int = 0,
        chat: ChatRef | None = None,
        kinds: Sequence[str] | None = None,
        wait: float = 0.0,
    ) -> tuple[list[JSON], int]:
        """Events after seq `since` (sent, edited, deleted, callback_answered, action, left, commands),
        waiting up to `wait` seconds for the first; and the latest seq."""
        body = {
            "since": since,
            "chat_id": chat_id_of(chat) if chat is not None else None,
            "kinds": kinds,
            "timeout": wait,
        }
        result = await self._call("events", body, wait=wait)
        return list(result["events"]), int(result["seq"])

    async def _events(
        self, chat_id: int | None, since: int, kinds: Sequence[str] | None, wait: float, limit: int = 1000
    ) -> list[JSON]:
        body = {"since": since, "chat_id": chat_id, "kinds": kinds, "timeout": wait, "limit": limit}
        found: list[JSON] = (await self._call("events", body, wait=wait))["events"]
        return found

    async def _nothing_new(self, chat_id: int, what: str) -> str:
        cursor = self._cursors.get(chat_id, 0)
        lines = [f"chat {chat_id}: {what}."]
        sent = await self._events(chat_id, 0, ["sent"], 0.0)
        if sent:
            lines.append("What the bot sent there (as sent; > marks those not yet taken by next_message):")
            lines += [
                f"  {'>' if e['seq'] > cursor else ' '} {Message.from_view(e['message'])}" for e in sent
            ]
            current = await self.messages(chat_id)
            if any(m.edited or m.deleted for m in current):
                lines.append("Their current state:")
                lines += [f"    {m}" for m in current]
        else:
            lines.append("The bot has sent nothing to this chat.")
        failed = [c for c in await self.calls(chat=chat_id) if c.outcome != "ok"]
        if failed:
            lines.append("Calls naming this chat that failed:")
            lines += [f"  {c.method}: {c.status} {c.description or c.fault}" for c in failed[-10:]]
        unknown = [c for c in await self.calls(outcome="error") if c.status == 404]
        if unknown:
            lines.append(f"Methods the emulator does not know: {sorted({c.method for c in unknown})}")
        if not await self.bot_connected():
            lines.append("No bot is polling the emulator (nor has a webhook set).")
        return "\n".join(lines)

    # --- faults and pacing -------------------------------------------------------------------------

    async def _fault(self, kind: str, chat: ChatRef | None, **spec: Any) -> int:
        body = {"kind": kind, "chat_id": chat_id_of(chat) if chat is not None else None, **spec}
        return int((await self._call("add_fault", body))["id"])

    async def fail_retry_after(
        self, retry_after: int = 1, *, times: int = 1, method: str | None = None, chat: ChatRef | None = None
    ) -> int:
        """Answer the next `times` matching calls with 429 and retry_after. Returns the fault's id.
        `method` None matches every method except getUpdates."""
        return await self._fault("retry_after", chat, retry_after=retry_after, times=times, method=method)

    async def fail_server_error(
        self,
        *,
        times: int | None = None,
        seconds: float | None = None,
        status: int = 500,
        method: str | None = None,
        chat: ChatRef | None = None,
    ) -> int:
        """Answer 500 (or 502/503/504) to the next `times` matching calls, or for `seconds`."""
        if times is None and seconds is None:
            times = 1
        return await self._fault(
            "server_error", chat, times=times, seconds=seconds, status=status, method=method
        )

    async def drop_connections(
        self,
        *,
        times: int = 1,
        method: str | None = None,
        chat: ChatRef | None = None,
        after_processing: bool = False,
    ) -> int:
        """Close the connection without answering the next `times` matching calls. after_processing:
        the call takes effect first (the message is sent; only the answer is lost)."""
        return await self._fault("drop", chat, times=times, method=method, after_processing=after_processing)

    async def delay(
        self,
        seconds: float,
        *,
        times: int | None = 1,
        method: str | None = None,
        chat: ChatRef | None = None,
        after_processing: bool = False,
    ) -> int:
        """Hold the next `times` matching calls `seconds` before (or, after_processing, after) acting."""
        return await self._fault(
            "delay", chat, seconds=seconds, times=times, method=method, after_processing=after_processing
        )

    async def forbid(
        self,
        chat: ChatRef,
        *,
        method: str | None = None,
        description: str = "Forbidden: bot was blocked by the user",
    ) -> int:
        """Answer 403 to every call naming `chat`, for good (until clear_faults)."""
        return await self._fault("forbidden", chat, times=None, method=method, description=description)

    async def clear_faults(self, fault_id: int | None = None) -> None:
        await self._call("clear_faults", {"id": fault_id})

    async def faults(self) -> list[JSON]:
        found: list[JSON] = await self._call("faults")
        return found

    async def set_webhook_targets(self, urls: list[str]) -> None:
        """Post webhook updates round-robin to `urls` (bot instances behind one address)."""
        await self._call("webhook_targets", {"urls": urls})

    async def set_latency(self, seconds: float) -> None:
        """Delay every Bot API call by `seconds` (benchmarks); 0 turns it off."""
        await self._call("latency", {"seconds": seconds})


def _b64(content: bytes | None) -> str | None:
    return base64.b64encode(content).decode("ascii") if content is not None else None


async def wait_until_up(url: str, timeout: float = 10.0) -> Emulator:  # noqa: ASYNC109 - retries until then
    """Connect to an emulator that is starting in another process, retrying until it answers
    (TimeoutError, from the last refusal, if it does not within `timeout`)."""
    emulator: Emulator = await eventually(
        lambda: Emulator.connect(url), seconds=timeout, interval=0.1, ignore=(EmulatorError,), what=url
    )
    return emulator
