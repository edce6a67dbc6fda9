"""Reports and questions: the short interview, the preview, sending, and the urgent path.

Each step is one `async def` that returns the next `Step` (python-telegram-bot's
conversationbot habit); the transitions are listed in `bot.flow`.
"""

from __future__ import annotations

import asyncio
import re

from bot import pacing, textparts
from bot.state import FIELDS, Draft, Step
from bot.student import schools
from bot.student.known import covered_by_description, details_key, known_fields
from bot.student.sending import (
    Added,
    Sent,
    add_to_case,
    case_body,
    fragments,
    open_case,
    open_urgent,
    school_answer_wait,
    send_document,
    tell_sent,
    with_language,
)
from bot.textparts import Fragment
from bot.turn import Button, Turn, early_said
from casework.vault import sealing
from nlu.result import Classification
from storage.models import CaseKind

MIN_DESCRIPTION_WORDS = 5
QUESTIONS = {
    "what": "interview_what",
    "where": "interview_where",
    "when": "interview_when",
    "danger": "interview_danger",
    "more": "interview_more",
}
DANGER_CHOICES = ("yes", "no", "unsure")
DANGER_BUTTONS: list[list[Button]] = [
    [("yes_button", "danger:yes"), ("no_button", "danger:no"), ("not_sure_button", "danger:unsure")],
    [("skip_button", "skip:danger")],
]


def skip_buttons(name: str) -> list[list[Button]]:
    """A Skip that names its question: pressed on an earlier question's keyboard, it is stale, and
    must not skip the question being asked now."""
    return [[("skip_button", f"skip:{name}")]]


PREVIEW_BUTTONS: list[list[Button]] = [
    [("send_button", "send"), ("edit_button", "edit"), ("cancel_button", "cancel")]
]


# --- starting ---------------------------------------------------------------------


async def start_report(turn: Turn, text: str, intent: str, classification: Classification | None) -> Step:
    """A report: take the first message as the description if it is one, then ask what is missing."""
    draft = Draft(kind=CaseKind.REPORT, intent=intent)
    covered = covered_by_description(text, classification)
    if intent == "report_other":
        if not covered:
            # A hesitant opener ("can i tell u something", "idk if i should even say this"): nothing
            # to keep yet. Encourage, and read the next message afresh, so its own meaning counts.
            return await encourage(turn)
        draft.opener = text  # where or when is said: it goes before the description, never asked again
        draft.skipped.extend(covered)
    elif len(text.split()) >= MIN_DESCRIPTION_WORDS:
        draft.answers["what"] = text
        draft.skipped.extend(covered)
    turn.state.draft = draft
    if turn.state.school_id is None:
        return await schools.ask_school(turn, "school_needed_first")
    return await next_question(turn)


async def encourage(turn: Turn) -> Step:
    """A vague or hesitant message with nothing waiting: say they can just type what happened."""
    await turn.say("opener_encourage")
    return Step.IDLE


async def start_question(turn: Turn, text: str) -> Step:
    """A question for the officer: shown back for confirmation, then sent like a report."""
    turn.state.draft = Draft(kind=CaseKind.QUESTION, intent="ask_officer", answers={"question": text})
    if turn.state.school_id is None:
        return await schools.ask_school(turn, "school_needed_first")
    return await preview(turn)


async def continue_after_school(turn: Turn) -> Step:
    """The school was just chosen: carry on with whatever was waiting for it."""
    draft = turn.state.draft
    if draft is None:
        await turn.say("school_chosen", school=turn.state.school_name or "")
        return Step.IDLE
    await turn.say("school_set", school=turn.state.school_name or "")
    return await preview(turn) if draft.kind == CaseKind.QUESTION else await next_question(turn)


# --- the interview -------------------------------------------------------------------


async def next_question(turn: Turn) -> Step:
    """Ask the first field that is neither answered nor skipped; the preview when none is left."""
    draft = turn.state.draft
    assert draft is not None
    for name in FIELDS:
        if name not in draft.answers and name not in draft.skipped:
            return await ask(turn, name)
    return await preview(turn)


async def ask(turn: Turn, name: str) -> Step:
    draft = turn.state.draft
    assert draft is not None
    draft.asking = name
    if name == "question":
        await turn.say("edit_question_prompt")
    else:
        await turn.say(QUESTIONS[name], buttons=DANGER_BUTTONS if name == "danger" else skip_buttons(name))
    return Step.INTERVIEW


async def answer(turn: Turn, text: str) -> Step:
    """A typed answer to the question just asked."""
    draft = turn.state.draft
    if draft is None or draft.asking is None:
        return Step.IDLE
    if draft.asking == "what" and draft.opener:
        text = f"{draft.opener}\n{text}"
    if await too_long(turn, {**draft.answers, draft.asking: text}):
        return Step.INTERVIEW  # the same question again; the draft is kept as it was
    if draft.asking == "what":
        draft.opener = None
    draft.answers[draft.asking] = text
    if draft.asking in draft.skipped:
        draft.skipped.remove(draft.asking)
    return await after_answer(turn)


def with_opener(draft: Draft, text: str) -> str:
    """An answer to "what happened", after the opener that said where or when (used once)."""
    if draft.asking != "what" or not draft.opener:
        return text
    opener, draft.opener = draft.opener, None
    return f"{opener}\n{text}"


async def skip(turn: Turn) -> Step:
    draft = turn.state.draft
    if draft is None or draft.asking is None:
        return Step.IDLE
    if draft.asking == "what" and draft.opener:
        # Skipped, but the opener said where or when: it is the description (never lost).
        draft.answers["what"], draft.opener = draft.opener, None
        return await after_answer(turn)
    draft.answers.pop(draft.asking, None)
    if draft.asking not in draft.skipped:
        draft.skipped.append(draft.asking)
    return await after_answer(turn)


async def danger_answer(turn: Turn, choice: str) -> Step:
    """'Is anyone in danger right now?' A yes makes the report urgent and sends it at once."""
    draft = turn.state.draft
    if draft is None:
        return Step.IDLE
    label = {"yes": "yes_button", "no": "no_button", "unsure": "not_sure_button"}[choice]
    draft.answers["danger"] = turn.text(label)
    if "danger" in draft.skipped:
        draft.skipped.remove("danger")
    if choice == "yes":
        draft.urgent = True
        await turn.say("danger_now_yes")
        return await send(turn)
    return await after_answer(turn)


async def after_answer(turn: Turn) -> Step:
    draft = turn.state.draft
    assert draft is not None
    draft.asking = None
    if draft.editing:
        draft.editing = False
        return await preview(turn)
    return await next_question(turn)


# --- preview, edit, send ------------------------------------------------------------------


def summary(turn: Turn, draft: Draft) -> list[Fragment]:
    """Exactly what the officer will read, for the student to check: every word, never cut."""
    fields = ["question"] if draft.kind == CaseKind.QUESTION else [n for n in FIELDS if n in draft.answers]
    lines = [fragments(turn, f"summary_{name}", value=draft.answers.get(name, "")) for name in fields]
    if draft.images:  # evidence images go with it (bot.student.evidence)
        lines.append(fragments(turn, "summary_images", limit=str(len(draft.images))))
    if draft.intimate_image:
        lines.append(fragments(turn, "summary_intimate"))
    return textparts.joined(lines, "\n")


async def preview(turn: Turn) -> Step:
    draft = turn.state.draft
    assert draft is not None
    key = "preview_question" if draft.kind == CaseKind.QUESTION else "preview_report"
    await send_document(turn, fragments(turn, key, summary=summary(turn, draft)), buttons=PREVIEW_BUTTONS)
    return Step.PREVIEW


async def choose_edit(turn: Turn) -> Step:
    draft = turn.state.draft
    if draft is None:
        return Step.IDLE
    if draft.kind == CaseKind.QUESTION:
        draft.editing = True
        return await ask(turn, "question")
    rows: list[list[Button]] = [
        [("edit_what_button", "edit:what"), ("edit_where_button", "edit:where")],
        [("edit_when_button", "edit:when"), ("edit_danger_button", "edit:danger")],
        [("edit_more_button", "edit:more")],
    ]
    await turn.say("edit_which", buttons=rows)
    return Step.EDIT_CHOICE


async def edit_field(turn: Turn, name: str) -> Step:
    draft = turn.state.draft
    if draft is None or name not in FIELDS:
        return Step.IDLE
    draft.editing = True
    return await ask(turn, name)


async def cancel(turn: Turn) -> Step:
    turn.state = turn.state.fresh()
    await turn.say("cancelled")
    return Step.IDLE


def body_size(answers: dict[str, str]) -> int:
    """The size of the report as it will be sealed (with its language mark: `with_language`)."""
    return sealing.body_units(with_language(answers))


async def too_long(turn: Turn, answers: dict[str, str], *, buttons: list[list[Button]] | None = None) -> bool:
    """Over what one report can hold: say so and what to do (the draft is kept)."""
    size = body_size(answers)
    if size <= sealing.MAX_BODY_UNITS:
        return False
    await turn.say("report_too_long", buttons=buttons, limit=f"{sealing.MAX_BODY_UNITS:,}", size=f"{size:,}")
    return True


async def sendable(turn: Turn, stay: Step) -> Draft | Step:
    """The draft, if it can go now; else where to be: idle with no draft, `stay` if it is too long."""
    draft = turn.state.draft
    if draft is None:
        return Step.IDLE
    if await too_long(turn, case_body(draft)):
        return stay
    return draft


async def send(turn: Turn) -> Step:
    """Send the draft; urgent drafts also get the details-afterwards step."""
    draft = await sendable(turn, stay=Step.PREVIEW)
    if isinstance(draft, Step):
        return draft
    sent = await (open_urgent(turn, draft) if draft.urgent else open_case(turn, draft))
    if isinstance(sent, Added):
        return await after_urgent_added(turn, sent)
    await tell_sent(turn, sent, urgent=draft.urgent)
    turn.state.draft = None
    if sent is not None and draft.urgent:
        await turn.say(details_key(draft.intent, known_fields(draft)))
        return Step.URGENT_DETAILS
    return Step.IDLE


# --- urgent -------------------------------------------------------------------------------


# Sent at once, before details are asked: someone else is in danger (DESIGN.md, "Data flow", step 3).
AT_ONCE_INTENTS = frozenset({"report_weapon", "report_threat", "report_abuse", "report_sexual_harassment"})
# Safety-net rules that name a fear or a foreboding, not a harm ("i dont want to go home",
# "something bad is going to happen"): alone, with the model unsure, they wait for the tap.
SOFT_NET_RULES = frozenset({"scared-at-home", "stay-home-warning"})
_NET_HIT = re.compile(r"safety net: (\w+)/([\w-]+)")
CONSENT_BUTTONS: list[list[Button]] = [
    [("urgent_send_button", "consent:send")],
    [("urgent_not_now_button", "consent:no")],
]


def sent_at_once(result: Classification) -> bool:
    """Whether an urgent message goes to the officer without asking (the welcome says which do).

    Yes when the model is sure it is a weapon, a threat, abuse or sexual harm, or when the safety
    net found an explicit term for one of those. No for self-harm (the student's own crisis goes to
    police only with their say) and when only a low-confidence guess or a soft net rule fired.
    """
    if result.urgent_intent not in AT_ONCE_INTENTS:
        return False
    reason = result.urgent_reason or ""
    if reason.startswith("model: "):
        return True
    hit = _NET_HIT.search(reason)
    return hit is not None and hit.group(1) != "self_harm" and hit.group(2) not in SOFT_NET_RULES


def safety_key(intent: str) -> str:
    return "urgent_self_harm" if intent == "report_self_harm" else "urgent_danger"


async def start_urgent(
    turn: Turn,
    text: str,
    intent: str,
    *,
    ask_first: bool = False,
    classification: Classification | None = None,
) -> Step:
    """Safety information at once; the report to delivery at the same moment, or held for one tap."""
    draft = Draft(kind=CaseKind.REPORT, intent=intent, urgent=True, answers={"what": text})
    draft.skipped.extend(covered_by_description(text, classification))  # what the details need not ask
    turn.state.draft = draft
    if ask_first:
        return await ask_consent(turn)
    key = safety_key(intent)
    # Past the chat's cap on new urgent cases, these words go to its last one (sending.open_urgent):
    # the safety information then comes at most once a minute; each addition's answer names 911.
    past_cap = turn.urgent_room is False and turn.state.last_urgent_case_id is not None
    safety = turn.say_safety_again(key) if past_cap else turn.say_safety(key)
    # Both at once: the student reads what to do while the report is being stored.
    _, sent = await asyncio.gather(safety, open_urgent(turn, draft))
    return await after_urgent_sent(turn, sent)


async def ask_consent(turn: Turn) -> Step:
    """Crisis lines now, and Send to the officer as one tap; nothing leaves until it is tapped."""
    draft = turn.state.draft
    assert draft is not None
    key = "urgent_ask_self_harm" if draft.intent == "report_self_harm" else "urgent_ask_unsure"
    if await early_said() == "urgent_self_harm":
        key = "urgent_ask_after_safety"  # the crisis lines were sent early (bot.early_safety): not twice
    with pacing.first():
        await turn.say(key, buttons=CONSENT_BUTTONS)
    if turn.state.consent_chat is None:  # one reminder per held message, never a series
        delay = turn.services.settings.urgent_consent_reminder_minutes * 60
        turn.state.consent_remind_at = turn.services.now().timestamp() + delay
        turn.state.consent_chat = turn.chat_id
    return Step.URGENT_CONSENT


async def consent_given(turn: Turn) -> Step:
    """The student tapped Send to the officer: the held message goes now, as urgent."""
    draft = await sendable(turn, stay=Step.URGENT_CONSENT)
    if isinstance(draft, Step):
        return draft
    return await after_urgent_sent(turn, await open_urgent(turn, draft))


async def consent_refused(turn: Turn) -> Step:
    turn.state = turn.state.fresh()
    await turn.say("urgent_not_sent")
    return Step.IDLE


async def consent_addition(turn: Turn, text: str) -> Step:
    """More text before the tap joins the held message; still nothing is sent."""
    draft = turn.state.draft
    if draft is None:
        return Step.IDLE
    joined = f"{draft.answers.get('what', '')}\n{text}".strip()
    if await too_long(turn, {**draft.answers, "what": joined}, buttons=CONSENT_BUTTONS):
        return Step.URGENT_CONSENT  # not added (never said to be); Send still sends what is kept
    draft.answers["what"] = joined
    await turn.say("urgent_still_not_sent", buttons=CONSENT_BUTTONS)
    return Step.URGENT_CONSENT


async def held_goes_at_once(turn: Turn, text: str, intent: str, classification: Classification) -> Step:
    """Weapon or threat words while a held message waits for its tap: all of it goes at once.

    Together if one report holds both; if not, the new words go first, as the urgent report, and the
    held words follow in the same case as the student's addition: nothing is cut, nothing waits.
    """
    draft = turn.state.draft
    held = draft.answers.get("what", "") if draft is not None else ""
    turn.state.draft = None
    joined = f"{held}\n{text}".strip()
    if body_size({"what": joined}) <= sealing.MAX_BODY_UNITS:
        return await start_urgent(turn, joined, intent, classification=classification)
    step = await start_urgent(turn, text, intent, classification=classification)
    if held and turn.state.case_id is not None:
        await add_to_case(turn, turn.state.case_id, {"more": held})
    return step


async def after_urgent_sent(turn: Turn, sent: Sent | Added | None) -> Step:
    """The case code; then the school if it is unknown (its wait started), else details."""
    if isinstance(sent, Added):
        return await after_urgent_added(turn, sent)
    await tell_sent(turn, sent, urgent=True)
    draft = turn.state.draft
    key = details_key(draft.intent, known_fields(draft)) if draft is not None else "urgent_details"
    turn.state.draft = None
    turn.state.consent_remind_at = turn.state.consent_chat = None
    if sent is None:
        return Step.IDLE
    if turn.state.school_id is None:
        turn.state.school_deadline = (
            turn.services.now().timestamp() + school_answer_wait(turn).total_seconds()
        )
        turn.state.school_case_id = sent.case_id  # named by the tap on a school (router.school_chosen)
        turn.state.details_key = key  # asked once the school is chosen (router.school_chosen)
        return await schools.ask_school(turn, "urgent_no_school")
    await turn.say(key)
    return Step.URGENT_DETAILS


async def after_urgent_added(turn: Turn, added: Added) -> Step:
    """Urgent words added to the last urgent case (past the cap): said plainly; more goes there too."""
    turn.state.draft = None
    turn.state.consent_remind_at = turn.state.consent_chat = None
    turn.state.case_id = added.case_id
    await turn.say("urgent_added_to_last")
    if turn.state.step == Step.CHOOSE_SCHOOL and turn.state.school_case_id is not None:
        return Step.CHOOSE_SCHOOL  # that report still waits for its school: the question stays
    return Step.URGENT_DETAILS


async def urgent_addition(turn: Turn, text: str, intent: str | None) -> Step | None:
    """After an urgent report, every message is added to it, until /done; urgent words (`intent`)
    with the safety information again (at most once a minute). None: the case takes no more."""
    case_id = turn.state.case_id
    if case_id is None or not await add_to_case(turn, case_id, {"more": text}):
        return None
    if intent is not None:
        await turn.say_safety_again(safety_key(intent))
    await turn.say("urgent_addition_sent")
    return Step.URGENT_DETAILS


async def added_while_choosing_school(turn: Turn, text: str, intent: str) -> Step | None:
    """Urgent words while an urgent report waits for its school: added to that report (never taken
    for a school name), with the safety information, and the school asked again. None: that case
    takes no more."""
    case_id = turn.state.school_case_id
    if case_id is None or not await add_to_case(turn, case_id, {"more": text}):
        return None
    await turn.say_safety_again(safety_key(intent))
    await turn.say("urgent_added_school")
    return Step.CHOOSE_SCHOOL
