"""English and French, scored apart: one bilingual model or one per language, against TF-IDF+LR.

    .venv/bin/python -m devtools.nlu_eval.french [--folds 5] [--rasa URL] [--rasa-en URL --rasa-fr URL]
        [--layout-facts var/fr-eval/layout.json] [--write]

1. Held-out splits (tests/nlu/heldout.yml, tests/nlu/heldout_fr.yml), each scored on
   its own: accuracy (strict: `nlu_fallback` is wrong), macro-F1, urgent recall of the
   model alone and with the safety net, false-urgent rate.
   - plain TF-IDF+LR: word 1-2 + char_wb 2-5 TF-IDF into logistic regression, no
     normalisation, trained on the same nlu/data/;
   - the chosen classifier (nlu.features with config.yml's C), bilingual;
   - the chosen classifier, one model per language, each message routed by
     nlu.language.detect (what two Rasa servers behind the bot would do);
   - with --rasa / --rasa-en and --rasa-fr: the real Rasa servers, same scoring.
2. Stratified k-fold cross-validation over the training data, English and French
   folds scored apart, for the same three candidates.
With --write, the "French" section of docs/nlu-report.md (between its markers) is
replaced; the rest of the report is left as `make nlu-eval` wrote it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline

from app.settings import PROJECT_ROOT
from nlu import features, taxonomy
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.language import detect
from nlu.lexicon_entities import LookupEntityExtractor
from nlu.pipeline_config import FallbackThresholds, read_thresholds
from nlu.rasa_client import RasaClient
from nlu.result import Classification, ModelOutput
from nlu.training_data import DATA_DIR, Example, NLUData, load

HELDOUT = {
    "en": PROJECT_ROOT / "tests" / "nlu" / "heldout.yml",
    "fr": PROJECT_ROOT / "tests" / "nlu" / "heldout_fr.yml",
}
REPORT = PROJECT_ROOT / "docs" / "nlu-report.md"
START, END = "<!-- french:start -->", "<!-- french:end -->"


@dataclass(frozen=True)
class Scores:
    accuracy: float
    macro_f1: float
    model_urgent_recall: float
    urgent_recall: float
    false_urgent: float
    n: int


def training(language: str | None) -> NLUData:
    """nlu/data/ whole (None), or only one language's files (French ones are fr_*.yml)."""
    paths = sorted(DATA_DIR.glob("*.yml"))
    if language == "fr":
        paths = [p for p in paths if p.name.startswith("fr_")]
    elif language == "en":
        paths = [p for p in paths if not p.name.startswith("fr_")]
    return load(paths)


def config_options() -> dict[str, Any]:
    config = yaml.safe_load((PROJECT_ROOT / "config.yml").read_text(encoding="utf-8"))
    for component in config["pipeline"]:
        if component["name"].endswith("TfidfIntentClassifier"):
            return {k: v for k, v in component.items() if k != "name"}
    return {}


def plain_tfidf_lr() -> Pipeline:
    """The baseline of issue 14: word + char TF-IDF into logistic regression, nothing of ours."""
    return Pipeline(
        [
            (
                "features",
                FeatureUnion(
                    [
                        ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
                    ]
                ),
            ),
            ("classifier", LogisticRegression(max_iter=3000)),
        ]
    )


def chosen() -> Pipeline:
    return features.build_intent_model(config_options())


Model = Callable[[str], ModelOutput]


def fitted(make: Callable[[], Pipeline], data: Sequence[Example]) -> Model:
    """A trained candidate as the classifier's judge sees it.

    Ours applies config.yml's fallback thresholds (below them: `nlu_fallback`, counted
    wrong); the plain baseline has no fallback of its own, so its top intent always stands.
    """
    pipeline = make().fit([e.text for e in data], [e.intent for e in data])
    thresholds = FallbackThresholds(0.0, 0.0) if make is plain_tfidf_lr else read_thresholds()
    model = FallbackModel(pipeline, LookupEntityExtractor(NLUData()), thresholds)
    return model.predict


def routed(models: dict[str, Model]) -> Model:
    return lambda text: models[detect(text)](text)


def score(examples: Sequence[Example], results: Sequence[Classification]) -> Scores:
    urgent = taxonomy.urgent_intents()
    truth = [e.intent for e in examples]
    said = [r.intent for r in results]
    urgent_idx = [i for i, e in enumerate(examples) if e.intent in urgent]
    other_idx = [i for i, e in enumerate(examples) if e.intent not in urgent]
    by_model = [(r.urgent_reason or "").startswith("model") for r in results]
    return Scores(
        accuracy=float(accuracy_score(truth, said)),
        macro_f1=float(f1_score(truth, said, average="macro", labels=sorted(set(truth)))),
        model_urgent_recall=sum(by_model[i] for i in urgent_idx) / len(urgent_idx),
        urgent_recall=sum(results[i].urgent for i in urgent_idx) / len(urgent_idx),
        false_urgent=sum(results[i].urgent for i in other_idx) / len(other_idx),
        n=len(examples),
    )


def judged(model: Model, examples: Sequence[Example], judge: Classifier) -> list[Classification]:
    return [judge.judge(model(e.text), e.text, "fallback") for e in examples]


async def through_rasa(
    url: str, token: str, examples: Sequence[Example], judge: Classifier, fallback: Model
) -> list[Classification]:
    client = RasaClient(url, token, known_intents=taxonomy.intent_names(), timeout=30)
    semaphore = asyncio.Semaphore(8)

    async def one(text: str) -> Classification:
        if text.startswith("/"):
            # Rasa reads "/status CODE" as an intent shortcut and answers an unknown intent, which
            # the client refuses; the bot handles commands itself, and the fallback answers here.
            return judge.judge(fallback(text), text, "fallback")
        async with semaphore:
            output = await client.parse(text)
        return judge.judge(output, text, "rasa")

    try:
        return await asyncio.gather(*(one(e.text) for e in examples))
    finally:
        await client.aclose()


def cross_validation(folds: int, seed: int = 7) -> dict[str, dict[str, list[float]]]:
    """Accuracy per fold, English and French test folds apart, per candidate."""
    data = training(None).examples
    french = set(training("fr").examples)
    language = ["fr" if e in french else "en" for e in data]
    strata = [f"{lang}:{e.intent}" for lang, e in zip(language, data, strict=True)]
    out: dict[str, dict[str, list[float]]] = {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(data, strata):
        train = [data[i] for i in train_idx]
        candidates: dict[str, Model] = {
            "plain TF-IDF+LR, bilingual": fitted(plain_tfidf_lr, train),
            "chosen, bilingual": fitted(chosen, train),
            "chosen, one per language": routed(
                {
                    lang: fitted(
                        chosen, [e for i, e in zip(train_idx, train, strict=True) if language[i] == lang]
                    )
                    for lang in ("en", "fr")
                }
            ),
        }
        for name, model in candidates.items():
            for lang in ("en", "fr"):
                test = [data[i] for i in test_idx if language[i] == lang]
                said = [model(e.text).intent for e in test]
                accuracy = float(accuracy_score([e.intent for e in test], said))
                out.setdefault(name, {}).setdefault(lang, []).append(accuracy)
    return out


def _row(name: str, s: Scores) -> str:
    return (
        f"| {name} | {s.accuracy:.3f} | {s.macro_f1:.3f} | {s.model_urgent_recall:.3f} | "
        f"{s.urgent_recall:.3f} | {s.false_urgent:.3f} |"
    )


def _mean_sd(values: Sequence[float]) -> str:
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def section(
    heldout: dict[str, dict[str, Scores]], folds: dict[str, dict[str, list[float]]], facts: dict[str, Any]
) -> str:
    counts = {lang: len(load([path]).examples) for lang, path in HELDOUT.items()}
    lines = [
        START,
        "## French, and one model or two",
        "",
        "Generated by `.venv/bin/python -m devtools.nlu_eval.french --write` (this section only).",
        "",
        f"Training data: {len(training('en').examples)} English and {len(training('fr').examples)} French "
        f"examples (nlu/data/fr_*.yml). Held-out: {counts['en']} English (tests/nlu/heldout.yml) and "
        f"{counts['fr']} French (tests/nlu/heldout_fr.yml, written in a separate pass, never trained on).",
        "Strict accuracy (`nlu_fallback` is wrong; the plain baseline has no threshold, its top intent",
        "stands); urgent recall counts a message of an urgent intent",
        "caught when the classifier marks it urgent; the safety net runs the English and French lexicons",
        "on every message. 'one per language' routes each message by `nlu.language.detect`.",
    ]
    for lang, title in (("fr", "French held-out"), ("en", "English held-out")):
        lines += [
            "",
            f"### {title}",
            "",
            "| candidate | accuracy | macro-F1 | urgent recall, model | urgent recall, + net "
            "| false-urgent |",
            "|---|---|---|---|---|---|",
        ]
        lines += [_row(name, by_lang[lang]) for name, by_lang in heldout.items() if lang in by_lang]
    lines += [
        "",
        f"### Cross-validation ({len(next(iter(folds.values()))['fr'])} stratified folds of the training "
        "data)",
        "",
        "| candidate | English accuracy | French accuracy |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {_mean_sd(v['en'])} | {_mean_sd(v['fr'])} |" for name, v in folds.items()]
    if facts:
        lines += ["", "### Layout: memory, start-up and training (measured on this machine)", ""]
        lines += [str(line) for line in facts.get("lines", [])]
    if facts.get("choice"):
        lines += ["", "### The choice", "", *[str(line) for line in facts["choice"]]]
    lines.append(END)
    return "\n".join(lines) + "\n"


def write_section(text: str, report: Path = REPORT) -> None:
    current = report.read_text(encoding="utf-8") if report.exists() else "# NLU report\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        current = before + text + after
    else:
        current = current.rstrip("\n") + "\n\n" + text
    report.write_text(current, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rasa", help="a Rasa server with the bilingual model")
    parser.add_argument("--rasa-en", help="a Rasa server with the English-only model")
    parser.add_argument("--rasa-fr", help="a Rasa server with the French-only model")
    parser.add_argument("--token", default="", help="the servers' token (default: NLU_TOKEN)")
    parser.add_argument(
        "--layout-facts", type=Path, help="JSON: {'lines': [...], 'choice': [...]} for the report"
    )
    parser.add_argument(
        "--write", action="store_true", help="replace the French section of docs/nlu-report.md"
    )
    args = parser.parse_args()
    token = args.token or os.environ.get("NLU_TOKEN", "")
    fallback_model = FallbackModel.load_or_train()
    judge = Classifier(rasa=None, fallback=fallback_model)
    fallback: Model = fallback_model.predict
    held = {lang: load([path]).examples for lang, path in HELDOUT.items()}
    candidates: dict[str, Model] = {
        "plain TF-IDF+LR, bilingual": fitted(plain_tfidf_lr, training(None).examples),
        "chosen classifier, bilingual": fitted(chosen, training(None).examples),
        "chosen classifier, one per language": routed(
            {lang: fitted(chosen, training(lang).examples) for lang in ("en", "fr")}
        ),
        "chosen classifier, French only, on every message": fitted(chosen, training("fr").examples),
    }
    heldout: dict[str, dict[str, Scores]] = {
        name: {lang: score(examples, judged(model, examples, judge)) for lang, examples in held.items()}
        for name, model in candidates.items()
    }
    del heldout["chosen classifier, French only, on every message"]["en"]
    if args.rasa:
        heldout["Rasa server, bilingual model"] = {
            lang: score(examples, asyncio.run(through_rasa(args.rasa, token, examples, judge, fallback)))
            for lang, examples in held.items()
        }
    if args.rasa_en and args.rasa_fr:
        servers = {"en": args.rasa_en, "fr": args.rasa_fr}
        row: dict[str, Scores] = {}
        for lang, examples in held.items():
            results: list[Classification] = [None] * len(examples)  # type: ignore[list-item]
            for server_lang, url in servers.items():
                idx = [i for i, e in enumerate(examples) if detect(e.text) == server_lang]
                answered = asyncio.run(through_rasa(url, token, [examples[i] for i in idx], judge, fallback))
                for i, r in zip(idx, answered, strict=True):
                    results[i] = r
            row[lang] = score(examples, results)
        heldout["Rasa servers, one model per language"] = row
    folds = cross_validation(args.folds)
    facts = json.loads(args.layout_facts.read_text()) if args.layout_facts else {}
    text = section(heldout, folds, facts)
    sys.stdout.write(text)
    if args.write:
        write_section(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
