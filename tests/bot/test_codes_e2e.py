"""Codes a phone can type (issue 9, item 3), end to end: letters and digits only; old codes still work."""

from __future__ import annotations

import secrets

from casework import crockford
from tests.bot.conftest import new_student
from tests.bot.harness import CODE, Student, World
from tests.bot.scripted import ScriptedClassifier

QUESTION = "can i talk to the officer about getting a police check for volunteering"


def old_form(code: str) -> str:
    """The same code with the check character the old algorithm (value mod 37) gave it."""
    data = code.replace("-", "")[:-1]
    return crockford.display(data + crockford.legacy_check_character(crockford.decode(data)))


async def test_case_codes_end_in_a_letter_or_digit_and_old_codes_still_open_their_case(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    """Before issue 9 the bot's code ended in the mod-37 check: not the new one 36 times in 37."""
    world = scripted_world
    script.says(QUESTION, "ask_officer")
    officer = await world.enroll("maple")
    async with world.running():
        student = await new_student(world)
        await student.says("/start")
        await student.then()
        await student.choose_school("maple ridge", "Maple Ridge Secondary School")
        preview = await student.says(QUESTION)
        sent = await student.taps(preview, "✅ Send")
        found = CODE.search(sent.text)  # letters and digits only, the last character too
        assert found is not None, sent.text
        code = found.group()
        data = code.replace("-", "")[:-1]
        assert code[-1] == crockford.check_character(data)
        await world.emu.next_message(officer, timeout=15)

        # The code as it was issued before (its check may be a symbol) still opens the case.
        legacy = old_form(code)
        assert "police check" in (await student.says(f"/status {legacy.lower()}")).text

        # Two neighbours swapped is a typo (the first differing pair of the data).
        at = next(i for i in range(len(data) - 1) if data[i] != data[i + 1])
        swapped = data[:at] + data[at + 1] + data[at] + data[at + 2 :] + code[-1]
        assert "typo" in (await student.says(f"/status {swapped}")).text

        # An old code ending in a symbol, of no case: not a typo, just unknown.
        while True:
            other = crockford.encode(secrets.randbits(80), 16)
            if crockford.legacy_check_character(crockford.decode(other)) in crockford.LEGACY_SYMBOLS:
                break
        unknown = await student.says(f"/status {old_form(other + '0')}")
        assert "couldn't find a case" in unknown.text

        malformed = await student.says("/status hello there")
        assert "17 letters and numbers" in malformed.text


async def test_an_enrollment_code_typed_with_its_old_check_still_enrolls(scripted_world: World) -> None:
    world = scripted_world
    async with world.running():
        phone = Student(world, await world.emu.user(first_name="Lee", started=True))
        code = await world.invite("lakeshore")
        assert set(code.replace("-", "")) <= set(crockford.ALPHABET)
        data = code.replace("-", "")[:-1]
        swapped = data[:-2] + data[-1] + data[-2] + code[-1]
        if swapped[:-1] != data:
            assert "typo" in (await phone.says(f"/enroll {swapped}")).text
        legacy = old_form(code)
        enrolled = await phone.says(f"/enroll {legacy}")
        assert "enrolled" in enrolled.text, enrolled.text
        assert "Cst. Lakeshore" in enrolled.text
