"""Officers who read French: named with `sro officer reads`, preferred for French tips within one link."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from admin.cli import app
from casework import officers
from casework.delivery import routing
from casework.vault.master_key import MasterKey
from storage.models import Role
from tests.bot.harness import Officer, World, now
from tests.storage.fixtures import DatabaseUnderTest


def test_sro_officer_reads_names_and_unnames_a_french_reader(
    test_database: DatabaseUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", test_database.url)
    monkeypatch.setenv("SRO_MASTER_KEY", MasterKey.generate().encoded())
    monkeypatch.delenv("SRO_MASTER_KEY_FILE", raising=False)
    runner = CliRunner()

    def sro(*args: str, code: int = 0) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == code, (args, result.output, result.exception)
        return result.output

    sro("school", "add", "--name", "École secondaire du Nord", "--code", "ESN")
    sro("officer", "invite", "--name", "Cst. Tremblay", "--school", "ESN")
    sro("officer", "invite", "--name", "Cst. Smith", "--school", "ESN", "--backup")
    assert "Officer 1 reads: English, French." in sro("officer", "reads", "1", "--french")
    listed = sro("officer", "list")
    tremblay = next(line for line in listed.splitlines() if "Tremblay" in line)
    smith = next(line for line in listed.splitlines() if "Smith" in line)
    assert "en, fr" in tremblay
    assert "en, fr" not in smith  # control: the other officer reads English only
    assert "Officer 1 reads: English." in sro("officer", "reads", "1", "--no-french")
    assert "en, fr" not in sro("officer", "list")
    refused = sro("officer", "reads", "99", "--french", code=1)
    assert "99" in refused


async def test_a_french_tip_never_skips_a_link_and_prefers_a_reader_among_supervisors(
    scripted_world: World,
) -> None:
    """Maple's primary reads no French, its backup does: the primary still gets the French tip first
    (the chain is never reordered). A school with no officer goes to the supervisors: the one who
    reads French gets a French tip, both get an English one (control). Sealing never changes."""
    world = scripted_world
    async with world.database() as (db, keys), db.transaction() as session:
        second = await officers.create_officer(
            session, keys, display_name="Sgt. Gagnon", role=Role.SUPERVISOR, now=now()
        )
    world.officers["supervisor_fr"] = Officer(second, "Sgt. Gagnon")
    for key in ("maple", "maple_backup", "supervisor", "supervisor_fr"):
        await world.enroll(key)
    ids = {key: officer.id for key, officer in world.officers.items()}
    async with world.database() as (db, keys), db.transaction() as session:
        for key in ("maple_backup", "supervisor_fr"):
            await officers.set_reads(session, ids[key], "fr", reads=True, now=now())
        maple, nobody = world.school_ids["MRS"], world.school_ids["NBH"]
        sealed_fr, route = await routing.new_case_plan(session, maple, now(), language="fr")
        sealed_en, _ = await routing.new_case_plan(session, maple, now())
        assert route == routing.Route(routing.PRIMARY, (ids["maple"],))
        assert sealed_fr == sealed_en
        _, route = await routing.new_case_plan(session, nobody, now(), language="fr")
        assert route == routing.Route(routing.SUPERVISORS, (ids["supervisor_fr"],))
        _, route = await routing.new_case_plan(session, nobody, now())
        assert route == routing.Route(routing.SUPERVISORS, tuple(sorted((ids["supervisor"], second))))
