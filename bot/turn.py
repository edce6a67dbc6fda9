"""How the bot answers in a chat; one student update: their pseudonym, their state (loaded, then saved).

A student's update costs two transactions of its own: `load_turn` (the state, and the message
counted against the flood limit) and `save_turn` (the state, the writes the step left for the end,
such as its statistic, and the stored update marked done). A step that must commit before it
speaks (a case, before "sent") has its own in between.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode

from bot import catalog, inbox, pacing
from bot.services import BotContext, Services
from bot.state import ChatState, handling
from casework import rate_limits
from casework.cases import drafts
from storage.db import Priority

logger = logging.getLogger(__name__)

# A button: (label key in the catalog or a ready label, callback data).
Button = tuple[str, str]
# Buttons in rows, for `say` and `send`; or a ready markup (an officer's case buttons).
Rows = Sequence[Sequence[Button]] | None
Markup = InlineKeyboardMarkup | None
# A write a step leaves for the end of its turn (bot.turn.save_turn), given the turn's last session.
Later = Callable[[AsyncSession], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class FloodLimit:
    """How many messages (or taps, in their own bucket) a chat may send in a window before it is
    slowed down (bot.student.handlers)."""

    limit: int
    window: timedelta
    bucket: str = "messages"


@dataclass
class Replies:
    """How the bot answers in one chat: catalog texts, buttons, HTML without link previews.

    Shared by a student's `Turn` and an officer's turn (bot.officer.gate), so both sides answer alike.
    """

    update: Update
    context: BotContext
    chat_id: int

    @property
    def services(self) -> Services:
        return self.context.services

    @property
    def language(self) -> str:
        return catalog.DEFAULT_LANGUAGE

    def text(self, key: str, **values: object) -> str:
        """A catalog text with `values` escaped (they may be a student's words)."""
        return catalog.t(key, self.language, **values)

    def raw_text(self, key: str, **values: str) -> str:
        """A catalog text with `values` that are safe HTML already."""
        return catalog.raw(key, self.language, **values)

    def keyboard(self, rows: Sequence[Sequence[Button]]) -> InlineKeyboardMarkup:
        """Buttons from (catalog key or label, callback data) pairs."""
        known = catalog.messages(self.language)
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(known.get(label, label), callback_data=data) for label, data in row]
                for row in rows
            ]
        )

    async def say(
        self, key: str, *, buttons: Rows = None, markup: Markup = None, **values: object
    ) -> Message:
        return await self.send(catalog.fill(key, values, self.language), buttons=buttons, markup=markup)

    async def send(self, html: str, *, buttons: Rows = None, markup: Markup = None) -> Message:
        """Send ready HTML to this chat, under `buttons` (or a ready `markup`)."""
        message = await self.context.bot.send_message(
            chat_id=self.chat_id,
            text=html,
            parse_mode=ParseMode.HTML,
            reply_markup=self.keyboard(buttons) if buttons else markup,
            disable_web_page_preview=True,
        )
        self.sent(message)
        return message

    def sent(self, message: Message) -> None:
        """Called with each message sent: a student's turn keeps its id (for /forget)."""

    async def remove_buttons(self) -> None:
        """Replace the buttons of the pressed message by the choice made, so it cannot be pressed twice
        and the chat keeps a record of what was chosen."""
        query = self.update.callback_query
        if query is None or not isinstance(query.message, Message):
            return
        await mark_choice(query.message, query.data or "")


@dataclass
class Turn(Replies):
    """One student update: their pseudonym and state, and the answers sent in it."""

    pseudonym: str
    state: ChatState
    expired: bool = False  # a draft existed but timed out before this update
    # Ids of this chat's messages in this update (the student's and the bot's), kept sealed with the
    # draft so that /forget can delete them; /forget turns the remembering off for its own answer.
    message_ids: list[int] = field(default_factory=list)
    remember_messages: bool = True
    # This message against the flood limit, counted when the state was loaded (None: not counted).
    flood: rate_limits.Decision | None = None
    # Whether the chat may open another urgent case (bot.student.sending.open_urgent), read with the
    # flood limit when the state was loaded (None: not read).
    urgent_room: bool | None = None
    # Writes left for save_turn's transaction, in order (a statistic: counted once per update).
    later: list[Later] = field(default_factory=list)
    # The state and message list as load_turn read them (drafts.save_chat writes them back).
    rows: drafts.ChatRows | None = None

    @property
    def language(self) -> str:
        return self.state.language

    def sent(self, message: Message) -> None:
        self.message_ids.append(message.message_id)

    async def say_safety(self, key: str) -> None:
        """The safety information `key` ("urgent_danger" or "urgent_self_harm"), unless it was sent early
        (bot.early_safety)."""
        said = await early_said()
        _safety_said(self.pseudonym, key)
        if said == key or (said, key) == ("urgent_early_danger", "urgent_danger"):
            return  # said early; whether the report went, the next message says ("Sent", the code)
        with pacing.first():  # before the rest, when Telegram's overall rate is what limits
            await self.say(key)

    async def say_safety_again(self, key: str) -> None:
        """For urgent words added to a report: the safety information `key` again, unless this chat was
        given it within SAFETY_AGAIN_AFTER (the early answer's rule: a flood of danger words is not
        answered with a flood of the same text; each addition's answer names 911 itself)."""
        last = _said_safety.get(self.pseudonym)
        if last is not None and last[0] == key and time.monotonic() - last[1] < SAFETY_AGAIN_AFTER:
            return
        await self.say_safety(key)


# The safety information said to each chat lately (pseudonym -> key, monotonic time), in this process:
# across instances a chat may read it once more, never less.
SAFETY_AGAIN_AFTER = 60.0  # as bot.early_safety.PER_CHAT_EVERY
_said_safety: dict[str, tuple[str, float]] = {}


def _safety_said(pseudonym: str, key: str) -> None:
    now = time.monotonic()
    if len(_said_safety) > 10_000:  # forget what no longer counts
        for old in [p for p, (_, at) in _said_safety.items() if now - at > SAFETY_AGAIN_AFTER]:
            del _said_safety[old]
    _said_safety[pseudonym] = (key, now)


def forget_safety_said(pseudonym: str) -> None:
    """/forget: nothing of the chat stays in this process either."""
    _said_safety.pop(pseudonym, None)


async def early_said() -> str | None:
    """The safety information sent early for the update being handled, if any; from here on none will
    be (a send under way is awaited), so the turn says what it needs itself."""
    current = handling.get()
    if current is None or current.early is None:
        return None
    return await current.early.settle()


async def mark_choice(message: Message, data: str) -> None:
    """Edit a message: its buttons off, the label of the pressed one shown under its text."""
    label = next(
        (
            button.text
            for row in (message.reply_markup.inline_keyboard if message.reply_markup else ())
            for button in row
            if button.callback_data == data
        ),
        None,
    )
    try:
        if label is None or not message.text:
            await message.edit_reply_markup(reply_markup=None)
        else:
            await message.edit_text(
                f"{message.text_html}\n\n<i>✔ {html.escape(label)}</i>",
                parse_mode=ParseMode.HTML,
                reply_markup=None,
                disable_web_page_preview=True,
            )
    except Exception as error:  # a stale message is not worth failing the turn
        logger.info("bot.buttons_not_removed error=%s", type(error).__name__)


async def load_turn(
    update: Update,
    context: BotContext,
    *,
    flood: FloodLimit | None = None,
    urgent_cases: rate_limits.Limit | None = None,
) -> Turn:
    """The chat's pseudonym and state, and with `flood` this message counted against it (and, read in
    the same query, whether `urgent_cases` has room for another): one transaction (it writes: the
    count, and an expired draft's deletion)."""
    chat = update.effective_chat
    assert chat is not None  # student handlers only run for private chats
    services = context.services
    pseudonym = services.keys.pseudonym(chat.id)
    decision, room = None, None
    # Before anything else of the others' turns: a student's first answer waits for this.
    async with services.db.transaction(Priority.FIRST_ANSWER) as session:
        # The state and the chat's message list (for /forget) in one query; the list is written back
        # in save_turn only if nothing changed it meanwhile (drafts.save_chat).
        rows = await drafts.load_chat(session, services.keys, pseudonym, services.now())
        if flood is not None and urgent_cases is not None:
            counted = rate_limits.Limit(flood.bucket, flood.limit, flood.window)
            decision, room = await rate_limits.hit_and_peek(
                session, services.keys, pseudonym, counted, urgent_cases, services.now()
            )
        elif flood is not None:
            decision = await rate_limits.hit(
                session,
                services.keys,
                pseudonym,
                flood.bucket,
                limit=flood.limit,
                window=flood.window,
                now=services.now(),
            )
    state = ChatState.from_dict(rows.state) if rows.state is not None else ChatState()
    expired = rows.had_draft and rows.state is None
    turn = Turn(update, context, chat.id, pseudonym, state, expired=expired, flood=decision, rows=rows)
    turn.urgent_room = room
    if update.message is not None:  # the student's own message: /forget deletes it too
        turn.message_ids.append(update.message.message_id)
    return turn


async def save_turn(turn: Turn) -> None:
    """Save the state, with the writes the step left for the end; a stored update being handled is
    marked done in the same transaction, so a crash leaves either all of it (the update is not handled
    again) or none (it is, from the old state, and its statistic is not counted twice)."""
    services = turn.services
    current = handling.get()
    if current is not None and current.early is not None:
        await current.early.settle()  # an early message the turn did not take is remembered too (/forget)
        if current.early.message_id is not None and current.early.message_id not in turn.message_ids:
            turn.message_ids.append(current.early.message_id)
    async with services.db.transaction() as session:
        if current is not None and not current.finished:
            await inbox.finish(session, current.update_id)
        for write in turn.later:
            await write(session)
        state = None if turn.state == ChatState() else turn.state.to_dict()
        remembered = turn.message_ids if turn.remember_messages else []
        if turn.rows is None:  # a turn made without load_turn
            turn.rows = await drafts.load_chat(session, services.keys, turn.pseudonym, services.now())
        await drafts.save_chat(
            session, services.keys, turn.pseudonym, state, remembered, services.now(), turn.rows
        )
    turn.later.clear()
    if current is not None:
        current.finished = True
