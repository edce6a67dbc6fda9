"""The French section of docs/nlu-report.md: its verdicts follow the figures, and rewriting it
leaves the rest of the report alone (`make nlu-eval` writes the report, then this section)."""

from __future__ import annotations

from pathlib import Path

from devtools.nlu_eval import french


def scores(accuracy: float, urgent_recall: float) -> french.Scores:
    return french.Scores(accuracy, accuracy, 0.95, urgent_recall, 0.02, 100)


def render(
    french_accuracy: float, chosen_en: list[float], baseline_en: list[float], split_gain: float = 0.0
) -> str:
    ok = scores(0.93, 1.0)
    held = {
        french.BASELINE: {"en": ok, "fr": ok, "hard": ok},
        french.CHOSEN: {"en": ok, "fr": ok, "hard": ok},
        french.TWO: {"en": ok, "fr": scores(french_accuracy + split_gain, 0.99), "hard": ok},
        french.SERVED: {"en": ok, "fr": scores(french_accuracy, 0.99), "hard": ok},
    }
    folds = {
        french.BASELINE: {"en": baseline_en, "fr": [0.8, 0.8, 0.8]},
        french.CHOSEN: {"en": chosen_en, "fr": [0.8, 0.8, 0.8]},
        french.TWO: {"en": chosen_en, "fr": [0.8, 0.8, 0.8]},
    }
    return french.section(held, folds)


def test_the_verdicts_follow_the_figures() -> None:
    met = render(0.91, chosen_en=[0.85, 0.86, 0.87], baseline_en=[0.82, 0.83, 0.84])
    assert "accuracy 0.910 (target ≥ 0.90: met)" in met
    assert "French targets both met." in met
    assert "+3.0 points over 3 folds" in met
    assert "Target met." in met
    assert "The choice: one bilingual model" in met
    # Control: the same section with figures under the targets says so.
    missed = render(0.89, chosen_en=[0.83, 0.84, 0.85], baseline_en=[0.82, 0.83, 0.84], split_gain=0.02)
    assert "accuracy 0.890 (target ≥ 0.90: NOT met)" in missed
    assert "French targets NOT both met." in missed
    assert "+1.0 points over 3 folds" in missed
    assert "Target NOT met." in missed
    assert "Why nothing did, in figures" in missed
    assert "The choice: one model per language" in missed  # two points better in French


def test_rewriting_the_section_leaves_the_rest_of_the_report(tmp_path: Path) -> None:
    report = tmp_path / "nlu-report.md"
    report.write_text("# NLU report\n\nEnglish figures.\n", encoding="utf-8")
    first = f"{french.START}\nold French figures\n{french.END}\n"
    french.write_section(first, report)
    assert report.read_text(encoding="utf-8") == "# NLU report\n\nEnglish figures.\n\n" + first
    second = f"{french.START}\nnew French figures\n{french.END}\n"
    french.write_section(second, report)
    text = report.read_text(encoding="utf-8")
    assert text == "# NLU report\n\nEnglish figures.\n\n" + second
    assert "old French" not in text
