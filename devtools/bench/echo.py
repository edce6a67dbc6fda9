"""The load benchmark's baselines on python-telegram-bot, run by `devtools.bench.load`.

With ECHO_TOKEN and ECHO_BASE_URL pointing at the emulator:

- by default, a bare echo bot (the default Application): one reply per message;
- with ECHO_SENDS=k, the Bot API floor of a report: updates handled concurrently, as SRO Connect
  handles different chats, over the bot's own HTTP client (bot.aiohttp_request), and k messages
  sent for each update, the last one the echo. k is the number of Bot API calls one report cost
  SRO Connect in the same round, so this bot does a report's Telegram traffic and nothing else:
  no NLU, no database, no cryptography.
"""

from __future__ import annotations

import os

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.aiohttp_request import AiohttpRequest

SENDS = int(os.environ.get("ECHO_SENDS", "0"))
CONCURRENT_UPDATES = 256


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


async def floor(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text:
        for part in range(1, SENDS):
            await message.reply_text(f"part {part} of a report's answers")
        await message.reply_text(message.text)


def main() -> None:
    builder = ApplicationBuilder().token(os.environ["ECHO_TOKEN"]).base_url(os.environ["ECHO_BASE_URL"])
    if SENDS:
        builder = builder.concurrent_updates(CONCURRENT_UPDATES)
        builder = builder.request(AiohttpRequest(connection_pool_size=64, pool_timeout=10))  # as the bot's
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, floor if SENDS else echo))
    application.run_polling()


if __name__ == "__main__":
    main()
