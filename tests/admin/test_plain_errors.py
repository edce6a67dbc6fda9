"""Every bad input a coordinator met in the trial, through the real `sro`: the output says what is
wrong and how to fix it, in plain words, and never names a Python exception."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from admin import runtime
from admin.cli import app
from casework.vault.master_key import KeySource, MasterKey, write_key_file
from storage import migrations
from tests.storage.fixtures import DatabaseUnderTest

ROOT = Path(__file__).resolve().parents[2]
PYTHON_WORDS = re.compile(r"\b\w+(Error|Exception)\b|Traceback|\bValue error\b")


@pytest.fixture
def sro(test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, (args, result.output, result.exception)
        return result

    return invoke


def plain(result: Result, *fixes: str) -> str:
    """The output, checked: no exception escaped, none is named, and every expected fix is said."""
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert not PYTHON_WORDS.search(result.output), result.output
    words = " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # rich's error box, unwrapped
    for fix in fixes:
        assert fix in words, (fix, result.output)
    return result.output


def test_the_detector_finds_the_old_messages() -> None:
    """Positive control: the trial's messages are caught by the check every test here applies."""
    for old in (
        "error: cannot read /tmp/nope.csv: FileNotFoundError",
        "error: cannot read bad.csv: UnicodeDecodeError",
        "Invalid value for '--by': Value error, 'year' is not one of 'day', 'week', 'month'.",
        'Traceback (most recent call last):\n  File "x"',
    ):
        assert PYTHON_WORDS.search(old)


def test_bad_files_and_dates(sro, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    plain(sro("school", "import", str(tmp_path / "nope.csv"), ok=False), "there is no file", "check the name")
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,code\nÉcole Sainte-Thérèse,EST\n".encode("latin-1"))
    plain(sro("school", "import", str(latin), ok=False), "is not UTF-8 text", 'save it again as "CSV UTF-8"')
    plain(sro("school", "import", str(tmp_path), ok=False), "is a folder, not a file")
    plain(sro("stats", "--from", "2026-09-31", ok=False), "2026-09-31 is not a date: September has 30 days")
    plain(sro("stats", "--to", "2026-02-29", ok=False), "is not a date: February 2026 has 28 days")
    plain(sro("stats", "--from", "31/09/2026", ok=False), "write it as YYYY-MM-DD")
    plain(
        sro("stats", "--by", "year", ok=False),
        "'year' is not one of 'day', 'week', 'month': use one of these",
    )
    plain(sro("officer", "assign", "one", "--school", "X", ok=False), "expected a whole number")
    plain(
        sro("stats", "--from", "2999-01-01", ok=False),
        "is after",
        "the newest complete day",
        "give an earlier --from",
    )
    plain(
        sro("stats", "--from", "2025-03-01", "--to", "2025-02-01", ok=False), "give the earlier day to --from"
    )


def test_csv_delimiters_modes_and_plurals(sro, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    semicolons = tmp_path / "semi.csv"
    semicolons.write_text("name;code;board\nAlpha SS;ALP;TDSB\n", encoding="utf-8")
    plain(sro("school", "import", str(semicolons)), "Imported 1 new school from")  # read, and singular
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("school;id\nBeta SS;BET\n", encoding="utf-8")
    said = "missing column 'name' (the header has 'school', 'id')"
    plain(sro("school", "import", str(wrong), ok=False), said, "make the first line name,code")

    sample = str(ROOT / "schools.sample.csv")
    plain(sro("school", "import", sample), "Imported 12 new schools")
    again = plain(sro("school", "import", sample, ok=False), "already exists", "--update", "--skip-existing")
    assert "line 2" in again
    plain(sro("school", "import", "--skip-existing", sample), "Imported 0 new schools", "12 already there")
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("name,code\nMaple Ridge CI,MRC\nNew School,NEW\n", encoding="utf-8")
    plain(sro("school", "import", "--update", str(renamed)), "Imported 1 new school", "(1 updated")
    assert "Maple Ridge CI" in sro("school", "list").output
    plain(sro("school", "import", "--update", "--skip-existing", sample, ok=False), "not both")


def test_keys_settings_database_and_officers(  # type: ignore[no-untyped-def]
    sro, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sro("school", "import", str(ROOT / "schools.sample.csv"))
    plain(sro("officer", "invite", "--name", "Cst. Lee", "--school", "MRC"))  # README's example works
    listed = plain(sro("officer", "list"))
    assert "not enrolled" in listed
    assert "│ yes " not in listed.split("Cst. Lee")[1].split("\n")[0].split("│")[5]  # reachable: not "yes"

    monkeypatch.delenv("SRO_MASTER_KEY")
    monkeypatch.setenv("SRO_MASTER_KEY_FILE", str(tmp_path / "missing.key"))
    plain(sro("officer", "invite", "--officer", "1", ok=False), "does not exist", "sro keys generate >",
          "restore the key from your backup")  # fmt: skip
    monkeypatch.setenv("SRO_MASTER_KEY", "not a key!")
    monkeypatch.delenv("SRO_MASTER_KEY_FILE")
    plain(sro("officer", "invite", "--officer", "1", ok=False), "copy it again from your backup")

    monkeypatch.setenv("SRO_TIMEZONE", "Nowhere")
    plain(sro("school", "list", ok=False), "the setting SRO_TIMEZONE is invalid", "Correct SRO_TIMEZONE")
    monkeypatch.delenv("SRO_TIMEZONE")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    plain(sro("school", "list", ok=False), "run `sro db upgrade`")


def test_help_shows_no_type_after_flags() -> None:
    runner = CliRunner()
    for command in (
        [], ["school"], ["school", "import"], ["officer", "invite"], ["officer", "assign"], ["stats"],
        ["keys", "rotate"], ["audit"], ["db", "upgrade"],
    ):  # fmt: skip
        output = runner.invoke(app, [*command, "--help"]).output
        assert "--help" in output
        assert "<bool>" not in output, command
    assert "<int>" in runner.invoke(app, ["officer", "invite", "--help"]).output  # control: types still shown


def test_demo_switch(
    test_database: DatabaseUnderTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from devtools import demo

    assert (runtime.DEMO_DATABASE, runtime.DEMO_KEY_FILE) == (demo.DATABASE, demo.KEY_FILE)
    monkeypatch.setenv("DATABASE_URL", test_database.url)  # what `sro` uses without --demo
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())
    monkeypatch.setattr(runtime, "DEMO_DATABASE", tmp_path / "demo.db")
    monkeypatch.setattr(runtime, "DEMO_KEY_FILE", tmp_path / "demo-master.key")
    runner = CliRunner()
    plain(runner.invoke(app, ["--demo", "school", "list"]), "there is no demo database", "`make run`")

    asyncio.run(migrations.upgrade(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"))
    write_key_file(tmp_path / "demo-master.key", MasterKey.generate())
    sample = str(ROOT / "schools.sample.csv")
    plain(runner.invoke(app, ["--demo", "school", "import", sample]), "Imported 12 new schools")
    plain(runner.invoke(app, ["--demo", "officer", "invite", "--name", "Cst. Demo", "--school", "MRC"]))
    assert "Cst. Demo" in runner.invoke(app, ["--demo", "officer", "list"]).output
    assert "No schools yet" in runner.invoke(app, ["school", "list"]).output  # without --demo: DATABASE_URL


def test_audit_names_officers(sro, test_database: DatabaseUnderTest) -> None:  # type: ignore[no-untyped-def]
    import os
    from datetime import UTC, datetime

    from sqlalchemy import select

    from app.settings import Settings
    from casework import officers
    from casework.policy import CasePolicy
    from casework.vault.rotation import open_keyring
    from storage.db import Database
    from storage.models import AuditEvent

    sro("school", "import", str(ROOT / "schools.sample.csv"))
    code = sro("officer", "invite", "--name", "Cst. Lee", "--school", "MRC").output.strip().splitlines()[-1]

    async def enroll() -> list[str]:
        db = Database.connect(test_database.url)
        now = datetime.now(UTC)
        try:
            master = MasterKey.decode(os.environ["SRO_MASTER_KEY"], KeySource("environment"))
            async with db.transaction() as session:
                keys = await open_keyring(session, master, now)
            async with db.transaction() as session:
                await officers.enroll(session, keys, CasePolicy.from_settings(Settings()), code, 424242, now)
            async with db.transaction() as session:
                return list(await session.scalars(select(AuditEvent.actor)))
        finally:
            await db.close()

    assert "officer:1" in asyncio.run(enroll())  # what the audit row holds ...
    shown = plain(sro("audit", "--program"), "Cst. Lee (officer 1)")
    assert "officer:1" not in shown  # ... and is shown by name
