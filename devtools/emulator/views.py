"""What the emulator client hands out: users, chats, messages, button presses (plain values)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class User:
    """A fake Telegram user (ids are random, 6 to 10 digits, like real ones)."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    label: str | None = None

    @classmethod
    def from_view(cls, data: Mapping[str, Any]) -> User:
        return cls(
            data["id"], data["first_name"], data.get("last_name"), data.get("username"), data.get("label")
        )


@dataclass(frozen=True)
class Chat:
    """A group, supergroup or channel (private chats are named by their user)."""

    id: int
    type: str
    title: str | None = None
    bot_member: bool = True

    @classmethod
    def from_view(cls, data: Mapping[str, Any]) -> Chat:
        return cls(data["id"], data["type"], data.get("title"), bool(data.get("bot_member", True)))


Button = tuple[str, str | None]  # (text, callback_data); URL buttons have no callback data


@dataclass(frozen=True)
class Message:
    """A message as the emulator holds it: the bot's with edits applied and deletions marked."""

    chat_id: int
    message_id: int
    from_bot: bool
    deleted: bool
    edits: int
    raw: Mapping[str, Any]  # the Telegram Message object
    options: Mapping[str, Any] = field(default_factory=dict)  # disable_notification, parse_mode, ...

    @classmethod
    def from_view(cls, data: Mapping[str, Any]) -> Message:
        return cls(
            data["chat_id"],
            data["message_id"],
            data["from_bot"],
            data["deleted"],
            data["edits"],
            data["message"],
            data.get("options", {}),
        )

    @property
    def text(self) -> str:
        """The text (or caption), markup already turned into entities as Telegram does."""
        return str(self.raw.get("text") or self.raw.get("caption") or "")

    @property
    def edited(self) -> bool:
        return self.edits > 0

    @property
    def entities(self) -> list[Mapping[str, Any]]:
        return list(self.raw.get("entities") or self.raw.get("caption_entities") or [])

    @property
    def buttons(self) -> list[list[Button]]:
        """Inline keyboard rows as (text, callback_data) pairs."""
        rows = (self.raw.get("reply_markup") or {}).get("inline_keyboard", [])
        return [[(b["text"], b.get("callback_data")) for b in row] for row in rows]

    @property
    def button_texts(self) -> list[str]:
        return [text for row in self.buttons for text, _ in row]

    @property
    def reply_to_message_id(self) -> int | None:
        replied = self.raw.get("reply_to_message")
        return int(replied["message_id"]) if replied else None

    def __str__(self) -> str:
        text = self.text if len(self.text) <= 120 else self.text[:117] + "..."
        parts = [f"#{self.message_id} {text!r}"]
        if self.buttons:
            parts.append("[" + " | ".join(self.button_texts) + "]")
        if self.edited:
            parts.append(f"(edited {self.edits}x)")
        if self.deleted:
            parts.append("(deleted)")
        return " ".join(parts)


@dataclass(frozen=True)
class ReceivedFile:
    """A file the bot sent to a chat, with the bytes its recipient downloads (a photo: its largest
    size, as Telegram recompressed it; a document: exactly the bytes uploaded)."""

    chat_id: int
    message_id: int
    kind: str  # photo, document, ...
    file_id: str
    file_unique_id: str
    data: bytes
    file_size: int | None = None
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None
    caption: str | None = None
    caption_entities: tuple[Mapping[str, Any], ...] = ()
    media_group_id: str | None = None
    has_buttons: bool = False
    deleted: bool = False

    @classmethod
    def from_view(cls, data: Mapping[str, Any]) -> ReceivedFile:
        fields = {k: v for k, v in data.items() if k not in ("content_b64", "caption_entities")}
        return cls(
            **fields,
            data=base64.b64decode(data.get("content_b64") or ""),
            caption_entities=tuple(data.get("caption_entities") or ()),
        )


@dataclass(frozen=True)
class Sent:
    """What a user sent: its message, and the update the bot gets (None if the bot cannot see it)."""

    update_id: int | None
    message: Message
    seq: int = 0  # the emulator's event sequence when it was sent: what the bot does after comes later


@dataclass(frozen=True)
class Press:
    """A button press: the callback query the bot gets."""

    update_id: int | None
    query_id: str
    data: str
    text: str
    chat_id: int
    message_id: int
    seq: int = 0  # as Sent.seq


@dataclass(frozen=True)
class CallbackAnswer:
    query_id: str
    text: str | None
    show_alert: bool
    url: str | None


ChatRef = User | Chat | int
MessageRef = Message | Sent


def chat_id_of(chat: ChatRef) -> int:
    return chat if isinstance(chat, int) else chat.id


def message_of(ref: MessageRef) -> Message:
    return ref.message if isinstance(ref, Sent) else ref


def callback_answer_of(data: Mapping[str, Any]) -> CallbackAnswer:
    return CallbackAnswer(
        data["callback_query_id"], data.get("text"), bool(data.get("show_alert")), data.get("url")
    )
