"""The safety lexicon's data files: the shipped ones load, and a malformed one is refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu import safety_lexicon, taxonomy
from nlu.safety_lexicon import LEXICON_DIR, LexiconError, load, parse
from nlu.safety_net import SafetyNet

ENGLISH = (LEXICON_DIR / "en.yml").read_text(encoding="utf-8")

# Each defect is made in the real file by one replacement: (what, replaced by, what the error says).
DEFECTS = {
    "unknown piece": ("      gun: '\\b{GUN}\\b'", "      gun: '\\b{GUNS}\\b'", "unknown piece {GUNS}"),
    "not a regular expression": ("      gun: '\\b{GUN}\\b'", "      gun: '\\b({GUN}\\b'", "weapon/gun"),
    "a rule written twice": (
        "      gun: '\\b{GUN}\\b'",
        "      gun: '\\b{GUN}\\b'\n      gun: '\\bpistol\\b'",
        "'gun' is written twice",
    ),
    "a misspelt key": ("  weapon:\n    rules:", "  weapon:\n    rule:", "rule"),
    "an unknown category": ("  sexual_harm:\n", "  sexual_harrasment:\n", "sexual_harrasment"),
    "a fuzzy word with a capital": ("fuzzy: [suicide,", "fuzzy: [Suicide,", "Suicide"),
    "a rule id with a space": ("      gun: '", "      a gun: '", "rule id"),
    "not YAML": ("  weapon:\n", "  weapon: [\n", "not valid YAML"),
}


def test_the_shipped_lexicons_load_and_cover_every_category() -> None:
    languages = sorted(path.stem for path in LEXICON_DIR.glob("*.yml"))
    assert "en" in languages
    for language in languages:
        lexicon = load(language)
        assert set(lexicon.rules) == set(safety_lexicon.CATEGORY_INTENT)
        assert all(lexicon.rules[category] for category in lexicon.rules)


def test_every_category_stands_for_an_urgent_intent_of_the_taxonomy() -> None:
    urgent = taxonomy.urgent_intents()
    assert set(safety_lexicon.CATEGORY_INTENT.values()) <= urgent
    assert "report_bullying" not in urgent  # control: the check can tell urgent from not


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_malformed_lexicon_is_refused(defect: str) -> None:
    old, new, says = DEFECTS[defect]
    assert ENGLISH.count(old) == 1, "the defect must change the real file in one place"
    assert parse(ENGLISH, "en").rules["weapon"]  # positive control: the file as shipped loads
    with pytest.raises(LexiconError) as refused:
        parse(ENGLISH.replace(old, new), "en")
    assert says in str(refused.value)


def test_a_missing_category_is_refused() -> None:
    start = ENGLISH.index("  abuse:\n")
    end = ENGLISH.index("  sexual_harm:\n")
    with pytest.raises(LexiconError, match="categories missing: abuse"):
        parse(ENGLISH[:start] + ENGLISH[end:], "en")


def test_start_up_fails_loudly_on_a_malformed_file(tmp_path: Path) -> None:
    (tmp_path / "en.yml").write_text(ENGLISH, encoding="utf-8")
    good = SafetyNet(load("en", tmp_path))  # control: a copy of the real file starts
    assert good.check("he has a gun in his bag") is not None
    (tmp_path / "xx.yml").write_text(ENGLISH.replace("{GUN}", "{GUNS}"), encoding="utf-8")
    with pytest.raises(LexiconError, match="lexicon 'xx'"):
        SafetyNet(load("xx", tmp_path))
    with pytest.raises(LexiconError, match="no lexicon for 'fr'"):
        load("fr", tmp_path)


def test_every_scalar_is_read_as_text() -> None:
    # YAML 1.1 reads a bare `on` or `no` as a boolean; a French contraction table would be full of them.
    text = ENGLISH.replace("  hes: 'he is'\n", "  hes: 'he is'\n  on: no\n")
    assert parse(text, "en").contractions["on"] == "no"
