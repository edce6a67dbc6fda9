"""A student's conversation state: where they are, their school, their draft.

Lives in the database (casework.cases.drafts), encrypted and keyed by pseudonym,
loaded per update and gone after 30 minutes of silence. Nothing here is
kept in the bot's memory between updates, so a restart loses nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from casework import crockford
from casework.cases.codes import CODE_BITS, CaseCode
from storage.models import CaseKind

if TYPE_CHECKING:
    from bot.early_safety import Early


class Step(StrEnum):
    """Where a student is in the conversation (the states of docs/conversation.md)."""

    IDLE = "idle"
    CHOOSE_SCHOOL = "choose_school"
    INTERVIEW = "interview"
    PREVIEW = "preview"
    EDIT_CHOICE = "edit_choice"
    URGENT_DETAILS = "urgent_details"
    URGENT_CONSENT = "urgent_consent"  # safety information shown; sent only if the student taps Send
    DID_YOU_MEAN = "did_you_mean"
    STATUS_CODE = "status_code"
    STATUS_REPLY = "status_reply"
    FOLLOW_UP = "follow_up"  # text typed right after a case was shown: "send it to that case?"


# The interview's questions, in the order they are asked.
FIELDS = ("what", "where", "when", "danger", "more")
# How long after /status shows a case text typed next is offered to that case (the draft lifetime).
FOLLOW_UP_SECONDS = 30 * 60


@dataclass
class Handling:
    """The stored update being handled (bot.intake): its id, and the random seed stored with it.

    A draft started while handling it takes its send token and case code from the seed, so that
    handling the update again after a crash (the case committed, the state not yet saved) finds the
    case the first run opened, by its send token, and tells the same code: never a second case.
    """

    update_id: int
    seed: bytes
    drawn: dict[str, int] = field(default_factory=dict)
    finished: bool = False  # marked done with the student's state (bot.turn.save_turn)
    # Safety information this instance may send before the turn says it (bot.early_safety).
    early: Early | None = None
    # The update's chat, and whether an active officer's record named it when the update was claimed
    # (None: not looked up); the officer gate (bot.officer.gate) then needs no read of its own.
    officer_chat: tuple[int, bool] | None = None

    def officer_chat_known(self, chat_id: int) -> bool | None:
        """Whether the claim found `chat_id` to be an officer's (None: it did not look it up)."""
        if self.officer_chat is None or self.officer_chat[0] != chat_id:
            return None
        return self.officer_chat[1]

    def draw(self, label: str, size: int) -> bytes:
        """The next `size` bytes for `label` (its n-th draw in this update), from the seed."""
        number = self.drawn.get(label, 0)
        self.drawn[label] = number + 1
        message = f"sro-connect update draw v1|{label}|{number}".encode()
        return hmac.new(self.seed, message, hashlib.sha256).digest()[:size]


# Set by bot.intake while an update from the durable inbox is handled; None otherwise.
handling: ContextVar[Handling | None] = ContextVar("handling", default=None)


def _send_token() -> str:
    current = handling.get()
    if current is None:
        return secrets.token_urlsafe(18)
    return base64.urlsafe_b64encode(current.draw("send_token", 18)).decode("ascii")


def _case_code() -> str:
    current = handling.get()
    if current is None:
        return CaseCode.new().data
    value = int.from_bytes(current.draw("case_code", CODE_BITS // 8), "big")
    return CaseCode(crockford.encode(value, CODE_BITS // 5)).data


@dataclass
class Draft:
    """A report or question being written."""

    kind: CaseKind
    intent: str
    urgent: bool = False
    answers: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    asking: str | None = None  # the field the last question asked for
    editing: bool = False  # answering an Edit: back to the preview afterwards
    # A report that began with only where or when ("something happened at the bus loop today"):
    # kept to go before the description, since the interview skips what it already says.
    opener: str | None = None
    # Chosen when the draft starts, kept with it (encrypted): pressing Send twice, or again after a
    # failure half-way, finds the case the first press opened (a unique key in the database) and
    # tells the same case code.
    send_token: str = field(default_factory=_send_token)
    case_code: str = field(default_factory=_case_code)
    # Evidence images accepted for this report (bot.student.evidence): each a Telegram file_id with
    # its caption and OCR text, only here, sealed with the draft, until the report is sent or dropped.
    images: list[dict[str, str | None]] = field(default_factory=list)
    # The student said an image was intimate: it was not kept, and the officer is told so in words.
    intimate_image: bool = False

    def __post_init__(self) -> None:
        # A saved draft comes back from JSON with its kind as the stored value; an unknown one is
        # a ValueError, so `ChatState.from_dict` starts afresh as for any unreadable state.
        self.kind = CaseKind(self.kind)


def _waiting_before(raw: dict[str, Any]) -> int | None:
    """A state saved before `school_case_id` existed: the case waiting for a school was `case_id`."""
    return raw.get("case_id") if raw.get("school_deadline") is not None else None


def _pending_image(raw: object) -> dict[str, Any] | None:
    return raw if isinstance(raw, dict) else None


@dataclass
class ChatState:
    step: Step = Step.IDLE
    school_id: int | None = None
    school_name: str | None = None
    school_choices: list[int] = field(default_factory=list)
    draft: Draft | None = None
    # Did-you-mean: the message waiting for the student to pick its meaning.
    pending_text: str | None = None
    pending_intents: list[str] = field(default_factory=list)
    # The case urgent additions and status replies go to.
    case_id: int | None = None
    # The last urgent case this chat sent: past the cap on new urgent cases (bot.student.sending.
    # open_urgent), urgent words go to it as an addition. Kept by /cancel and /done, not /forget.
    last_urgent_case_id: int | None = None
    # The case the "notify me" buttons under the case code are about.
    notify_case_id: int | None = None
    # An urgent report sent before the school was known: when it goes to supervisors, and its case,
    # kept apart from `case_id` (which /status moves to the case it shows): the tap on a school names
    # the school of this case, never of one looked at meanwhile.
    school_deadline: float | None = None
    school_case_id: int | None = None
    # That urgent report's details prompt (a catalog key): asked once the school is chosen, naming
    # only what its message did not already say.
    details_key: str | None = None
    # The case /status just showed, or a reply notice just named: text typed next is offered to it
    # (one tap) until this time.
    # Only here, in the sealed pseudonymous state, never beside an identifier.
    follow_case_id: int | None = None
    follow_label: str | None = None
    follow_until: float | None = None
    # Held for the student's tap (Step.URGENT_CONSENT): when the one gentle reminder is due, and the
    # chat it goes to. Only here, sealed in the pseudonymous state, and only until the reminder is
    # sent or the student answers (bot.jobs.remind_consent).
    consent_remind_at: float | None = None
    consent_chat: int | None = None
    # The closed case "Did this help?" was just asked about (bot.student.feedback): only here, sealed,
    # and only until the one tap, so that no answer is ever kept beside its case.
    feedback_case_id: int | None = None
    # Images waiting for the student's one tap (is it intimate?), by the student's message id: each
    # its file_id, caption, OCR text and where it goes (bot.student.evidence). Only here, sealed;
    # each dropped once answered.
    pending_image: dict[str, Any] | None = None
    # The language the bot answers in ("en", "fr"; bot.student.language): only here, sealed, never
    # beside an identifier. `language_chosen`: tapped by the student, or French was detected in a
    # message; until then each classified message's language is taken (English when unsure).
    language: str = "en"
    language_chosen: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ChatState:
        """Rebuild a saved state; anything unreadable (an older format) starts afresh."""
        try:
            draft = raw.get("draft")
            return cls(
                step=Step(raw.get("step", Step.IDLE)),
                school_id=raw.get("school_id"),
                school_name=raw.get("school_name"),
                school_choices=list(raw.get("school_choices") or []),
                draft=Draft(**draft) if isinstance(draft, dict) else None,
                pending_text=raw.get("pending_text"),
                pending_intents=list(raw.get("pending_intents") or []),
                case_id=raw.get("case_id"),
                last_urgent_case_id=raw.get("last_urgent_case_id"),
                notify_case_id=raw.get("notify_case_id"),
                school_deadline=raw.get("school_deadline"),
                school_case_id=raw.get("school_case_id", _waiting_before(raw)),
                details_key=raw.get("details_key"),
                follow_case_id=raw.get("follow_case_id"),
                follow_label=raw.get("follow_label"),
                follow_until=raw.get("follow_until"),
                consent_remind_at=raw.get("consent_remind_at"),
                consent_chat=raw.get("consent_chat"),
                feedback_case_id=raw.get("feedback_case_id"),
                pending_image=_pending_image(raw.get("pending_image")),
                language=str(raw.get("language") or "en"),
                language_chosen=bool(raw.get("language_chosen", False)),
            )
        except (TypeError, ValueError):
            return cls()

    def fresh(self) -> ChatState:
        """Back to idle, keeping the school (and the last urgent case): what /cancel does."""
        return ChatState(
            school_id=self.school_id,
            school_name=self.school_name,
            last_urgent_case_id=self.last_urgent_case_id,
            language=self.language,
            language_chosen=self.language_chosen,
        )

    def follow(self, case_id: int, label: str | None, now: float) -> None:
        """Text typed next is offered to this case, for FOLLOW_UP_SECONDS."""
        self.follow_case_id, self.follow_label = case_id, label
        self.follow_until = now + FOLLOW_UP_SECONDS

    def following(self, now: float) -> int | None:
        """The case typed text is offered to, if one was shown recently; forgets an old one."""
        if self.follow_case_id is not None and self.follow_until is not None and now < self.follow_until:
            return self.follow_case_id
        self.unfollow()
        return None

    def unfollow(self) -> None:
        self.follow_case_id = self.follow_label = self.follow_until = None
