"""docs/threat-model.md: every test it names as proof exists, so no "cannot" rests on nothing."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.conftest import ROOT

DOC = ROOT / "docs" / "threat-model.md"
# `bot/test_x.py::test_y`, `bot/test_x.py`, or `::test_y` (another test of the file named just before).
REFERENCE = re.compile(r"`((?:[a-z_]+/)*test_\w+\.py)?(?:::(test_\w+))?`")


def references(text: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    current: str | None = None
    for match in REFERENCE.finditer(text):
        path, test = match.groups()
        if path is None and test is None:
            continue
        if path is not None:
            current = path
        assert current is not None, f"{match.group()} names no file before it"
        found.append((current, test))
    return found


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    }


def test_every_named_test_exists() -> None:
    named = references(DOC.read_text(encoding="utf-8"))
    assert len(named) > 40  # the doc names its proofs
    missing = []
    for path, test in named:
        file = ROOT / "tests" / path
        if not file.is_file():
            missing.append(path)
        elif test is not None and test not in defined_tests(file):
            missing.append(f"{path}::{test}")
    assert missing == []


def test_the_check_finds_a_missing_test() -> None:
    """Positive control: a reference to a test that does not exist is caught."""
    named = references(
        "see `bot/test_webhook.py::test_no_such_thing` and `::test_webhook_mode_with_a_secret_token`"
    )
    assert named == [
        ("bot/test_webhook.py", "test_no_such_thing"),
        ("bot/test_webhook.py", "test_webhook_mode_with_a_secret_token"),
    ]
    assert "test_no_such_thing" not in defined_tests(ROOT / "tests" / "bot" / "test_webhook.py")
