"""`sro keys rotate` re-keys: the old master key plus a backup taken before it opens nothing written after.

Positive controls: the same attack opens a case created before the
rotation (it is in the backup), and opens a case created after a rotation
that only re-wraps (what `sro keys rotate` did before), so the attack code
is able to see a success.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casework import officers, rate_limits
from casework.cases import drafts, intake, reading, reply_modes
from casework.delivery import alerts
from casework.errors import EnrollmentCodeRejected, MasterKeyError
from casework.policy import CasePolicy
from casework.vault import crypto, rewrap, rotation, sealing
from casework.vault.keys import PREVIOUS_DIRECTORY, KeyRing
from casework.vault.master_key import KeySource, MasterKey, read_key_file, write_key_file
from storage.db import Database
from storage.models import (
    AlertKind,
    Case,
    CaseMessage,
    Draft,
    KeyEnvelope,
    Officer,
    OfficerReplyMode,
    RateLimit,
    ServerKey,
)
from tests.casework.world import World, build_world, officer_reply, open_report
from tests.storage.fixtures import DatabaseUnderTest

CASES = 40


@dataclass(frozen=True)
class Backup:
    """What a database backup holds that the attacker needs: sealed officer keys and server keys."""

    officer_keys: dict[int, bytes]
    server_keys: dict[str, bytes]


async def take_backup(database: Database) -> Backup:
    async with database.transaction() as session:
        officer_rows = await session.execute(select(Officer.id, Officer.sealed_private_key))
        server_rows = await session.execute(select(ServerKey.name, ServerKey.sealed))
        return Backup(
            {int(i): bytes(sealed) for i, sealed in officer_rows.all()},
            {str(name): bytes(sealed) for name, sealed in server_rows.all()},
        )


async def attack(database: Database, leaked: MasterKey, backup: Backup, case_id: int) -> str | None:
    """Old master key + old backup against the CURRENT database: the first message's text, or None."""
    private = {
        officer_id: crypto.private_key_from_bytes(
            leaked.unseal("officer-private-key", str(officer_id), sealed)
        )
        for officer_id, sealed in backup.officer_keys.items()
    }
    async with database.transaction() as session:
        message = await session.scalar(
            select(CaseMessage).where(CaseMessage.case_id == case_id).order_by(CaseMessage.seq).limit(1)
        )
        assert message is not None
        envelopes = list(
            await session.scalars(select(KeyEnvelope).where(KeyEnvelope.message_id == message.id))
        )
    for envelope in envelopes:
        if envelope.officer_id is None or envelope.officer_id not in private:
            continue
        try:
            return sealing.open_message(message, envelope, private[envelope.officer_id], envelope.officer_id)[
                "text"
            ]
        except crypto.DecryptionError:
            continue
    return None


async def address_attack(database: Database, leaked: MasterKey, backup: Backup, case_id: int) -> int | None:
    """The notification address of a case, with the address key from the backup."""
    address_key = leaked.unseal("server-key", "address", backup.server_keys["address"])
    async with database.transaction() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        assert case.notify_address_sealed is not None
    try:
        raw = crypto.open_blob(address_key, case.notify_address_sealed, intake.address_aad(case_id))
    except crypto.DecryptionError:
        return None
    return int.from_bytes(raw, "big", signed=True)


async def rotate(
    database: Database, keys: KeyRing, new: MasterKey, now: datetime, batch_size: int = 7
) -> int:
    """The whole rotation as `sro keys rotate` runs it; returns how many batches re-wrapped messages."""
    async with database.transaction() as session:
        _, generation = await rotation.begin(session, keys, new, now)
    keys.replace(generation)
    batches = 0
    while True:
        async with database.transaction() as session:
            if not await rewrap.reseal_batch(session, keys, now, batch_size=batch_size):
                break
        batches += 1
    async with database.transaction() as session:
        assert await rotation.finish(session, keys, now) == 0
    keys.replace(rotation.without_previous(keys.current))
    return batches


async def test_an_old_master_key_and_an_old_backup_cannot_open_a_case_created_after_rotation(
    database: Database, keys: KeyRing, master: MasterKey, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    before = [
        await open_report(database, keys, policy, now, world.north if n % 2 else world.south, f"before {n}")
        for n in range(CASES)
    ]
    early = await open_report(database, keys, policy, now, world.north, "early", notify_chat_id=44_000_001)
    await officer_reply(database, keys, policy, now, early.case_id, world.north_officer, "thanks, on it")
    backup = await take_backup(database)
    # Positive control: the attack works on what the backup holds.
    assert await attack(database, master, backup, before[0].case_id) == "before 0"
    assert await address_attack(database, master, backup, early.case_id) == 44_000_001
    old_case_code_key, old_pseudonym_key = keys.case_code_key, keys.pseudonym_key

    batches = await rotate(database, keys, MasterKey.generate(), now)
    assert batches >= (CASES + 2) // 7
    later = await open_report(database, keys, policy, now, world.north, "after", notify_chat_id=44_000_002)

    assert await attack(database, master, backup, later.case_id) is None
    assert await address_attack(database, master, backup, later.case_id) is None
    assert await address_attack(database, master, backup, early.case_id) is None  # re-sealed too
    async with database.transaction() as session:
        with pytest.raises(MasterKeyError):
            await KeyRing.load(session, master, now)  # the old key opens nothing in the database
        # The case-code lookup key is the one key kept: every issued code still works.
        assert keys.case_code_key == old_case_code_key
        assert keys.pseudonym_key != old_pseudonym_key
        for n, case in enumerate(before):
            officer = world.north_officer if n % 2 else world.south_officer
            thread = await reading.read_case_as_officer(session, keys, case.case_id, officer)
            view = await reading.read_case_as_student(session, keys, case.code)
            assert thread.messages[0].body["text"] == view.messages[0].body["text"] == f"before {n}"
        view = await reading.read_case_as_student(session, keys, early.code)
        assert [m.body["text"] for m in view.messages] == ["early", "thanks, on it"]
        assert view.withheld == 0
        thread = await reading.read_case_as_officer(session, keys, later.case_id, world.supervisor)
        assert thread.messages[0].body["text"] == "after"
        assert await intake.notify_address(session, keys, early.case_id) == 44_000_001
        # Nothing of the old generation is left: no previous officer key, no previous directory key.
        assert not await session.scalar(
            select(func.count()).select_from(Officer).where(Officer.previous_sealed_private_key.is_not(None))
        )
        assert await session.get(ServerKey, PREVIOUS_DIRECTORY) is None
        assert not await alerts.list_alerts(session)  # nothing genuine was taken for forged


async def test_control_a_rotation_that_only_rewraps_leaves_later_cases_open(
    database: Database, keys: KeyRing, master: MasterKey, policy: CasePolicy, now: datetime
) -> None:
    """What `sro keys rotate` did before: the same values re-sealed under a new master key."""
    world = await build_world(database, keys, policy, now)
    backup = await take_backup(database)
    new = MasterKey.generate()
    async with database.transaction() as session:
        for row in await session.scalars(select(ServerKey)):
            row.sealed = new.seal("server-key", row.name, master.unseal("server-key", row.name, row.sealed))
        for officer in await session.scalars(select(Officer)):
            raw = master.unseal("officer-private-key", str(officer.id), officer.sealed_private_key)
            officer.sealed_private_key = new.seal("officer-private-key", str(officer.id), raw)
    async with database.transaction() as session:
        rewrapped = await KeyRing.load(session, new, now)
    later = await open_report(
        database, rewrapped, policy, now, world.north, "after", notify_chat_id=44_000_003
    )
    assert await attack(database, master, backup, later.case_id) == "after"
    assert await address_attack(database, master, backup, later.case_id) == 44_000_003


async def test_drafts_rate_limits_and_enrollment_codes_are_dropped_gracefully(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    chat = 71_000_001
    async with database.transaction() as session:
        await drafts.save_state(session, keys, keys.pseudonym(chat), {"step": "describe"}, now)
        for _ in range(3):
            await rate_limits.hit(
                session, keys, keys.pseudonym(chat), "status", limit=3, window=timedelta(hours=1), now=now
            )
        blocked = await rate_limits.hit(
            session, keys, keys.pseudonym(chat), "status", limit=3, window=timedelta(hours=1), now=now
        )
        code = await officers.issue_enrollment_code(session, keys, world.north_backup, now)
        await reply_modes.save(session, keys, world.north_officer, reply_modes.Holding(1, "held words"), now)
    assert not blocked.allowed  # control: the limit was reached before the rotation
    async with database.transaction() as session:  # control: the reply mode was there
        assert await reply_modes.load(session, keys, world.north_officer, now) is not None

    await rotate(database, keys, MasterKey.generate(), now)
    async with database.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Draft)) == 0
        assert await session.scalar(select(func.count()).select_from(RateLimit)) == 0
        assert await session.scalar(select(func.count()).select_from(OfficerReplyMode)) == 0
        assert await drafts.load_state(session, keys, keys.pseudonym(chat), now) is None  # a fresh start
        decision = await rate_limits.hit(
            session, keys, keys.pseudonym(chat), "status", limit=3, window=timedelta(hours=1), now=now
        )
        assert decision.allowed
    async with database.transaction() as session:
        with pytest.raises(EnrollmentCodeRejected):
            await officers.enroll(session, keys, policy, code, 71_000_002, now)
    async with database.transaction() as session:
        fresh = await officers.issue_enrollment_code(session, keys, world.north_backup, now)
    async with database.transaction() as session:
        assert (await officers.enroll(session, keys, policy, fresh, 71_000_002, now)).id == world.north_backup


async def test_file_rotation_keeps_no_previous_key_and_recovers_from_a_crash(
    database: Database, tmp_path: Path, policy: CasePolicy, now: datetime
) -> None:
    path = tmp_path / "keys" / "master.key"
    write_key_file(path, MasterKey.generate())
    write_key_file(rotation.previous_file(path), MasterKey.generate())  # left by an older version
    old = read_key_file(path, KeySource("file", path))
    async with database.transaction() as session:
        keys = await rotation.open_keyring(session, old, now)
    world = await build_world(database, keys, policy, now)
    case = await open_report(database, keys, policy, now, world.north, "survives a crash mid-rotation")

    new = MasterKey.generate(KeySource("file", path))
    rotation.stage_key_file(path, new)
    async with database.transaction() as session:
        await rotation.begin(session, keys, new, now)
    # Crash here: the database is under the new key, the file still holds the old one.
    assert read_key_file(path, old.source).encoded() == old.encoded()
    async with database.transaction() as session:
        recovered = await rotation.open_keyring(session, read_key_file(path, old.source), now)
    assert read_key_file(path, old.source).encoded() == new.encoded()
    assert not rotation.pending_file(path).exists()
    assert not rotation.previous_file(path).exists()
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]  # the old key is nowhere here
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # The interrupted rotation resumes: `sro keys rotate` run again re-wraps, then finishes.
    async with database.transaction() as session:
        thread = await reading.read_case_as_officer(session, recovered, case.case_id, world.north_officer)
        assert thread.messages[0].body["text"] == "survives a crash mid-rotation"  # readable mid-rotation
    async with database.transaction() as session:
        assert await rewrap.reseal_batch(session, recovered, now) == 1
    async with database.transaction() as session:
        assert await rotation.finish(session, recovered, now) == 0
        thread = await reading.read_case_as_officer(session, recovered, case.case_id, world.north_officer)
    assert thread.messages[0].body["text"] == "survives a crash mid-rotation"


async def test_a_running_process_meeting_a_newer_key_version_reloads(
    test_database: DatabaseUnderTest, tmp_path: Path, policy: CasePolicy, now: datetime
) -> None:
    """The bot (its own Database and KeyRing) keeps running while `sro keys rotate` runs elsewhere."""
    path = tmp_path / "master.key"
    write_key_file(path, MasterKey.generate())
    bot_db, sro_db = Database.connect(test_database.url), Database.connect(test_database.url)
    try:
        async with bot_db.transaction() as session:
            bot_keys = await rotation.open_keyring(session, read_key_file(path, KeySource("file", path)), now)
        world: World = await build_world(bot_db, bot_keys, policy, now)
        before = await open_report(bot_db, bot_keys, policy, now, world.north, "before the rotation")
        async with sro_db.transaction() as session:
            sro_keys = await rotation.open_keyring(session, read_key_file(path, KeySource("file", path)), now)
        new = MasterKey.generate(KeySource("file", path))
        rotation.stage_key_file(path, new)
        async with sro_db.transaction() as session:
            _, generation = await rotation.begin(session, sro_keys, new, now)
        rotation.finish_key_file(path)
        sro_keys.replace(generation)

        # Control: the bot still holds version 1, which cannot open the officers' new keys.
        assert bot_keys.version == 1
        async with bot_db.transaction() as session:
            officer = await session.get(Officer, world.north_officer)
            assert officer is not None
            with pytest.raises(crypto.DecryptionError):
                bot_keys.officer_key(officer.id, officer.sealed_private_key)
        # Mid-rotation the bot meets version-2 rows, reloads, and goes on working.
        during = await open_report(bot_db, bot_keys, policy, now, world.north, "during the rotation")
        assert bot_keys.version == 2
        async with bot_db.transaction() as session:
            for case, text in ((before, "before the rotation"), (during, "during the rotation")):
                thread = await reading.read_case_as_officer(
                    session, bot_keys, case.case_id, world.north_officer
                )
                assert thread.messages[0].body["text"] == text
        async with sro_db.transaction() as session:
            while await rewrap.reseal_batch(session, sro_keys, now):
                pass
        async with sro_db.transaction() as session:
            assert await rotation.finish(session, sro_keys, now) == 0
        async with bot_db.transaction() as session:
            thread = await reading.read_case_as_officer(
                session, bot_keys, before.case_id, world.north_officer
            )
            assert thread.messages[0].body["text"] == "before the rotation"
            assert not await alerts.list_alerts(session, kind=AlertKind.DIRECTORY_FORGED)
            assert not await alerts.list_alerts(session, kind=AlertKind.TAMPERED_MESSAGE)
    finally:
        await bot_db.close()
        await sro_db.close()
