"""`python -m nlu.classify`: the command-line contract, with Rasa up and with Rasa down."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, RasaServer, free_port

FIELDS = {
    "text",
    "intent",
    "confidence",
    "ranking",
    "urgent",
    "urgent_reason",
    "entities",
    "source",
    "language",
}

ODD_INPUT = [
    b"",
    b"   ",
    b"x" * 10_000,
    "🙂🔥💀".encode(),
    b"he has a \x00\x07\x1b[31m knife",
    b"caf\xe9 \xff\xfe broken bytes",
    "Est-ce que c'est anonyme? 这是匿名的吗".encode(),
    "هل هذا مجهول".encode(),
]


def classify(
    lines: list[bytes], env: dict[str, str]
) -> tuple[list[dict[str, Any]], subprocess.CompletedProcess[bytes]]:
    result = subprocess.run(
        [sys.executable, "-m", "nlu.classify"],
        input=b"\n".join(lines) + b"\n",
        capture_output=True,
        env={**os.environ, **env},
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    rows = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    return rows, result


def check_contract(rows: list[dict[str, Any]], count: int) -> None:
    assert len(rows) == count
    for row in rows:
        assert row.keys() >= FIELDS
        assert isinstance(row["urgent"], bool)
        assert row["language"] in {"en", "fr"}
        assert 0.0 <= row["confidence"] <= 1.0
        for entity in row["entities"]:
            assert row["text"][entity["start"] : entity["end"]]


@pytest.fixture(scope="module")
def rasa_down() -> dict[str, str]:
    return {"NLU_URL": f"http://127.0.0.1:{free_port()}", "NLU_TOKEN": "irrelevant"}


def test_rasa_down_every_line_answered_by_the_fallback(rasa_down: dict[str, str]) -> None:
    lines = [b"hey", b"my friend has a knife in her locker", b"i want to end it all", b"is this anonymous"]
    rows, result = classify(lines, rasa_down)
    assert result.returncode == 0, result.stderr
    check_contract(rows, len(lines))
    assert {r["source"] for r in rows} == {"fallback"}
    assert [r["text"] for r in rows] == [line.decode() for line in lines]
    assert [r["urgent"] for r in rows] == [False, True, True, False]
    assert rows[2]["urgent_reason"]


def test_rasa_down_french_lines_are_answered_marked_french_and_urgent_ones_caught(
    rasa_down: dict[str, str],
) -> None:
    # Written for this test, not taken from the training or held-out data.
    lines = [
        "salut",
        "y'a un gars qui a un gun dans son sac",
        "jpense que jvais en finir ce soir",
        "est-ce que quelqu'un va savoir que c'est moi",
        "my friend has a knife in her locker",
    ]
    rows, result = classify([line.encode() for line in lines], rasa_down)
    assert result.returncode == 0, result.stderr
    check_contract(rows, len(lines))
    assert {r["source"] for r in rows} == {"fallback"}
    assert [r["language"] for r in rows] == ["fr", "fr", "fr", "fr", "en"]  # detected, nothing passed
    assert [r["urgent"] for r in rows] == [False, True, True, False, True]
    assert [r["intent"] for r in rows[:4]] == ["greet", "report_weapon", "report_self_harm", "ask_anonymity"]


def test_odd_input_is_answered_never_fatal(rasa_down: dict[str, str]) -> None:
    rows, result = classify(ODD_INPUT, rasa_down)
    assert result.returncode == 0, result.stderr
    check_contract(rows, len(ODD_INPUT))
    assert rows[0]["intent"] == "nlu_fallback"
    assert len(rows[2]["text"]) == 10_000
    assert "\ufffd" in rows[5]["text"]  # bad bytes replaced, the rest kept
    assert rows[4]["urgent"]  # control characters do not hide the knife


def test_logs_and_errors_stay_off_stdout_and_never_quote_text(rasa_down: dict[str, str]) -> None:
    secret = b"my-unique-secret-words about a knife"
    rows, result = classify([secret], rasa_down)
    assert len(rows) == 1
    assert b"unique-secret" not in result.stderr


@pytest.mark.rasa
def test_rasa_up_answers_come_from_rasa(rasa_server: RasaServer) -> None:
    env = {"NLU_URL": rasa_server.url, "NLU_TOKEN": rasa_server.token}
    lines = [b"yo theres a kid with a strap by the portables", b"thanks officer", *ODD_INPUT]
    rows, result = classify(lines, env)
    assert result.returncode == 0, result.stderr
    check_contract(rows, len(lines))
    assert {r["source"] for r in rows} == {"rasa"}
    assert rows[0]["intent"] == "report_weapon"
    assert rows[0]["urgent"]
    assert {(e["entity"], e["value"]) for e in rows[0]["entities"]} >= {
        ("weapon", "gun"),
        ("location", "portables"),
    }
    assert rows[1]["intent"] == "thank"
    assert not rows[1]["urgent"]


def test_order_is_kept_for_many_lines(rasa_down: dict[str, str], tmp_path: Path) -> None:
    lines = [f"message number {i}".encode() for i in range(300)]
    rows, result = classify(lines, rasa_down)
    assert result.returncode == 0
    assert [r["text"] for r in rows] == [line.decode() for line in lines]


@pytest.mark.rasa
def test_rasa_up_each_line_carries_its_detected_language(rasa_server: RasaServer) -> None:
    # Nothing passed but the lines: the language is detected per line, answers from Rasa.
    env = {"NLU_URL": rasa_server.url, "NLU_TOKEN": rasa_server.token}
    lines = ["y'a un gars qui a un gun dans son sac", "merci beaucoup", "thanks officer"]
    rows, result = classify([line.encode() for line in lines], env)
    assert result.returncode == 0, result.stderr
    check_contract(rows, len(lines))
    assert {r["source"] for r in rows} == {"rasa"}
    assert [r["language"] for r in rows] == ["fr", "fr", "en"]
    assert rows[0]["urgent"]
    assert [r["intent"] for r in rows[1:]] == ["thank", "thank"]
