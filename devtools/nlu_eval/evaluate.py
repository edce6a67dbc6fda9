"""`make nlu-eval`: validate the data, compare pipelines, evaluate the chosen model; write docs/nlu-report.md.

    .venv/bin/python -m devtools.nlu_eval.evaluate [--pipelines a,b] [--folds 5] [--seeds 3]

1. `rasa data validate` on the training data.
2. Every candidate in nlu/pipelines/ trained and scored on 5 stratified folds of
   the training data and on the held-out split (tests/nlu/heldout.yml, never
   trained on), over several seeds where training is random.
3. The chosen pipeline (config.yml): `rasa test nlu` on the held-out split and
   Rasa's own 5-fold cross-validation, per-intent precision/recall/F1 and the
   main confusions; urgent recall with the safety net; the false-urgent rate;
   the fallback classifier alone.
4. English and French scored apart on their held-out splits, against plain TF-IDF+LR
   over folds, and one bilingual Rasa server against one per language (memory,
   start-up): devtools/nlu_eval/french.py, its own section at the end.
5. DIET over the same folds (devtools/nlu_eval/diet_folds.py, `make nlu-eval-diet`, hours):
   not run here; its section is kept as the last `make nlu-eval-diet` wrote it.

A candidate's run whose output (under var/nlu-eval/) is newer than its
config, data and components is reused, so an interrupted evaluation resumes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from app.settings import PROJECT_ROOT, VAR_DIR
from devtools.nlu_eval import diet_folds, embeddings, french
from nlu import taxonomy
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.result import NLU_FALLBACK, Entity, IntentScore, ModelOutput
from nlu.train import MODEL_PATH, RASA_VENV, rasa_environment
from nlu.training_data import DATA_DIR, load, load_dir

HELDOUT = PROJECT_ROOT / "tests" / "nlu" / "heldout.yml"
PIPELINES = PROJECT_ROOT / "nlu" / "pipelines"
NLU_DIR = PROJECT_ROOT / "nlu"
COMPONENTS = NLU_DIR / "components"
REPORT = PROJECT_ROOT / "docs" / "nlu-report.md"
WORK = VAR_DIR / "nlu-eval"
RASA = str(RASA_VENV / "bin" / "rasa")
SEEDED = ("DIETClassifier",)  # pipelines with these components are run over several seeds


@dataclass(frozen=True)
class Prediction:
    text: str
    truth: str
    intent: str
    confidence: float
    ranking: tuple[IntentScore, ...]
    entities: tuple[Entity, ...]
    true_entities: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Metrics:
    accuracy: float
    macro_f1: float
    model_urgent_recall: float
    urgent_recall: float
    false_urgent: float
    entity_f1: float
    fallback_rate: float


# --- data -------------------------------------------------------------------------


def raw_intent_lines(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(intent, example line with its annotations) for every example."""
    rows = []
    for path in sorted(paths):
        for entry in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []:
            if "intent" in entry:
                for line in (entry.get("examples") or "").splitlines():
                    line = line.strip()
                    if line.startswith("- "):
                        rows.append((entry["intent"], line[2:]))
    return rows


def write_nlu_yaml(path: Path, rows: Sequence[tuple[str, str]], extra: Path | None = None) -> None:
    by_intent: dict[str, list[str]] = defaultdict(list)
    for intent, line in rows:
        by_intent[intent].append(line)
    out = ['version: "3.1"', "nlu:"]
    for intent in sorted(by_intent):
        out += [f"- intent: {intent}", "  examples: |"] + [f"    - {line}" for line in by_intent[intent]]
    if extra is not None:  # lookups and synonyms
        extra_doc = yaml.safe_load(extra.read_text(encoding="utf-8")) or {}
        for entry in extra_doc.get("nlu") or []:
            key = "lookup" if "lookup" in entry else "synonym" if "synonym" in entry else None
            if key:
                out += [f"- {key}: {entry[key]}", "  examples: |"]
                out += [f"    {line.strip()}" for line in entry["examples"].splitlines() if line.strip()]
    text = "\n".join(out) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:  # unchanged folds keep their mtime
        path.write_text(text, encoding="utf-8")


def make_folds(folds: int, seed: int = 7) -> list[tuple[Path, Path]]:
    """Stratified folds of the training data, written as Rasa YAML."""
    data_files = sorted(DATA_DIR.glob("*.yml"))
    lookups = [p for p in data_files if not raw_intent_lines([p])]
    rows = raw_intent_lines(data_files)
    rng = random.Random(seed)  # noqa: S311 - fold assignment, not security
    by_intent: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_intent[row[0]].append(row)
    assignment: list[list[tuple[str, str]]] = [[] for _ in range(folds)]
    for intent in sorted(by_intent):
        group = by_intent[intent][:]
        rng.shuffle(group)
        for i, row in enumerate(group):
            assignment[i % folds].append(row)
    out = []
    directory = WORK / "folds"
    directory.mkdir(parents=True, exist_ok=True)
    for k in range(folds):
        train = directory / f"fold{k}-train.yml"
        test = directory / f"fold{k}-test.yml"
        train_rows = [r for j in range(folds) if j != k for r in assignment[j]]
        write_nlu_yaml(train, train_rows, extra=lookups[0] if lookups else None)
        write_nlu_yaml(test, assignment[k])
        out.append((train, test))
    return out


# --- running Rasa --------------------------------------------------------------------


def run_pipeline(config: Path, folds: list[tuple[Path, Path]], seeds: int) -> dict[str, list[Path]]:
    """Deterministic pipelines: every fold and the held-out split. Randomly trained ones (DIET):
    the held-out split over several seeds instead of folds (one DIET training takes about half
    an hour on this 2-core machine)."""
    seeded = any(c.get("name") in SEEDED for c in yaml.safe_load(config.read_text())["pipeline"])
    seed_list = list(range(1, (seeds if seeded else 1) + 1))
    out_dir = WORK / config.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, str | int]] = []
    if not seeded:
        runs += [
            {"train": str(train), "test": str(test), "seed": 1, "output": str(out_dir / f"cv{k}.json")}
            for k, (train, test) in enumerate(folds)
        ]
    runs += [
        {
            "train": str(DATA_DIR),
            "test": str(HELDOUT),
            "seed": s,
            "output": str(out_dir / f"heldout-seed{s}.json"),
        }
        for s in seed_list
    ]
    outputs = [Path(str(r["output"])) for r in runs]
    # A run already done on the same inputs is reused: an interrupted evaluation resumes where it
    # stopped (a DIET training is the better part of an hour here).
    todo = [r for r in runs if not _up_to_date(Path(str(r["output"])), config, r)]
    REUSED[0] += len(runs) - len(todo)
    if len(todo) < len(runs):
        print(f"nlu-eval: {config.stem}: reusing {len(runs) - len(todo)} finished runs", flush=True)  # noqa: T201
    if todo:
        job = out_dir / "job.json"
        job.write_text(json.dumps({"config": str(config), "runs": todo}))
        python = str(RASA_VENV / "bin" / "python")
        command = [python, "-m", "devtools.nlu_eval.runner", str(job)]
        subprocess.run(command, cwd=PROJECT_ROOT, env=rasa_environment(), check=True)  # noqa: S603
    return {
        "cv": [p for p in outputs if p.name.startswith("cv")],
        "heldout": [p for p in outputs if p.name.startswith("heldout")],
    }


REUSED = [0]  # candidate runs reused in this evaluation


def _seeds(count: int) -> str:
    return "one seed" if count == 1 else f"{count} seeds"


def _up_to_date(output: Path, config: Path, run: dict[str, str | int]) -> bool:
    """The run's output exists and is newer than everything it was computed from."""
    if not output.exists():
        return False
    ours = "nlu.components." in config.read_text()
    inputs = [config, Path(str(run["train"])), Path(str(run["test"]))]
    if ours:  # our TF-IDF component and the modules it imports
        inputs += [*COMPONENTS.glob("*.py"), *(NLU_DIR / f"{m}.py" for m in ("features", "textprep"))]
    files = [f for path in inputs for f in ([path] if path.is_file() else sorted(path.glob("*.yml")))]
    return all(f.stat().st_mtime < output.stat().st_mtime for f in files)


def read_predictions(path: Path) -> tuple[list[Prediction], float]:
    raw = json.loads(path.read_text())
    predictions = []
    for truth, predicted in zip(raw["truth"], raw["predictions"], strict=True):
        ranking = tuple(IntentScore(n, float(c)) for n, c in predicted["ranking"] if n != NLU_FALLBACK)
        predictions.append(
            Prediction(
                text=truth["text"],
                truth=truth["intent"],
                intent=predicted["intent"] or NLU_FALLBACK,
                confidence=float(predicted["confidence"] or 0.0),
                ranking=ranking,
                entities=tuple(
                    Entity(e["entity"], str(e["value"]), e["start"], e["end"]) for e in predicted["entities"]
                ),
                true_entities=tuple((e["entity"], e["start"], e["end"]) for e in truth["entities"]),
            )
        )
    return predictions, float(raw["train_seconds"])


# --- scoring ---------------------------------------------------------------------------


def metrics(predictions: Sequence[Prediction], judge: Classifier) -> Metrics:
    urgent = taxonomy.urgent_intents()
    truth = [p.truth for p in predictions]
    intents = [p.intent for p in predictions]
    judged = [
        judge.judge(ModelOutput(p.intent, p.confidence, p.ranking, p.entities), p.text, "rasa")
        for p in predictions
    ]
    urgent_idx = [i for i, p in enumerate(predictions) if p.truth in urgent]
    other_idx = [i for i, p in enumerate(predictions) if p.truth not in urgent]
    model_urgent = [(j.urgent_reason or "").startswith("model") for j in judged]
    true_spans = {(i, *e) for i, p in enumerate(predictions) for e in p.true_entities}
    found_spans = {(i, e.entity, e.start, e.end) for i, p in enumerate(predictions) for e in p.entities}
    hit = len(true_spans & found_spans)
    precision = hit / len(found_spans) if found_spans else 0.0
    recall = hit / len(true_spans) if true_spans else 0.0
    return Metrics(
        accuracy=float(accuracy_score(truth, intents)),
        macro_f1=float(f1_score(truth, intents, average="macro", labels=sorted(set(truth)))),
        model_urgent_recall=sum(model_urgent[i] for i in urgent_idx) / len(urgent_idx),
        urgent_recall=sum(judged[i].urgent for i in urgent_idx) / len(urgent_idx),
        false_urgent=sum(judged[i].urgent for i in other_idx) / len(other_idx),
        entity_f1=2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        fallback_rate=sum(i == NLU_FALLBACK for i in intents) / len(intents),
    )


def mean_sd(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


# --- the chosen model: Rasa's own tools ---------------------------------------------------


def rasa(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [RASA, *args], cwd=PROJECT_ROOT, env=rasa_environment(), check=False, capture_output=True, text=True
    )


def validate_data() -> tuple[bool, str]:
    domain = taxonomy.write_rasa_domain(WORK / "domain.yml")  # intents from labels.yml, their one list
    result = rasa("data", "validate", "--data", str(DATA_DIR), "--domain", str(domain), "--fail-on-warnings")
    lines = [
        line for line in (result.stdout + result.stderr).splitlines() if "WARNING" in line or "ERROR" in line
    ]
    return result.returncode == 0, "\n".join(lines[-20:])


def rasa_test_heldout() -> dict[str, Any]:
    out = WORK / "rasa-test-heldout"
    result = rasa(
        "test", "nlu", "--nlu", str(HELDOUT), "--model", str(MODEL_PATH), "--out", str(out), "--no-plot"
    )
    if result.returncode != 0:
        raise SystemExit(f"rasa test nlu failed:\n{result.stderr[-2000:]}")
    report: dict[str, Any] = json.loads((out / "intent_report.json").read_text())
    return report


def rasa_cross_validation(folds: int) -> str:
    out = WORK / "rasa-cv"
    result = rasa(
        "test", "nlu", "--nlu", str(DATA_DIR), "--config", "config.yml", "--cross-validation",
        "--folds", str(folds), "--out", str(out), "--no-plot",
    )  # fmt: skip
    summary = re.compile(r"\b(train|test) (Accuracy|F1-score|Precision): .*")
    found = (summary.search(line) for line in (result.stdout + result.stderr).splitlines())
    keep = [match.group(0) for match in found if match]
    return "\n".join(keep) or f"(no summary; exit {result.returncode})"


# --- the report -------------------------------------------------------------------------


def confusion_lines(predictions: Sequence[Prediction], limit: int = 12) -> list[str]:
    pairs = Counter((p.truth, p.intent) for p in predictions if p.truth != p.intent)
    return [f"| {t} | {i} | {n} |" for (t, i), n in pairs.most_common(limit)]


def per_intent_table(predictions: Sequence[Prediction]) -> list[str]:
    labels = sorted({p.truth for p in predictions})
    precision, recall, f1, support = precision_recall_fscore_support(
        [p.truth for p in predictions], [p.intent for p in predictions], labels=labels, zero_division=0
    )
    urgent = taxonomy.urgent_intents()
    rows = ["| intent | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True):
        mark = " (U)" if label in urgent else ""
        rows.append(f"| {label}{mark} | {p:.2f} | {r:.2f} | {f:.2f} | {n} |")
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pipelines", help="comma-separated names from nlu/pipelines/ (default: all)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3, help="seeds for pipelines with random training")
    parser.add_argument("--skip-comparison", action="store_true", help="only the chosen model")
    parser.add_argument("--skip-french", action="store_true", help="leave out the French section (french.py)")
    args = parser.parse_args()
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    fallback = FallbackModel.load_or_train()
    judge = Classifier(rasa=None, fallback=fallback)

    valid, validation = validate_data()
    print(f"nlu-eval: data validation {'passed' if valid else 'FAILED'}", flush=True)  # noqa: T201

    names = args.pipelines.split(",") if args.pipelines else sorted(p.stem for p in PIPELINES.glob("*.yml"))
    comparison: list[str] = []
    chosen_heldout: list[Prediction] = []
    if not args.skip_comparison:
        folds = make_folds(args.folds)
        comparison = [
            "| pipeline | CV accuracy | CV macro-F1 | held-out accuracy | held-out macro-F1 "
            "| urgent recall (model) "
            "| urgent recall (+ net) | false urgent | entity F1 | train s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name in names:
            print(f"nlu-eval: pipeline {name}", flush=True)  # noqa: T201
            outputs = run_pipeline(PIPELINES / f"{name}.yml", folds, args.seeds)
            cv = [p for path in outputs["cv"] for p in read_predictions(path)[0]]
            cv_cells = (
                "| — | — "
                if not cv
                else f"| {metrics(cv, judge).accuracy:.3f} | {metrics(cv, judge).macro_f1:.3f} "
            )
            held = [read_predictions(path) for path in outputs["heldout"]]
            held_m = [metrics(preds, judge) for preds, _ in held]
            seconds = statistics.mean(s for _, s in held)
            comparison.append(
                f"| {name} {cv_cells}"
                f"| {mean_sd([m.accuracy for m in held_m])} | {mean_sd([m.macro_f1 for m in held_m])} "
                f"| {mean_sd([m.model_urgent_recall for m in held_m])} "
                f"| {mean_sd([m.urgent_recall for m in held_m])} "
                f"| {mean_sd([m.false_urgent for m in held_m])} | {mean_sd([m.entity_f1 for m in held_m])} "
                f"| {seconds:.0f} |"
            )

    print("nlu-eval: chosen model (config.yml) with rasa test nlu", flush=True)  # noqa: T201
    rasa_report = rasa_test_heldout()
    predictions_file = WORK / "rasa-test-heldout" / "chosen.json"
    chosen_heldout = predict_with_model(predictions_file)
    chosen = metrics(chosen_heldout, judge)
    print(f"nlu-eval: Rasa's own {args.folds}-fold cross-validation", flush=True)  # noqa: T201
    rasa_cv = rasa_cross_validation(args.folds)

    heldout_examples = load([HELDOUT]).examples
    fb_predictions = [
        Prediction(
            e.text,
            e.intent,
            o.intent,
            o.confidence,
            o.ranking,
            o.entities,
            tuple((x.entity, x.start, x.end) for x in e.entities),
        )
        for e in heldout_examples
        for o in [fallback.predict(e.text)]
    ]
    fb = metrics(fb_predictions, judge)

    # The embeddings comparison (devtools/nlu_eval/embeddings.py) needs packages of its own: kept as it is.
    old = REPORT.read_text(encoding="utf-8") if REPORT.exists() else ""
    kept = _marked(old, embeddings.START, embeddings.END)
    # A section this run skips is kept from the last run that made it, and says so.
    kept_french = _marked(old, french.START, french.END) if args.skip_french else None
    # DIET over folds takes hours (diet_folds.py, `make nlu-eval-diet`): its section is kept as it is.
    kept_diet = _marked(old, diet_folds.START, diet_folds.END)
    kept_comparison = _kept_comparison(old) if args.skip_comparison else []
    write_report(
        valid=valid,
        validation=validation,
        comparison=kept_comparison or comparison,
        comparison_kept=bool(kept_comparison),
        chosen=chosen,
        chosen_predictions=chosen_heldout,
        rasa_accuracy=float(rasa_report["accuracy"]),
        rasa_macro_f1=float(rasa_report["macro avg"]["f1-score"]),
        rasa_cv=rasa_cv,
        fallback=fb,
        minutes=(time.monotonic() - started) / 60,
        folds=args.folds,
        seeds=args.seeds,
    )
    if not args.skip_french:
        # English and French apart, one model or two: its own section, after the rest.
        print("nlu-eval: French and English apart, one Rasa server or two", flush=True)  # noqa: T201
        french.write_section(french.evaluate(folds=args.folds, layout=True))
    elif kept_french is not None:
        french.write_section(kept_french + "\n")
    if kept is not None:
        embeddings.write_section(kept + "\n")
    if kept_diet is not None:  # after the embeddings, as it goes right after the French section
        diet_folds.write_section(kept_diet + "\n")
    print(f"nlu-eval: wrote {REPORT.relative_to(PROJECT_ROOT)}", flush=True)  # noqa: T201
    return 0 if valid else 1


def _marked(report: str, start: str, end: str) -> str | None:
    """The section between `start` and `end` (markers included), if the report has one."""
    if start not in report or end not in report:
        return None
    return start + report.split(start, 1)[1].split(end, 1)[0] + end


COMPARISON = "## Pipeline comparison"
KEPT = "Not rerun by this evaluation (`--skip-comparison`):"


def _kept_comparison(report: str) -> list[str]:
    """The last full run's comparison table, with the training data it was measured on."""
    if COMPARISON not in report:
        return []
    section = report.split(COMPARISON, 1)[1].split("\n## ", 1)[0].strip("\n").splitlines()
    if section and section[0].startswith(KEPT):  # kept before: its note stands
        return section
    data = re.search(r"^Training data: ([^;]*);", report, flags=re.MULTILINE)
    measured_on = data.group(1) if data else "the training data of that run"
    return [f"{KEPT} kept from the last full run, trained on {measured_on}.", "", *section]


def predict_with_model(out: Path) -> list[Prediction]:
    """The chosen, trained model's predictions on the held-out split (one in-process Rasa run)."""
    job = WORK / "chosen-job.json"
    code = (
        "import asyncio, json, sys\n"
        "from devtools.nlu_eval.runner import _predict, quiet_rasa\n"
        "quiet_rasa()\n"
        "from rasa.shared.nlu.training_data.loading import load_data\n"
        "test = load_data(sys.argv[2])\n"
        "texts = [m.get('text') for m in test.intent_examples]\n"
        "truth = [{'text': m.get('text'), 'intent': m.get('intent'), 'entities': [{'entity': e['entity'],"
        " 'value': e.get('value'), 'start': e['start'], 'end': e['end']} for e in m.get('entities') or []]}"
        " for m in test.intent_examples]\n"
        "preds = asyncio.run(_predict(sys.argv[1], texts))\n"
        "result = {'train_seconds': 0, 'truth': truth, 'predictions': preds}\n"
        "open(sys.argv[3], 'w').write(json.dumps(result))\n"
    )
    job.write_text(code)
    python = str(RASA_VENV / "bin" / "python")
    subprocess.run(  # noqa: S603
        [python, str(job), str(MODEL_PATH), str(HELDOUT), str(out)],
        cwd=PROJECT_ROOT,
        env=rasa_environment(),
        check=True,
    )
    return read_predictions(out)[0]


def write_report(**r: Any) -> None:
    chosen: Metrics = r["chosen"]
    fb: Metrics = r["fallback"]
    data = load_dir()
    counts = Counter(e.intent for e in data.examples)
    held = Counter(e.intent for e in load([HELDOUT]).examples)
    lines = [
        "# NLU report",
        "",
        "Generated by `make nlu-eval` (`devtools/nlu_eval/evaluate.py`); do not edit by hand.",
        "",
        f"Training data: {sum(counts.values())} examples over {len(counts)} intents, English and French "
        "(nlu/data/); "
        f"held-out split: {sum(held.values())} English examples (tests/nlu/heldout.yml, written separately, "
        "never trained on; the French held-out split has its own section below).",
        f"Data validation (`rasa data validate`): {'passed' if r['valid'] else 'FAILED'}.",
        "",
        "Accuracy is strict throughout: `nlu_fallback` (below the confidence threshold) counts as wrong. "
        "Urgent recall counts a message of an urgent intent as caught when the classifier marks it urgent "
        "(urgent intent, an urgent best guess under the threshold, or the safety net). "
        "The false-urgent rate is over messages of non-urgent intents.",
        "",
        "## The chosen pipeline (config.yml) on the held-out split",
        "",
        "| measure | value | bar |",
        "|---|---|---|",
        f"| accuracy | {chosen.accuracy:.3f} | ≥ 0.90 |",
        f"| macro-F1 | {chosen.macro_f1:.3f} | ≥ 0.88 |",
        f"| urgent recall, model alone | {chosen.model_urgent_recall:.3f} | |",
        f"| urgent recall, model + safety net | {chosen.urgent_recall:.3f} | ≥ 0.98 |",
        f"| false-urgent rate, non-urgent messages | {chosen.false_urgent:.3f} | ≤ 0.10 |",
        f"| `nlu_fallback` rate | {chosen.fallback_rate:.3f} | |",
        f"| entity F1 (exact span and label) | {chosen.entity_f1:.3f} | |",
        f"| `rasa test nlu` accuracy / macro-F1 | {r['rasa_accuracy']:.3f} / {r['rasa_macro_f1']:.3f} | |",
        "",
        "### The fallback classifier alone (what answers while Rasa is down)",
        "",
        "| measure | value | bar |",
        "|---|---|---|",
        f"| accuracy | {fb.accuracy:.3f} | ≥ 0.80 |",
        f"| urgent recall (+ safety net) | {fb.urgent_recall:.3f} | ≥ 0.95 |",
        f"| false-urgent rate | {fb.false_urgent:.3f} | |",
        "",
        "### Per intent (held-out; (U) = urgent)",
        "",
        *per_intent_table(r["chosen_predictions"]),
        "",
        "### Main confusions (held-out)",
        "",
        "| true intent | predicted | n |",
        "|---|---|---|",
        *confusion_lines(r["chosen_predictions"]),
        "",
        f"### Rasa's own {r['folds']}-fold cross-validation of config.yml "
        "(`rasa test nlu --cross-validation`)",
        "",
        "```",
        r["rasa_cv"],
        "```",
        "",
    ]
    if r["comparison_kept"]:
        lines += [COMPARISON, "", *r["comparison"], ""]
    elif r["comparison"]:
        lines += [
            COMPARISON,
            "",
            f"Each candidate in nlu/pipelines/ trained on {r['folds']} stratified folds of the training data "
            "(CV columns) and on all of it, scored on the held-out split. Pipelines with random training "
            f"(DIET) are trained on all the data with {_seeds(r['seeds'])} instead of folds (mean ± sd "
            "when more than one; a DIET training takes about an hour on this machine, see `train s`, "
            "so no CV: —). "
            "Urgent columns include the safety net where marked.",
            "",
            *r["comparison"],
            "",
        ]
    if r["validation"]:
        lines += ["## Validation messages", "", "```", r["validation"], "```", ""]
    reused = f"; {REUSED[0]} candidate runs reused from an interrupted evaluation" if REUSED[0] else ""
    lines += [f"Run time: {r['minutes']:.0f} minutes on this machine (2 cores){reused}.", ""]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
