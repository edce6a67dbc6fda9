"""`sro` through its real entry point (typer's CliRunner), on both databases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from admin.cli import app
from casework.vault.master_key import MasterKey
from tests.storage.fixtures import DatabaseUnderTest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sro(test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, answer: str | None = None) -> Result:
        result = runner.invoke(app, list(args), input=answer)
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    return invoke


def test_help_everywhere() -> None:
    runner = CliRunner()
    for command in (
        [], ["db"], ["db", "upgrade"], ["school"], ["school", "add"], ["school", "list"],
        ["school", "remove"], ["school", "import"], ["officer"], ["officer", "invite"], ["officer", "list"],
        ["officer", "deactivate"],
        ["officer", "assign"], ["officer", "unassign"], ["stats"], ["purge"], ["keys"], ["keys", "rotate"],
        ["keys", "generate"], ["audit"],
    ):  # fmt: skip
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output
    assert "<5" in runner.invoke(app, ["stats", "--help"]).output


def test_schools(sro) -> None:  # type: ignore[no-untyped-def]
    assert "Added school NTH" in sro("school", "add", "--name", "North Collegiate", "--code", "nth").output
    duplicate = sro("school", "add", "--name", "Again", "--code", "NTH", ok=False)
    assert duplicate.exit_code == 1
    assert "already exists" in duplicate.output
    bad = sro("school", "add", "--name", "Bad", "--code", "n!", ok=False)
    assert bad.exit_code == 1
    assert "school code" in bad.output
    unknown = sro("school", "remove", "XYZ", ok=False)
    assert unknown.exit_code == 1
    assert "no school with code 'XYZ'" in unknown.output
    sro("school", "remove", "nth")
    assert "removed" in sro("school", "list").output


def test_school_import_is_all_or_nothing(sro, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,code,board\nAlpha SS,ALP,TDSB\nBeta SS,B!,TDSB\nGamma SS,GAM,\n", encoding="utf-8")
    result = sro("school", "import", str(bad), ok=False)
    assert result.exit_code == 1
    assert "line 3" in result.output
    assert "nothing was imported" in result.output
    assert "ALP" not in sro("school", "list").output
    dup = tmp_path / "dup.csv"
    dup.write_text("name,code\nAlpha SS,ALP\nAlpha again,alp\n", encoding="utf-8")
    assert "line 3" in sro("school", "import", str(dup), ok=False).output
    header = tmp_path / "header.csv"
    header.write_text("school,code\nAlpha SS,ALP\n", encoding="utf-8")
    assert "line 1" in sro("school", "import", str(header), ok=False).output
    result = sro("school", "import", str(ROOT / "schools.sample.csv"))
    assert re.search(r"Imported 1[0-9] new schools", result.output)
    again = sro("school", "import", str(ROOT / "schools.sample.csv"), ok=False)
    assert "line 2" in again.output
    assert "already exists" in again.output
    missing = sro("school", "import", str(tmp_path / "nope.csv"), ok=False)
    assert missing.exit_code == 1
    assert "there is no file" in missing.output


def test_officers(sro) -> None:  # type: ignore[no-untyped-def]
    sro("school", "add", "--name", "North", "--code", "NTH")
    sro("school", "add", "--name", "South", "--code", "STH")
    invited = sro("officer", "invite", "--name", "Cst. Reyes", "--school", "NTH")
    code = invited.output.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z*~$=U]", code), code
    sro("officer", "invite", "--name", "Sgt. Okafor", "--supervisor")
    again = sro("officer", "invite", "--officer", "1").output.strip().splitlines()[-1]
    assert again != code
    listed = sro("officer", "list").output
    assert "Cst. Reyes" in listed
    assert "NTH (primary)" in listed
    assert "supervisor" in listed
    assert (
        "no school with code 'ZZZ'"
        in sro("officer", "invite", "--name", "X", "--school", "zzz", ok=False).output
    )
    assert "Cst. X" not in sro("officer", "list").output
    assert sro("officer", "invite", "--name", "No School", ok=False).exit_code == 1
    assert sro("officer", "invite", "--officer", "1", "--name", "x", ok=False).exit_code == 1
    assert "no officer 99" in sro("officer", "assign", "99", "--school", "NTH", ok=False).output
    assert (
        "0 open cases re-sealed"
        in sro("officer", "assign", "1", "--school", "STH", "--backup", "--with-history").output
    )
    sro("officer", "unassign", "1", "--school", "STH")
    sro("officer", "deactivate", "1")
    assert "deactivated" in sro("officer", "list").output
    audit = sro("audit").output
    assert "officer.invited" in audit
    assert "officer.deactivated" in audit


def test_stats_purge_and_bad_dates(sro) -> None:  # type: ignore[no-untyped-def]
    for value, said in (
        ("2026-13-01", "is not a date: there is no month 13"),
        ("yesterday", "is not a day: write it as YYYY-MM-DD"),
    ):
        result = sro("stats", "--from", value, ok=False)
        assert result.exit_code == 1
        assert said in result.output
    assert "is after" in sro("stats", "--from", "2025-03-01", "--to", "2025-02-01", ok=False).output
    assert "no school with code" in sro("stats", "--school", "QQQ", ok=False).output
    assert sro("stats", "--by", "fortnight", ok=False).exit_code == 2  # typer's own usage error
    assert "Nothing to show" in sro("stats", "--from", "2099-01-01", "--to", "2099-01-31").output
    empty = sro("stats", "--from", "2020-01-10", "--to", "2020-01-20").output
    assert "from 2020-01-01 to 2020-01-31" in empty  # snapped outward to the whole month
    assert "Every period shown is complete" in empty
    assert "All intents │ 0" in empty
    assert "Purged 0" in sro("purge").output
    assert "No audit events" in sro("audit", "--case", "12").output


def test_keys_rotate_with_a_key_file(sro, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    key_file = tmp_path / "master.key"
    key_file.write_text(MasterKey.generate().encoded() + "\n", encoding="ascii")
    key_file.chmod(0o600)
    monkeypatch.delenv("SRO_MASTER_KEY")
    monkeypatch.setenv("SRO_MASTER_KEY_FILE", str(key_file))
    sro("school", "add", "--name", "North", "--code", "NTH")
    sro("officer", "invite", "--name", "Cst. Reyes", "--school", "NTH")
    before = key_file.read_text(encoding="ascii")
    result = sro("keys", "rotate", "--yes")
    assert "Key version 2: 1 officer key pairs and 6 server keys made" in result.output
    assert "Rotated to key version 2" in result.output
    assert key_file.read_text(encoding="ascii") != before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("master.key")) == ["master.key"]
    sro("officer", "invite", "--officer", "1")  # the new key opens the officer's sealed key
    key_file.write_text(before, encoding="ascii")
    wrong = sro("officer", "invite", "--officer", "1", ok=False)
    assert wrong.exit_code == 1
    assert "does not open this database" in wrong.output


def test_keys_rotate_with_the_environment_prints_the_key_once(sro) -> None:  # type: ignore[no-untyped-def]
    sro("school", "add", "--name", "North", "--code", "NTH")
    result = sro("keys", "rotate", "--yes")
    printed = [line for line in result.output.splitlines() if re.fullmatch(r"[A-Za-z0-9_-]{43}", line)]
    assert len(printed) == 1
    assert "old key no longer opens anything written from now on" in result.output
    declined = sro("keys", "rotate", answer="n\n", ok=False)
    assert declined.exit_code == 1
    assert "Rotate every key now?" in declined.output


def test_postgres_without_an_explicit_key_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    monkeypatch.delenv("SRO_MASTER_KEY", raising=False)
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    result = CliRunner().invoke(app, ["officer", "invite", "--name", "X", "--supervisor"])
    assert result.exit_code == 1
    assert "with PostgreSQL, set SRO_MASTER_KEY" in result.output
