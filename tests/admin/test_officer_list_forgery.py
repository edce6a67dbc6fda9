"""`sro officer list` flags what a database writer planted, so the leaked-key review can find it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from admin.cli import app
from casework.vault import crypto
from casework.vault.master_key import MasterKey
from storage.db import Database
from tests.storage.fixtures import DatabaseUnderTest


def test_officer_list_flags_an_inserted_supervisor_and_assignment(
    test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    runner = CliRunner()

    def sro(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, (args, result.output, result.exception)
        return result.output

    sro("school", "add", "--name", "North", "--code", "NTH")
    sro("officer", "invite", "--name", "Cst. Reyes", "--school", "NTH")
    listed = sro("officer", "list")
    assert "Cst. Reyes" in listed
    assert "FORGED" not in listed  # control: what sro wrote verifies

    async def plant() -> None:
        db = Database.connect(test_database.url)
        try:
            async with db.transaction() as session:
                await session.execute(
                    text(
                        "INSERT INTO officers (id, display_name, role, active, public_key,"
                        " sealed_private_key, created_at)"
                        " VALUES (77, 'Sgt. Planted', 'supervisor', :active, :public, :sealed, :start)"
                    ),
                    {
                        "active": True,
                        "public": crypto.public_bytes(crypto.new_private_key()),
                        "sealed": b"x",
                        "start": datetime(2020, 1, 1, tzinfo=UTC),
                    },
                )
                await session.execute(
                    text(
                        "INSERT INTO assignments (officer_id, school_id, kind, starts_at)"
                        " SELECT 77, id, 'backup', :start FROM schools WHERE code = 'NTH'"
                    ),
                    {"start": datetime(2020, 1, 1, tzinfo=UTC)},
                )
        finally:
            await db.close()

    asyncio.run(plant())
    listed = sro("officer", "list")
    assert "FORGED" in listed
    assert "Planted" in listed
    assert "NTH (primary)" in listed  # the genuine officer's assignment is shown as it is
