"""Every student-facing text in the catalog reads at grade 7 or below (Flesch–Kincaid, via textstat)."""

from __future__ import annotations

import html
import re

import pytest
import textstat  # type: ignore[import-untyped]

from bot import catalog

MAX_GRADE = 7.0
MIN_WORDS = 8  # shorter texts are buttons and labels: exempt (and too short for the formula to mean much)

# Officers and supervisors read these, not students: every officer_* and alert_* text, plus the
# enrollment texts, which only an officer holding a coordinator's code ever sees.
OFFICER_PREFIXES = ("officer_", "alert_", "enroll_")
OFFICER_KEYS = frozenset[str]()  # officer texts that do not follow the prefix rule (none so far)

# Plausible values for placeholders, so the measured text is what a student really reads.
# A new placeholder without a sample fails test_every_placeholder_has_a_sample.
SAMPLES = {
    "school": "Maple Ridge Collegiate",
    "code": "K7QF-2MZX-9PHA-R3TD-4",
    "summary": "What happened: someone took my phone in gym class. Where: the gym.",
    "retention_days": "90",
    "seconds": "60",
    "label": "🦊 fox",
    "kind": "report",
    "sent": "Nov 3, 4:15 PM",
    "status": "read by the officer",
    "when": "Nov 3, 4:15 PM",
    "text": "Thanks for telling me. Was it your phone?",
    "value": "someone took my phone",
    "limit": "4000",
    "size": "4200",
    "count": "2",  # images in a case
    "index": "1",  # which image
}

TAG = re.compile(r"<[^>]+>")


def student_keys() -> list[str]:
    return sorted(
        key for key in catalog.messages() if not key.startswith(OFFICER_PREFIXES) and key not in OFFICER_KEYS
    )


def plain(template: str) -> str:
    """The text as a student reads it: placeholders filled, HTML tags and entities gone."""
    filled = template
    for name in catalog.placeholders(template):
        filled = filled.replace("{" + name + "}", SAMPLES[name])
    return html.unescape(TAG.sub("", filled))


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs; a line ending without punctuation (a bullet, a heading) ends a
    sentence too, since that is how it reads, and the formula would otherwise count one long sentence."""
    result = []
    for block in re.split(r"\n\s*\n", text):
        lines = [line.strip(" •") for line in block.splitlines() if line.strip()]
        joined = " ".join(line if line[-1] in ".!?:" else line + "." for line in lines)
        if joined:
            result.append(joined)
    return result


def word_count(text: str) -> int:
    return int(textstat.lexicon_count(text))


def grade(text: str) -> float:
    return float(textstat.flesch_kincaid_grade(text))


def too_hard(text: str) -> list[tuple[float, str]]:
    """Paragraphs of MIN_WORDS words or more above MAX_GRADE, with their grade."""
    return [(grade(p), p) for p in paragraphs(text) if word_count(p) >= MIN_WORDS and grade(p) > MAX_GRADE]


def test_every_placeholder_has_a_sample() -> None:
    missing = {
        (key, name)
        for key in student_keys()
        for name in catalog.placeholders(catalog.messages()[key])
        if name not in SAMPLES
    }
    assert not missing, f"add a plausible sample value for: {sorted(missing)}"


def test_student_texts_read_at_grade_7_or_below() -> None:
    """Measured per paragraph, not per text: Flesch–Kincaid averages over a text, so one hard paragraph
    (say, the privacy text's line about encryption) would hide among easy ones, and a student reads a
    paragraph at a time. Paragraphs under MIN_WORDS words (headings, buttons) are exempt."""
    failures = {key: hard for key in student_keys() if (hard := too_hard(plain(catalog.messages()[key])))}
    report = "\n".join(f"{key}: grade {g:.1f}: {p}" for key, hard in failures.items() for g, p in hard)
    assert not failures, f"student texts above grade {MAX_GRADE}:\n{report}"


def test_positive_control_a_hard_text_fails() -> None:
    hard = (
        "Your submission is encrypted and stored only in a scrambled form, accessible exclusively to "
        "designated personnel, including senior officers with jurisdiction over every participating school."
    )
    assert too_hard(hard), grade(hard)
    # And the machinery sees through markup and placeholders.
    assert too_hard(plain("<b>Kept:</b> " + hard + " Code {code}."))
    assert not too_hard("You can tell me what happened. I will send it to the officer.")


@pytest.mark.parametrize("key", ["officer_help", "alert_tampered_message", "enroll_rejected"])
def test_officer_texts_are_not_measured(key: str) -> None:
    assert key in catalog.messages()
    assert key not in student_keys()


def test_student_texts_are_measured() -> None:
    keys = student_keys()
    assert {"welcome", "privacy", "urgent_self_harm", "sent", "status_nobody_reached"} <= set(keys)
