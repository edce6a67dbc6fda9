"""The scikit-learn text classifier shared by Rasa's pipeline and the fallback.

Only scikit-learn and the standard library: it is built inside Rasa's venv
(scikit-learn 1.1) by `nlu.components.tfidf_classifier` and in the
application's venv (scikit-learn 1.5+) by `nlu.fallback`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from nlu.textprep import normalize

DEFAULTS: dict[str, Any] = {
    "classifier": "logreg",  # or "svm": a linear SVM with calibrated probabilities
    "word_ngrams": (1, 2),
    "char_ngrams": (2, 5),
    "C": 10.0,
    "max_iter": 3000,
    "random_state": 42,
}


def build_intent_model(options: Mapping[str, Any] | None = None) -> Pipeline:
    """Word and character TF-IDF features into a multinomial logistic regression.

    Character n-grams inside word boundaries are what make this robust to the
    typos and stretched spellings students use; word bigrams keep phrases
    ("kill myself", "shoot up") together.
    """
    opts = {**DEFAULTS, **(options or {})}
    words = TfidfVectorizer(
        preprocessor=normalize,
        token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regex, not a password
        ngram_range=tuple(opts["word_ngrams"]),
        sublinear_tf=True,
        min_df=1,
    )
    chars = TfidfVectorizer(
        preprocessor=normalize,
        analyzer="char_wb",
        ngram_range=tuple(opts["char_ngrams"]),
        sublinear_tf=True,
        min_df=1,
    )
    classifier: Any
    if opts["classifier"] == "svm":
        classifier = CalibratedClassifierCV(
            LinearSVC(C=float(opts["C"]), class_weight="balanced", random_state=int(opts["random_state"])),
            cv=3,
        )
    elif opts["classifier"] == "logreg":
        classifier = LogisticRegression(
            C=float(opts["C"]),
            max_iter=int(opts["max_iter"]),
            class_weight="balanced",
            random_state=int(opts["random_state"]),
        )
    else:
        raise ValueError(f"unknown classifier {opts['classifier']!r}")
    return Pipeline(
        [("features", FeatureUnion([("words", words), ("chars", chars)])), ("classifier", classifier)]
    )
