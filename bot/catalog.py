"""The message catalog: every user-facing text, by key and language (bot/locales/*.yml)."""

from __future__ import annotations

import html
import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import yaml

LOCALES = Path(__file__).with_name("locales")
DEFAULT_LANGUAGE = "en"
# The languages a student can choose (bot.student.language); each has bot/locales/<code>.yml.
LANGUAGES = ("en", "fr")
# Officers, supervisors and enrolling officers read English (issue 14): their texts live in en.yml
# only, and every other language's file holds the student-facing texts.
OFFICER_PREFIXES = ("officer_", "alert_", "enroll_")


class MissingText(KeyError):
    """A key the code uses is not in the catalog: a bug, caught by the catalog tests."""


def officer_facing(key: str) -> bool:
    return key.startswith(OFFICER_PREFIXES)


@cache
def own_texts(language: str) -> dict[str, str]:
    """The texts written in `language`'s own file, nothing filled in from English."""
    path = LOCALES / f"{language}.yml"
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(k): str(v) for k, v in loaded.items()}


@cache
def messages(language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """Every text in `language`: an unknown language is English, and a key its file lacks (the officer
    texts; a student text added in English first, which the catalog tests catch) comes from English,
    so a student never gets an error instead of an answer."""
    english = own_texts(DEFAULT_LANGUAGE)
    if language == DEFAULT_LANGUAGE or language not in LANGUAGES:
        return english
    return {**english, **own_texts(language)}


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def t(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """The text for `key`, with `values` filled in (HTML-escaped: they may be a student's words)."""
    return fill(key, values, language)


def fill(key: str, values: Mapping[str, object], language: str = DEFAULT_LANGUAGE) -> str:
    """`t` with the values as a mapping."""
    try:
        template = messages(language)[key]
    except KeyError:
        raise MissingText(key) from None
    return template.format(**{name: html.escape(str(value), quote=False) for name, value in values.items()})


def raw(key: str, language: str = DEFAULT_LANGUAGE, **values: object) -> str:
    """Like `t` but values are inserted as they are: for values that are already safe HTML."""
    try:
        template = messages(language)[key]
    except KeyError:
        raise MissingText(key) from None
    return template.format(**values)
