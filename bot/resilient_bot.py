"""The bot's ExtBot: an update python-telegram-bot cannot parse is skipped, never a stop for every school.

python-telegram-bot parses a whole getUpdates batch at once; one update it
cannot parse (a shape it does not know) raises, and polling asks for the same
batch again, forever: no student or officer is served any more (measured
with the emulator). Here each update of the batch is checked on its own; one
that does not parse is replaced by a bare update carrying only its id, which
no handler takes, so the offset moves past it and the rest are handled. Only
the event and the error type are logged, never the update.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import ExtBot

logger = logging.getLogger(__name__)


class ResilientBot(ExtBot[int]):  # int: the rate limiter's arguments (bot.pacing)
    """ExtBot whose getUpdates never fails on the content of one update.

    With a store set (`store_polled_with`, bot.intake), a polled batch is stored durably before it
    is returned: the next getUpdates, which confirms it to Telegram, comes only after. If storing
    fails, the batch is not handed on, and polling asks for it again.
    """

    _store_updates: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None

    def store_polled_with(self, store: Callable[[list[dict[str, Any]]], Awaitable[None]]) -> None:
        """Store every polled batch with `store` before handing it on (a protected attribute: python-
        telegram-bot freezes its objects' public ones)."""
        self._store_updates = store

    async def _post(self, endpoint: str, data: Any = None, **kwargs: Any) -> Any:
        result = await super()._post(endpoint, data, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            kept = [kept for item in result if (kept := self._parseable(item)) is not None]
            if kept and self._store_updates is not None:
                await self._store_updates(kept)
            return kept
        return result

    def _parseable(self, item: object) -> dict[str, Any] | None:
        try:
            Update.de_json(item, self)  # type: ignore[arg-type]  # whatever Telegram sent
        except Exception as error:
            update_id = item.get("update_id") if isinstance(item, dict) else None
            logger.warning("bot.update_unparseable error=%s", type(error).__name__)
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                return {"update_id": update_id}  # handled by nobody; polling moves past it
            return None
        assert isinstance(item, dict)
        return item
