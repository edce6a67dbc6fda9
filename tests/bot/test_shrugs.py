"""A shrug with nothing asked ("ok whatever") gets the opener's encouragement, whatever the model calls it.

The bilingual model reads "ok whatever" as chatter (out_of_scope) with a yes as its runner-up; the
answer for chatter ("I can only help with safety stuff at school") would be a non sequitur to it.
Control: chatter whose runner-up is not a yes or a no keeps the chatter answer.
"""

from __future__ import annotations

from nlu.result import IntentScore
from tests.bot.harness import World
from tests.bot.scripted import ScriptedClassifier
from tests.bot.test_student_edges import with_school

SHRUG, CHATTER = "ok whatever", "who won the game last night"


async def test_a_shrug_is_encouraged_and_chatter_is_answered_as_chatter(
    scripted_world: World, script: ScriptedClassifier
) -> None:
    world = scripted_world
    shrug = (IntentScore("out_of_scope", 0.47), IntentScore("affirm", 0.23), IntentScore("goodbye", 0.08))
    chatter = (IntentScore("out_of_scope", 0.47), IntentScore("greet", 0.23), IntentScore("affirm", 0.08))
    script.says(SHRUG, "out_of_scope", confidence=0.47, ranking=shrug)
    script.says(CHATTER, "out_of_scope", confidence=0.47, ranking=chatter)
    await world.enroll("maple")
    async with world.running():
        student = await with_school(world)
        encouraged = await student.says(SHRUG)
        assert "Just type what happened" in encouraged.text
        assert "I can only help" not in encouraged.text
        answered = await student.says(CHATTER)
        assert "I can only help with safety stuff at school" in answered.text
