"""Envelopes of version 2 (one ephemeral key per message) bind each reader; version 1 envelopes still open.

Controls: every failing open is paired with the same envelope opening where it belongs, so a failure
comes from the binding under test, not from a broken envelope.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from sqlalchemy import select

from casework.cases import intake, reading
from casework.policy import CasePolicy
from casework.vault import crypto, sealing
from casework.vault.keys import KeyRing
from casework.vault.master_key import MasterKey
from storage.db import Database
from storage.models import Case, CaseMessage, Direction, KeyEnvelope, Officer
from tests.casework.test_key_rotation import rotate
from tests.casework.world import World, build_world, open_report

# Written by the code before envelope versions (commit e8e3c7f): private key bytes 1..32, content
# key bytes 100..131, context envelope_context(7, 1, 3).
OLD_PRIVATE = bytes(range(1, 33))
OLD_CONTENT_KEY = bytes(range(100, 132))
OLD_CONTEXT = b"|case=7|seq=1|recipient=3"
OLD_ENVELOPE = crypto.Envelope(
    bytes.fromhex("9223dc4fa243d424c0df93cf387b29e9d4e83314731c67e8587f04471650ee19"),
    bytes.fromhex("f54fc1ee0fbce5ba509f00e4"),
    bytes.fromhex(
        "14de6e5ae42f6097b1408d5a9878ca1e3bcf031f9bbe7b6e2be44bad1e3ccb45e7b1c22a4fd917eb1214a1eac1b5e3b1"
    ),
)


def flip(value: bytes, at: int) -> bytes:
    return value[:at] + bytes([value[at] ^ 0x01]) + value[at + 1 :]


def test_an_envelope_written_before_versions_still_opens() -> None:
    private = crypto.private_key_from_bytes(OLD_PRIVATE)
    assert sealing.envelope_context(7, 1, 3) == OLD_CONTEXT
    assert OLD_ENVELOPE.version == 1
    assert crypto.unwrap_key(OLD_ENVELOPE, private, OLD_CONTEXT) == OLD_CONTENT_KEY
    for at in (0, 20, 47):  # still authenticated: any changed byte fails
        changed = crypto.Envelope(
            OLD_ENVELOPE.ephemeral_public_key, OLD_ENVELOPE.nonce, flip(OLD_ENVELOPE.wrapped_key, at)
        )
        with pytest.raises(crypto.DecryptionError):
            crypto.unwrap_key(changed, private, OLD_CONTEXT)
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_key(OLD_ENVELOPE, private, sealing.envelope_context(7, 1, 4))
    # The version-1 writer kept for tests writes what the old code wrote.
    fresh = crypto.wrap_key_v1(OLD_CONTENT_KEY, crypto.public_bytes(private), OLD_CONTEXT)
    assert fresh.version == 1
    assert len(fresh.wrapped_key) == len(OLD_ENVELOPE.wrapped_key)
    assert crypto.unwrap_key(fresh, private, OLD_CONTEXT) == OLD_CONTENT_KEY


def test_one_ephemeral_key_per_message_and_each_envelope_opens_for_its_reader_only() -> None:
    readers = [crypto.new_private_key() for _ in range(5)]
    key = crypto.random_key()
    contexts = [sealing.envelope_context(1, 1, n) for n in range(5)]
    envelopes = crypto.wrap_key_for_all(
        key, [(crypto.public_bytes(r), c) for r, c in zip(readers, contexts, strict=True)]
    )
    assert {e.ephemeral_public_key for e in envelopes} == {envelopes[0].ephemeral_public_key}
    assert {e.version for e in envelopes} == {crypto.ENVELOPE_V2}
    for n, (reader, context, envelope) in enumerate(zip(readers, contexts, envelopes, strict=True)):
        assert crypto.unwrap_key(envelope, reader, context) == key  # the control
        other = (n + 1) % 5
        with pytest.raises(crypto.DecryptionError):  # another reader, with either context
            crypto.unwrap_key(envelope, readers[other], contexts[other])
        with pytest.raises(crypto.DecryptionError):
            crypto.unwrap_key(envelope, readers[other], context)
        with pytest.raises(crypto.DecryptionError):  # this reader, but named as another
            crypto.unwrap_key(envelope, reader, contexts[other])
        for at in (0, 1, 48):  # version byte, ciphertext, tag
            changed = crypto.Envelope(
                envelope.ephemeral_public_key, envelope.nonce, flip(envelope.wrapped_key, at)
            )
            with pytest.raises(crypto.DecryptionError):
                crypto.unwrap_key(changed, reader, context)


def test_the_key_derivation_binds_the_recipient_public_key() -> None:
    """Same shared secret, same context: only the recipient key named in HKDF info differs."""
    reader, stranger = crypto.new_private_key(), crypto.new_private_key()
    key, context = crypto.random_key(), b"|case=1|seq=1|recipient=1"
    envelope = crypto.wrap_key(key, crypto.public_bytes(reader), context)
    shared = reader.exchange(X25519PublicKey.from_public_bytes(envelope.ephemeral_public_key))

    def open_naming(recipient_public: bytes) -> bytes:
        label = crypto.ENVELOPE_INFO_V2 + envelope.ephemeral_public_key + recipient_public + context
        sealed = crypto.Sealed(envelope.nonce, envelope.wrapped_key[1:])
        return crypto.open_sealed(crypto.derive_key(shared, label), sealed, label)

    assert open_naming(crypto.public_bytes(reader)) == key  # the control: this derivation is the real one
    with pytest.raises(crypto.DecryptionError):
        open_naming(crypto.public_bytes(stranger))


async def _envelopes(database: Database, case_id: int) -> tuple[CaseMessage, dict[int | None, KeyEnvelope]]:
    async with database.transaction() as session:
        message = await session.scalar(select(CaseMessage).where(CaseMessage.case_id == case_id))
        assert message is not None
        rows = await session.scalars(select(KeyEnvelope).where(KeyEnvelope.message_id == message.id))
        return message, {e.officer_id: e for e in rows}


async def _put(database: Database, target: KeyEnvelope, source: KeyEnvelope) -> None:
    async with database.transaction() as session:
        row = await session.get(KeyEnvelope, target.id)
        assert row is not None
        row.ephemeral_public_key, row.nonce, row.wrapped_key = (
            source.ephemeral_public_key,
            source.nonce,
            source.wrapped_key,
        )


async def _read(database: Database, keys: KeyRing, case_id: int, officer_id: int) -> str:
    async with database.transaction() as session:
        thread = await reading.read_case_as_officer(session, keys, case_id, officer_id)
        return thread.messages[0].body["text"]


async def test_an_envelope_moved_to_another_reader_or_case_does_not_open(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    a = await open_report(database, keys, policy, now, world.north, "first")
    b = await open_report(database, keys, policy, now, world.north, "second")
    _, in_a = await _envelopes(database, a.case_id)
    _, in_b = await _envelopes(database, b.case_id)
    # Controls: both readers open both cases as stored, and the envelopes share the message's key.
    for case_id, text in ((a.case_id, "first"), (b.case_id, "second")):
        for officer in (world.north_officer, world.supervisor):
            assert await _read(database, keys, case_id, officer) == text
    assert in_a[world.north_officer].ephemeral_public_key == in_a[world.supervisor].ephemeral_public_key

    await _put(database, in_b[world.north_officer], in_a[world.north_officer])  # another case
    with pytest.raises(crypto.DecryptionError):
        await _read(database, keys, b.case_id, world.north_officer)
    await _put(database, in_a[world.supervisor], in_a[world.north_officer])  # another reader, same message
    with pytest.raises(crypto.DecryptionError):
        await _read(database, keys, a.case_id, world.supervisor)
    assert await _read(database, keys, a.case_id, world.north_officer) == "first"  # the source still opens


async def _to_version_1(database: Database, keys: KeyRing, case_id: int, world: World) -> None:
    """Rewrite a stored message's envelopes as the code before versions wrote them (an old database)."""
    message, envelopes = await _envelopes(database, case_id)
    async with database.transaction() as session:
        officer = await session.get(Officer, world.north_officer)
        assert officer is not None
        private = keys.officer_key(officer.id, officer.sealed_private_key)
        content_key = sealing.content_key_of(message, envelopes[officer.id], private, officer.id)
        case = await session.get(Case, case_id)
        assert case is not None
        publics = {o.id: bytes(o.public_key) for o in await session.scalars(select(Officer))}
        for row in await session.scalars(select(KeyEnvelope).where(KeyEnvelope.message_id == message.id)):
            reader: int | str
            if row.officer_id is None:
                public, reader = case.student_public_key, sealing.STUDENT
            else:
                public, reader = publics[row.officer_id], row.officer_id
            old = crypto.wrap_key_v1(
                content_key, public, sealing.envelope_context(case_id, message.seq, reader)
            )
            row.ephemeral_public_key, row.nonce, row.wrapped_key = (
                old.ephemeral_public_key,
                old.nonce,
                old.wrapped_key,
            )


async def test_a_database_with_old_envelopes_opens_and_rotates(
    database: Database, keys: KeyRing, policy: CasePolicy, now: datetime
) -> None:
    world = await build_world(database, keys, policy, now)
    opened = await open_report(database, keys, policy, now, world.north, "stored long ago")
    await _to_version_1(database, keys, opened.case_id, world)
    _, envelopes = await _envelopes(database, opened.case_id)
    assert {
        e.officer_id: crypto.Envelope(e.ephemeral_public_key, e.nonce, e.wrapped_key).version
        for e in envelopes.values()
    } == dict.fromkeys(envelopes, 1)
    assert len({e.ephemeral_public_key for e in envelopes.values()}) == len(
        envelopes
    )  # one key each, as then
    for officer in (world.north_officer, world.north_backup, world.supervisor):
        assert await _read(database, keys, opened.case_id, officer) == "stored long ago"
    async with database.transaction() as session:
        view = await reading.read_case_as_student(session, keys, opened.code)
        assert view.messages[0].body["text"] == "stored long ago"

    await rotate(database, keys, MasterKey.generate(), now)
    _, rotated = await _envelopes(database, opened.case_id)
    versions = {
        i: crypto.Envelope(e.ephemeral_public_key, e.nonce, e.wrapped_key).version for i, e in rotated.items()
    }
    assert versions == {
        **dict.fromkeys(rotated, crypto.ENVELOPE_V2),
        None: 1,
    }  # the student's is not re-keyed
    for officer in (world.north_officer, world.north_backup, world.supervisor):
        assert await _read(database, keys, opened.case_id, officer) == "stored long ago"
    async with database.transaction() as session:
        view = await reading.read_case_as_student(session, keys, opened.code)
        assert view.messages[0].body["text"] == "stored long ago"
    async with database.transaction() as session:  # a new message after the rotation: version 2
        await intake.add_message(
            session, keys, policy, opened.case_id, direction=Direction.STUDENT, body={"text": "more"}, now=now
        )
    message_ids = {m.id for m in await _messages(database, opened.case_id)}
    async with database.transaction() as session:
        newest = await session.scalars(select(KeyEnvelope).where(KeyEnvelope.message_id == max(message_ids)))
        assert {crypto.Envelope(e.ephemeral_public_key, e.nonce, e.wrapped_key).version for e in newest} == {
            crypto.ENVELOPE_V2
        }
    async with database.transaction() as session:
        thread = await reading.read_case_as_officer(session, keys, opened.case_id, world.north_officer)
        assert [m.body["text"] for m in thread.messages] == ["stored long ago", "more"]


async def _messages(database: Database, case_id: int) -> list[CaseMessage]:
    async with database.transaction() as session:
        return list(await session.scalars(select(CaseMessage).where(CaseMessage.case_id == case_id)))
