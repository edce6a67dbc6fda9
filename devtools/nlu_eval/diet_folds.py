"""DIET (Rasa's default pipeline) over the French section's folds, one fold at a time, resumable.

    .venv/bin/python -m devtools.nlu_eval.diet_folds [--run] [--write] [--status]

--run trains every fold not finished yet with `rasa train nlu` (nlu/.venv, telemetry off,
nothing downloaded) on the fold's training part, under var/diet-folds/, one fold per usable core at
once with TensorFlow on one thread each (`--jobs`; measured at `MAX_JOBS`),
and scores its test part through Rasa (diet_predict.py, runner.py's parsing). One DIET training
takes over an hour here, so each finished fold is saved at once as
devtools/nlu_eval/results/diet-foldN.json: the test examples' indices into nlu/data/ and Rasa's
answers, stamped with a hash of the training data, the pipeline file and the fold scheme. A rerun
skips the folds whose stamp matches; a fold stopped mid-way left no file and is simply redone;
changed data changes the stamp, and every fold is done again. The folds are french.py's
(french.fold_splits): stratified by language and intent, seed 7.

--write renders the report's DIET section from the folds finished so far (nothing trained in Rasa:
the plain TF-IDF+LR and the chosen classifier are retrained on the same folds in this process, a few
minutes) and puts it in docs/nlu-report.md between its markers. `make nlu-eval` keeps it.
--status lists the folds: finished, stale (another stamp) or to do.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

from app.settings import PROJECT_ROOT, VAR_DIR
from casework.stats.pool import usable_cores
from devtools.nlu_eval import french
from nlu import taxonomy
from nlu.classifier import Classifier
from nlu.fallback import FallbackModel
from nlu.result import NLU_FALLBACK, Classification, IntentScore, ModelOutput
from nlu.training_data import Example

PIPELINE = PROJECT_ROOT / "nlu" / "pipelines" / "rasa_default.yml"
RESULTS = Path(__file__).with_name("results")
WORK = VAR_DIR / "diet-folds"
FOLDS = 5
SEED = 7  # french.cross_validation's
RANDOM_SEED = 1  # DIET's own, as the pipeline comparison's first seed
# Folds trained at once. Measured on 2 cores, 3 epochs of fold 2's training part (4,406 examples),
# the machine otherwise quiet: one fold on 2 threads, 73 s an epoch; one on 1 thread, 81 s; two side
# by side on a thread each, 92 s an epoch each, so 46 s a fold's epoch (x1.6 the folds an hour).
MAX_JOBS = 2  # each training holds its model and features in memory: two is plenty on 2 cores
DIET = "DIET (rasa_default.yml), bilingual"
START, END = "<!-- diet-folds:start -->", "<!-- diet-folds:end -->"

# One answer as stored: [example index, intent, confidence, best real intent, its confidence].
Stored = list[Any]
# A fold's training step: (fold number, training rows (intent, annotated line), test texts)
# -> (stored answers in the test texts' order, training seconds).
Trainer = Callable[[int, list[tuple[str, str]], list[str]], tuple[list[Stored], float]]


# --- the stamp and the fold files ---------------------------------------------------------


def stamp(folds: int = FOLDS, seed: int = SEED) -> str:
    """A hash of what a fold's result depends on: nlu/data/, the pipeline file, the fold scheme."""
    digest = hashlib.sha256(f"folds={folds} seed={seed} random_seed={RANDOM_SEED}\n".encode())
    for path in [*french.training_files(None), PIPELINE]:
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def fold_file(fold: int, results: Path = RESULTS) -> Path:
    return results / f"diet-fold{fold}.json"


def finished(fold: int, current: str, results: Path = RESULTS) -> dict[str, Any] | None:
    """The fold's saved result if it was computed on today's inputs; None if it must be (re)done."""
    try:
        saved: dict[str, Any] = json.loads(fold_file(fold, results).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # absent, or cut short
    return saved if saved.get("stamp") == current and saved.get("fold") == fold else None


def _save(fold: int, record: dict[str, Any], results: Path) -> None:
    """Written whole or not at all: a kill leaves the old file or none, never half of one."""
    results.mkdir(parents=True, exist_ok=True)
    answers = record.pop("answers")
    head = json.dumps(record, indent=1)[:-2]  # without the closing brace, to add the answers
    body = ",\n".join("  " + json.dumps(a) for a in answers)
    partial = fold_file(fold, results).with_suffix(".json.partial")
    partial.write_text(f'{head},\n "answers": [\n{body}\n ]\n}}\n', encoding="utf-8")
    partial.replace(fold_file(fold, results))


# --- running the folds ---------------------------------------------------------------------


def run(
    train: Trainer,
    folds: int = FOLDS,
    seed: int = SEED,
    results: Path = RESULTS,
    current: str | None = None,
    jobs: int = 1,
    threads: int = 1,
) -> list[int]:
    """Train and score every fold not finished on today's inputs; the fold numbers it trained.

    `jobs` folds at once (each saved as soon as it is done); `threads`: TensorFlow's per fold, as
    `train` was given them, for the record. A fold that fails starts no other; those under way
    finish and are saved, then its error is raised.
    """
    from devtools.nlu_eval.evaluate import raw_intent_lines

    current = current or stamp(folds, seed)
    data, language = french.fold_data()
    rows = raw_intent_lines(french.training_files(None))  # the same order, annotations kept
    trained: list[int] = []
    lock, stop = threading.Lock(), threading.Event()

    def one(fold: int, train_idx: Sequence[int], test_idx: Sequence[int]) -> None:
        if stop.is_set():
            return  # another fold failed: none starts after it
        print(  # noqa: T201
            f"diet-folds: fold {fold}/{folds}: training on {len(train_idx)} examples "
            f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)",
            flush=True,
        )
        try:
            answers, seconds = train(fold, [rows[i] for i in train_idx], [data[i].text for i in test_idx])
        except BaseException:
            stop.set()
            raise
        record = {
            "stamp": current,
            "fold": fold,
            "folds": folds,
            "seed": seed,
            "pipeline": str(PIPELINE.relative_to(PROJECT_ROOT)),
            "random_seed": RANDOM_SEED,
            "train_examples": len(train_idx),
            "test_examples": {lang: sum(language[i] == lang for i in test_idx) for lang in ("en", "fr")},
            "train_seconds": round(seconds, 1),
            "tf_threads": threads,
            "folds_at_once": jobs,
            "load_average": round(os.getloadavg()[0], 2),
            "finished": f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}",
            "answers": [[i, *a[1:]] for i, a in zip(test_idx, answers, strict=True)],
        }
        _save(fold, record, results)
        print(f"diet-folds: fold {fold}/{folds} done in {seconds:.0f} s", flush=True)  # noqa: T201
        with lock:
            trained.append(fold)

    to_do = []
    for fold, (train_idx, test_idx) in enumerate(french.fold_splits(folds, seed), 1):
        if finished(fold, current, results) is not None:
            print(f"diet-folds: fold {fold}/{folds} finished before, skipped", flush=True)  # noqa: T201
        else:
            to_do.append((fold, train_idx, test_idx))
    with ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="diet-fold") as executor:
        futures = [executor.submit(one, *job) for job in to_do]
    for future in futures:  # all done: the first fold's error, in fold order, is raised
        future.result()
    return sorted(trained)


def rasa_fold(
    fold: int, rows: list[tuple[str, str]], texts: list[str], threads: int = 1
) -> tuple[list[Stored], float]:
    """The real training step: `rasa train nlu` on the fold's training part, then its test texts
    through the trained model, in nlu/.venv. Scratch under var/diet-folds/foldN/, redone from
    nothing each time (what a killed run left there is thrown away)."""
    from devtools.nlu_eval.evaluate import raw_intent_lines, write_nlu_yaml
    from devtools.nlu_eval.runner import _config_with_seed
    from nlu.train import RASA_BIN, RASA_VENV, rasa_environment

    work = WORK / f"fold{fold}"
    shutil.rmtree(work, ignore_errors=True)
    (work / "data").mkdir(parents=True)
    write_nlu_yaml(work / "data" / "train.yml", rows)
    for path in french.training_files(None):  # the lookup and synonym files, as they are
        if not raw_intent_lines([path]):
            shutil.copy(path, work / "data" / path.name)
    config = _config_with_seed(str(PIPELINE), RANDOM_SEED, work)
    env = rasa_environment()
    env.update(
        TF_INTRA_OP_PARALLELISM_THREADS=str(threads),
        TF_INTER_OP_PARALLELISM_THREADS=str(threads),
        OMP_NUM_THREADS=str(threads),
        LOG_LEVEL="INFO",  # Rasa shows the epochs' progress bar at INFO, not at WARNING
        RASA_CACHE_DIRECTORY=str(work / "cache"),  # not the shared one: another training may use it
        RASA_MAX_CACHE_SIZE="0",
    )
    started = time.monotonic()
    subprocess.run(  # noqa: S603 - Rasa, arguments of our own
        [
            str(RASA_BIN), "train", "nlu", "--config", config, "--nlu", str(work / "data"),
            "--out", str(work / "models"), "--fixed-model-name", "diet",
        ],
        cwd=PROJECT_ROOT, env=env, check=True,
    )  # fmt: skip
    seconds = time.monotonic() - started
    (work / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    subprocess.run(  # noqa: S603
        [
            str(RASA_VENV / "bin" / "python"), "-m", "devtools.nlu_eval.diet_predict",
            str(work / "models" / "diet.tar.gz"), str(work / "texts.json"), str(work / "answers.json"),
        ],
        cwd=PROJECT_ROOT, env=env, check=True,
    )  # fmt: skip
    parsed = json.loads((work / "answers.json").read_text(encoding="utf-8"))
    stored = []
    for p in parsed:
        real = [(name, conf) for name, conf in p["ranking"] if name != NLU_FALLBACK]
        guess, guess_conf = real[0] if real else (None, 0.0)
        stored.append(
            [None, p["intent"] or NLU_FALLBACK, round(float(p["confidence"] or 0.0), 4), guess,
             round(float(guess_conf), 4)]
        )  # fmt: skip
    return stored, seconds


def locked() -> bool:
    """One runner at a time: a second one would train the same fold again."""
    WORK.mkdir(parents=True, exist_ok=True)
    handle = (WORK / "lock").open("w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    _LOCK.append(handle)  # held until the process ends
    return True


_LOCK: list[Any] = []


# --- the report's section -------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """One test message of a fold as a candidate answered it, judged with the safety net."""

    example: Example
    language: str
    said: Classification


Answers = Mapping[str, Mapping[int, Sequence[Answer]]]  # candidate -> fold number -> answers


def _mean_sd(values: Sequence[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def _accuracy(answers: Sequence[Answer], language: str) -> float:
    mine = [a for a in answers if a.language == language]
    return sum(a.said.intent == a.example.intent for a in mine) / len(mine)


def _listed(folds: Sequence[int]) -> str:
    names = [str(f) for f in folds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _scope_words(done: Sequence[int], folds: int) -> str:
    """Which folds the pooled tables cover: DIET's finished ones, until all are."""
    if len(done) == 1:
        return f"over fold {done[0]}, the one DIET has finished"
    if done and len(done) < folds:
        return f"over the {len(done)} folds DIET has finished: {_listed(done)}"
    return f"over all {folds} folds"


def _diffs(answers: Answers, name: str, folds: Sequence[int], language: str) -> list[float]:
    return [
        _accuracy(answers[name][f], language) - _accuracy(answers[french.CHOSEN][f], language) for f in folds
    ]


def _oof_row(name: str, answers: Sequence[Answer]) -> str:
    """The out-of-fold answers of the folds asked for, scored together."""
    s = french.score([a.example for a in answers], [a.said for a in answers])
    said = [a.said.intent for a in answers]
    truth = [a.example.intent for a in answers]
    macro = float(f1_score(truth, said, average="macro", labels=sorted(set(truth))))
    fallback = sum(i == NLU_FALLBACK for i in said) / len(said)
    return (
        f"| {name} | {s.accuracy:.3f} | {macro:.3f} | {s.model_urgent_recall:.3f} | {s.urgent_recall:.3f} "
        f"| {s.false_urgent:.3f} | {fallback:.3f} | {s.n} |"
    )


def _urgent_missed(answers: Sequence[Answer]) -> tuple[float, int]:
    """Urgent recall with the safety net over these answers, and how many urgent messages it missed."""
    urgent = taxonomy.urgent_intents()
    mine = [a for a in answers if a.example.intent in urgent]
    missed = sum(not a.said.urgent for a in mine)
    return (len(mine) - missed) / len(mine), missed


def verdict(folds: int, answers: Answers, done: Sequence[int]) -> list[str]:
    """Whether DIET replaces the chosen classifier, by the embedding candidates' rule, over DIET's
    finished folds (said to be provisional until all are)."""
    languages = {"en": "English", "fr": "French"}
    lines = [
        "",
        "### The verdict" + ("" if len(done) == folds else f" (provisional: {len(done)} of {folds} folds)"),
        "",
        "Rule, as for the embedding candidates below: DIET replaces the chosen classifier only if it wins "
        "clearly, that is at least a point of fold accuracy in a language (the mean of the per-fold "
        "gains, and beyond their fold-to-fold spread), with urgent recall with the net (the out-of-fold "
        "answers together) no lower in either language. DIET has no held-out figure on today's data (one "
        "more training on all of nlu/data/), so a win over the folds would still need one before "
        "config.yml changed.",
        "",
    ]
    short, clear = [], []
    for lang, language in languages.items():
        diffs = _diffs(answers, DIET, done, lang)
        gain = statistics.mean(diffs)
        spread = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        if gain >= 0.01 and gain > spread:
            clear.append(language)
        plain = statistics.mean(
            _accuracy(answers[DIET][f], lang) - _accuracy(answers[french.BASELINE][f], lang) for f in done
        )
        mine = _urgent_missed([a for f in done for a in answers[DIET][f] if a.language == lang])
        chosen = _urgent_missed([a for f in done for a in answers[french.CHOSEN][f] if a.language == lang])
        more = mine[1] - chosen[1]
        lines.append(
            f"- {language}: {_points(gain)} points against the chosen classifier (fold-to-fold spread "
            f"{100 * spread:.1f}), {_points(plain)} against plain TF-IDF+LR; urgent recall with the net "
            f"{mine[0]:.3f} against the chosen classifier's {chosen[0]:.3f}"
            + (f" ({more} urgent message{'s' if more != 1 else ''} more missed)." if more > 0 else ".")
        )
        if mine[0] < chosen[0]:
            short.append(f"lower {language} urgent recall with the net")
    if not clear:
        short.insert(0, "no clear gain over the folds in either language")
    if short:
        conclusion = f"DIET falls short: {', '.join(short)}. The chosen classifier stays (config.yml)."
    else:
        conclusion = (
            f"DIET wins clearly over the folds ({' and '.join(clear)}); not adopted by this script: a "
            "held-out check first, then a decision for config.yml."
        )
    if len(done) < folds:
        conclusion += f" Provisional until `make nlu-eval-diet` has run the other {folds - len(done)} folds."
    return [*lines, "", conclusion]


def section(folds: int, answers: Answers, runs: Mapping[int, Mapping[str, Any]], commands: int = 0) -> str:
    """The DIET section: the plain baseline and the chosen classifier over every fold, DIET over the
    folds finished (`answers[DIET]` and `runs`, by fold number), against the chosen one fold by fold."""
    done = sorted(answers.get(DIET, {}))
    every = list(range(1, folds + 1))
    languages = {"en": "English", "fr": "French"}
    if not done:
        status = f"DIET: 0 of {folds} folds so far, so no DIET figure yet (`make nlu-eval-diet` runs them)."
    elif len(done) < folds:
        status = (
            f"DIET: {len(done)} of {folds} folds so far (fold{'s' * (len(done) > 1)} {_listed(done)}); "
            "its figures below are over those folds only, until `make nlu-eval-diet` has run the others."
        )
    else:
        status = f"DIET: all {folds} folds."
    some = next(iter(runs.values()), {})
    lines = [
        START,
        f"## {french.DIET_SECTION}",
        "",
        "Generated by `make nlu-eval-diet` (`devtools/nlu_eval/diet_folds.py`; `--run` trains the folds "
        "not finished yet inside Rasa, two at a time on 2 cores, over an hour each here; `--write` "
        "renders this section from the finished ones, training nothing in Rasa); `make nlu-eval` keeps it "
        "as it is.",
        "",
        status,
        "",
        f"Rasa's default pipeline (nlu/pipelines/rasa_default.yml: DIET, 100 epochs, random_seed "
        f"{some.get('random_seed', RANDOM_SEED)}) trained by `rasa train nlu` (nlu/.venv, Rasa 3.6) on each "
        f"training part of the French section's {folds} folds (stratified by language and intent, seed "
        f"{some.get('seed', SEED)}; English and French together), and the test part parsed by the trained "
        "model (`Agent.parse_message`, as for the pipeline comparison's Rasa rows), English and French "
        "scored apart. Each finished fold is kept in devtools/nlu_eval/results/diet-foldN.json (test "
        "example indices and Rasa's answers, stamped with a hash of nlu/data/, the pipeline file and the "
        "fold scheme; a fold stamped for other data is not counted here). The plain TF-IDF+LR and the "
        "chosen classifier are trained again on the same folds for this section (their accuracies are the "
        "French section's cross-validation table). Strict accuracy (`nlu_fallback` is wrong); urgent recall "
        "and false-urgent as in the French section, the safety net run on every message"
        + (
            f"; the {commands} command lines (`/status CODE`, `/menu`, ...) of DIET's test parts are "
            "answered by the same fold's chosen classifier, as the bot handles commands itself (Rasa reads "
            "them as intent shortcuts)."
            if commands
            else "."
        ),
        "",
        "### Accuracy over the folds (mean ± sd over the folds of each row; against chosen: the mean of "
        "the per-fold differences, in points)",
        "",
        "| candidate | folds | English accuracy | French accuracy | English against chosen "
        "| French against chosen |",
        "|---|---|---|---|---|---|",
    ]
    for name in (french.BASELINE, french.CHOSEN, DIET):
        mine = sorted(answers.get(name, {}))
        count = f"{len(mine)}" if len(mine) == folds else f"{len(mine)} of {folds}"
        cells = [
            _mean_sd([_accuracy(answers[name][f], lang) for f in mine]) if mine else "—" for lang in languages
        ]
        against = (
            ["", ""]
            if name == french.CHOSEN or not mine
            else [_points(statistics.mean(_diffs(answers, name, mine, lang))) for lang in languages]
        )
        lines.append(f"| {name} | {count} | {' | '.join(cells)} | {' | '.join(against)} |")
    if done:
        per_fold = "; ".join(
            f"fold {f}: " + " / ".join(_points(_diffs(answers, DIET, [f], lang)[0]) for lang in languages)
            for f in done
        )
        lines += [
            "",
            f"DIET against the chosen classifier, fold by fold (points, English / French): {per_fold}.",
        ]
        if len(done) > 1:
            verdicts = []
            for lang, language in languages.items():
                diffs = _diffs(answers, DIET, done, lang)
                gain, spread = statistics.mean(diffs), statistics.stdev(diffs)
                side = "above" if gain > 0 else "below"
                within = "within" if abs(gain) <= spread else "beyond"
                verdicts.append(
                    f"{language}: DIET {abs(100 * gain):.1f} points {side} the chosen classifier, "
                    f"{within} the fold-to-fold spread of the differences ({100 * spread:.1f} points)"
                )
            lines.append(
                f"Over {'the' if len(done) < folds else 'all'} {len(done)} folds: {'; '.join(verdicts)}."
            )
    scope = done or every
    which = _scope_words(done, folds)
    for lang, language in languages.items():
        lines += [
            "",
            f"### Out-of-fold answers together, {language} test parts ({which})",
            "",
            "| candidate | accuracy | macro-F1 | urgent recall, model | urgent recall, + net | false-urgent "
            "| fallback | messages |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name in (french.BASELINE, french.CHOSEN, DIET):
            if name == DIET and not done:
                continue
            pooled = [a for f in scope for a in answers[name][f] if a.language == lang]
            lines.append(_oof_row(name, pooled))
    if done:
        lines += verdict(folds, answers, done)
    if runs:
        lines += [
            "",
            "### What DIET's folds cost (this machine, 2 shared cores, under `nice -n 19`)",
            "",
            "| fold | training examples | training s | TensorFlow threads | folds at once "
            "| 1-minute load average at the end | finished (UTC) |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {f} | {r['train_examples']} | {r['train_seconds']:.0f} | {r.get('tf_threads', 2)} "
            f"| {r.get('folds_at_once', 1)} | {r['load_average']:.1f} | "
            f"{str(r['finished']).replace('T', ' ').removesuffix('Z')} |"
            for f, r in sorted(runs.items())
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def render(results: Path = RESULTS) -> str:
    """The section from the folds finished on today's inputs; the two TF-IDF candidates retrained on
    every fold in this process."""
    current = stamp()
    data, language = french.fold_data()
    judge = Classifier(rasa=None, fallback=FallbackModel.load_or_train())
    answers: dict[str, dict[int, list[Answer]]] = {french.BASELINE: {}, french.CHOSEN: {}, DIET: {}}
    runs: dict[int, dict[str, Any]] = {}
    commands = 0
    for fold, (train_idx, test_idx) in enumerate(french.fold_splits(FOLDS, SEED), 1):
        print(f"diet-folds: fold {fold}/{FOLDS}, the two TF-IDF candidates", flush=True)  # noqa: T201
        train = [data[i] for i in train_idx]
        chosen_said: dict[int, Classification] = {}
        for name, make in ((french.BASELINE, french.plain_tfidf_lr), (french.CHOSEN, french.chosen)):
            model = french.fitted(make, train)
            said = {i: judge.judge(model(data[i].text), data[i].text, "fallback") for i in test_idx}
            answers[name][fold] = [Answer(data[i], language[i], said[i]) for i in test_idx]
            if name == french.CHOSEN:
                chosen_said = said
        saved = finished(fold, current, results)
        if saved is None:
            continue
        if sorted(a[0] for a in saved["answers"]) != sorted(test_idx):
            raise SystemExit(f"diet-folds: {fold_file(fold, results)} holds another fold's examples")
        diet = []
        for i, intent, confidence, guess, guess_confidence in saved["answers"]:
            text = data[i].text
            if text.startswith("/"):  # a command: the bot answers it itself, never through Rasa
                commands += 1
                said_i = chosen_said[i]
            else:
                ranking = (IntentScore(guess, guess_confidence),) if guess else ()
                said_i = judge.judge(ModelOutput(intent, confidence, ranking, ()), text, "rasa")
            diet.append(Answer(data[i], language[i], said_i))
        answers[DIET][fold] = diet
        runs[fold] = {k: v for k, v in saved.items() if k != "answers"}
    return section(FOLDS, answers, runs, commands)


def write_section(text: str, report: Path = french.REPORT) -> None:
    """Replace the section between its markers; the first time, put it after the French section."""
    current = report.read_text(encoding="utf-8") if report.exists() else "# NLU report\n"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        current = before + text + rest.split(END, 1)[1].lstrip("\n")
    elif french.END in current:
        before, after = current.split(french.END, 1)
        current = before + french.END + "\n" + text + after.lstrip("\n")
    else:
        current = current.rstrip("\n") + "\n\n" + text
    report.write_text(current, encoding="utf-8")


def background() -> None:
    """Yield the cores to everything else, hours at a time (Linux; best effort).

    `nice` alone is not enough: with the kernel's autogroups, a process started in its own session
    (setsid, nohup from another terminal) competes as a group with every other group, at an equal
    share whatever its nice value. The group's own nice value is what lowers it.
    """
    with contextlib.suppress(OSError):
        os.nice(19 - os.nice(0))
    with contextlib.suppress(OSError):
        Path("/proc/self/autogroup").write_text("19")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--run", action="store_true", help="train and score the folds not finished yet")
    parser.add_argument("--write", action="store_true", help="write the DIET section of docs/nlu-report.md")
    parser.add_argument("--status", action="store_true", help="list the folds: finished, stale, to do")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(MAX_JOBS, usable_cores()),
        help="folds trained at once (default: one per usable core, at most 2), on cores/jobs threads each",
    )
    args = parser.parse_args()
    if args.status or not (args.run or args.write):
        current = stamp()
        for fold in range(1, FOLDS + 1):
            saved = finished(fold, current)
            state = "finished" if saved else "stale" if fold_file(fold).exists() else "to do"
            extra = f" ({saved['train_seconds']:.0f} s, {saved['finished']})" if saved else ""
            print(f"fold {fold}: {state}{extra}")  # noqa: T201
        if not args.run and not locked():
            print(f"a runner is at work on the first fold to do (it holds {WORK / 'lock'})")  # noqa: T201
    if args.run:
        if not locked():
            print(f"diet-folds: another runner holds {WORK / 'lock'}; not starting", file=sys.stderr)  # noqa: T201
            return 1
        background()
        jobs = max(1, args.jobs)
        threads = max(1, usable_cores() // jobs)
        run(functools.partial(rasa_fold, threads=threads), jobs=jobs, threads=threads)
    if args.write:
        text = render()
        write_section(text)
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
