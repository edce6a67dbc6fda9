"""The lexical safety net: runs on every message and marks it urgent, whatever the model says."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from nlu import safety_lexicon
from nlu.safety_lexicon import Lexicon
from nlu.textprep import normalize, plain

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
    # English rules read English shorthand spelled out; French rules read folded accents
    # and elisions split ("j'vais" -> "j vais"), with their own shorthand (contractions).
    text = normalize(text) if lexicon.language == "en" else plain(text)
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


# Every message is checked against every language's lexicon, whatever language it
# seems to be in: students switch languages mid-sentence ("my friend said y'a un gun
# dans son sac") and a detector can be wrong on a short message.
LANGUAGES = ("en", "fr")


class SafetyNet:
    """Finds urgent phrases (with slang, misspellings and indirect wording), in English and French.

    The lexicons are read and checked when the net is made (at start-up): a malformed file raises there.
    """

    def __init__(self, lexicon: Lexicon | Sequence[Lexicon] | None = None) -> None:
        if lexicon is None:
            lexicons: tuple[Lexicon, ...] = tuple(safety_lexicon.load(language) for language in LANGUAGES)
        elif isinstance(lexicon, Lexicon):
            lexicons = (lexicon,)
        else:
            lexicons = tuple(lexicon)
        self._lexicons = tuple((each, _categories(each)) for each in lexicons)

    def check(self, text: str) -> SafetyHit | None:
        """The first hit, most pressing category first, or None."""
        hits = self.check_all(text)
        return hits[0] if hits else None

    def check_all(self, text: str) -> list[SafetyHit]:
        """Every category that fires in any language (the first to fire names it), most pressing first."""
        found: dict[str, SafetyHit] = {}
        for lexicon, categories in self._lexicons:
            tag = "" if lexicon.language == "en" else f"{lexicon.language}-"
            for hit in _check(prepare(text[:20_000], lexicon), categories, tag):
                found.setdefault(hit.category, hit)
        return [found[name] for name in ORDER if name in found]


def _check(prepared: str, categories: tuple[_Category, ...], tag: str) -> list[SafetyHit]:
    """One language's hits on its normal form; `tag` marks the rule ids of languages other than English."""
    if not prepared:
        return []
    hits = []
    for category in categories:
        target = category.harmless.sub(" ", prepared) if category.harmless else prepared
        for rule, pattern in category.rules:
            if pattern.search(target):
                hits.append(SafetyHit(category.name, tag + rule))
                break
        else:
            words = set(_WORD.findall(target))
            if category.fuzzy and (matched := _fuzzy_match(words, category.fuzzy)):
                hits.append(SafetyHit(category.name, f"{tag}misspelt-{matched}"))
    return hits
