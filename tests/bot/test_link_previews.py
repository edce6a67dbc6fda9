"""No link previews on anything that carries a student's words: a pasted URL is never fetched.

Telegram fetches a URL in a message to build its preview when the message is
shown, so a student's pasted link would tell its owner when the officer (or
the student, rereading /status) opened it. Every Bot API call the bot makes
is recorded by the emulator with its parameters; every one that carries the
URL must disable previews.
"""

from __future__ import annotations

import json
import re
from typing import Any

from devtools.emulator.faults import Call
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, World
from tests.bot.scripted import ScriptedClassifier, entity

HOST = "tracker.example"
URL = f"https://{HOST}/v/7f3q"
GUN = f"a guy posted a video saying hes bringing a gun to school tomorrow {URL}"
SCOOTER = f"is it illegal to ride an e-scooter on the sidewalk like in {URL}/q"


def previews_disabled(call: Call) -> bool:
    """The call asked Telegram not to preview links (either spelling of the Bot API)."""
    params = call.params
    if str(params.get("disable_web_page_preview", "")).lower() == "true":
        return True
    options: Any = params.get("link_preview_options")
    if isinstance(options, str):
        options = json.loads(options)
    return isinstance(options, dict) and options.get("is_disabled") is True


def carrying(calls: list[Call], needle: str) -> list[Call]:
    return [c for c in calls if needle in json.dumps(c.params, ensure_ascii=False)]


async def test_no_call_carrying_a_students_url_allows_a_preview(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    # What the real model answers (report_threat, the gun tagged), so the tip reads as it would.
    script.says(GUN, "report_threat", entities=(entity(GUN, "weapon", "gun"),))
    script.says(SCOOTER, "ask_officer", confidence=0.83)
    officer = await world.enroll("maple")
    async with world.running():
        # An urgent report with a URL: the tip goes out at once, then the student adds more.
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple", "Maple Ridge Secondary School")
        safety = await student.says(GUN)
        assert "911" in safety.text
        sent = await student.then()
        code = CODE.search(sent.text)
        assert code, sent.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert URL in tip.text
        assert "tell me more" in (await student.then()).text
        await student.says(f"he posted it again here {URL}/2")
        addition = await world.emu.next_message(officer, timeout=15)
        assert f"{URL}/2" in addition.text
        assert "Thank you" in (await student.says("/done")).text

        # The officer reads the whole case, and the student rereads it with the code.
        reference = re.search(r"case ([A-Z0-9]+-\d+)", tip.text)
        assert reference, tip.text
        await world.emu.send_text(officer, f"/case {reference.group(1)}")
        thread = await world.emu.next_message(officer, timeout=15)
        assert URL in thread.text
        assert f"{URL}/2" in thread.text
        status = await student.says(f"/status {code.group()}")
        assert URL in status.text

        # A question with a URL: the student's preview of what will be sent, then the tip.
        other = await new_student(world)
        await other.says("/start")
        await other.then()
        await other.choose_school("maple", "Maple Ridge Secondary School")
        preview = await other.says(SCOOTER)
        assert f"{URL}/q" in preview.text
        await other.taps(preview, "✅ Send")
        question = await world.emu.next_message(officer, timeout=15)
        assert f"{URL}/q" in question.text

    calls = await world.emu.calls()
    with_url = carrying(calls, HOST)
    to_officer = [c for c in with_url if c.chat_id == officer.id]
    to_students = [c for c in with_url if c.chat_id in (student.user.id, other.user.id)]
    assert len(to_officer) >= 4, to_officer  # tip, addition, /case thread, question tip
    assert len(to_students) >= 2, to_students  # /status and the question's preview, at least
    assert [c for c in with_url if not previews_disabled(c)] == []

    # Positive control: a message sent with previews allowed is caught by the same check.
    async with world.emu.ptb_bot() as bot:
        await bot.send_message(officer.id, f"control {URL}/control")
    control = carrying(await world.emu.calls(), f"{URL}/control")
    assert len(control) == 1
    assert not previews_disabled(control[0])
