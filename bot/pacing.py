"""Sending under Telegram's limits: about 30 messages a second in all, about 1 a second per chat.

python-telegram-bot's AIORateLimiter paces the overall rate and groups, but
not private chats; here every chat gets its own pace too (a burst of a few,
then one a second), and a RetryAfter from Telegram pauses all sending for
the time Telegram asks, then retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

OVERALL_PER_SECOND = 30
CHAT_BURST = 3  # messages a chat may get at once...
CHAT_PERIOD = 3.0  # ...then on average one a second
GROUP_PER_MINUTE = 20
MAX_CHAT_LIMITERS = 4096


def seconds(value: int | float | timedelta) -> float:
    """RetryAfter's delay in seconds (a timedelta with PTB_TIMEDELTA=true, which the bot sets)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Pacing(BaseRateLimiter[int]):
    """Overall and per-chat pacing, and RetryAfter handling (`rate_limit_args` = retries)."""

    def __init__(self, *, enabled: bool = True, max_retries: int = 3) -> None:
        self.enabled = enabled
        self._max_retries = max_retries
        self._overall = AsyncLimiter(OVERALL_PER_SECOND, 1)
        self._chats: dict[int, AsyncLimiter] = {}
        self._resume = asyncio.Event()
        self._resume.set()

    async def initialize(self) -> None:
        """Nothing to start."""

    async def shutdown(self) -> None:
        """Nothing to stop."""

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._chats) > MAX_CHAT_LIMITERS:
            # Forget chats whose limiter is back to full capacity: nothing to remember.
            for key, limiter in list(self._chats.items()):
                if limiter.has_capacity(limiter.max_rate):
                    del self._chats[key]
        if chat_id not in self._chats:
            self._chats[chat_id] = (
                AsyncLimiter(GROUP_PER_MINUTE, 60) if chat_id < 0 else AsyncLimiter(CHAT_BURST, CHAT_PERIOD)
            )
        return self._chats[chat_id]

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSONResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> JSONResult:
        retries = self._max_retries if rate_limit_args is None else rate_limit_args
        chat_id: int | None = None
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(data["chat_id"]) if "chat_id" in data else None
        for attempt in range(retries + 1):
            await self._resume.wait()
            try:
                if not self.enabled or chat_id is None:
                    return await callback(*args, **kwargs)
                async with self._chat_limiter(chat_id), self._overall:
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                if attempt == retries:
                    raise
                pause = seconds(error.retry_after)
                logger.warning("telegram.retry_after seconds=%.1f", pause)
                self._resume.clear()
                try:
                    await asyncio.sleep(pause + 0.1)
                finally:
                    self._resume.set()
        raise AssertionError("unreachable")  # the loop returns or raises
