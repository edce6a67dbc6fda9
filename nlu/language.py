"""Which language a student wrote in: English or French, offline, English when unsure."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Literal

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

Lang = Literal["en", "fr"]
LANGUAGES: tuple[Lang, ...] = ("en", "fr")

# Statistical detectors guess on one or two words ("hi constable" looks French to
# lingua, "salut" looks English to py3langid), and those are exactly a student's
# first messages. Words that only one language uses decide short messages;
# lingua decides the rest. Accents are stripped before lookup: students skip them.


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_FRENCH_WORDS = _wordset(
    """
    salut allo alo bonjour bonsoir bonne nuit coucou slt cc bjr bsr re-bonjour
    ok non merci mrc mci svp stp sil plait oui ouais ouin ouaip nan pantoute
    je me te se ne j' m' t' s' n' l' d' c' qu' y' jai jsuis chu chui jpense jveux
    jsp jsais jvais jme jte tu ta tes ton toi
    il ils elle elles on nous vous yen ca ce cest c quoi que qui quand
    comment pourquoi pk pq pcq parce est etait sont suis sera fait faire va vais
    avec dans pour sur chez sans mais donc aussi tres trop bcp beaucoup
    un une le la les des du au aux mon ma mes sa ses son leur notre votre
    pas jamais rien personne qqn qqch quelqu quelque chose tkt mdr ptdr
    gars fille filles gars chum blonde ecole cours prof classe casier casiers
    toilettes caf cafeteria gymnase stationnement autobus aide aidez
    policier policiere agent police anonyme peur frappe menace couteau fusil
    vole drogue tabarnak tabarouette crisse osti criss calice ben pis faque
    """
)
_ENGLISH_WORDS = _wordset(
    """
    hi hey hello hii hiya sup yo wassup wsp heyy ello hai howdy
    thanks thank thx ty tysm tyy thnks ok okay k kk yes yeah yep yup ya sure nope
    naw nah bye byeee cya gtg ttyl the i im you u ur your my me he she they
    them his her is are was were be been do does did dont can cant
    will wont would should could have has had what when where why how who
    this that there these those it its and or but not no with about from at
    to of for on in by if so just like some someone somebody anyone guy girl
    school class washroom bathroom cafeteria hallway locker portable plaza
    officer cop police help anonymous report knife gun fight bullying
    idk idc rn tmrw ppl pls plz lmao lmfao bro bruh wyd hbu omg
    """
)
# Words both languages use too often to count for either ("a", "non", "ok").
_SHARED = _FRENCH_WORDS & _ENGLISH_WORDS
_TOKEN = re.compile(r"[a-z]+(?:['-][a-z]+)*")
# lingua's confidence that a message with no decisive words is French before we
# say so; below it, English (the bot's default language) is the safer guess.
_FRENCH_CONFIDENCE = 0.80


def _fold(text: str) -> str:
    """Lowercase without accents, so 'déjà', 'deja' and 'DÉJÀ' look alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    """Tokens, with French elisions split off: "j'vais" -> "j", "vais"."""
    words: list[str] = []
    for token in _TOKEN.findall(_fold(text)):
        head, _, tail = token.partition("'")
        if tail and head + "'" in _FRENCH_WORDS:
            words += [head + "'", tail]
        else:
            words.append(token.replace("'", ""))
    return words


@cache
def _detector() -> LanguageDetector:
    """lingua, limited to the two languages we serve (its models load on first use)."""
    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.FRENCH).build()


def _french_confidence(text: str) -> float:
    return _detector().compute_language_confidence(text, Language.FRENCH)


def detect(text: str) -> Lang:
    """'fr' when the message is French, else 'en' (also for empty or undecidable text)."""
    words = _words(text)
    if not words:
        return "en"
    french = sum(w in _FRENCH_WORDS and w not in _SHARED for w in words)
    english = sum(w in _ENGLISH_WORDS and w not in _SHARED for w in words)
    # Short messages ("salut", "merci bcp", "hi constable"): the decisive words
    # decide, since n-gram statistics on a few letters are close to a coin toss.
    if len(words) <= 3 and french != english:
        return "fr" if french > english else "en"
    if len(words) <= 2 and french == english:
        return "en"
    if french >= 2 * english + 2:
        return "fr"
    if english >= 2 * french + 2 and english >= 2:
        return "en"
    return "fr" if _french_confidence(text) >= _FRENCH_CONFIDENCE else "en"
