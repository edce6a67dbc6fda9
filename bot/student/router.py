"""A student's text, button or command, sent to the step that handles it."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from bot.state import Step
from bot.student import deep_link, feedback, language, reports, schools, status
from bot.student.sending import set_notifications
from bot.turn import Button, Turn
from casework.cases import intake
from casework.stats.recording import record_now
from nlu import taxonomy
from nlu.result import NLU_FALLBACK, Classification
from nlu.safety_lexicon import CATEGORY_INTENT

logger = logging.getLogger(__name__)

# A case code typed inside a message ("my code is K7QF-2MZX-9PHA-R3TD-4").
_CODE = re.compile(r"\b(?:[0-9A-Za-z]{4}[- ]?){4}[0-9A-Za-z*~$=](?![0-9A-Za-z])")

SIMPLE_ANSWERS = {
    "greet": "greet",
    "thank": "thank",
    "goodbye": "goodbye",
    "help": "help",
    "ask_anonymity": "ask_anonymity",
    "out_of_scope": "out_of_scope",
    # "ok whatever", "nvm", "i dont know" with nothing waiting for a yes or a no: a hesitant
    # opener, so encouragement (that they can just type what happened), never a non sequitur.
    "affirm": "opener_encourage",
    "deny": "opener_encourage",
}
# Chatter whose runner-up is one of these is a shrug ('ok whatever'): answered like a bare yes or no.
SHRUG_RUNNERS_UP = frozenset({"affirm", "deny"})
DID_YOU_MEAN_CHOICES = 3
SENTENCE_WORDS = 4  # typed at the school question, this many words are a message, not a school name


# --- classification ---------------------------------------------------------------


async def classify(turn: Turn, text: str) -> Classification:
    """Classify a free message and count it in the statistics (school, intent, urgency, day)."""
    services = turn.services
    result = await services.classifier.classify(text)
    language.follow_detected(turn, result.language)  # answered in it, unless the student tapped one
    school_id, now = turn.state.school_id, services.now()

    async def count(session: AsyncSession) -> None:  # with the turn's state: once per update
        await record_now(
            session, services.policy, school_id=school_id, intent=result.intent, urgent=result.urgent, now=now
        )

    turn.later.append(count)
    logger.info(
        "student.classified intent=%s urgent=%s source=%s", result.intent, result.urgent, result.source
    )
    return result


def urgent_intent(result: Classification) -> str:
    return result.urgent_intent or result.intent


async def free_message(turn: Turn, text: str) -> Step:
    """A message that answers no question: classify it and act on its meaning."""
    result = await classify(turn, text)
    if result.urgent:
        ask_first = not reports.sent_at_once(result)
        return await reports.start_urgent(
            turn, text, urgent_intent(result), ask_first=ask_first, classification=result
        )
    return await act_on(turn, text, result.intent, result)


async def act_on(turn: Turn, text: str, intent: str, result: Classification | None) -> Step:
    if taxonomy.is_report(intent):
        return await reports.start_report(turn, text, intent, result)
    if intent == "ask_officer":
        return await reports.start_question(turn, text)
    if intent == "check_status":
        found = _CODE.search(text)
        return await status.check_status(turn, found.group()) if found else await status.ask_for_code(turn)
    if intent == NLU_FALLBACK and result is not None:
        return await did_you_mean(turn, text, result)
    if intent == "out_of_scope" and _a_shrug(result):
        intent = "affirm"  # answered as the shrug it is: encouragement, not "I can only help with..."
    await turn.say(SIMPLE_ANSWERS.get(intent, "out_of_scope"))
    return Step.IDLE


def _a_shrug(result: Classification | None) -> bool:
    """'ok whatever': chatter to the model, whose next guess is a yes or a no, so a shrug."""
    ranking = result.ranking if result is not None else ()
    return len(ranking) > 1 and ranking[1].name in SHRUG_RUNNERS_UP


async def did_you_mean(turn: Turn, text: str, result: Classification) -> Step:
    """Unsure: offer the likeliest meanings in plain words, plus 'something else'."""
    choices = [s.name for s in result.ranking if s.name in taxonomy.intents()][:DID_YOU_MEAN_CHOICES]
    turn.state.pending_text = text
    turn.state.pending_intents = choices
    rows: list[list[Button]] = [[(taxonomy.label(name, turn.language), f"dym:{name}")] for name in choices]
    rows.append([("something_else_button", "dym:other")])
    await turn.say("did_you_mean", buttons=rows)
    return Step.DID_YOU_MEAN


async def safety_check(turn: Turn, text: str) -> str | None:
    """The safety net on a message that is not classified (an answer): the urgent intent it stands for."""
    hit = turn.services.safety_net.check(text)
    return CATEGORY_INTENT[hit.category] if hit else None


# --- text, by step -------------------------------------------------------------------


async def on_idle(turn: Turn, text: str) -> Step:
    if turn.state.following(turn.services.now().timestamp()) is not None:
        if found := _CODE.search(text):
            return await status.check_status(turn, found.group())  # a code: the case it opens
        if await safety_check(turn, text):
            # Danger words: safety information and an urgent report at once, never held for a tap.
            return await free_message(turn, text)
        return await status.offer_follow_up(turn, text)
    return await free_message(turn, text)


async def on_choose_school(turn: Turn, text: str) -> Step:
    if intent := await safety_check(turn, text):
        # Not a school name: someone is in danger. Safety first, the school after.
        result = await classify(turn, text)
        ask_first = not reports.sent_at_once(result)
        # An urgent report already sent waits for its school: more of the same goes to it (the
        # student's own crisis only on a tap, as always).
        step = None if ask_first else await reports.added_while_choosing_school(turn, text, intent)
        if step is not None:
            return step
        return await reports.start_urgent(turn, text, intent, ask_first=ask_first, classification=result)
    matches = await schools.matching(turn, text)
    nothing_waiting = turn.state.draft is None and turn.state.school_case_id is None
    if not matches and nothing_waiting and len(text.split()) >= SENTENCE_WORDS:
        # A sentence, not a school name: the student told us what is going on first. Keep it
        # (a report or question waits for the school), answer anything else.
        return await free_message(turn, text)
    return await schools.offer_schools(turn, text, matches)


async def on_interview(turn: Turn, text: str) -> Step:
    draft = turn.state.draft
    if draft is not None and not draft.urgent and (intent := await safety_check(turn, text)):
        # The answer itself is urgent: safety information now, and the report goes at once.
        draft.urgent = True
        draft.intent = intent
        if draft.asking:
            draft.answers[draft.asking] = reports.with_opener(draft, text)
        if intent == "report_self_harm":
            return await reports.ask_consent(turn)  # the student's own crisis: sent only on a tap
        await turn.say_safety(reports.safety_key(intent))
        return await reports.send(turn)
    return await reports.answer(turn, text)


async def on_preview(turn: Turn, text: str) -> Step:
    """Text while the preview waits for a button: 'yes'/'send' sends, 'no'/'cancel' cancels."""
    result = await classify(turn, text)
    if result.urgent and turn.state.draft is not None:
        turn.state.draft.urgent = True
        turn.state.draft.answers.setdefault("more", text)
        if not reports.sent_at_once(result):
            turn.state.draft.intent = urgent_intent(result)
            return await reports.ask_consent(turn)
        await turn.say_safety(reports.safety_key(urgent_intent(result)))
        return await reports.send(turn)
    if result.intent == "affirm":
        return await reports.send(turn)
    if result.intent == "deny":
        return await reports.cancel(turn)
    return await reports.preview(turn)


async def on_urgent_details(turn: Turn, text: str) -> Step:
    intent = await safety_check(turn, text)
    if (step := await reports.urgent_addition(turn, text, intent)) is not None:
        return step
    # The report takes no more (the officer closed it): urgent words are a report of their own, never
    # dropped; anything else is said not to have gone.
    turn.state = turn.state.fresh()
    if intent is not None:
        return await free_message(turn, text)
    await turn.say("status_closed_no_reply")
    return Step.IDLE


async def on_did_you_mean(turn: Turn, text: str) -> Step:
    turn.state.pending_text, turn.state.pending_intents = None, []
    return await free_message(turn, text)


async def on_status_code(turn: Turn, text: str) -> Step:
    if await safety_check(turn, text):
        return await free_message(turn, text)  # no code has danger words: the student needs help now
    return await status.check_status(turn, text)


async def on_status_reply(turn: Turn, text: str) -> Step:
    if intent := await safety_check(turn, text):
        await turn.say_safety_again(reports.safety_key(intent))  # the answer still goes to the officer
    return await status.reply(turn, text)


async def urgent_elsewhere(turn: Turn, text: str) -> Step:
    """Danger words in a forward, an edited message or a caption: acted on as the same words typed
    at this step would be (added to the report under way, its answer, ...), so repeating them never
    opens a new urgent case each time (sending.open_urgent caps the rest)."""
    return await route_text(turn, text)


async def on_follow_up(turn: Turn, text: str) -> Step:
    """More text before the tap: it joins the held message (urgent words: all of it goes at once)."""
    if await safety_check(turn, text):
        held, turn.state.pending_text = turn.state.pending_text, None
        turn.state.unfollow()
        return await free_message(turn, f"{held}\n{text}" if held else text)
    return await status.offer_follow_up(turn, text)


async def on_urgent_consent(turn: Turn, text: str) -> Step:
    """Typed text while Send waits for a tap: weapon or threat words send it all at once."""
    result = await classify(turn, text)
    draft = turn.state.draft
    if draft is not None and result.urgent and reports.sent_at_once(result):
        return await reports.held_goes_at_once(turn, text, urgent_intent(result), result)
    return await reports.consent_addition(turn, text)


TEXT_STEPS: dict[Step, Callable[[Turn, str], Awaitable[Step]]] = {
    Step.IDLE: on_idle,
    Step.CHOOSE_SCHOOL: on_choose_school,
    Step.INTERVIEW: on_interview,
    Step.PREVIEW: on_preview,
    Step.EDIT_CHOICE: on_preview,
    Step.URGENT_DETAILS: on_urgent_details,
    Step.DID_YOU_MEAN: on_did_you_mean,
    Step.STATUS_CODE: on_status_code,
    Step.STATUS_REPLY: on_status_reply,
    Step.FOLLOW_UP: on_follow_up,
    Step.URGENT_CONSENT: on_urgent_consent,
}


async def route_text(turn: Turn, text: str) -> Step:
    """The step router for typed text: the handler of the step the student is at."""
    return await TEXT_STEPS[turn.state.step](turn, text)


# --- buttons ---------------------------------------------------------------------------

# A button's handler, by the action its data names: the press handled if the button still fits
# where the student is, else None (stale; answered, for the student, by handlers.on_callback_query).
ButtonStep = Callable[[Turn, str], Awaitable[Step | None]]
_REVIEWING = (Step.PREVIEW, Step.EDIT_CHOICE)


def _asking(turn: Turn) -> str | None:
    """The interview question asked now: a Skip or a danger answer counts only for it, not an earlier one."""
    draft = turn.state.draft
    return draft.asking if turn.state.step == Step.INTERVIEW and draft is not None else None


async def _school_button(turn: Turn, argument: str) -> Step | None:
    return await school_chosen(turn, argument) if turn.state.step == Step.CHOOSE_SCHOOL else None


async def _skip_button(turn: Turn, argument: str) -> Step | None:
    asking = _asking(turn)
    return await reports.skip(turn) if asking is not None and argument == asking else None


async def _danger_button(turn: Turn, argument: str) -> Step | None:
    if _asking(turn) == "danger" and argument in reports.DANGER_CHOICES:
        return await reports.danger_answer(turn, argument)
    return None


async def _send_button(turn: Turn, argument: str) -> Step | None:
    return await reports.send(turn) if turn.state.step == Step.PREVIEW else None


async def _edit_button(turn: Turn, argument: str) -> Step | None:
    if turn.state.step not in _REVIEWING:
        return None
    return await reports.edit_field(turn, argument) if argument else await reports.choose_edit(turn)


async def _cancel_button(turn: Turn, argument: str) -> Step | None:
    return await reports.cancel(turn) if turn.state.step in _REVIEWING else None


async def _meaning_button(turn: Turn, argument: str) -> Step | None:
    fits = turn.state.step == Step.DID_YOU_MEAN and turn.state.pending_text is not None
    return await meaning_chosen(turn, argument) if fits else None


async def _notify_button(turn: Turn, argument: str) -> Step | None:
    return await notify_choice(turn, argument == "yes") if turn.state.notify_case_id is not None else None


async def _reply_button(turn: Turn, argument: str) -> Step | None:
    return await status.start_reply(turn) if turn.state.case_id is not None else None


async def _consent_button(turn: Turn, argument: str) -> Step | None:
    if turn.state.step != Step.URGENT_CONSENT or turn.state.draft is None:
        return None
    return await reports.consent_given(turn) if argument == "send" else await reports.consent_refused(turn)


async def _follow_button(turn: Turn, argument: str) -> Step | None:
    fits = turn.state.step == Step.FOLLOW_UP and turn.state.pending_text is not None
    return await follow_up_choice(turn, argument == "yes") if fits else None


BUTTON_STEPS: dict[str, ButtonStep] = {
    "school": _school_button,
    "skip": _skip_button,
    "danger": _danger_button,
    "send": _send_button,
    "edit": _edit_button,
    "cancel": _cancel_button,
    "dym": _meaning_button,
    "notify": _notify_button,
    "reply": _reply_button,
    "consent": _consent_button,
    "follow": _follow_button,
    "preset": deep_link.change_button,  # 'Not my school' under a poster link's preselected school
    "feedback": feedback.button,  # 'Did this help?' after a closed case's status
    "images": status.show_images_button,  # 'Show the images' under a case's status
    "lang": language.button,  # English / Français, under the welcome or /language
}


async def route_button(turn: Turn, data: str) -> Step | None:
    """The step router for a button press; None when the button no longer fits the conversation (stale)."""
    action, _, argument = data.partition(":")
    handler = BUTTON_STEPS.get(action)
    return await handler(turn, argument) if handler is not None else None


async def school_chosen(turn: Turn, argument: str) -> Step:
    if argument == "none":
        await turn.say("school_not_listed")
        return Step.CHOOSE_SCHOOL
    if not argument.isdigit() or int(argument) not in turn.state.school_choices:
        return Step.CHOOSE_SCHOOL
    name = await schools.school_name(turn, int(argument))
    if name is None:
        return await schools.ask_school(turn)
    turn.state.school_id, turn.state.school_name, turn.state.school_choices = int(argument), name, []
    waiting = turn.state.school_case_id
    if waiting is not None and turn.state.school_deadline is not None:
        # An urgent report already sent without a school: now it also goes to this school's officers.
        # Its own case, whatever /status showed since: the details asked next are added to it.
        services = turn.services
        async with services.db.transaction() as session:
            await intake.assign_school(
                session, services.keys, services.policy, waiting, turn.state.school_id, services.now()
            )
        services.outbox_ready.set()
        turn.state.school_deadline = turn.state.school_case_id = None
        turn.state.case_id = waiting
        # The report is already sent: confirm where it goes, then ask only what it did not say.
        key, turn.state.details_key = turn.state.details_key or "urgent_details", None
        await turn.say("urgent_school_set", school=name)
        await turn.say(key)
        return Step.URGENT_DETAILS
    return await reports.continue_after_school(turn)


async def meaning_chosen(turn: Turn, intent: str) -> Step:
    text = turn.state.pending_text or ""
    turn.state.pending_text, turn.state.pending_intents = None, []
    if intent == "other" or intent not in taxonomy.intents():
        await turn.say("something_else")
        return Step.IDLE
    if taxonomy.intents()[intent].urgent:
        # The student named the meaning: a danger to others goes at once, their own crisis on a tap.
        ask_first = intent not in reports.AT_ONCE_INTENTS
        return await reports.start_urgent(turn, text, intent, ask_first=ask_first)
    return await act_on(turn, text, intent, None)


async def follow_up_choice(turn: Turn, to_the_case: bool) -> Step:
    """'Yes, send it' adds the held text to the case; 'No, it's something new' reads it as new."""
    text = turn.state.pending_text or ""
    turn.state.pending_text = None
    case_id = turn.state.follow_case_id
    if to_the_case and case_id is not None:
        return await status.send_follow_up(turn, case_id, text)
    turn.state.unfollow()  # something new: the old case is no longer the one being talked about
    return await free_message(turn, text)


async def notify_choice(turn: Turn, wanted: bool) -> Step:
    case_id = turn.state.notify_case_id
    assert case_id is not None
    turn.state.notify_case_id = None
    await set_notifications(turn, case_id, wanted)
    await turn.say("notify_on" if wanted else "notify_off")
    return turn.state.step
