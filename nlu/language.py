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
    salut allo alo bonjour bonsoir bonne nuit coucou slt cc bjr bsr
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
    bon matin plus demain tantot bientot tchao dois aller fini heille wesh rebonjour
    mille mercis mets daccord dac vas envoie envoyer parfait absolument annule
    annuler laisse tomber arrete explique moi voici statut commandes allez ouvre
    exactement signaler signalement nouveau maltraitance sextorsion abus sexuel
    agression sexuelle es bye yo hey bro aurevoir ciao pense suicider tuer bat battent
    """
)
_ENGLISH_WORDS = _wordset(
    """
    hi hey hello hii hiya sup yo wassup wsp heyy ello hai howdy
    thanks thank thx ty tysm tyy thnks ok okay k kk yes yeah yep yup ya sure nope
    naw nah bye byeee cya gtg ttyl the i im you u ur your my me he she they
    them his her is are was were be been do does did dont can cant
    will wont would should could have has had what when where why how who
    this that thats whats there these those it its and or but not no with about from at
    to of for on in by if so just like some someone somebody anyone guy girl
    school washroom bathroom hallway officer anonymous
    idk idc rn tmrw ppl pls plz lmao lmfao bro bruh wyd hbu omg
    """
)
# Words both languages use too often to count for either ("a", "non", "ok").
_SHARED = _FRENCH_WORDS & _ENGLISH_WORDS
# Stretched letters ("merciii", "saluttt") shrink to one: no word in the lists doubles a letter.
_STRETCH = re.compile(r"([a-z])\1{2,}")
_DOUBLED = re.compile(r"([a-z])\1+")
# Digits count as letters so that a case code ("R4TX-8MQN") stays whole and is then skipped.
_TOKEN = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
# lingua's confidence that a message with no decisive words is French before we
# say so; below it, English (the bot's default language) is the safer guess.
_FRENCH_CONFIDENCE = 0.80


def _fold(text: str) -> str:
    """Lowercase without accents, so 'déjà', 'deja' and 'DÉJÀ' look alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _decisive(word: str, words: frozenset[str]) -> bool:
    """In the list and not in the other language's; 'ouii' and 'nonn' count as 'oui', 'non'."""
    if word in _SHARED:
        return False
    return word in words or _DOUBLED.sub(r"\1", word) in words - _SHARED


def _words(text: str) -> list[str]:
    """Tokens, with French elisions split off: "j'vais" -> "j", "vais"."""
    words: list[str] = []
    for token in _TOKEN.findall(_STRETCH.sub(r"\1", _fold(text))):
        if any(ch.isdigit() for ch in token):
            continue
        head, _, tail = token.partition("'")
        if tail and head + "'" in _FRENCH_WORDS:
            words += [head + "'", tail]
        else:
            words += token.replace("'", "").split("-")
    return words


@cache
def _detector() -> LanguageDetector:
    """lingua, limited to the two languages we serve (its models load on first use)."""
    return LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.FRENCH).build()


def _french_confidence(text: str) -> float:
    return _detector().compute_language_confidence(text, Language.FRENCH)


def _by_words(words: list[str]) -> Lang | None:
    """The answer the decisive words give, or None when they leave it open."""
    french = sum(_decisive(w, _FRENCH_WORDS) for w in words)
    english = sum(_decisive(w, _ENGLISH_WORDS) for w in words)
    # Short messages ("salut", "merci bcp", "hi constable"): the decisive words
    # decide, since n-gram statistics on a few letters are close to a coin toss;
    # one or two words that decide nothing ("ok", "lol") stay English.
    if len(words) <= 3 and french != english:
        return "fr" if french > english else "en"
    if len(words) <= 2 or not (french or english):
        return "en" if len(words) <= 2 else None
    if not english or french >= 2 * english + 2:
        return "fr"
    if english >= 2 * french + 2 and english >= 2:
        return "en"
    return None


def detect(text: str) -> Lang:
    """'fr' when the message is French, else 'en' (also for empty or undecidable text)."""
    words = _words(text)
    if not words:
        return "en"
    decided = _by_words(words)
    if decided is not None:
        return decided
    return "fr" if _french_confidence(text) >= _FRENCH_CONFIDENCE else "en"
