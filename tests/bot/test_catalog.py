"""The message catalog: every text the code uses exists, none is dead, placeholders match across languages."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot import catalog

BOT = Path(__file__).resolve().parents[2] / "bot"
# Keys the code builds from a prefix and a value (f"summary_{name}", f"status_{case.status}", ...).
DYNAMIC_PREFIXES = ("summary_", "status_kind_", "status_new", "status_acknowledged", "status_in_progress",
                    "status_closed", "officer_outcome_", "officer_status_")  # fmt: skip


def string_constants() -> set[str]:
    found: set[str] = set()
    for path in BOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_every_key_in_code_exists() -> None:
    known = catalog.messages()
    looks_like_key = re.compile(r"^[a-z][a-z0-9_]+$")
    used_keys = {s for s in string_constants() if looks_like_key.match(s) and s in known}
    # Spot-check the mechanism finds the obvious ones.
    assert {"welcome", "sent", "urgent_self_harm", "privacy"} <= used_keys


def test_no_unused_texts() -> None:
    constants = string_constants()
    unused = [
        key for key in catalog.messages() if key not in constants and not key.startswith(DYNAMIC_PREFIXES)
    ]
    assert not unused, f"texts no code uses: {unused}"


def test_every_language_has_the_same_keys_and_placeholders() -> None:
    """Each language's own file has every student-facing English key, with the same placeholders, and
    nothing else: officer texts stay English (read from en.yml), and no English text is left behind
    for a French student to stumble on (the catalog would fill it in from English)."""
    english = catalog.own_texts("en")
    student = {key for key in english if not catalog.officer_facing(key)}
    languages = {path.stem for path in catalog.LOCALES.glob("*.yml")}
    assert languages == set(catalog.LANGUAGES)
    for language in sorted(languages - {"en"}):
        other = catalog.own_texts(language)
        assert not student - set(other), (language, "missing", sorted(student - set(other)))
        assert not set(other) - student, (
            language,
            "not student-facing English keys",
            sorted(set(other) - student),
        )
        for key in student:
            assert catalog.placeholders(other[key]) == catalog.placeholders(english[key]), (language, key)


def test_french_texts_are_french_and_officer_texts_english() -> None:
    """A French student's texts come from fr.yml; officer texts asked in French are the English ones."""
    assert catalog.t("school_set", "fr", school="X") != catalog.t("school_set", "en", school="X")
    assert catalog.t("officer_ack_button", "fr") == catalog.t("officer_ack_button", "en")
    # An unknown language (an unreadable saved state) answers in English rather than failing.
    assert catalog.t("cancelled", "xx") == catalog.t("cancelled")


def test_values_are_escaped_for_telegram_html() -> None:
    text = catalog.t("summary_what", value="<b>he said</b> & left")
    assert "&lt;b&gt;he said&lt;/b&gt; &amp; left" in text


def test_a_missing_key_is_a_clear_error() -> None:
    with pytest.raises(catalog.MissingText):
        catalog.t("no_such_text")


@pytest.mark.parametrize("language", catalog.LANGUAGES)
@pytest.mark.parametrize("key", ["urgent_danger", "urgent_self_harm", "welcome", "nobody_can_receive"])
def test_safety_texts_name_the_numbers(key: str, language: str) -> None:
    text = catalog.t(key, language)
    assert "911" in text
    if key == "urgent_self_harm":
        assert "9-8-8" in text
        assert "1-800-668-6868" in text
        assert "686868" in text


@pytest.mark.parametrize(
    "key", ["urgent_self_harm", "urgent_ask_self_harm", "urgent_ask_unsure", "nobody_can_receive_crisis"]
)
def test_french_crisis_texts_name_french_services(key: str) -> None:
    """Kids Help Phone's French name and texting keyword, and 9-8-8 said to answer in French."""
    text = catalog.t(key, "fr")
    assert "Jeunesse, J'écoute" in text
    assert "PARLER" in text
    assert "686868" in text
    assert "9-8-8" in text
    assert "en français" in text
    assert "CONNECT" not in text
    assert "Kids Help Phone" not in text
