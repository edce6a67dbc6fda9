"""Officers see and type per-school case references (`MRS-1`), end to end through the emulator."""

from __future__ import annotations

import re

import pytest

from devtools.emulator.views import Message, User
from tests.bot.conftest import new_student
from tests.bot.harness import World

pytestmark = pytest.mark.rasa


def reference_of(tip: Message) -> str:
    found = re.search(r"case ([A-Z0-9]+-\d+)", tip.text)
    assert found, tip.text
    return found.group(1)


async def urgent_report(world: World, school_typed: str, school: str, text: str) -> None:
    student = await new_student(world)
    await student.says("/start")
    await student.then()
    await student.choose_school(school_typed, school)
    assert "911" in (await student.says(text)).text
    await student.then()  # sent, with the code


async def ask(world: World, officer: User, text: str) -> Message:
    await world.emu.send_text(officer, text)
    return await world.emu.next_message(officer, timeout=15)


async def test_references_per_school_typed_any_way_and_ambiguity_answered(world: World) -> None:
    maple = await world.enroll("maple")
    lakeshore = await world.enroll("lakeshore")
    supervisor = await world.enroll("supervisor")
    async with world.running():
        await urgent_report(world, "maple", "Maple Ridge Secondary School",
                            "a kid has a knife in his locker near room 204")  # fmt: skip
        maple_tip = await world.emu.next_message(maple, timeout=15)
        await urgent_report(world, "lakeshore", "Lakeshore Collegiate Institute",
                            "someone brought a gun to the parking lot")  # fmt: skip
        lakeshore_tip = await world.emu.next_message(lakeshore, timeout=15)
        # Each school counts its own cases: both are number 1, whatever the program's volume.
        assert reference_of(maple_tip) == "MRS-1"
        assert reference_of(lakeshore_tip) == "LSC-1"

        # The school's officer: the bare number is unique among their cases, any typing works.
        for typed in ("1", "MRS-1", "mrs1", "#mrs 1"):
            thread = await ask(world, maple, f"/case {typed}")
            assert "knife" in thread.text, typed
            assert "case MRS-1" in thread.text
        # Another school's reference: the same answer as an unknown one, and nothing of the case.
        refused = await ask(world, maple, "/case LSC-1")
        assert "Case LSC-1 isn't one of yours" in refused.text
        assert "gun" not in refused.text
        assert "Use it with a case reference" in (await ask(world, maple, "/case hello")).text

        # The supervisor has both schools' cases: a bare 1 is ambiguous and the answer says which exist.
        ambiguous = await ask(world, supervisor, "/case 1")
        assert "Several of your cases have number 1: LSC-1, MRS-1" in ambiguous.text
        assert "knife" not in ambiguous.text
        assert "gun" in (await ask(world, supervisor, "/case lsc-1")).text  # the control: it resolves
        close = await ask(world, supervisor, "/close MRS1")
        assert "How should case MRS-1 be closed?" in close.text

        # Notices name the reference too: acknowledgement, and the list of open cases.
        await world.emu.press(maple, maple_tip, "✅ Acknowledge")
        assert "Case MRS-1 is yours" in (await world.emu.next_message(maple, timeout=15)).text
        listed = await ask(world, maple, "/cases")
        assert "MRS-1" in listed.text
        assert [text for row in listed.buttons for text, _ in row] == ["MRS-1"]
