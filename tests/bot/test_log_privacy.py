"""Logs carry event names and error types only: full conversations, every process's output, scanned.

The bot runs as a real process (`python -m bot`, its logging configured as
in production); a student and an officer go through a report, an urgent
report, a reply and a status check; then the bot's output, the Rasa
server's output and everything logged in this process are searched for the
messages' text, the users' Telegram ids and names, the case codes and the
bot token.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.logs import configure_logging
from tests.bot.harness import CODE, Student, World, eventually
from tests.conftest import RasaServer

pytestmark = pytest.mark.rasa

WORDS = {
    "report": "someone keeps vaping purple-unicorn-carts in the third floor washroom",
    "urgent": "theres a kid with a gun in his bag named zorblax in the caf",
    "addition": "he is wearing a glittery-orange-jacket",
    "reply": "Thanks, I am walking over now, stay-calm-friend",
    "answer": "ok he left through the west-maple-door",
}


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def in_process_logs() -> Iterator[Capture]:
    configure_logging()
    capture = Capture()
    # No redaction filter here: what our code logs must be clean before any safety net.
    capture.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logging.getLogger().addHandler(capture)
    yield capture
    logging.getLogger().removeHandler(capture)


def forbidden_strings(world: World, ids: list[int], names: list[str], codes: list[str]) -> list[str]:
    found = [*WORDS.values(), world.emu.token, *names, *codes]
    for value in ids:
        found.append(str(value))
    # Distinctive fragments too, in case a log cut a text short.
    found += ["purple-unicorn", "zorblax", "glittery-orange", "stay-calm-friend", "west-maple-door"]
    return found


async def test_no_text_ids_or_token_in_any_log(
    world: World, rasa_server: RasaServer, in_process_logs: Capture, tmp_path: Path
) -> None:
    officer = await world.emu.user(first_name="Officerfirstname", started=True)
    bot_log = tmp_path / "bot.log"
    process = world.bot_process(bot_log)  # the bot exactly as the Procfile runs it
    try:
        await eventually(world.emu.bot_connected, seconds=30, what="the bot process connecting")
        code_enroll = await _invite(world, "maple")
        await world.emu.send_text(officer, f"/enroll {code_enroll}")
        assert "enrolled" in (await world.emu.next_message(officer, timeout=20)).text

        student = Student(world, await world.emu.user(first_name="Studentfirstname", started=True))
        codes: list[str] = []
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        message = await student.says(WORDS["report"])
        while "will be sent" not in message.text:
            has_skip = any(t == "Skip" for row in message.buttons for t, _ in row)
            message = await student.taps(message, "Skip" if has_skip else "No")
        sent = await student.taps(message, "✅ Send")
        codes.append(CODE.search(sent.text).group())  # type: ignore[union-attr]
        await world.emu.next_message(officer, timeout=20)

        await student.says(WORDS["urgent"])
        sent = await student.then()
        codes.append(CODE.search(sent.text).group())  # type: ignore[union-attr]
        await student.then()
        tip = await world.emu.next_message(officer, timeout=20)
        await student.says(WORDS["addition"])
        await world.emu.next_message(officer, timeout=20)

        await world.emu.reply_to(officer, tip, WORDS["reply"])
        await world.emu.next_message(officer, timeout=20)
        status = await student.says(f"/status {codes[1]}")
        await student.taps(status, "✍️ Answer the officer")
        await student.says(WORDS["answer"])
        await world.emu.next_message(officer, timeout=20)
        await student.says("/forget")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    outputs = {
        "bot process": bot_log.read_text(errors="replace"),
        "Rasa server": rasa_server.log.read_text(errors="replace"),
        "this process": "\n".join(in_process_logs.lines),
    }
    assert "bot.started" in outputs["bot process"]  # the capture caught the bot's logging at all
    assert "case.opened" in outputs["bot process"]
    forbidden = forbidden_strings(
        world,
        ids=[student.user.id, officer.id],
        names=["Studentfirstname", "Officerfirstname"],
        codes=codes + [c.replace("-", "") for c in codes],
    )
    for where, text in outputs.items():
        for value in forbidden:
            assert value not in text, f"{value!r} appears in the {where}'s log"


async def _invite(world: World, key: str) -> str:
    from casework import officers
    from tests.bot.harness import now

    async with world.database() as (db, keys), db.transaction() as session:
        return await officers.issue_enrollment_code(session, keys, world.officers[key].id, now())
