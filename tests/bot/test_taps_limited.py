"""Button taps are counted against a limit of their own: a tapping loop is slowed, a tap that sends is not.

Before, taps were never counted: the language buttons, or "Show the images" (up to ten uploads a
tap), repeated their work as fast as they were tapped.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.student import handlers
from bot.turn import FloodLimit
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, World
from tests.bot.scripted import ScriptedClassifier

ALIVE = "i dont want to be alive anymore"
TAPS_ALLOWED = 3


async def test_a_tapping_loop_is_slowed_but_a_tap_that_sends_a_report_is_not(
    scripted_world: World, script: ScriptedClassifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small limit in a long window: which taps fall in it must not depend on the clock.
    taps = FloodLimit(TAPS_ALLOWED, timedelta(hours=1), "taps")
    monkeypatch.setattr(handlers, "TAPS", taps, raising=False)
    world = scripted_world
    script.says(ALIVE, "report_self_harm", confidence=0.99)
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")  # the first tap
        for number in range(2, TAPS_ALLOWED + 3):
            asked = await student.says("/language")
            press = await world.emu.press(student.user, asked, "English")
            answer = await world.emu.callback_answer(press)
            if number <= TAPS_ALLOWED:
                assert "write in English" in (await student.then()).text
                assert answer.text is None
            else:  # slowed: a short notice on the button, nothing done and nothing added to the chat
                assert answer.text is not None
                assert "tapping very fast" in answer.text
                await student.quiet()

        # Over the limit, "Send to the officer" still sends: a report is never held back by it.
        asked = await student.says(ALIVE)
        assert "9-8-8" in asked.text
        sent = await student.taps(asked, "📨 Send to the officer")
        assert CODE.search(sent.text), sent.text
        assert "alive anymore" in (await world.emu.next_message(officer, timeout=15)).text
