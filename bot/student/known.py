"""What a student's message already says (where, when), so that no question asks for it again."""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from bot.state import Draft
from nlu.language import detect
from nlu.lexicon_entities import LookupEntityExtractor
from nlu.result import Classification
from nlu.training_data import DATA_DIR, load

# Words that already say when something happened, so the interview does not ask.
_WHEN = re.compile(
    r"\b(?:today|tonight|yesterday|tomorrow|tmrw|tmr|now|rn|right now|earlier|ago"
    r"|this (?:morning|afternoon|week)|last (?:night|week|weekend|period|class)|every ?day|always"
    r"|all the time|(?:mon|tues|wednes|thurs|fri|satur|sun)day|weekend|at lunch|lunch|after school"
    r"|before school|recess|(?:first|second|third|fourth|1st|2nd|3rd|4th) period|period \d"
    r"|\d{1,2}(?::\d\d)? ?(?:am|pm)|in class|during class)\b",
    re.IGNORECASE,
)


# The same in French, read without accents or case ("récré", "recre" and "RÉCRÉ" alike): Ontario and
# Quebec ways of saying it ("au dîner" is lunch, "tantôt" earlier or later, "drette là" right now).
_QUAND = re.compile(
    r"\b(?:aujourd'?hui|auj|ajd|hier|avant[- ]hier|demain|dmain|apres[- ]demain|maintenant|drette la"
    r"|en ce moment|tantot|tout a l'?heure|t'?a l'?heure|tout de suite|live"
    r"|ce (?:matin|midi|soir)|cet? ?(?:apres[- ]?midi|aprem|apm|am|pm)|cette (?:nuit|semaine|fin de semaine)"
    r"|hier (?:matin|midi|soir)|demain (?:matin|midi|soir)|le (?:matin|midi|soir)"
    r"|(?:la )?semaine (?:passee|derniere|prochaine)|le mois (?:passe|dernier)|(?:la )?fin de semaine|fds"
    r"|(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)s?(?: (?:passe|dernier|prochain|soir|matin))?"
    r"|(?:a la |pendant la )?recre(?:ation)?|(?:a la |pendant la )?pause|(?:au |a l'heure du )?diner"
    r"|(?:apres|avant) (?:l'?ecole|les cours|le cours|la classe)|a la (?:sortie|cloche)"
    r"|(?:en )?(?:1re|1ere|premiere|2e|2eme|deuxieme|3e|3eme|troisieme|4e|4eme|quatrieme|\d) periode"
    r"|periode \d|en classe|en cours|pendant (?:le|la|les) (?:cours|classe|examen)"
    r"|en (?:maths?|francais|anglais|sciences|gym|edu)"
    r"|a? ?\d{1,2} ?h(?:\d\d)?|\d{1,2}:\d\d"
    r"|(?:il )?y ?'?a (?:\d+|un|une|deux|trois|quelques) (?:minutes?|heures?|jours?|semaines?|mois)"
    r"|depuis (?:\d+|un|une|deux|trois|quelques|longtemps|le debut)|tous les (?:jours|matins|midis|soirs)"
    r"|chaque (?:jour|matin|midi|soir|fois)|toujours|tout le temps|souvent)\b",
)


def _folded(text: str) -> str:
    """Lowercase, no accents, straight apostrophes: how students type French as often as not."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@cache
def _french_places() -> LookupEntityExtractor:
    """The French NLU data's place names ("la caf", "les casiers"): where the model may miss them."""
    return LookupEntityExtractor(load([DATA_DIR / "fr_lookups.yml"]))


def says_when(text: str) -> bool:
    return bool(_WHEN.search(text) or _QUAND.search(_folded(text)))


def says_where(text: str, classification: Classification | None) -> bool:
    """The model found a place; or, in a French message, a place from the French lookup table (the
    model's French entity tagging is younger than its English: the table is the same one it learns)."""
    if classification is not None and any(e.entity == "location" for e in classification.entities):
        return True
    if detect(text) != "fr":
        return False
    return any(e.entity == "location" for e in _french_places().extract(text))


def covered_by_description(text: str, classification: Classification | None) -> list[str]:
    """Interview fields the first message already answers: never asked again."""
    covered = []
    if says_where(text, classification):
        covered.append("where")
    if says_when(text):
        covered.append("when")
    return covered


# The general details prompt by what is still missing of where and when.
_DETAILS_ASKING = {
    frozenset({"where", "when"}): "urgent_details",
    frozenset({"where"}): "urgent_details_where",
    frozenset({"when"}): "urgent_details_when",
    frozenset[str](): "urgent_details_known",
}


def details_key(intent: str, known: frozenset[str] = frozenset()) -> str:
    """What to ask after an urgent report: "where and when did this happen" fits neither a threat
    about the future nor a student's own crisis, and is never asked when the message already said it."""
    if intent in ("report_self_harm", "report_threat"):
        return "urgent_details_self_harm" if intent == "report_self_harm" else "urgent_details_threat"
    missing = frozenset({"where", "when"} - known)
    return _DETAILS_ASKING[missing]


def known_fields(draft: Draft) -> frozenset[str]:
    """Where and when, if the report says them (answered, found in its description, or skipped:
    a student who skipped a question is not asked it again)."""
    return frozenset(name for name in ("where", "when") if name in draft.answers or name in draft.skipped)
