"""One student update: their pseudonym, their state (loaded, then saved), and how to answer them."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from bot import catalog
from bot.services import BotContext, Services
from bot.state import ChatState
from casework import drafts

logger = logging.getLogger(__name__)

# A button: (label key in the catalog or a ready label, callback data).
Button = tuple[str, str]


@dataclass
class Turn:
    update: Update
    context: BotContext
    chat_id: int
    pseudonym: str
    state: ChatState
    expired: bool = False  # a draft existed but timed out before this update

    @property
    def services(self) -> Services:
        return self.context.services

    def text(self, key: str, **values: object) -> str:
        """A catalog text with `values` escaped (they may be a student's words)."""
        return catalog.t(key, self.state.language, **values)

    def raw_text(self, key: str, **values: str) -> str:
        """A catalog text with `values` that are safe HTML already."""
        return catalog.raw(key, self.state.language, **values)

    def keyboard(self, rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
        """Buttons from (catalog key or label, callback data) pairs."""
        known = catalog.messages(self.state.language)
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(known.get(label, label), callback_data=data) for label, data in row]
                for row in rows
            ]
        )

    async def say(
        self, key: str, *, buttons: Sequence[Sequence[Button]] | None = None, **values: object
    ) -> Message:
        return await self.send(catalog.fill(key, values, self.state.language), buttons=buttons)

    async def send(self, html: str, *, buttons: Sequence[Sequence[Button]] | None = None) -> Message:
        """Send ready HTML to this chat."""
        return await self.context.bot.send_message(
            chat_id=self.chat_id,
            text=html,
            parse_mode=ParseMode.HTML,
            reply_markup=self.keyboard(buttons) if buttons else None,
            disable_web_page_preview=True,
        )

    async def remove_buttons(self) -> None:
        """Take the buttons off the message whose button was pressed (so it cannot be pressed twice)."""
        query = self.update.callback_query
        if query is not None and query.message is not None:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except Exception as error:
                logger.info("bot.buttons_not_removed error=%s", type(error).__name__)


async def load_turn(update: Update, context: BotContext) -> Turn:
    chat = update.effective_chat
    assert chat is not None  # student handlers only run for private chats
    services = context.services
    pseudonym = services.keys.pseudonym(chat.id)
    async with services.db.transaction() as session:
        had_draft = await drafts.exists(session, pseudonym)
        raw = await drafts.load_state(session, services.keys, pseudonym, services.now())
    state = ChatState.from_dict(raw) if raw is not None else ChatState()
    return Turn(update, context, chat.id, pseudonym, state, expired=had_draft and raw is None)


async def save_turn(turn: Turn) -> None:
    services = turn.services
    async with services.db.transaction() as session:
        if turn.state == ChatState():
            await drafts.delete_state(session, turn.pseudonym)
        else:
            await drafts.save_state(
                session, services.keys, turn.pseudonym, turn.state.to_dict(), services.now()
            )
