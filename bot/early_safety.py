"""Safety information before the turn, when the turn is late: no burst keeps a student in danger waiting.

A student's turn says the safety information as soon as its message is classified. In a burst (a
school board's hundreds of reports at once after an incident, on two cores) a turn can wait many
seconds to be claimed, to load its state and for the model; so can one whose Rasa server hangs.
The safety net needs none of that. So every private text stored in the durable inbox (bot.intake)
gets a short timer; if its turn has neither said its safety information nor finished when the timer
runs out, and the safety net fires on the text, the safety information of that category is sent
at once, in the language the text is written in.

The turn then finds it said and does not say it again (`Turn.say_safety`): its next message says
whether the report went (the code), and a self-harm message still asks its one tap to send (without
the crisis lines twice). What the turn does with the report is unchanged. The early message is
remembered for /forget with the turn's own.

What it never does: speak in an officer's chat, or for an update already handled (both read, not
written); speak twice to one chat within a minute (a flood of danger words gets one early answer,
and its turns still answer each); keep the text once its timer has run. A duplicate is possible
only across instances (one stored the update, another is handling it slowly) or after a crash:
the student reads the safety information twice, never not at all.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from telegram import Bot
from telegram.constants import ParseMode

from bot import catalog, inbox, pacing
from bot.services import Services
from casework import officers
from nlu.language import detect

logger = logging.getLogger(__name__)

# One early answer per chat in this window: the turns of a flood answer each message themselves.
PER_CHAT_EVERY = 60.0
# An early answer is kept for its turn this long (a lease and then some): then the turn has run, here or
# in another instance.
FORGET_AFTER = 600.0


def safety_key(category: str) -> str:
    """What is said early for a safety-net category: the crisis lines, or 911.

    Never whether the report is sent: that is the turn's to decide and say (a soft rule or an unsure
    model asks the student first); `Turn.say_safety` then does not say it again.
    """
    return "urgent_self_harm" if category == "self_harm" else "urgent_early_danger"


class _Phase(Enum):
    WAITING = "waiting"  # the timer runs
    SENDING = "sending"  # the timer ran out, the safety information is on its way
    CLOSED = "closed"  # settled: sent early, or left to the turn


@dataclass(eq=False)
class Early:
    """One stored update's early safety information: waiting, on its way, or settled."""

    update_id: int
    chat_id: int
    text: str
    phase: _Phase = _Phase.WAITING
    said: str | None = None  # the catalog key sent early, once sent
    message_id: int | None = None
    timer: asyncio.TimerHandle | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    async def settle(self) -> str | None:
        """The turn's say: the key sent early (None: nothing was, and now nothing will be)."""
        if self.phase is _Phase.WAITING:
            self._close()
        elif self.phase is _Phase.SENDING and self.task is not None:
            await asyncio.shield(self.task)
        return self.said

    def _close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.phase, self.text = _Phase.CLOSED, ""


def _private_text(data: Mapping[str, Any]) -> tuple[int, str] | None:
    """A private chat's typed message (not a command): its chat and text."""
    message = data.get("message")
    if not isinstance(message, Mapping):
        return None
    chat, text = message.get("chat"), message.get("text")
    if not isinstance(chat, Mapping) or chat.get("type") != "private" or not isinstance(chat.get("id"), int):
        return None
    if not isinstance(text, str) or not text.strip() or text.startswith("/"):
        return None
    return int(chat["id"]), text


class EarlySafety:
    """This instance's timers for the updates it stored (bot.intake.DurableQueue)."""

    def __init__(self, bot: Bot, services: Services, after: float) -> None:
        self.bot, self.services, self.after = bot, services, after
        self._waiting: dict[int, Early] = {}
        self._last_said: dict[int, float] = {}  # chat -> monotonic time of its last early answer

    def watch(self, stored: Iterable[inbox.Incoming]) -> None:
        """Start the timers of updates just stored (committed: a crash from here loses nothing)."""
        if self.after <= 0:
            return
        loop = asyncio.get_running_loop()
        for incoming in stored:
            found = _private_text(incoming.data)
            if found is None or incoming.update_id in self._waiting:
                continue
            early = Early(incoming.update_id, *found)
            early.timer = loop.call_later(self.after, self._ran_out, early)
            self._waiting[incoming.update_id] = early

    def get(self, update_id: int) -> Early | None:
        return self._waiting.get(update_id)

    async def done(self, update_id: int) -> None:
        """The update was handled: its timer stops (a send under way finishes first)."""
        early = self._waiting.pop(update_id, None)
        if early is not None:
            await early.settle()

    def _ran_out(self, early: Early) -> None:
        if early.phase is not _Phase.WAITING:
            return
        hit = self.services.safety_net.check(early.text)
        now = time.monotonic()
        if hit is None or now - self._last_said.get(early.chat_id, -PER_CHAT_EVERY) < PER_CHAT_EVERY:
            self._waiting.pop(early.update_id, None)
            early._close()
            return
        before = self._remember(early.chat_id, now)  # reserved now: a second timer of the chat stays quiet
        key, language = safety_key(hit.category), detect(early.text)
        early.phase, early.text = _Phase.SENDING, ""
        early.task = asyncio.create_task(self._send(early, key, language, before), name="early-safety")

    def _remember(self, chat_id: int, now: float) -> float | None:
        if len(self._last_said) > 10_000:
            for chat in [c for c, at in self._last_said.items() if now - at > PER_CHAT_EVERY]:
                del self._last_said[chat]
        before = self._last_said.get(chat_id)
        self._last_said[chat_id] = now
        return before

    async def _send(self, early: Early, key: str, language: str, before: float | None) -> None:
        try:
            async with self.services.db.read() as session:
                if await officers.enrolled_chat(session, early.chat_id):
                    return  # an officer's words are not a student's report
                if await inbox.handled(session, early.update_id):
                    return  # another instance answered it already
            with pacing.first():
                message = await self.bot.send_message(
                    early.chat_id, catalog.t(key, language), parse_mode=ParseMode.HTML
                )
            early.said, early.message_id = key, message.message_id
            logger.info("intake.early_safety key=%s", key)
            # Forgotten in any case once no turn can still want it (another instance may handle it).
            asyncio.get_running_loop().call_later(FORGET_AFTER, self._waiting.pop, early.update_id, None)
        except Exception as error:  # the turn still says it: early or not, never lost
            logger.error("intake.early_safety_failed error=%s", type(error).__name__)
        finally:
            early.phase = _Phase.CLOSED
            if early.said is None:  # nothing said: the chat's reservation goes back as it was
                self._waiting.pop(early.update_id, None)
                if before is None:
                    self._last_said.pop(early.chat_id, None)
                else:
                    self._last_said[early.chat_id] = before
