"""Every step of the student conversation has a handler for typed text (bot.student.router.TEXT_STEPS)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot import flow
from bot.state import Step
from bot.student.router import TEXT_STEPS


def steps_without_text_handler(table: Mapping[Step, object], steps: Iterable[Step] = Step) -> list[Step]:
    return [step for step in steps if step not in table or not callable(table[step])]


def test_every_step_has_a_text_handler() -> None:
    # A step missing here would fail the first student who types in it (a KeyError, no answer).
    assert steps_without_text_handler(TEXT_STEPS) == []
    assert set(TEXT_STEPS) == set(Step)


def test_control_a_missing_step_is_found() -> None:
    partial: dict[Step, object] = {
        step: handler for step, handler in TEXT_STEPS.items() if step != Step.FOLLOW_UP
    }
    assert steps_without_text_handler(partial) == [Step.FOLLOW_UP]


def test_every_step_a_student_can_reach_is_one_the_table_covers() -> None:
    """The steps the conversation diagram can lead to are exactly the steps: none is unreachable."""
    reachable = {after for _, after, _ in flow.TRANSITIONS} | {step for step, _ in flow.ANY_STEP}
    assert reachable == set(Step)
    assert steps_without_text_handler(TEXT_STEPS, reachable) == []
