"""Text normalisation shared by the Rasa component, the fallback and the safety net.

Standard library only: this module is imported both by the application
(Python >= 3.11) and inside Rasa's venv (Python 3.10).
"""

from __future__ import annotations

import re
import unicodedata

# Students type on phones: curly quotes, stretched letters, shorthand. Mapping the
# commonest shorthand to one spelling lets a handful of training sentences cover
# the many ways the same words get typed.
_SHORTHAND = {
    "u": "you",
    "ya": "you",
    "yu": "you",
    "ur": "your",
    "r": "are",
    "rn": "right now",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "cus": "because",
    "bcuz": "because",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tmrrw": "tomorrow",
    "2moro": "tomorrow",
    "2day": "today",
    "tn": "tonight",
    "ppl": "people",
    "pls": "please",
    "plz": "please",
    "ty": "thank you",
    "thx": "thanks",
    "im": "i am",
    "ive": "i have",
    "idk": "i do not know",
    "dont": "do not",
    "doesnt": "does not",
    "didnt": "did not",
    "cant": "can not",
    "cannot": "can not",
    "wont": "will not",
    "isnt": "is not",
    "wasnt": "was not",
    "aint": "is not",
    "wouldnt": "would not",
    "couldnt": "could not",
    "shouldnt": "should not",
    "havent": "have not",
    "hasnt": "has not",
    "arent": "are not",
    "werent": "were not",
    "gonna": "going to",
    "gunna": "going to",
    "wanna": "want to",
    "smth": "something",
    "sth": "something",
    "sm": "so much",
    "abt": "about",
    "w": "with",
    "wit": "with",
    "b4": "before",
    "bf": "boyfriend",
    "gf": "girlfriend",
    "msg": "message",
    "txt": "text",
    "pic": "picture",
    "pics": "pictures",
    # French texting shorthand (Ontario and Quebec teens), so "jsp" and "je sais pas" look alike.
    "jsp": "je sais pas",
    "jvais": "je vais",
    "jveux": "je veux",
    "jsuis": "je suis",
    "chu": "je suis",
    "chui": "je suis",
    "qqn": "quelqu un",
    "qqun": "quelqu un",
    "qqch": "quelque chose",
    "bcp": "beaucoup",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "slt": "salut",
    "mrc": "merci",
}

_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'"})
_STRETCH = re.compile(r"(\w)\1{2,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TOKEN = re.compile(r"[\w']+|[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """Unicode-normalise, drop control characters, lowercase, collapse spaces."""
    text = unicodedata.normalize("NFKC", text).translate(_APOSTROPHES)
    text = _CONTROL.sub(" ", text).lower()
    return _SPACES.sub(" ", text).strip()


def normalize(text: str) -> str:
    """The form classifiers see: cleaned, stretched letters shortened, shorthand expanded.

    Module-level (not a lambda) so that fitted scikit-learn models that use it as
    their preprocessor can be saved and loaded.
    """
    # Accents folded: French students skip them ("ecole", "école"), English has next to none.
    text = _STRETCH.sub(r"\1\1", fold_accents(clean(text)))
    words = []
    for token in _TOKEN.findall(text):
        token = token.replace("'", "")
        if token:
            words.append(_SHORTHAND.get(token, token))
    return " ".join(words)


def fold_accents(text: str) -> str:
    """ "déjà vu" -> "deja vu": French students often skip accents, so rules and features ignore them."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def plain(text: str) -> str:
    """Cleaned, accents folded, stretched letters shortened, apostrophes and hyphens as spaces; no shorthand.

    The form French rules read: "J'vais l'tuer" -> "j vais l tuer". English
    shorthand ("ya" -> "you") would garble French ("ya un gun"), so none is expanded.
    """
    text = _STRETCH.sub(r"\1\1", fold_accents(clean(text)))
    return _SPACES.sub(" ", re.sub(r"['\-]", " ", text)).strip()
