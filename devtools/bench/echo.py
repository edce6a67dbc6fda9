"""The load benchmark's baseline: a bare python-telegram-bot echo bot (the default Application).

Run by `devtools.bench.load` with ECHO_TOKEN and ECHO_BASE_URL pointing at the emulator.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


def main() -> None:
    application = (
        ApplicationBuilder().token(os.environ["ECHO_TOKEN"]).base_url(os.environ["ECHO_BASE_URL"]).build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.run_polling()


if __name__ == "__main__":
    main()
