"""At-least-once intake: an update is stored (sealed) before Telegram is told it arrived, then handled.

python-telegram-bot confirms a polled batch with the next getUpdates offset,
and its webhook answers 200 once `update_queue.put` returns. Here the
application's update queue is a `DurableQueue`: polling stores a whole batch
in one transaction as it arrives (bot.resilient_bot calls `store_raw`), the
webhook stores each update in `put`; only then may Telegram forget it. An
`IntakeWorker` in every instance claims stored updates (the earliest of each
chat only, so a chat's updates keep their order across instances), handles
them with the application's handlers, and marks them done: in the same
transaction as the student's state (bot.turn.save_turn), else right after.

The window that remains: an update whose step was under way at a crash is
handled again from the state saved before it. A case it opened is found
again, not opened twice (bot.state.Handling); messages the bot had already
sent in that step (the safety information, say) are sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from telegram import Update

from bot import inbox
from bot.early_safety import EarlySafety
from bot.services import BotApplication, Services
from bot.state import Handling, handling
from casework import officers
from storage.db import Priority

logger = logging.getLogger(__name__)

IDLE_POLL_SECONDS = 1.0  # updates stored by other instances, and leases run out, are found this often
# Claims are write transactions (SQLite has one writer): updates finishing close together are
# followed by one claim, not one each.
CLAIM_GATHER_SECONDS = 0.02


def _chat_id(data: Mapping[str, Any]) -> int | None:
    """The chat of a raw update, without parsing it whole (any of the kinds that carry one)."""
    for value in data.values():
        if not isinstance(value, Mapping):
            continue
        chat = value.get("chat")
        if chat is None and isinstance(value.get("message"), Mapping):
            chat = value["message"].get("chat")  # a callback query's message
        if isinstance(chat, Mapping) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        sender = value.get("from")
        if isinstance(sender, Mapping) and isinstance(sender.get("id"), int):
            return int(sender["id"])  # in a private chat the chat is the user
    return None


class DurableQueue(asyncio.Queue[object]):
    """The application's update queue; an update put here is in the database when `put` returns.

    Only python-telegram-bot's stop signal travels in memory: stored updates reach the
    handlers through the `IntakeWorker`, from the database.
    """

    def __init__(self) -> None:
        super().__init__()
        self.services: Services | None = None
        self.arrived = asyncio.Event()  # wakes the worker
        self.early: EarlySafety | None = None  # set with the services (bot.app)
        self._stored_in_batch: set[int] = set()

    async def store_raw(self, items: list[dict[str, Any]]) -> None:
        """A polled batch, in one transaction, before the next getUpdates confirms it."""
        incoming = [
            inbox.Incoming(item["update_id"], _chat_id(item), item)
            for item in items
            if isinstance(item.get("update_id"), int)
        ]
        await self._store(incoming)
        self._stored_in_batch.update(entry.update_id for entry in incoming)

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            await super().put(item)  # python-telegram-bot's stop signal
            return
        if item.update_id in self._stored_in_batch:
            self._stored_in_batch.discard(item.update_id)  # stored with its batch already
            return
        # The webhook: stored before its handler answers 200.
        data = item.to_dict()
        await self._store([inbox.Incoming(item.update_id, _chat_id(data), data)])

    async def _store(self, incoming: list[inbox.Incoming]) -> None:
        services = self.services
        if services is None:
            raise RuntimeError("the intake is not started yet")
        if not incoming:
            return
        async with services.db.transaction(Priority.INTAKE) as session:
            new = await inbox.store(session, services.keys, incoming, services.now())
        logger.debug("intake.stored count=%d", len(new))
        if len(new) < len(incoming):
            logger.info("intake.redelivered count=%d", len(incoming) - len(new))
        if new:
            if self.early is not None:
                self.early.watch(entry for entry in incoming if entry.update_id in new)
            self.arrived.set()


class IntakeWorker:
    """Claims stored updates, handles them through the application, marks them done."""

    def __init__(
        self, application: BotApplication, queue: DurableQueue, lease: timedelta, concurrency: int
    ) -> None:
        self.application = application
        self.queue = queue
        self.lease = lease
        self.concurrency = concurrency
        self.name = secrets.token_hex(8)  # this process, in the leases it holds
        self.stopping = asyncio.Event()
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @property
    def services(self) -> Services:
        services = self.application.bot_data.services
        assert services is not None
        return services

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def run(self) -> None:
        """Until stopped: claim what can be handled, handle it, renew the leases of what is under way."""
        logger.info("intake.started")
        renewed = asyncio.get_running_loop().time()
        while not self.stopping.is_set():
            self.queue.arrived.clear()
            try:
                await self._claim()
                now = asyncio.get_running_loop().time()
                if self._tasks and now - renewed > self.lease.total_seconds() / 3:
                    renewed = now
                    await self._renew()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a database hiccup must not end intake
                logger.error("intake.claim_failed error=%s", type(error).__name__)
            await _first_of(self.queue.arrived, self.stopping, timeout=IDLE_POLL_SECONDS)
            await asyncio.sleep(CLAIM_GATHER_SECONDS)

    async def _claim(self) -> None:
        room = self.concurrency - len(self._tasks)
        if room <= 0:
            return
        services = self.services
        # A claim stands before a student's first answer: it goes before the turns' later writes.
        async with services.db.transaction(Priority.FIRST_ANSWER) as session:
            claimed = await inbox.claim(
                session, services.keys, self.name, services.now(), lease=self.lease, limit=room
            )
            # Which of them are officers' chats, for the officer gate: one query for the batch, not a
            # transaction per update. Safe to take now: a chat becomes an officer's only by its own
            # /enroll, an earlier update of the same chat, done before this one could be claimed; an
            # officer deactivated from now on is caught by the gate's verified lookup, as before.
            chats = {entry.update_id: _chat_id(entry.data) for entry in claimed}
            enrolled = await officers.enrolled_chats(session, {c for c in chats.values() if c is not None})
        for entry in claimed:
            chat = chats[entry.update_id]
            task = asyncio.create_task(
                self._handle(entry, None if chat is None else (chat, chat in enrolled)), name="intake-update"
            )
            self._tasks[entry.update_id] = task
            task.add_done_callback(functools.partial(self._done, entry.update_id))

    def _done(self, update_id: int, _task: asyncio.Task[None]) -> None:
        self._tasks.pop(update_id, None)
        self.queue.arrived.set()  # that chat's next update may be claimable now

    async def _renew(self) -> None:
        services = self.services
        async with services.db.transaction() as session:
            await inbox.renew(session, self.name, list(self._tasks), services.now(), lease=self.lease)

    async def _handle(self, entry: inbox.Claimed, officer_chat: tuple[int, bool] | None) -> None:
        early = self.queue.early
        current = Handling(
            entry.update_id,
            entry.seed,
            early=early.get(entry.update_id) if early else None,
            officer_chat=officer_chat,
        )
        handling.set(current)  # this task's own context: seen by the handlers it runs
        application = self.application
        try:
            update = Update.de_json(entry.data, application.bot)
            await application.update_processor.process_update(update, application.process_update(update))
        except Exception as error:  # handled once: an update that breaks the bot is not retried forever
            logger.error("intake.update_failed error=%s", type(error).__name__)
        if early is not None:
            await early.done(entry.update_id)  # no safety information after the turn's end
        if not current.finished:
            services = self.services
            async with services.db.transaction() as session:
                await inbox.finish(session, entry.update_id)
            current.finished = True

    async def stop(self, grace: float) -> None:
        """Stop claiming; let updates under way finish for `grace` seconds; the rest go back at once."""
        self.stopping.set()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=grace)
        left = list(self._tasks.values())
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        if left:
            with contextlib.suppress(Exception):
                services = self.services
                async with services.db.transaction() as session:
                    await inbox.release(session, self.name)
            logger.info("intake.released count=%d", len(left))


async def _first_of(*events: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109 - a poll period
    """Wait until one of `events` is set, or `timeout` seconds."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
