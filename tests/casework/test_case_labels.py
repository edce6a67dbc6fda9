"""Case labels ("🦊 fox", issue 9 "Too many codes"): stored sealed, one per case, re-sealed by key
rotation, cleared by /forget with the notification address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from casework.cases import forgetting, intake, labels
from casework.policy import CasePolicy
from casework.vault import crypto
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import Case
from tests.casework.test_key_rotation import rotate
from tests.casework.world import build_world, open_report

CHAT = 55_000_001
OTHER_CHAT = 55_000_002


async def _sealed(database: Database, case_id: int) -> bytes | None:
    async with database.transaction() as session:
        return await session.scalar(select(Case.label_sealed).where(Case.id == case_id))


async def _label(database: Database, keys: KeyRing, case_id: int) -> str | None:
    async with database.transaction() as session:
        return await intake.case_label(session, keys, case_id)


async def test_each_case_gets_its_own_label_stored_sealed(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    first = await open_report(database, keys, policy, now, world.north, "one", notify_chat_id=CHAT)
    second = await open_report(database, keys, policy, now, world.north, "two", notify_chat_id=CHAT)
    for opened in (first, second):
        assert opened.label in labels.LABELS
        # Positive control: the stored value opens to the label the student was shown...
        assert await _label(database, keys, opened.case_id) == opened.label
        sealed = await _sealed(database, opened.case_id)
        assert sealed is not None
        # ...and holds neither the label nor its word in the clear.
        assert opened.label.encode() not in sealed
        assert opened.label.split()[-1].encode() not in sealed
    # Sealed for its own case: one case's sealed label moved onto another does not open.
    first_sealed = await _sealed(database, first.case_id)
    assert first_sealed is not None
    try:
        crypto.open_blob(keys.address_key, first_sealed, intake.label_aad(second.case_id))
    except crypto.DecryptionError:
        pass
    else:
        raise AssertionError("a label opened under another case's associated data")
    # Chosen at random per case (not one per student, nor a fixed one): many cases use several labels.
    many = [await open_report(database, keys, policy, now, world.north, f"n{n}") for n in range(12)]
    assert len({opened.label for opened in many}) > 1


async def test_rotation_reseals_the_label(
    database: Database, keys: KeyRing, master: MasterKey, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    labelled = await open_report(database, keys, policy, now, world.north, "before", notify_chat_id=CHAT)
    old_address_key = keys.address_key
    before = await _sealed(database, labelled.case_id)
    assert before is not None
    aad = intake.label_aad(labelled.case_id)
    assert crypto.open_blob(old_address_key, before, aad).decode() == labelled.label  # control

    await rotate(database, keys, MasterKey.generate(), now)

    assert keys.address_key != old_address_key
    assert await _label(database, keys, labelled.case_id) == labelled.label
    after = await _sealed(database, labelled.case_id)
    assert after is not None
    try:
        crypto.open_blob(old_address_key, after, aad)
    except crypto.DecryptionError:
        pass
    else:
        raise AssertionError("the old address key still opens the re-sealed label")


async def test_forget_clears_the_label_with_the_address(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    mine = await open_report(database, keys, policy, now, world.north, "mine", notify_chat_id=CHAT)
    theirs = await open_report(database, keys, policy, now, world.north, "theirs", notify_chat_id=OTHER_CHAT)
    async with database.transaction() as session:
        forgotten = await forgetting.forget_chat(session, keys, CHAT, now)
    assert forgotten.addresses == 1
    assert await _sealed(database, mine.case_id) is None
    # Positive control: another chat's case keeps its label (the forget found only this chat's).
    assert await _label(database, keys, theirs.case_id) == theirs.label
