"""Logging for every process: event names and error types, never content or identifiers.

Our own code logs only event names (`case.opened`) and error class names.
As a second line of defence a filter on the one handler treats every record:
- a record from a library keeps only its message template, never its arguments
  or exception text: python-telegram-bot logs a raw update at CRITICAL when it
  cannot parse one ("Received data was %r"), with the student's name and words;
- anything shaped like a bot token or a long number (a Telegram id) is blanked;
- an exception keeps its type only.
The libraries whose verbose levels carry tokens and raw updates (httpx puts the
token in URLs, as aiohttp could; telegram.ext logs updates) are also held at WARNING.
"""

from __future__ import annotations

import logging
import re
import sys

_TOKEN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
_LONG_NUMBER = re.compile(r"(?<![\w.])-?\d{6,}(?![\w.])")

QUIET_LIBRARIES = (
    "httpx",
    "httpcore",
    "aiohttp",
    "telegram",
    "telegram.ext",
    "apscheduler",
    "aiosqlite",
    "asyncio",
)


# Loggers whose messages this project writes: event names and error types by construction.
OWN_LOGGERS = ("app", "bot", "casework", "storage", "nlu", "admin", "emulator", "devtools", "web", "__main__")
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def _own(name: str) -> bool:
    return any(name == own or name.startswith(own + ".") for own in OWN_LOGGERS)


class RedactingFilter(logging.Filter):
    """Library records lose their arguments; tokens and Telegram-id-shaped numbers are blanked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _own(record.name):
            # A library's template is its author's constant text; its arguments may be an update.
            template = record.msg if isinstance(record.msg, str) else type(record.msg).__name__
            record.msg = _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else "[…]", template)
            record.args = None
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
