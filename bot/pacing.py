"""Sending under Telegram's limits: about 30 messages a second in all, about 1 a second per chat.

python-telegram-bot's AIORateLimiter paces the overall rate and groups, but
not private chats; here every chat gets its own pace too (a burst of a few,
then one a second), and a RetryAfter from Telegram pauses all sending for
the time Telegram asks, then retries. When the overall rate is the limit (a burst of hundreds of
students), sends made inside `first()` go before the others waiting: the safety information and
urgent tips are not queued behind everyone's other messages. That order holds within an instance;
the shared buckets below serve sends in the order they ask.

Several instances of one bot (webhook mode) share Telegram's limits: on PostgreSQL, once `share`
is given the database, the buckets and a RetryAfter's pause live there (bot.shared_pacing) and
every instance paces with the others. On SQLite (one instance) pacing stays in memory, without a
write per send. Should the database fail, a send is paced in memory and goes all the same: an
urgent tip must never wait on pacing's bookkeeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
from collections.abc import Callable, Coroutine, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.shared_pacing import Rate, SharedBuckets
from casework.vault.keys import KeyRing
from storage.db import Database

logger = logging.getLogger(__name__)

JSONResult = bool | dict[str, Any] | list[dict[str, Any]]

OVERALL_PER_SECOND = 30
CHAT_BURST = 3  # messages a chat may get at once...
CHAT_PERIOD = 3.0  # ...then on average one a second
GROUP_PER_MINUTE = 20
MAX_CHAT_LIMITERS = 4096
# The same limits as the database's buckets (bot.shared_pacing).
OVERALL_RATE = Rate.of(OVERALL_PER_SECOND, 1)
PRIVATE_RATE = Rate.of(CHAT_BURST, CHAT_PERIOD)
GROUP_RATE = Rate.of(GROUP_PER_MINUTE, 60)
# Shared pacing: how long a reservation (or a pause, or a purge) may take before the send is paced
# in memory instead; after a failure, how long to pace in memory before trying the database again;
# how often an instance deletes the buckets whose time has passed (while any is left).
SHARED_TIMEOUT = 2.0
SHARED_RETRY_AFTER = 5.0
PURGE_EVERY = 30.0


# Sends that go before the rest when Telegram's overall rate is the limit (a burst of hundreds of
# students): the safety information, and urgent tips. Set around the send (`first()`).
_first: ContextVar[bool] = ContextVar("pacing_first", default=False)


@contextlib.contextmanager
def first() -> Iterator[None]:
    """Sends made inside this go before any other waiting for Telegram's overall rate (in this instance)."""
    token = _first.set(True)
    try:
        yield
    finally:
        _first.reset(token)


class FirstLimiter:
    """A leaky bucket like aiolimiter's (`max_rate` per `period`, a burst of `max_rate`), except that
    waiters marked first are let through before the others; each kind in the order it asked."""

    def __init__(self, max_rate: float, period: float) -> None:
        self.max_rate = max_rate
        self._per_second = max_rate / period
        self._level = 0.0
        self._at = time.monotonic()
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._asked = 0
        self._wakeup: asyncio.TimerHandle | None = None

    def _leak(self) -> None:
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._at) * self._per_second)
        self._at = now

    async def acquire(self, *, first: bool = False) -> None:
        self._leak()
        if not self._waiters and self._level + 1 <= self.max_rate:
            self._level += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._asked += 1
        heapq.heappush(self._waiters, (0 if first else 1, self._asked, waiter))
        self._schedule()
        await waiter  # cancelled while waiting: skipped when its turn comes

    def _schedule(self) -> None:
        if self._wakeup is None and self._waiters:
            delay = max(0.0, (self._level + 1 - self.max_rate) / self._per_second)
            self._wakeup = asyncio.get_running_loop().call_later(delay, self._let_through)

    def _let_through(self) -> None:
        self._wakeup = None
        self._leak()
        while self._waiters and self._level + 1 <= self.max_rate:
            _, _, waiter = heapq.heappop(self._waiters)
            if not waiter.done():
                self._level += 1
                waiter.set_result(None)
        self._schedule()


def seconds(value: int | float | timedelta) -> float:
    """RetryAfter's delay in seconds (a timedelta with PTB_TIMEDELTA=true, which the bot sets)."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Pacing(BaseRateLimiter[int]):
    """Overall and per-chat pacing, and RetryAfter handling (`rate_limit_args` = retries)."""

    def __init__(self, *, enabled: bool = True, max_retries: int = 3) -> None:
        self.enabled = enabled
        self._max_retries = max_retries
        self._overall = FirstLimiter(OVERALL_PER_SECOND, 1)
        self._chats: dict[int, AsyncLimiter] = {}
        self._resume = asyncio.Event()
        self._resume.set()
        self._shared: SharedBuckets | None = None
        self._shared_down_until = 0.0  # time.monotonic() before which the database is not tried
        self._purging: asyncio.Task[None] | None = None

    def share(self, db: Database, keys: KeyRing) -> bool:
        """Pace with every instance on this database if it is PostgreSQL; True if shared."""
        if db.dialect != "postgresql":
            return False  # SQLite: one instance, and no write per send on its one writer
        self._shared = SharedBuckets(db, keys, overall=OVERALL_RATE, private=PRIVATE_RATE, group=GROUP_RATE)
        return True

    @property
    def shared(self) -> SharedBuckets | None:
        """The database's buckets this instance paces with (None: in memory only)."""
        return self._shared

    async def initialize(self) -> None:
        """Nothing to start."""

    async def shutdown(self) -> None:
        """Shared: delete the buckets whose time has passed, so that none outlives the bot for long."""
        if self._purging is not None:
            self._purging.cancel()
            await asyncio.gather(self._purging, return_exceptions=True)
            self._purging = None
        if self._shared is not None and time.monotonic() >= self._shared_down_until:
            await self._purge(self._shared)

    @staticmethod
    async def _purge(shared: SharedBuckets) -> int | None:
        """How many buckets are left (None: the purge failed)."""
        try:
            async with asyncio.timeout(SHARED_TIMEOUT):
                return (await shared.purge()).left
        except Exception as error:
            logger.info("telegram.pacing_purge_failed error=%s", type(error).__name__)
            return None

    async def _purge_until_empty(self, shared: SharedBuckets) -> None:
        """Every PURGE_EVERY seconds, until no bucket is left: an idle bot leaves no row behind."""
        while True:
            await asyncio.sleep(PURGE_EVERY)
            if await self._purge(shared) == 0:
                return

    async def _shared_wait(self, chat_id: int) -> bool:
        """Reserve this send's slot in the shared buckets and wait for it; False: pace in memory."""
        shared = self._shared
        if shared is None or time.monotonic() < self._shared_down_until:
            return False
        try:
            async with asyncio.timeout(SHARED_TIMEOUT):
                slot = await shared.reserve(chat_id)
        except Exception as error:
            self._shared_failed(error)
            return False
        if self._shared_down_until:
            self._shared_down_until = 0.0
            logger.info("telegram.pacing_shared_back")
        if self._purging is None or self._purging.done():
            self._purging = asyncio.create_task(self._purge_until_empty(shared))
        if slot.delay > 0:
            await asyncio.sleep(slot.delay)
        return True

    def _shared_failed(self, error: Exception) -> None:
        if not self._shared_down_until:
            logger.warning("telegram.pacing_shared_failed error=%s", type(error).__name__)
        self._shared_down_until = time.monotonic() + SHARED_RETRY_AFTER

    async def _shared_pause(self, seconds: float) -> None:
        """Tell every instance to wait out a RetryAfter too (best effort: this one waits anyway)."""
        if self._shared is None or time.monotonic() < self._shared_down_until:
            return
        try:
            async with asyncio.timeout(SHARED_TIMEOUT):
                await self._shared.pause(seconds)
        except Exception as error:
            self._shared_failed(error)

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
                if await self._shared_wait(chat_id):
                    return await callback(*args, **kwargs)
                async with self._chat_limiter(chat_id):
                    await self._overall.acquire(first=_first.get())
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                pause = seconds(error.retry_after) + 0.1
                resume_at = time.monotonic() + pause
                if attempt < retries:
                    logger.warning("telegram.retry_after seconds=%.1f", pause - 0.1)
                    self._resume.clear()
                try:
                    if self.enabled:
                        await self._shared_pause(pause)  # Telegram paused the token, not this instance
                    if attempt == retries:
                        raise
                    await asyncio.sleep(max(0.0, resume_at - time.monotonic()))
                finally:
                    self._resume.set()
        raise AssertionError("unreachable")  # the loop returns or raises
