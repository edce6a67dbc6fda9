"""The student conversation as a state diagram: every step change the code may make, and why.

`student_turn` checks each change it makes against this table (an
undeclared one is logged and recorded, and the end-to-end tests fail on
it), and docs/conversation.md's Mermaid diagram is drawn from it, so the
picture cannot drift from the code.
"""

from __future__ import annotations

import logging

from bot.state import Step

logger = logging.getLogger(__name__)

S = Step
TRANSITIONS: tuple[tuple[Step, Step, str], ...] = (
    (S.IDLE, S.CHOOSE_SCHOOL, "/start, 'Not my school', or a report or question before a school is known"),
    (S.CHOOSE_SCHOOL, S.CHOOSE_SCHOOL, "types part of a name: school buttons"),
    (S.CHOOSE_SCHOOL, S.IDLE, "taps a school"),
    (S.CHOOSE_SCHOOL, S.INTERVIEW, "taps a school; a report was waiting"),
    (S.CHOOSE_SCHOOL, S.PREVIEW, "taps a school; a question was waiting"),
    (S.CHOOSE_SCHOOL, S.URGENT_DETAILS, "taps a school after an urgent report: asks only what it lacks"),
    (S.CHOOSE_SCHOOL, S.IDLE, "types a sentence instead: answered (a report waits for the school)"),
    (S.CHOOSE_SCHOOL, S.DID_YOU_MEAN, "types a sentence instead, unclear"),
    (S.CHOOSE_SCHOOL, S.STATUS_CODE, "types a sentence instead: check status"),
    (S.IDLE, S.IDLE, "greet, thank, help, privacy…: an answer; a hesitant opener: encouragement"),
    (S.IDLE, S.INTERVIEW, "report: ask what is missing"),
    (S.IDLE, S.PREVIEW, "question for the officer / report with nothing missing"),
    (S.IDLE, S.URGENT_DETAILS, "urgent: safety information, sent at once"),
    (S.IDLE, S.DID_YOU_MEAN, "low confidence"),
    (S.IDLE, S.STATUS_CODE, "check status without a code"),
    (S.IDLE, S.STATUS_REPLY, "taps Answer the officer"),
    (S.INTERVIEW, S.INTERVIEW, "an answer or Skip: the next missing question"),
    (S.INTERVIEW, S.PREVIEW, "nothing left to ask"),
    (S.INTERVIEW, S.URGENT_DETAILS, "danger now, or an urgent answer: sent at once"),
    (S.PREVIEW, S.IDLE, "Send, or Cancel"),
    (S.PREVIEW, S.PREVIEW, "text instead of a button: the preview again"),
    (S.PREVIEW, S.EDIT_CHOICE, "Edit"),
    (S.PREVIEW, S.INTERVIEW, "Edit a question"),
    (S.PREVIEW, S.URGENT_DETAILS, "an urgent addition: sent at once"),
    (S.EDIT_CHOICE, S.INTERVIEW, "a part to change"),
    (S.EDIT_CHOICE, S.IDLE, "Cancel"),
    (S.EDIT_CHOICE, S.URGENT_DETAILS, "an urgent addition: sent at once"),
    (S.EDIT_CHOICE, S.URGENT_CONSENT, "a self-harm or unsure urgent addition: sent only on a tap"),
    (S.IDLE, S.URGENT_CONSENT, "self-harm, or urgent but unsure: crisis lines now, sent only on a tap"),
    (S.CHOOSE_SCHOOL, S.URGENT_CONSENT, "self-harm words, not a school: crisis lines, sent only on a tap"),
    (S.INTERVIEW, S.URGENT_CONSENT, "a self-harm answer: crisis lines, sent only on a tap"),
    (S.PREVIEW, S.URGENT_CONSENT, "a self-harm or unsure urgent addition: sent only on a tap"),
    (S.DID_YOU_MEAN, S.URGENT_CONSENT, "picks self-harm: crisis lines, sent only on a tap"),
    (S.FOLLOW_UP, S.URGENT_CONSENT, "self-harm words: crisis lines, sent only on a tap"),
    (S.URGENT_CONSENT, S.URGENT_CONSENT, "types more before tapping: joins the held message, still not sent"),
    (S.URGENT_CONSENT, S.URGENT_DETAILS, "taps Send to the officer: sent, details asked"),
    (S.URGENT_CONSENT, S.CHOOSE_SCHOOL, "taps Send, school unknown: sent, then the school is asked"),
    (S.URGENT_CONSENT, S.IDLE, "taps Not now: nothing sent"),
    (S.URGENT_DETAILS, S.URGENT_DETAILS, "each message added to the report"),
    (S.URGENT_DETAILS, S.IDLE, "/done; or the report was closed: told the message did not go"),
    (S.URGENT_DETAILS, S.URGENT_CONSENT, "the report was closed; self-harm or unsure danger words: on a tap"),
    (S.URGENT_DETAILS, S.CHOOSE_SCHOOL, "the report was closed; urgent words, sent: the school is asked"),
    (S.DID_YOU_MEAN, S.IDLE, "a meaning that needs no more"),
    (S.DID_YOU_MEAN, S.CHOOSE_SCHOOL, "a report or question, school unknown"),
    (S.DID_YOU_MEAN, S.INTERVIEW, "a report"),
    (S.DID_YOU_MEAN, S.PREVIEW, "a question"),
    (S.DID_YOU_MEAN, S.URGENT_DETAILS, "an urgent meaning"),
    (S.DID_YOU_MEAN, S.DID_YOU_MEAN, "types again, still unsure"),
    (S.DID_YOU_MEAN, S.STATUS_CODE, "check status"),
    (S.STATUS_CODE, S.IDLE, "a code: the case is shown"),
    (S.STATUS_CODE, S.STATUS_CODE, "a typo or not a code: try again"),
    (S.STATUS_CODE, S.URGENT_DETAILS, "danger words, not a code: safety information, sent at once"),
    (S.STATUS_CODE, S.URGENT_CONSENT, "self-harm or unsure danger words, not a code: on a tap"),
    (S.STATUS_CODE, S.CHOOSE_SCHOOL, "danger words, not a code, school unknown: sent, the school asked"),
    (S.STATUS_REPLY, S.IDLE, "the answer goes to the officer"),
    (S.IDLE, S.FOLLOW_UP, "types right after /status or a reply notice: send it to that case? (one tap)"),
    (S.FOLLOW_UP, S.FOLLOW_UP, "types more before tapping: joins the held message"),
    (S.FOLLOW_UP, S.IDLE, "Yes: added to the case; or No, and the message needs no more"),
    (S.FOLLOW_UP, S.INTERVIEW, "No, it's something new: a report"),
    (S.FOLLOW_UP, S.PREVIEW, "No, it's something new: a question"),
    (S.FOLLOW_UP, S.URGENT_DETAILS, "urgent words: sent at once as an urgent report"),
    (S.FOLLOW_UP, S.URGENT_CONSENT, "self-harm or unsure danger words: crisis lines, sent only on a tap"),
    (S.FOLLOW_UP, S.DID_YOU_MEAN, "No, it's something new: unclear"),
    (S.FOLLOW_UP, S.CHOOSE_SCHOOL, "No, it's something new: school unknown"),
    (S.FOLLOW_UP, S.STATUS_CODE, "No, it's something new: check status"),
)
# Commands that reset the conversation from any step (not drawn for each step).
ANY_STEP: tuple[tuple[Step, str], ...] = (
    (S.IDLE, "/cancel, /forget, /done; /start from a school poster's link: that school preselected"),
    (S.CHOOSE_SCHOOL, "/start"),
    (S.STATUS_CODE, "/status"),
)

ALLOWED = frozenset((a, b) for a, b, _ in TRANSITIONS) | frozenset((a, b) for a in Step for b, _ in ANY_STEP)


def allowed(before: Step, after: Step) -> bool:
    return before == after or (before, after) in ALLOWED


# Step changes seen in this process that the table does not declare (the tests assert it stays empty).
undeclared: set[tuple[Step, Step]] = set()


def record(before: Step, after: Step) -> None:
    if not allowed(before, after):
        undeclared.add((before, after))
        logger.warning("flow.undeclared_transition before=%s after=%s", before.value, after.value)


def mermaid() -> str:
    """The diagram, in the habit of python-telegram-bot's conversationbot.mmd."""
    lines = ["stateDiagram-v2", "    [*] --> idle"]
    for before, after, why in TRANSITIONS:
        lines.append(f"    {before.value} --> {after.value}: {why}")
    for target, why in ANY_STEP:
        lines.append(f"    note left of {target.value}: from any step, {why}")
    return "\n".join(lines) + "\n"
