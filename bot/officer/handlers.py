"""The officer handler group: which command, text or button goes to which officer callback.

`register_handlers` (bot.app) puts the group before the students' handlers.
Each callback passes through the gate (bot.officer.gate): an enrolled
officer's update is handled here and goes no further; anyone else's goes on
to the students' handlers untouched.
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.officer import actions, buttons, commands, images, replies
from bot.officer.gate import OfficerStep, goes_on, ignored, officers_only
from bot.services import BotContext

OfficerHandler = BaseHandler[Update, BotContext, Any]


def officer_handlers() -> list[OfficerHandler]:
    """The group, in order: the first handler that matches an update takes it."""
    # New messages only: an officer's edited message is ignored, as are photos and the like (last).
    messages = filters.UpdateType.MESSAGE

    def command(name: str | tuple[str, ...], step: OfficerStep) -> OfficerHandler:
        return CommandHandler(name, officers_only(step), filters=messages)

    def button(action: str, step: buttons.CaseStep, *, outcome: bool = False) -> OfficerHandler:
        return CallbackQueryHandler(
            officers_only(buttons.on_case(step)), pattern=buttons.pattern(action, outcome=outcome)
        )

    return [
        # Anyone's, officers' too (a new phone): it goes on to `enroll` among the students' handlers.
        CommandHandler("enroll", goes_on, filters=messages),
        command(("help", "start"), commands.help_command),
        command("cases", commands.list_cases),
        command("case", commands.show_case),
        command("close", commands.close),
        command("reopen", commands.reopen),
        command("cancel", commands.cancel),
        # Any other command (or text starting with a slash) gets the officers' help, never a reply.
        MessageHandler(messages & filters.Regex("^/"), officers_only(commands.help_command)),
        MessageHandler(messages & filters.TEXT, officers_only(replies.free_text)),
        button("ack", actions.acknowledge),
        button("reply", buttons.reply),
        button("close", actions.ask_outcome),
        button("outcome", buttons.choose_outcome, outcome=True),
        button("closenow", buttons.close_now, outcome=True),
        button("reopen", buttons.reopen),
        button("esc", actions.escalate),
        button("open", actions.show_case),
        CallbackQueryHandler(officers_only(buttons.on_case(images.show_text)), pattern=images.OCR_PATTERN),
        CallbackQueryHandler(officers_only(buttons.stale)),
        TypeHandler(Update, officers_only(ignored)),
    ]
