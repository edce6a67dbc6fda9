"""Logging for every process: event names and error types, never content or identifiers.

Our own code logs only event names (`case.opened`) and error class names.
As a second line of defence a filter blanks anything shaped like a bot token
or a long number (a Telegram id) in every record, whatever emitted it, and
the libraries whose verbose levels carry tokens and raw updates (httpx puts
the token in URLs; telegram.ext logs updates) are held at WARNING.
"""

from __future__ import annotations

import logging
import re
import sys

_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{6,}(?![\w.])")

QUIET_LIBRARIES = ("httpx", "httpcore", "telegram", "telegram.ext", "apscheduler", "aiosqlite", "asyncio")


class RedactingFilter(logging.Filter):
    """Blanks bot tokens and Telegram-id-shaped numbers in a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _LONG_NUMBER.sub("[number]", _TOKEN.sub("[token]", message))
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text can quote a request or an update; keep the type only.
            error = record.exc_info[1]
            record.msg = f"{record.msg} error={type(error).__name__}"
            record.exc_info = None
            record.exc_text = None
        return True


def configure_logging(level: int = logging.INFO) -> None:
    """Called once by each entry point, never at import time."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
