"""What reaches a log: event names and error types, never a student's name, username, words or id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from telegram import Bot
from telegram.request import BaseRequest, RequestData

from app.logs import configure_logging

NAME, USERNAME, WORDS, USER_ID = "Zorblaxina", "zorblax_the_kid", "he has a knife in locker 4471", 987654321
# An update python-telegram-bot cannot parse (a message that is not an object), carrying all of it.
BROKEN_UPDATE = {
    "update_id": 5,
    "message": "not a message",
    "edited_message": {"text": WORDS, "from": {"id": USER_ID, "first_name": NAME, "username": USERNAME}},
}
ME = {"id": 1234, "is_bot": True, "first_name": "SRO Connect", "username": "sro_bot"}


class FixedAnswers(BaseRequest):
    """Answers getMe and getUpdates as a Telegram server would, the updates being unparseable."""

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    @property
    def read_timeout(self) -> float:
        return 1.0

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = None,
        write_timeout: object = None,
        connect_timeout: object = None,
        pool_timeout: object = None,
    ) -> tuple[int, bytes]:
        result: object = ME if url.endswith("/getMe") else [BROKEN_UPDATE]
        return 200, json.dumps({"ok": True, "result": result}).encode()


@pytest.fixture
def configured() -> Iterator[None]:
    """The test configures logging as a process does (onto the captured stderr); this restores it."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    yield
    root.handlers[:] = saved
    root.setLevel(level)


async def test_an_update_python_telegram_bot_cannot_parse_is_logged_without_its_content(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()  # as every entry point does; its handler writes to the captured stderr
    bot = Bot("1234:" + "A" * 35, request=FixedAnswers(), get_updates_request=FixedAnswers())
    async with bot:
        with pytest.raises(Exception):  # noqa: B017, PT011 - whatever PTB raises, it logs first
            await bot.get_updates()
    logged = capsys.readouterr().err
    # Positive control: PTB did log the failure, at CRITICAL, through our handler.
    assert "CRITICAL telegram" in logged
    assert "Received data was" in logged
    for secret in (NAME, USERNAME, WORDS, "4471", str(USER_ID)):
        assert secret not in logged


def test_the_filter_is_what_keeps_it_out(capsys: pytest.CaptureFixture[str]) -> None:
    """Positive control for the test above: the same record through a plain handler leaks."""
    record = logging.LogRecord(
        "telegram.Bot", logging.CRITICAL, __file__, 1, "Received data was %r", (BROKEN_UPDATE,), None
    )
    plain = logging.Formatter("%(message)s").format(record)
    assert NAME in plain
    assert WORDS in plain


def test_our_own_records_keep_their_event_fields(
    configured: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging()
    logging.getLogger("bot.delivery").warning("delivery.retry kind=%s error=%s", "tip", "TimedOut")
    logging.getLogger("telegram.ext.Updater").error("Error %s while %d%% done", NAME, 50)
    logged = capsys.readouterr().err
    assert "delivery.retry kind=tip error=TimedOut" in logged
    assert "Error […] while […]% done" in logged
    assert NAME not in logged
