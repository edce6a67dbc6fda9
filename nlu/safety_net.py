"""The lexical safety net: runs on every message and marks it urgent, whatever the model says."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from nlu import safety_lexicon
from nlu.safety_lexicon import Lexicon
from nlu.textprep import normalize

# Digits typed for letters inside a word ("k1ll", "su1c1de", "sh00t").
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t"})
_MIXED_WORD = re.compile(r"\b(?=\w*[a-z])(?=\w*[0-9])\w+\b")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class SafetyHit:
    """Why the net fired: a category (weapon, threat, self_harm, abuse, sexual_harm) and a rule id."""

    category: str
    rule: str

    @property
    def reason(self) -> str:
        return f"safety net: {self.category}/{self.rule}"


def prepare(text: str, lexicon: Lexicon | None = None) -> str:
    """The normal form the lexicon's patterns are written against."""
    lexicon = lexicon or safety_lexicon.load()
    for emoji, word in lexicon.emoji.items():
        text = text.replace(emoji, word)
    text = normalize(text)
    text = _MIXED_WORD.sub(lambda m: m.group().translate(_LEET), text)
    # Punctuation breaks a phrase no more than a space does ("kill... myself").
    words = re.sub(r"[^\w\s]", " ", text).split()
    return " ".join(lexicon.contractions.get(word, word) for word in words)


@dataclass(frozen=True, slots=True)
class _Category:
    name: str
    rules: tuple[tuple[str, re.Pattern[str]], ...]
    harmless: re.Pattern[str] | None
    fuzzy: tuple[str, ...]


# Ordered by what the student most needs first: self-harm resources lead.
ORDER = ("self_harm", "threat", "weapon", "sexual_harm", "abuse")


def _categories(lexicon: Lexicon) -> tuple[_Category, ...]:
    return tuple(
        _Category(name, lexicon.rules[name], lexicon.harmless[name], lexicon.fuzzy[name]) for name in ORDER
    )


def _fuzzy_match(words: set[str], targets: tuple[str, ...]) -> str | None:
    for target in targets:
        limit = 1 if len(target) < 8 else 2
        for word in words:
            close_in_length = abs(len(word) - len(target)) <= limit and word[0] == target[0]
            if close_in_length and DamerauLevenshtein.distance(word, target, score_cutoff=limit) <= limit:
                return target
    return None


class SafetyNet:
    """Finds urgent phrases (with slang, misspellings and indirect wording).

    The lexicon is read and checked when the net is made (at start-up): a malformed file raises there.
    """

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self._lexicon = lexicon or safety_lexicon.load()
        self._categories = _categories(self._lexicon)

    def check(self, text: str) -> SafetyHit | None:
        """The first hit, most pressing category first, or None."""
        hits = self.check_all(text)
        return hits[0] if hits else None

    def check_all(self, text: str) -> list[SafetyHit]:
        """Every category that fires, most pressing first."""
        prepared = prepare(text[:20_000], self._lexicon)
        if not prepared:
            return []
        hits = []
        for category in self._categories:
            target = category.harmless.sub(" ", prepared) if category.harmless else prepared
            for rule, pattern in category.rules:
                if pattern.search(target):
                    hits.append(SafetyHit(category.name, rule))
                    break
            else:
                words = set(_WORD.findall(target))
                if category.fuzzy and (matched := _fuzzy_match(words, category.fuzzy)):
                    hits.append(SafetyHit(category.name, f"misspelt-{matched}"))
        return hits
