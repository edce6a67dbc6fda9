"""The python-telegram-bot application: handlers, concurrency, pacing, services, background work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram import BotCommand, ChatMemberUpdated, LinkPreviewOptions, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.ext import (
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    ExtBot,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import HTTPXRequest

from app.settings import Settings
from bot import catalog
from bot.aiohttp_request import AiohttpRequest
from bot.early_safety import EarlySafety
from bot.intake import DurableQueue, IntakeWorker
from bot.officer import enrollment
from bot.officer.handlers import officer_handlers
from bot.pacing import Pacing
from bot.processor import PerChatUpdateProcessor
from bot.resilient_bot import ResilientBot
from bot.services import BotApplication, BotContext, Services, ServiceSlot
from bot.student import evidence
from bot.student import handlers as student
from bot.student import language as student_language

logger = logging.getLogger(__name__)

# How long a stopping bot lets background work finish what it started (a tip being sent).
SHUTDOWN_GRACE_SECONDS = 10.0

STUDENT_COMMANDS = student_language.menu("en")

BackgroundTask = Callable[[BotApplication], Coroutine[Any, Any, None]]


async def refuse_groups(update: Update, context: BotContext) -> None:
    """Groups, supergroups and channels: say why not, leave, and handle nothing else."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    member: ChatMemberUpdated | None = update.my_chat_member
    removed = member is not None and member.new_chat_member.status in (
        ChatMemberStatus.LEFT,
        ChatMemberStatus.BANNED,
    )
    if not removed:
        try:
            await context.bot.send_message(chat.id, catalog.t("only_private"), parse_mode=ParseMode.HTML)
        except Exception as error:
            logger.info("bot.group_notice_failed error=%s", type(error).__name__)
        try:
            await context.bot.leave_chat(chat.id)
        except Exception as error:
            logger.info("bot.leave_failed error=%s", type(error).__name__)
        logger.info("bot.left_group type=%s", chat.type)
    raise ApplicationHandlerStop


async def on_error(update: object, context: BotContext) -> None:
    """Handler errors the handlers did not catch: the error type only (never the update)."""
    logger.error("bot.handler_error error=%s", type(context.error).__name__)


def register_handlers(application: BotApplication) -> None:
    """Groups are refused first; then the officer group takes an enrolled officer's updates (its gate
    lets anyone else's through untouched); the rest are a student's (or someone enrolling)."""
    application.add_handler(TypeHandler(Update, refuse_groups), group=-2)
    application.add_handlers(officer_handlers(), group=-1)
    private = filters.ChatType.PRIVATE
    application.add_handlers(
        [
            MessageHandler(filters.UpdateType.EDITED, student.edited),
            CommandHandler("enroll", enrollment.enroll, filters=private),
            CommandHandler("start", student.start, filters=private),
            # Each command also by its French name, the one the French texts name (fr.yml).
            CommandHandler(["help", "aide"], student.help_command, filters=private),
            CommandHandler(["privacy", "confidentialite"], student.privacy, filters=private),
            CommandHandler(["cancel", "annuler"], student.cancel, filters=private),
            CommandHandler(["forget", "oublier"], student.forget, filters=private),
            CommandHandler(["status", "statut"], student.status_command, filters=private),
            CommandHandler(["done", "fini"], student.done, filters=private),
            CommandHandler(["language", "langue"], student.language_command, filters=private),
            MessageHandler(private & filters.COMMAND, student.unknown_command),
            MessageHandler(private & filters.FORWARDED, student.forwarded),
            MessageHandler(
                private & (filters.LOCATION | filters.CONTACT | filters.VENUE), student.location_or_contact
            ),
            MessageHandler(private & (filters.PHOTO | filters.Document.IMAGE), evidence.on_image),
            MessageHandler(
                private & (filters.VOICE | filters.VIDEO | filters.VIDEO_NOTE | filters.AUDIO),
                evidence.on_voice_or_video,
            ),
            MessageHandler(private & filters.TEXT, student.on_text_message),
            MessageHandler(private, student.unsupported),
            CallbackQueryHandler(evidence.on_button, pattern=r"^img:"),
            CallbackQueryHandler(student.on_callback_query),
        ]
    )
    application.add_error_handler(on_error)


class _Lifecycle:
    """What starts with the application (services, background work, the intake worker) and stops with it."""

    def __init__(
        self,
        settings: Settings,
        services: Services | None,
        background: list[BackgroundTask],
        queue: DurableQueue | None,
    ) -> None:
        self.settings, self.injected, self.background, self.queue = settings, services, background, queue
        self.tasks: list[asyncio.Task[None]] = []
        self.intake: IntakeWorker | None = None

    async def post_init(self, application: BotApplication) -> None:
        slot = application.bot_data
        slot.services = self.injected or await Services.start(self.settings)
        pacing = application.bot.rate_limiter
        if isinstance(pacing, Pacing) and pacing.share(slot.services.db, slot.services.keys):
            logger.info("bot.pacing_shared")  # PostgreSQL: every instance paces with the others
        await application.bot.set_my_commands([BotCommand(name, text) for name, text in STUDENT_COMMANDS])
        # A Telegram app set to French shows the French names and descriptions (issue 14).
        french = [BotCommand(name, text) for name, text in student_language.menu("fr")]
        await application.bot.set_my_commands(french, language_code="fr")
        for task in self.background:
            self.tasks.append(asyncio.create_task(task(application)))
        if self.queue is not None:
            self.queue.services = slot.services
            self.queue.early = EarlySafety(application.bot, slot.services, self.settings.early_safety_seconds)
            lease = timedelta(seconds=self.settings.intake_lease_seconds)
            concurrency = self.settings.intake_concurrency
            self.intake = IntakeWorker(application, self.queue, lease, concurrency)
            self.tasks.append(asyncio.create_task(self.intake.run()))
        logger.info("bot.started")

    async def post_stop(self, application: BotApplication) -> None:
        # Before the bot's connections close: updates under way finish, the rest wait in the database.
        if self.intake is not None:
            await self.intake.stop(SHUTDOWN_GRACE_SECONDS)

    async def post_shutdown(self, application: BotApplication) -> None:
        slot = application.bot_data
        if slot.services is not None:
            # Let a delivery batch under way record what it sent, then stop whatever is left.
            slot.services.stopping.set()
            if self.tasks:
                await asyncio.wait(self.tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if slot.services is not None and self.injected is None:
            await slot.services.close()
        logger.info("bot.stopped")


def build_application(
    settings: Settings,
    *,
    services: Services | None = None,
    background: list[BackgroundTask] | None = None,
    durable: bool = False,
) -> BotApplication:
    """The bot, ready to run (polling or webhook); `services` may be injected by tests.

    `durable` (what `python -m bot` runs): every update is stored, sealed, before Telegram is told it
    arrived, and handled from the database (bot.intake), so a crash loses none. Without it, updates
    go through python-telegram-bot's queue in memory (the in-process tests and tools).
    """
    token = settings.telegram_bot_token
    if token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    queue = DurableQueue() if durable else None
    lifecycle = _Lifecycle(settings, services, background or [], queue)
    resilient = ResilientBot(
        token.get_secret_value(),
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_file_base_url,
        # Sends go through aiohttp (bot.aiohttp_request: a tenth of httpx's CPU per request under a
        # burst); the one long poll at a time stays on python-telegram-bot's own httpx client.
        request=AiohttpRequest(connection_pool_size=64, pool_timeout=10),
        get_updates_request=HTTPXRequest(connection_pool_size=1),
        # No link previews on anything the bot sends (a student's pasted URL must never be fetched);
        # the calls that carry a student's words also say so themselves.
        defaults=Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)),
        rate_limiter=Pacing(enabled=settings.telegram_pacing),
    )
    bot: ExtBot[int] = resilient
    builder = (
        ApplicationBuilder()
        .bot(bot)
        .context_types(ContextTypes(context=BotContext, bot_data=ServiceSlot))
        .concurrent_updates(PerChatUpdateProcessor(256))
        .post_init(lifecycle.post_init)
        .post_stop(lifecycle.post_stop)
        .post_shutdown(lifecycle.post_shutdown)
    )
    if queue is not None:
        resilient.store_polled_with(queue.store_raw)
        builder = builder.update_queue(queue)
    application: BotApplication = builder.build()
    register_handlers(application)
    return application
