"""The gate of the officer handler group: only an enrolled officer's private chat gets past it.

Every callback of the group (bot.officer.handlers) is wrapped by
`officers_only`. For an enrolled officer it runs and the update stops there,
so an officer's free text is never taken as a student's report. For anyone
else it does nothing and the update goes on to the student handlers, exactly
as if the group were not there: a student can never reach an officer command.
The role is the chat's enrollment, looked up on every update, and every case
operation also checks that the case was sealed for this officer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ApplicationHandlerStop

from bot.services import BotContext
from bot.state import handling
from bot.turn import Replies
from casework import officers
from casework.cases import reply_modes
from casework.cases.reply_modes import ReplyMode
from storage.models import Officer

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, None]]


@dataclass
class OfficerTurn(Replies):
    """One update from an enrolled officer: who they are, and how to answer them."""

    officer: Officer

    async def mode(self) -> ReplyMode | None:
        """What the officer's next text is for (a reply, a last message, a held message), if anything."""
        services = self.services
        async with services.db.transaction() as session:
            return await reply_modes.load(session, services.keys, self.officer.id, services.now())

    async def set_mode(self, mode: ReplyMode | None) -> None:
        services = self.services
        async with services.db.transaction() as session:
            if mode is None:
                await reply_modes.clear(session, self.officer.id)
            else:
                await reply_modes.save(session, services.keys, self.officer.id, mode, services.now())


OfficerStep = Callable[[OfficerTurn], Awaitable[None]]


def officers_only(step: OfficerStep) -> Callback:
    """A callback of the officer group: `step` for an enrolled officer (then the update stops here);
    for anyone else nothing, and the update goes on to the next group."""

    async def callback(update: Update, context: BotContext) -> None:
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        db = context.services.db
        # Most updates are students': the intake's claim looked their chats up (bot.intake), or else a
        # read that takes no writer turn says so. An officer's chat is then verified in a transaction,
        # which can record an alert if its record was forged.
        current = handling.get()
        known = current.officer_chat_known(chat.id) if current is not None else None
        if known is None:
            async with db.read() as session:
                known = await officers.enrolled_chat(session, chat.id)
        if not known:
            return
        async with db.transaction() as session:
            officer = await officers.officer_for_chat(session, chat.id)
        if officer is None:
            return
        await step(OfficerTurn(update, context, chat.id, officer))
        raise ApplicationHandlerStop

    return callback


async def ignored(turn: OfficerTurn) -> None:
    """An officer's update no officer handler takes (a photo, an edit): it stops here, unanswered."""


async def goes_on(update: Update, context: BotContext) -> None:
    """Nothing: the update goes on to the next handler group (an officer's /enroll, from a new phone)."""
