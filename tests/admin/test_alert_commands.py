"""`sro alerts` lists alerts by kind and case reference, never what anyone wrote."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from admin.cli import app
from casework.delivery import alerts
from casework.policy import CasePolicy
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import AlertKind
from tests.casework.world import build_world, open_report
from tests.storage.fixtures import DatabaseUnderTest

SECRET = "pangolin-7"


async def _world_with_an_alert(url: str, master: MasterKey) -> None:
    """A case whose first message holds SECRET, and one alert about it."""
    now = datetime.now(UTC)
    db = Database.connect(url)
    try:
        async with db.transaction() as session:
            keys = await KeyRing.load(session, master, now)
        policy = CasePolicy(
            timedelta(minutes=5), timedelta(hours=24), timedelta(days=90), ZoneInfo("America/Toronto")
        )
        world = await build_world(db, keys, policy, now)
        opened = await open_report(db, keys, policy, now, world.north, f"they said {SECRET}")
        async with db.transaction() as session:
            await alerts.raise_alert(
                session,
                AlertKind.RENDERING_FAILED,
                now,
                case_id=opened.case_id,
                officer_id=world.north_officer,
            )
    finally:
        await db.close()


def test_sro_alerts_lists_kind_and_case_without_content(
    test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = MasterKey.generate()
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", master.encoded())
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    runner = CliRunner()
    empty = runner.invoke(app, ["alerts"])
    assert empty.exit_code == 0, empty.output
    assert "No alerts." in empty.output  # positive control: the listing is not always the same
    asyncio.run(_world_with_an_alert(test_database.url, master))
    listed = runner.invoke(app, ["alerts"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "rendering_failed" in listed.output
    assert "NTH-1" in listed.output  # the case's reference, as officers know it
    assert SECRET not in listed.output
    only = runner.invoke(app, ["alerts", "--kind", "tampered_message"])
    assert "No alerts." in only.output
