"""`sro keys rotate`: every case stays readable by officers and students; the old key opens nothing."""

from __future__ import annotations

import stat
from datetime import datetime
from pathlib import Path

import pytest

from casework import case_reading, rotation
from casework.errors import MasterKeyError
from casework.keys import KeyRing, KeySource, MasterKey, read_key_file, write_key_file
from casework.policy import CasePolicy
from storage.db import Database
from tests.casework.world import build_world, open_report

CASES = 200


async def test_rotation_keeps_every_case_readable(
    database: Database, keys: KeyRing, master: MasterKey, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = [
        await open_report(
            database, keys, policy, now, world.north if n % 2 else world.south, f"report number {n}"
        )
        for n in range(CASES)
    ]
    new = MasterKey.generate()
    async with database.transaction() as session:
        summary = await rotation.reseal_all(session, keys, new, now)
    assert (summary.server_keys, summary.officer_keys) == (6, 4)

    async with database.transaction() as session:
        with pytest.raises(MasterKeyError):
            await KeyRing.load(session, master, now)  # the old key opens nothing
        rotated = await KeyRing.load(session, new, now)
    assert rotated.case_code_key == keys.case_code_key  # data keys unchanged: hashes keep working
    async with database.transaction() as session:
        for n, case in enumerate(opened):
            officer = world.north_officer if n % 2 else world.south_officer
            thread = await case_reading.read_case_as_officer(session, rotated, case.case_id, officer)
            view = await case_reading.read_case_as_student(session, rotated, case.code)
            assert thread.messages[0].body["text"] == view.messages[0].body["text"] == f"report number {n}"
        with pytest.raises(Exception, match="authentication"):
            await case_reading.read_case_as_officer(session, keys, opened[0].case_id, world.south_officer)


async def test_file_rotation_keeps_previous_and_recovers_from_a_crash(
    database: Database, tmp_path: Path, policy: CasePolicy, now: datetime
) -> None:
    path = tmp_path / "keys" / "master.key"
    write_key_file(path, MasterKey.generate())
    old = read_key_file(path, KeySource("file", path))
    async with database.transaction() as session:
        keys = await rotation.open_keyring(session, old, now)
    world = await build_world(database, keys, policy, now)
    case = await open_report(database, keys, policy, now, world.north, "survives a crash mid-rotation")

    new = MasterKey.generate(KeySource("file", path))
    rotation.stage_key_file(path, new)
    async with database.transaction() as session:
        await rotation.reseal_all(session, keys, new, now)
    # Crash here: the database is sealed under the new key, the file still holds the old one.
    assert read_key_file(path, old.source).encoded() == old.encoded()
    async with database.transaction() as session:
        recovered = await rotation.open_keyring(session, read_key_file(path, old.source), now)
        thread = await case_reading.read_case_as_officer(
            session, recovered, case.case_id, world.north_officer
        )
    assert thread.messages[0].body["text"] == "survives a crash mid-rotation"
    assert read_key_file(path, old.source).encoded() == new.encoded()
    assert read_key_file(rotation.previous_file(path), old.source).encoded() == old.encoded()
    assert not rotation.pending_file(path).exists()
    for file in (path, rotation.previous_file(path)):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
