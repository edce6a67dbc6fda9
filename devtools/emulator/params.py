"""Bot API call parameters, from a JSON body, a form or a multipart upload alike.

python-telegram-bot sends forms whose values are strings, with anything that is not a
string JSON-encoded (`reply_markup`, `chat_id`, `true`); other clients send JSON bodies.
Telegram reads both, and so does the emulator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devtools.emulator.state import ApiError, World, bad_request


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    content: bytes


_INTEGER = re.compile(r"-?\d+")


class Params:
    def __init__(self, raw: Mapping[str, Any], *, caller_bot_id: int | None = None) -> None:
        self.raw = dict(raw)
        # The bot id in the calling token: file_ids belong to one bot, as in Telegram.
        self.caller_bot_id = caller_bot_id

    def has(self, key: str) -> bool:
        return self.raw.get(key) not in (None, "")

    def text(self, key: str, *, required: bool = False) -> str | None:
        value = self.raw.get(key)
        if value in (None, ""):
            if required:
                raise bad_request(f"{key} is empty")
            return None
        if isinstance(value, Upload):
            raise bad_request(f"{key} must be a string, not a file")
        return value if isinstance(value, str) else json.dumps(value)

    def integer(self, key: str, *, required: bool = False) -> int | None:
        value = self.raw.get(key)
        if value in (None, ""):
            if required:
                raise bad_request(f"{key} is empty")
            return None
        if isinstance(value, bool):
            raise bad_request(f"invalid {key} specified")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        raise bad_request(f"invalid {key} specified")

    def number(self, key: str) -> float | None:
        value = self.raw.get(key)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {key} specified") from None

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def structured(self, key: str) -> Any:
        """A JSON-typed parameter (objects, arrays) whichever way it came."""
        value = self.raw.get(key)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {key} JSON object") from None
        return value

    def chat_id(self, world: World, key: str = "chat_id") -> int:
        value = self.raw.get(key)
        if value in (None, ""):
            raise bad_request(f"{key} is empty")
        if isinstance(value, str) and value.startswith("@"):
            for chat in world.chats.values():
                if chat.username and chat.username.lower() == value[1:].lower():
                    return chat.id
            raise bad_request("chat not found")
        try:
            result = self.integer(key)
        except ApiError:
            raise bad_request("chat not found") from None
        assert result is not None
        return result

    def peek_chat_id(self) -> int | None:
        """The chat a call names, for matching faults; None when there is none or it is odd."""
        value = self.raw.get("chat_id")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
        return None
