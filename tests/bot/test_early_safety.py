"""Safety information before a late turn (bot.early_safety), end to end: emulator, real bot, durable inbox.

The turn is made late the way a burst or a hung Rasa server makes it late: the model does not
answer until the test lets it (`held`). The safety net needs no model, so the student reads 911
(or the crisis lines) while the turn waits; then the turn goes on as always, and says only what
the early text did not. Controls: with the early answer turned off, the student reads nothing while
the model is held; an officer's chat and a handled update never get an early answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator

import pytest

from bot import inbox
from bot.intake import DurableQueue
from bot.services import BotApplication
from nlu.result import Classification
from tests.bot.harness import CODE, World, eventually
from tests.bot.scripted import ScriptedClassifier
from tests.bot.test_student_edges import with_school

GUN = "theres a kid with a gun in his bag by the lockers"
CUT = "i want to kill myself tonight"
GUN_FR = "y'a un gars qui a un gun dans son sac"


class Held:
    """The model, held until `release`: the turn waits as it would behind a burst or a hung server."""

    def __init__(self, script: ScriptedClassifier, monkeypatch: pytest.MonkeyPatch) -> None:
        self.released = asyncio.Event()
        self.waiting = 0
        answer: Callable[[str], Awaitable[Classification]] = script.classify

        async def classify(text: str) -> Classification:
            self.waiting += 1
            await self.released.wait()
            return await answer(text)

        monkeypatch.setattr(script, "classify", classify)

    def release(self) -> None:
        self.released.set()


@pytest.fixture
def held(script: ScriptedClassifier, monkeypatch: pytest.MonkeyPatch) -> Iterator[Held]:
    model = Held(script, monkeypatch)
    yield model
    model.release()  # a failed test must not leave a turn waiting at teardown


def queue_of(app: BotApplication) -> DurableQueue:
    queue = app.update_queue
    assert isinstance(queue, DurableQueue)
    return queue


async def test_a_late_turn_still_gives_911_at_once_and_then_goes_on_as_always(
    scripted_world: World, script: ScriptedClassifier, held: Held
) -> None:
    world = scripted_world
    script.says(GUN, "report_weapon", confidence=0.99)
    officer = await world.enroll("maple")
    async with world.running(durable=True):
        student = await with_school(world)
        sent = await world.emu.send_text(student.user, GUN)
        early = await world.emu.wait_for(student.user, lambda m: "911" in m.text, after=sent, timeout=15)
        assert held.waiting == 1  # positive control: the turn had not answered; the model is still held
        assert "sending" not in early.text  # whether it is sent is the turn's to say
        held.release()
        going = await world.emu.wait_for(student.user, lambda m: bool(CODE.search(m.text)), after=sent)
        assert "Sent to your school officer" in going.text
        tip = await world.emu.next_message(officer, timeout=15)
        assert "gun in his bag" in tip.text
        await world.settled()
        answers = [m for m in await world.emu.messages(student.user) if m.message_id >= early.message_id]
        assert sum("911" in m.text for m in answers) == 1

        # /forget deletes the early answer with the turn's own (it was remembered for the chat).
        forgot = await world.emu.send_text(student.user, "/forget")
        await world.emu.wait_for(student.user, lambda m: "deleted what I had" in m.text, after=forgot)
        left = {m.message_id for m in await world.emu.messages(student.user) if not m.deleted}
        assert early.message_id not in left
        assert going.message_id not in left


async def test_self_harm_gets_the_crisis_lines_early_and_the_tap_to_send_after(
    scripted_world: World, script: ScriptedClassifier, held: Held
) -> None:
    world = scripted_world
    script.says(CUT, "report_self_harm", confidence=0.97)
    officer = await world.enroll("maple")
    async with world.running(durable=True):
        student = await with_school(world)
        sent = await world.emu.send_text(student.user, CUT)
        early = await world.emu.wait_for(student.user, lambda m: "9-8-8" in m.text, after=sent, timeout=15)
        assert held.waiting == 1
        held.release()
        ask = await world.emu.wait_for(student.user, lambda m: bool(m.buttons), after=sent)
        assert "not" in ask.text  # still nothing sent
        assert "9-8-8" not in ask.text  # the lines once
        assert ask.message_id > early.message_id
        await world.emu.assert_no_message(officer, within=0.5)  # the student's own crisis waits for the tap
        confirmed = await world.emu.press(student.user, ask, "📨 Send to the officer")
        await world.emu.wait_for(student.user, lambda m: bool(CODE.search(m.text)), after=confirmed)
        tip = await world.emu.next_message(officer, timeout=15)
        assert "kill myself" in tip.text


async def test_french_words_get_french_911(
    scripted_world: World, script: ScriptedClassifier, held: Held
) -> None:
    world = scripted_world
    script.says(GUN_FR, "report_weapon", confidence=0.99)
    await world.enroll("maple")
    async with world.running(durable=True):
        student = await with_school(world)
        sent = await world.emu.send_text(student.user, GUN_FR)
        early = await world.emu.wait_for(student.user, lambda m: "911" in m.text, after=sent, timeout=15)
        assert "appelle" in early.text
        held.release()
        await world.emu.wait_for(student.user, lambda m: bool(CODE.search(m.text)), after=sent)


async def test_a_flood_of_danger_words_gets_one_early_answer_and_every_turn_still_answers(
    scripted_world: World, script: ScriptedClassifier, held: Held
) -> None:
    world = scripted_world
    words = [f"{GUN} {i}" for i in range(4)]
    script.says(words[0], "report_weapon", confidence=0.99)
    await world.enroll("maple")
    async with world.running(durable=True):
        assert world.app is not None
        early = queue_of(world.app).early
        assert early is not None
        student = await with_school(world)
        sent = [await world.emu.send_text(student.user, text) for text in words]
        await world.emu.wait_for(student.user, lambda m: "911" in m.text, after=sent[0], timeout=15)

        def timers_ran_out() -> bool:  # the later messages wait behind the first (a chat's order)
            return all(early.get(s.update_id) is None for s in sent[1:] if s.update_id is not None)

        await eventually(timers_ran_out)
        held.release()
        await world.emu.wait_for(student.user, lambda m: bool(CODE.search(m.text)), after=sent[0])
        await world.settled()
        said = [m.text for m in await world.emu.messages(student.user)]
        assert sum("911" in text for text in said[-8:]) == 1, said
        assert sum("added" in text.lower() for text in said) == 3, said  # every later message answered


async def test_without_the_early_answer_nothing_comes_while_the_model_is_held(
    scripted_world: World, script: ScriptedClassifier, held: Held
) -> None:
    """The control: what the early answer changes."""
    world = scripted_world
    world.settings_overrides["early_safety_seconds"] = 0
    script.says(GUN, "report_weapon", confidence=0.99)
    await world.enroll("maple")
    async with world.running(durable=True):
        student = await with_school(world)
        sent = await world.emu.send_text(student.user, GUN)
        await eventually(lambda: held.waiting == 1)
        await world.emu.assert_no_message(student.user, within=2.5)
        held.release()
        safety = await world.emu.wait_for(student.user, lambda m: "911" in m.text, after=sent)
        assert "right away" in safety.text  # the turn's own, whole


async def test_an_officers_chat_and_a_handled_update_get_no_early_answer(scripted_world: World) -> None:
    """Danger words in an officer's chat are an officer's, not a report; an update already handled was
    answered by its turn. A student's chat, the same words, unhandled: answered (positive control)."""
    world = scripted_world
    officer = await world.enroll("maple")
    async with world.running(durable=True):
        student = await with_school(world)
        app = world.app
        assert app is not None
        early = queue_of(app).early
        assert early is not None
        early.after = 0.05

        def update(update_id: int, chat_id: int) -> inbox.Incoming:
            chat = {"id": chat_id, "type": "private"}
            message = {"message_id": 1, "date": 0, "chat": chat, "text": GUN}
            return inbox.Incoming(update_id, chat_id, {"update_id": update_id, "message": message})

        services = app.bot_data.services
        assert services is not None
        handled = update(9_000_001, student.user.id)
        async with services.db.transaction() as session:
            await inbox.store(session, services.keys, [handled], services.now())
            await inbox.finish(session, handled.update_id)
        mark = await world.emu.mark()
        early.watch([update(9_000_002, officer.id), handled])
        await asyncio.sleep(0.5)
        await world.emu.assert_no_message(officer, within=0.5)
        await world.emu.assert_no_message(student.user, within=0.5)
        early.watch([update(9_000_003, student.user.id)])
        await world.emu.wait_for(student.user, lambda m: "911" in m.text, after=mark, timeout=5)
