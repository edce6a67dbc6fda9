"""`make nlu-eval` run with `--skip-comparison` keeps the last full run's comparison, and says so."""

from __future__ import annotations

from devtools.nlu_eval import evaluate

OLD = """# NLU report

Training data: 3681 examples over 23 intents (nlu/data/); held-out split: 765 examples.

## Pipeline comparison

Each candidate trained on 5 stratified folds, with one seed.

| pipeline | CV accuracy |
|---|---|
| tfidf_lr | 0.826 |

## Validation messages

nothing
"""


def test_a_skipped_comparison_is_kept_with_the_data_it_was_measured_on() -> None:
    kept = evaluate._kept_comparison(OLD)
    measured_on = "3681 examples over 23 intents (nlu/data/)"
    assert kept[0] == f"{evaluate.KEPT} kept from the last full run, trained on {measured_on}."
    assert kept[2:] == [
        "Each candidate trained on 5 stratified folds, with one seed.",
        "",
        "| pipeline | CV accuracy |",
        "|---|---|",
        "| tfidf_lr | 0.826 |",
    ]


def test_kept_twice_it_still_names_the_run_that_measured_it() -> None:
    once = "\n".join(
        [
            "# NLU report",
            "",
            "Training data: 5508 examples over 23 intents, English and French "
            "(nlu/data/); held-out split: 765.",
            "",
            evaluate.COMPARISON,
            "",
            *evaluate._kept_comparison(OLD),
            "",
            "## Validation messages",
            "",
        ]
    )
    assert evaluate._kept_comparison(once) == evaluate._kept_comparison(OLD)


def test_nothing_to_keep_without_a_comparison() -> None:
    assert evaluate._kept_comparison("# NLU report\n\n## Validation messages\n") == []
