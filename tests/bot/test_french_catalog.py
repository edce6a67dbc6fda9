"""French student texts keep the English reading-level rule: short sentences, plain words (Kandel–Moles)."""

from __future__ import annotations

import html
import re
from functools import cache

import pyphen  # type: ignore[import-untyped]
import pytest

from bot import catalog
from casework.cases import labels
from tests.bot.test_readability import MIN_WORDS, SAMPLES, TAG, paragraphs

# Flesch–Kincaid's grade has no French version. Kandel & Moles (1958) refitted Flesch's reading ease
# to French: 207 − 1.015 × words per sentence − 73.6 × syllables per word. On Flesch's own scale,
# 70–80 is "fairly easy", what a grade 7 reader reads; English student texts are held to grade 7, so
# French ones to 70. Its limits, said plainly: syllables come from hyphenation points (pyphen's French
# dictionary), which runs close to spoken syllables but not exactly (a mute final e counts when
# hyphenation splits it off); the formula sees lengths, not whether a word is common ("autobus" and
# "pénal" weigh the same). So a second, blunter rule beside it: no sentence over MAX_SENTENCE_WORDS.
MIN_EASE = 70.0
MAX_SENTENCE_WORDS = 25

FRENCH_SAMPLES = {
    **SAMPLES,
    "summary": "Ce qui est arrivé : quelqu'un a pris mon cell au cours d'éduc. Où : au gymnase.",
    "kind": "signalement",
    "sent": "3 nov., 16 h 15",
    "when": "3 nov., 16 h 15",
    "status": "lu par l'agent",
    "text": "Merci de me le dire. C'était ton cell?",
    "value": "quelqu'un a pris mon cell",
    "label": "🦊 renard",
}

WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ0-9]+(?:['’-][A-Za-zÀ-ÖØ-öø-ÿ0-9]+)*")
VOWEL = re.compile(r"[aeiouyàâäéèêëîïôöûùüœæ]")
SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@cache
def _hyphenator() -> pyphen.Pyphen:
    return pyphen.Pyphen(lang="fr_FR", left=1, right=1)


def syllables(word: str) -> int:
    """Hyphenation pieces that hold a vowel (a word has at least one)."""
    pieces = _hyphenator().inserted(word.lower()).split("-")
    return max(1, sum(1 for piece in pieces if VOWEL.search(piece)))


def sentences(paragraph: str) -> list[str]:
    return [s for s in SENTENCE_END.split(paragraph) if WORD.search(s)]


def ease(paragraph: str) -> float:
    """Kandel–Moles reading ease: higher is easier."""
    words = WORD.findall(paragraph)
    per_sentence = len(words) / len(sentences(paragraph))
    per_word = sum(syllables(w) for w in words) / len(words)
    return 207 - 1.015 * per_sentence - 73.6 * per_word


def longest_sentence(paragraph: str) -> int:
    return max(len(WORD.findall(s)) for s in sentences(paragraph))


def plain(template: str) -> str:
    filled = template
    for name in catalog.placeholders(template):
        filled = filled.replace("{" + name + "}", FRENCH_SAMPLES[name])
    return html.unescape(TAG.sub("", filled))


def too_hard(text: str) -> list[tuple[float, int, str]]:
    """Paragraphs of MIN_WORDS words or more that are too hard: (ease, longest sentence, paragraph)."""
    measured = [
        (ease(p), longest_sentence(p), p) for p in paragraphs(text) if len(WORD.findall(p)) >= MIN_WORDS
    ]
    return [m for m in measured if m[0] < MIN_EASE or m[1] > MAX_SENTENCE_WORDS]


def test_french_student_texts_are_easy_to_read() -> None:
    failures = {key: hard for key, text in catalog.own_texts("fr").items() if (hard := too_hard(plain(text)))}
    report = "\n".join(
        f"{k}: ease {e:.0f}, {n} words: {p}" for k, hard in failures.items() for e, n, p in hard
    )
    assert not failures, f"French student texts too hard:\n{report}"


def test_every_french_text_is_measured() -> None:
    """fr.yml holds only student texts (officer texts stay English), and the big ones are measured."""
    texts = catalog.own_texts("fr")
    assert not [key for key in texts if catalog.officer_facing(key)]
    measured = [
        key
        for key, text in texts.items()
        if any(len(WORD.findall(p)) >= MIN_WORDS for p in paragraphs(plain(text)))
    ]
    assert {"welcome", "privacy", "urgent_self_harm", "sent", "forget_done"} <= set(measured)
    assert len(measured) > 90


@pytest.mark.parametrize(
    "hard",
    [
        # Long words: an administrative register no teenager writes in.
        "Conformément aux dispositions législatives applicables, l'intervention policière pourrait "
        "s'avérer obligatoire dans certaines circonstances particulièrement préoccupantes.",
        # One endless sentence of short words.
        "Tu peux me dire ce qui est arrivé et je vais le dire à l'agent qui va le lire et qui va "
        "peut-être te répondre si tu lui dis où c'est arrivé et quand c'est arrivé et qui était là.",
    ],
)
def test_positive_control_hard_french_fails(hard: str) -> None:
    assert too_hard(hard)
    assert too_hard(plain("<b>Gardé :</b> " + hard + " Code {code}."))


def test_positive_control_easy_french_passes() -> None:
    assert not too_hard("Tu peux me dire ce qui est arrivé. Je vais l'envoyer à l'agent.")
    assert syllables("anonymement") == 4
    assert syllables("oui") == 1


def test_every_case_label_has_a_french_name() -> None:
    """A case's label ("🦊 fox") is named in French to a French student ("🦊 renard"), same emoji."""
    missing = [label for label in labels.LABELS if labels.in_language(label, "fr") == label]
    assert missing == ["🐨 koala", "🌵 cactus"]  # the same word in both languages
    assert labels.in_language("🦊 fox", "fr") == "🦊 renard"
    assert labels.in_language("🦊 fox", "en") == "🦊 fox"
