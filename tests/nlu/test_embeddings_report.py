"""The embeddings section of docs/nlu-report.md (devtools/nlu_eval/embeddings.py): its verdict follows
the figures, its lookup of precomputed embeddings keeps order, and it sits after the French section
without disturbing it. No encoder is needed: the figures here are made up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from devtools.nlu_eval import embeddings, french

MINILM = "MiniLM-L6 + LR"
MIXED = "chosen TF-IDF + MiniLM-L6"


def scores(accuracy: float, urgent_recall: float = 1.0) -> dict[str, Any]:
    missed = round((1 - urgent_recall) * 100)
    return {
        "accuracy": accuracy,
        "macro_f1": accuracy,
        "model_urgent_recall": 0.95,
        "urgent_recall": urgent_recall,
        "false_urgent": 0.02,
        "fallback_rate": 0.01,
        "n": 200,
        "urgent_missed": missed,
    }


def figures(mixed_gain: float, mixed_urgent: float = 1.0) -> dict[str, Any]:
    chosen_folds = [0.84, 0.83, 0.85, 0.84, 0.84]

    def cv(gain: float) -> dict[str, Any]:
        by_fold = [a + gain for a in chosen_folds]
        return {lang: {"folds": by_fold, "scores": scores(0.84 + gain)} for lang in ("en", "fr")}

    def held(gain: float, urgent: float = 1.0) -> dict[str, Any]:
        return {lang: scores(0.93 + gain, urgent) for lang in ("en", "fr", "hard")}

    meta = {
        "python": "3.11.7",
        "timed": 200,
        "load_s": 5.0,
        "rss_loaded_mib": 440.0,
        "rss_serving_mib": 450.0,
        "rss_peak_mib": 490.0,
        "weights_mib": 87.0,
        "packages_mib": {"torch": 716.0, "transformers": 111.0},
        "encode_ms_median": 9.0,
        "encode_ms_p90": 20.0,
    }
    timing = {"classify_ms": 1.0, "model_mib": 2.0, "train_s": 10.0}
    names = [french.BASELINE, french.CHOSEN, MINILM, MIXED]
    return {
        "folds": 5,
        "seed": 7,
        "counts": {"train_en": 3730, "train_fr": 1778, "en": 765, "fr": 438, "hard": 320},
        "encoders": {"all-MiniLM-L6-v2": meta},
        "picked": {MINILM: 10.0, MIXED: 1.0},
        "grid": {
            MINILM: {"10": {"en": chosen_folds, "fr": chosen_folds}},
            MIXED: {"1": {"en": chosen_folds, "fr": chosen_folds}},
        },
        "cv": {french.BASELINE: cv(-0.03), french.CHOSEN: cv(0.0), MINILM: cv(-0.05), MIXED: cv(mixed_gain)},
        "heldout": {
            french.BASELINE: held(-0.03),
            french.CHOSEN: held(0.0),
            MINILM: held(-0.05),
            MIXED: held(mixed_gain, mixed_urgent),
        },
        "timing": dict.fromkeys(names, timing),
        "machine": {"cpus": 2, "load": 1.0},
    }


def test_the_verdict_follows_the_figures() -> None:
    text = embeddings.section(figures(mixed_gain=0.02))
    assert f"- {MIXED}: +2.0/+2.0 points over folds; held-out +2.0/+2.0;" in text
    assert "Wins clearly." in text
    assert "chosen TF-IDF + MiniLM-L6 wins clearly on the figures" in text
    # Controls: half a point is not clear, and nor is a gain that costs urgent recall.
    small = embeddings.section(figures(mixed_gain=0.005))
    assert "No embedding candidate wins clearly; the nearest is chosen TF-IDF + MiniLM-L6." in small
    assert "Wins clearly." not in small
    assert "Falls short: no clear gain over the folds." in small
    missed = embeddings.section(figures(mixed_gain=0.02, mixed_urgent=0.98))
    assert "No embedding candidate wins clearly" in missed
    assert (
        "Falls short: lower English urgent recall with the net (2 urgent messages more missed), "
        "lower French urgent recall with the net (2 urgent messages more missed)."
    ) in missed


def test_a_gain_within_the_folds_spread_is_not_clear() -> None:
    f = figures(mixed_gain=0.0)
    f["cv"][MIXED]["en"]["folds"] = [0.84 + g for g in (0.05, -0.02, 0.04, -0.01, 0.01)]  # mean +1.4, sd 3.0
    assert not embeddings.wins_clearly(f["cv"], f["heldout"], MIXED)
    f["cv"][MIXED]["en"]["folds"] = [
        0.84 + g for g in (0.015, 0.012, 0.018, 0.014, 0.016)
    ]  # beyond its spread
    assert embeddings.wins_clearly(f["cv"], f["heldout"], MIXED)


def test_the_folds_are_checked_against_the_french_section() -> None:
    cv_table = (
        "### Cross-validation (5 stratified folds)\n\n| candidate | English accuracy | French accuracy |\n"
        "|---|---|---|\n| plain TF-IDF+LR, bilingual | 0.810 ± 0.007 | 0.810 ± 0.007 |\n"
        "| chosen classifier, bilingual | {chosen} | 0.840 ± 0.007 |\n\n### French targets\n"
    )
    same = embeddings.section(figures(0.0), cv_table.format(chosen="0.840 ± 0.007"))
    assert "equal the French section's cross-validation table." in same
    other = embeddings.section(figures(0.0), cv_table.format(chosen="0.839 ± 0.009"))
    assert "differ from the French section's cross-validation table" in other
    assert "chosen classifier, bilingual 0.839 ± 0.009/0.840 ± 0.007 there" in other


def test_embedded_looks_texts_up_in_order_and_names_a_missing_one() -> None:
    table = {"hello": np.array([1.0, 0.0]), "j'ai peur": np.array([0.0, 1.0])}
    block = embeddings.Embedded(table, weight=2.0)
    assert block.fit(["hello"]).transform(["j'ai peur", "hello"]).tolist() == [[0.0, 2.0], [2.0, 0.0]]
    with pytest.raises(KeyError, match="no embedding for 'bye'"):
        block.transform(["bye"])


def test_the_section_follows_the_french_one_and_each_rewrite_keeps_the_other(tmp_path: Path) -> None:
    report = tmp_path / "nlu-report.md"
    french_section = f"{french.START}\nFrench figures\n{french.END}\n"
    report.write_text("# NLU report\n\nEnglish figures.\n\n" + french_section, encoding="utf-8")
    embeddings.write_section(f"{embeddings.START}\n\nold dense figures\n{embeddings.END}\n", report)
    first = report.read_text(encoding="utf-8")
    assert first.endswith(f"{french.END}\n{embeddings.START}\n\nold dense figures\n{embeddings.END}\n")
    embeddings.write_section(f"{embeddings.START}\n\nnew dense figures\n{embeddings.END}\n", report)
    second = report.read_text(encoding="utf-8")
    assert second == first.replace("old dense", "new dense")
    # The French section written again (as make nlu-eval does) leaves this one where it was.
    french.write_section(f"{french.START}\nNew French figures\n{french.END}\n", report)
    assert report.read_text(encoding="utf-8") == second.replace("French figures", "New French figures")
