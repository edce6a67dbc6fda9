"""`python -m bot`: long polling by default; webhook mode when WEBHOOK_URL is set."""

from __future__ import annotations

import os
import sys

from pydantic import ValidationError
from telegram import Update

from app.logs import configure_logging
from app.settings import Settings
from bot.app import build_application
from bot.delivery import delivery_worker
from bot.jobs import housekeeping


def main() -> int:
    # python-telegram-bot's time periods as timedeltas (its future default; no deprecation noise).
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    configure_logging()
    try:
        settings = Settings()
    except ValidationError as error:
        for problem in error.errors(include_url=False, include_input=False):
            print(f"error: {problem['msg'].removeprefix('Value error, ')}", file=sys.stderr)  # noqa: T201
        return 2
    if settings.telegram_bot_token is None:
        message = "error: TELEGRAM_BOT_TOKEN is not set (make run starts a local demo without one)"
        print(message, file=sys.stderr)  # noqa: T201
        return 2
    application = build_application(settings, background=[delivery_worker, housekeeping], durable=True)
    if settings.webhook_url:
        if settings.webhook_secret is None:
            print("error: WEBHOOK_SECRET is required with WEBHOOK_URL", file=sys.stderr)  # noqa: T201
            return 2
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=settings.webhook_path,
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value(),
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


if __name__ == "__main__":
    sys.exit(main())
