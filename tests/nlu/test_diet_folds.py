"""DIET over folds (devtools/nlu_eval/diet_folds.py): a rerun skips the folds finished on the same
inputs, redoes the others, and the report's section says how many folds are done. The training step
is faked at its boundary (a Rasa training takes over an hour)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from devtools.nlu_eval import diet_folds, french
from nlu.fallback import FallbackModel
from nlu.result import NLU_FALLBACK, Classification, IntentScore, ModelOutput
from nlu.training_data import Example


class Stopped(Exception):
    """What a kill during a fold's training leaves the runner with: no result for that fold."""


class FakeTraining:
    """Answers every test text with `greet`; records the folds it trained; can stop at one."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.trained: list[int] = []
        self.stop_at = stop_at

    def __call__(
        self, fold: int, rows: list[tuple[str, str]], texts: list[str]
    ) -> tuple[list[list[object]], float]:
        if fold == self.stop_at:
            raise Stopped
        self.trained.append(fold)
        return [[None, "greet", 0.9, "greet", 0.9] for _ in texts], 1.0


def saved_stamp(results: Path, fold: int) -> str:
    return str(json.loads(diet_folds.fold_file(fold, results).read_text(encoding="utf-8"))["stamp"])


def test_folds_finished_on_the_same_inputs_are_skipped(tmp_path: Path) -> None:
    first = FakeTraining()
    assert diet_folds.run(first, results=tmp_path, current="data-a") == [1, 2, 3, 4, 5]
    assert first.trained == [1, 2, 3, 4, 5]
    before = {f: diet_folds.fold_file(f, tmp_path).read_bytes() for f in range(1, 6)}
    again = FakeTraining()
    assert diet_folds.run(again, results=tmp_path, current="data-a") == []
    assert again.trained == []
    assert {f: diet_folds.fold_file(f, tmp_path).read_bytes() for f in range(1, 6)} == before


def test_a_fold_saved_for_other_inputs_is_done_again(tmp_path: Path) -> None:
    diet_folds.run(FakeTraining(), results=tmp_path, current="data-a")
    changed = FakeTraining()
    assert diet_folds.run(changed, results=tmp_path, current="data-b") == [1, 2, 3, 4, 5]
    assert [saved_stamp(tmp_path, f) for f in range(1, 6)] == ["data-b"] * 5
    assert diet_folds.finished(1, "data-a", tmp_path) is None
    assert diet_folds.finished(1, "data-b", tmp_path) is not None


def test_a_fold_stopped_midway_is_simply_redone(tmp_path: Path) -> None:
    with pytest.raises(Stopped):
        diet_folds.run(FakeTraining(stop_at=3), results=tmp_path, current="data-a")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diet-fold1.json", "diet-fold2.json"]
    # A fold file cut short (a kill while writing, or a disk filling up) counts as not done either.
    whole = diet_folds.fold_file(2, tmp_path).read_text(encoding="utf-8")
    diet_folds.fold_file(2, tmp_path).write_text(whole[: len(whole) // 2], encoding="utf-8")
    resumed = FakeTraining()
    assert diet_folds.run(resumed, results=tmp_path, current="data-a") == [2, 3, 4, 5]
    assert [saved_stamp(tmp_path, f) for f in range(1, 6)] == ["data-a"] * 5


class SideBySide(FakeTraining):
    """A training that returns only once `together` folds are training at the same time."""

    def __init__(self, together: int, stop_at: int | None = None, timeout: float = 60) -> None:
        super().__init__(stop_at)
        self.meet = threading.Barrier(together, timeout=timeout)  # a guard: a fold alone never returns
        self.started: list[int] = []

    def __call__(
        self, fold: int, rows: list[tuple[str, str]], texts: list[str]
    ) -> tuple[list[list[object]], float]:
        self.started.append(fold)
        if fold <= 2:
            self.meet.wait()  # folds 1 and 2: each waits for the other
        return super().__call__(fold, rows, texts)


def test_two_jobs_train_two_folds_at_once_and_save_each(tmp_path: Path) -> None:
    training = SideBySide(2)
    assert diet_folds.run(training, results=tmp_path, current="data-a", jobs=2, threads=1) == [1, 2, 3, 4, 5]
    for fold in range(1, 6):
        saved = json.loads(diet_folds.fold_file(fold, tmp_path).read_text(encoding="utf-8"))
        assert (saved["folds_at_once"], saved["tf_threads"]) == (2, 1)
    # One job: fold 1 would wait for a fold 2 that never starts beside it.
    with pytest.raises(threading.BrokenBarrierError):
        diet_folds.run(SideBySide(2, timeout=1), results=tmp_path / "one", current="data-a", jobs=1)


def test_a_failed_fold_among_two_jobs_starts_no_other_and_keeps_the_one_under_way(tmp_path: Path) -> None:
    training = SideBySide(2, stop_at=1)
    with pytest.raises(Stopped):
        diet_folds.run(training, results=tmp_path, current="data-a", jobs=2)
    assert sorted(training.started) == [1, 2]  # fold 1 failed once fold 2 was under way; 3 to 5 never began
    assert sorted(p.name for p in tmp_path.iterdir()) == ["diet-fold2.json"]
    assert diet_folds.run(FakeTraining(), results=tmp_path, current="data-a", jobs=2) == [1, 3, 4, 5]


def test_the_saved_fold_holds_its_test_examples_and_the_answers(tmp_path: Path) -> None:
    diet_folds.run(FakeTraining(), results=tmp_path, current="data-a")
    data, language = french.fold_data()
    for fold, (_, test_idx) in enumerate(french.fold_splits(5), 1):
        saved = json.loads(diet_folds.fold_file(fold, tmp_path).read_text(encoding="utf-8"))
        assert [a[0] for a in saved["answers"]] == test_idx
        assert {a[1] for a in saved["answers"]} == {"greet"}
        assert saved["test_examples"] == {
            lang: sum(language[i] == lang for i in test_idx) for lang in ("en", "fr")
        }
        assert saved["train_examples"] == len(data) - len(test_idx)
        assert "text" not in json.dumps(saved)  # indices only: the texts stay in nlu/data/


def test_the_stamp_follows_the_training_data_and_the_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "nlu" / "data" / "greet.yml"
    data.parent.mkdir(parents=True)
    data.write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hi\n', encoding="utf-8")
    pipeline = tmp_path / "rasa_default.yml"
    pipeline.write_text("pipeline: []\n", encoding="utf-8")
    monkeypatch.setattr(diet_folds, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(diet_folds, "PIPELINE", pipeline)
    monkeypatch.setattr(french, "training_files", lambda language: [data])
    first = diet_folds.stamp()
    assert diet_folds.stamp() == first
    data.write_text(data.read_text(encoding="utf-8") + "    - hello\n", encoding="utf-8")
    assert diet_folds.stamp() != first
    with_more_data = diet_folds.stamp()
    pipeline.write_text("pipeline: [{name: DIETClassifier}]\n", encoding="utf-8")
    assert diet_folds.stamp() != with_more_data
    assert diet_folds.stamp(folds=10) != diet_folds.stamp()


# --- the section ---------------------------------------------------------------------------


def answers(correct: int, language: str, fold: int) -> list[diet_folds.Answer]:
    """Ten messages, half urgent (report_weapon); the first `correct` answered right, the rest
    `nlu_fallback`."""
    out = []
    for n in range(10):
        truth = "report_weapon" if n % 2 else "greet"
        said = truth if n < correct else NLU_FALLBACK
        urgent = said == "report_weapon"
        reason = "model: report_weapon" if urgent else None
        out.append(
            diet_folds.Answer(
                Example(f"{language} {fold} {n}", truth),
                language,
                Classification(said, 0.9, (), (), urgent, reason, "rasa"),
            )
        )
    return out


def figures(
    diet_folds_done: list[int], diet_english: tuple[int, ...] = (6, 8, 7, 9, 8)
) -> tuple[dict[str, dict[int, list[diet_folds.Answer]]], dict[int, dict[str, object]]]:
    plain = {"en": [7, 7, 8, 7, 7], "fr": [7, 7, 7, 7, 7]}
    chosen = {"en": [8, 9, 8, 9, 8], "fr": [8, 8, 8, 8, 8]}
    diet = {"en": list(diet_english), "fr": [9, 9, 9, 9, 9]}
    table = {french.BASELINE: plain, french.CHOSEN: chosen, diet_folds.DIET: diet}
    out: dict[str, dict[int, list[diet_folds.Answer]]] = {}
    for name, by_lang in table.items():
        folds = diet_folds_done if name == diet_folds.DIET else [1, 2, 3, 4, 5]
        out[name] = {
            f: answers(by_lang["en"][f - 1], "en", f) + answers(by_lang["fr"][f - 1], "fr", f) for f in folds
        }
    runs: dict[int, dict[str, object]] = {
        f: {"train_examples": 4406, "train_seconds": 4100.0 + f, "load_average": 3.5,
            "finished": f"2026-12-01T1{f}:00:00Z", "seed": 7, "random_seed": 1,
            # fold 1 as saved before folds ran side by side (2 threads, alone); the others two at once
            **({} if f == 1 else {"tf_threads": 1, "folds_at_once": 2})}
        for f in diet_folds_done
    }  # fmt: skip
    return out, runs


def accuracy_row(text: str, name: str) -> str:
    table = text.split("### Accuracy over the folds", 1)[1].split("\n\n", 2)[1]
    return next(line for line in table.splitlines() if line.startswith(f"| {name} | "))


def test_the_section_with_no_diet_fold_yet() -> None:
    text = diet_folds.section(5, *figures([]))
    assert "DIET: 0 of 5 folds so far, so no DIET figure yet" in text
    assert accuracy_row(text, diet_folds.DIET) == f"| {diet_folds.DIET} | 0 of 5 | — | — |  |  |"
    assert (
        accuracy_row(text, french.CHOSEN) == f"| {french.CHOSEN} | 5 | 0.840 ± 0.055 | 0.800 ± 0.000 |  |  |"
    )
    assert accuracy_row(text, french.BASELINE) == (
        f"| {french.BASELINE} | 5 | 0.720 ± 0.045 | 0.700 ± 0.000 | -12.0 | -10.0 |"
    )
    assert "Out-of-fold answers together, English test parts (over all 5 folds)" in text
    assert f"| {diet_folds.DIET} | 0." not in text  # no DIET figure anywhere
    assert "fold by fold" not in text
    assert "What DIET's folds cost" not in text


def test_the_section_with_two_diet_folds_says_so_and_pairs_them() -> None:
    text = diet_folds.section(5, *figures([1, 2]), commands=3)
    assert "DIET: 2 of 5 folds so far (folds 1 and 2)" in text
    # DIET 0.6, 0.8 in English against the chosen 0.8, 0.9: -20 and -10 points, -15 on average.
    assert accuracy_row(text, diet_folds.DIET) == (
        f"| {diet_folds.DIET} | 2 of 5 | 0.700 ± 0.141 | 0.900 ± 0.000 | -15.0 | +10.0 |"
    )
    assert "fold by fold (points, English / French): fold 1: -20.0 / +10.0; fold 2: -10.0 / +10.0." in text
    assert "English: DIET 15.0 points below the chosen classifier, beyond the fold-to-fold spread" in text
    assert "French: DIET 10.0 points above the chosen classifier" in text
    # Out of fold, over the same two folds for every candidate: chosen 17/20, DIET 14/20 in English.
    english = text.split("English test parts (over the 2 folds DIET has finished: 1 and 2)", 1)[1]
    english = english.split("###", 1)[0]
    assert f"| {french.CHOSEN} | 0.850 |" in english
    assert f"| {diet_folds.DIET} | 0.700 |" in english
    assert f"| {french.BASELINE} | 0.700 |" in english
    assert "| 1 | 4406 | 4101 | 2 | 1 | 3.5 | 2026-12-01 11:00:00 |" in text
    assert "| 2 | 4406 | 4102 | 1 | 2 | 3.5 | 2026-12-01 12:00:00 |" in text
    assert "| 3 | 4406 |" not in text
    assert "the 3 command lines" in text
    assert "### The verdict (provisional: 2 of 5 folds)" in text
    assert "Provisional until `make nlu-eval-diet` has run the other 3 folds." in text


def test_the_section_with_every_fold() -> None:
    text = diet_folds.section(5, *figures([1, 2, 3, 4, 5]))
    assert "DIET: all 5 folds." in text
    assert "so far" not in text
    assert accuracy_row(text, diet_folds.DIET) == (
        f"| {diet_folds.DIET} | 5 | 0.760 ± 0.114 | 0.900 ± 0.000 | -8.0 | +10.0 |"
    )
    assert "Over all 5 folds: English: DIET 8.0 points below the chosen classifier, within" in text
    assert "Out-of-fold answers together, French test parts (over all 5 folds)" in text
    assert "| 5 | 4406 | 4105 |" in text
    # The verdict, over every fold: French wins clearly (+10 each fold), but English urgent recall with
    # the net is lower (18 of 25 urgent messages against 20 of 25), so the chosen classifier stays.
    assert "### The verdict\n" in text
    assert (
        "- English: -8.0 points against the chosen classifier (fold-to-fold spread 8.4), +4.0 against plain "
        "TF-IDF+LR; urgent recall with the net 0.720 against the chosen classifier's 0.800 (2 urgent "
        "messages more missed)."
    ) in text
    assert (
        "- French: +10.0 points against the chosen classifier (fold-to-fold spread 0.0), +20.0 against plain "
        "TF-IDF+LR; urgent recall with the net 0.800 against the chosen classifier's 0.800."
    ) in text
    assert (
        "DIET falls short: lower English urgent recall with the net. The chosen classifier stays "
        "(config.yml)." in text
    )
    assert "provisional" not in text.lower()
    assert text.index("### Out-of-fold answers together, French") < text.index("### The verdict")
    assert text.index("### The verdict") < text.index("### What DIET's folds cost")


def test_the_verdict_names_a_clear_win_and_does_not_adopt_it() -> None:
    # English +10, 0, +10, 0, +10 (+6.0, spread 5.5) and French +10 each fold; urgent recall as high.
    text = diet_folds.section(5, *figures([1, 2, 3, 4, 5], diet_english=(9, 9, 9, 9, 9)))
    assert "- English: +6.0 points against the chosen classifier (fold-to-fold spread 5.5)" in text
    assert (
        "DIET wins clearly over the folds (English and French); not adopted by this script: a held-out "
        "check first, then a decision for config.yml."
    ) in text
    assert "falls short" not in text


def test_the_verdict_with_no_gain_anywhere_says_so() -> None:
    # English within its spread below, French as good as the chosen classifier: no clear gain.
    folds, runs = figures([1, 2, 3, 4, 5], diet_english=(8, 9, 8, 9, 8))
    folds[diet_folds.DIET] = {
        f: a[:10] + folds[french.CHOSEN][f][10:] for f, a in folds[diet_folds.DIET].items()
    }
    text = diet_folds.section(5, folds, runs)
    assert "DIET falls short: no clear gain over the folds in either language." in text


def test_the_section_goes_after_the_french_one_and_is_replaced_in_place(tmp_path: Path) -> None:
    report = tmp_path / "nlu-report.md"
    report.write_text(
        f"# NLU report\n\n{french.START}\nFrench\n{french.END}\n<!-- embeddings:start -->\nE\n",
        encoding="utf-8",
    )
    diet_folds.write_section(f"{diet_folds.START}\nold\n{diet_folds.END}\n", report)
    diet_folds.write_section(f"{diet_folds.START}\nnew\n{diet_folds.END}\n", report)
    assert report.read_text(encoding="utf-8") == (
        f"# NLU report\n\n{french.START}\nFrench\n{french.END}\n"
        f"{diet_folds.START}\nnew\n{diet_folds.END}\n<!-- embeddings:start -->\nE\n"
    )


def test_make_nlu_eval_keeps_the_section_where_it_was(tmp_path: Path) -> None:
    """evaluate.main rewrites the report, then puts back the French, embeddings and DIET sections, in
    that order; the DIET one goes back right after the French one, where --write put it."""
    from devtools.nlu_eval import embeddings, evaluate

    french_part = f"{french.START}\nFrench\n{french.END}"
    diet_part = f"{diet_folds.START}\nDIET: 2 of 5 folds so far\n{diet_folds.END}"
    embeddings_part = f"{embeddings.START}\nMiniLM\n{embeddings.END}"
    old = f"# NLU report\n\nold figures\n\n{french_part}\n{diet_part}\n{embeddings_part}\n"
    report = tmp_path / "nlu-report.md"
    report.write_text("# NLU report\n\nnew figures\n", encoding="utf-8")
    for part, write in (
        (evaluate._marked(old, french.START, french.END), french.write_section),
        (evaluate._marked(old, embeddings.START, embeddings.END), embeddings.write_section),
        (evaluate._marked(old, diet_folds.START, diet_folds.END), diet_folds.write_section),
    ):
        assert part is not None
        write(part + "\n", report)
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# NLU report\n\nnew figures\n")
    assert text.index(french_part) < text.index(diet_part) < text.index(embeddings_part)


def test_the_section_is_rendered_from_the_saved_folds_of_todays_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """render() reads the fold files (stale ones left out), answers commands as the bot does, and
    pairs DIET with the chosen classifier; the TF-IDF candidates are faked too (always `greet`)."""
    data, language = french.fold_data()
    truth = {e.text: e.intent for e in data}

    def rasa_like(
        fold: int, rows: list[tuple[str, str]], texts: list[str]
    ) -> tuple[list[list[object]], float]:
        # Right every time, except that Rasa reads a command ("/status CODE") as an intent shortcut.
        said = [t[1:] if t.startswith("/") else truth[t] for t in texts]
        return [[None, s, 0.9, s, 0.9] for s in said], 10.0

    diet_folds.run(rasa_like, results=tmp_path, current=diet_folds.stamp())
    for fold in (3, 4, 5):  # saved for other data: not counted
        path = diet_folds.fold_file(fold, tmp_path)
        path.write_text(
            path.read_text(encoding="utf-8").replace(diet_folds.stamp(), "other data"), encoding="utf-8"
        )
    greet = ModelOutput("greet", 0.9, (IntentScore("greet", 0.9),), ())
    monkeypatch.setattr(french, "fitted", lambda make, train: lambda text: greet)
    monkeypatch.setattr(FallbackModel, "load_or_train", staticmethod(lambda: None))
    text = diet_folds.render(tmp_path)
    assert "DIET: 2 of 5 folds so far (folds 1 and 2)" in text
    splits = french.fold_splits(5)
    commands = [data[i] for f in (0, 1) for i in splits[f][1] if data[i].text.startswith("/")]
    assert commands  # the training data holds a few; the chosen classifier's answer stands for them
    assert f"the {len(commands)} command lines" in text
    row = accuracy_row(text, diet_folds.DIET)
    expected = {}
    for lang in ("en", "fr"):
        per_fold = []
        for f in (0, 1):
            mine = [data[i] for i in splits[f][1] if language[i] == lang]
            per_fold.append(sum(not e.text.startswith("/") or e.intent == "greet" for e in mine) / len(mine))
        expected[lang] = diet_folds._mean_sd(per_fold)
    assert row.startswith(f"| {diet_folds.DIET} | 2 of 5 | {expected['en']} | {expected['fr']} | +")
    assert "| 1 | 4406 | 10 |" in text
    assert "| 3 | 4406 |" not in text  # stale
